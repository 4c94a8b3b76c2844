"""woocommerce."""
