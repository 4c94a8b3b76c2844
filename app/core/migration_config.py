"""Config for Tortoise's own CLI: `tortoise -c app.core.migration_config.TORTOISE_ORM makemigrations`."""

from app.core.db import tortoise_config

TORTOISE_ORM = tortoise_config()
