"""Contacts, checkouts and orders: the canonical model every source is normalized into."""
