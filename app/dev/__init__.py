"""Development conveniences: demo data so a newcomer sees the product working at once."""
