"""Recovery engine: flows, enrollments, the once-only send pipeline, magic links and unsubscribe."""
