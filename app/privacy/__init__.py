"""Privacy: customer data export and erasure, and deleting a whole store's data, through a registry."""
