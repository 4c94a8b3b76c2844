"""People who log in: merchants (owners, admins) and support agents, their sessions and CSRF tokens."""
