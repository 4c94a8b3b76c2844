"""Adapters at the edge: the only code that knows vendors' field names, headers and SDKs."""
