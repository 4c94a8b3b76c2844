"""Cross-cutting building blocks: database, Redis, security, domain events, logging."""
