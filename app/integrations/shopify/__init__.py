"""Shopify: install and tokens, Admin API client, webhook topics, privacy, pixel, discounts, backfill."""
