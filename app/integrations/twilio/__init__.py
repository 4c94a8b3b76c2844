"""Twilio: SMS sending through the official client, and request signature checks."""
