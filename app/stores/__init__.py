"""Stores (tenants): identity, platform, settings and credentials."""
