"""Magento 2 / Adobe Commerce: our module's signed cart and order events, and its restore links."""
