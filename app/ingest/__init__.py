"""Ingestion: every inbound delivery is verified, stored raw, deduplicated, then processed in the worker."""
