.PHONY: help install test lint format migrations dev
help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
install:  ## create .venv with test extras
	python3 -m venv .venv && .venv/bin/pip install -e '.[test]'
test:  ## run the test suite (SQLite + embedded Redis unless FOLLOWUP_TEST_DATABASE_URL/_REDIS_URL say otherwise)
	.venv/bin/python -m pytest
lint:  ## ruff check, format check and mypy
	.venv/bin/ruff check app inbox tests bench && .venv/bin/ruff format --check app inbox tests bench
	.venv/bin/mypy app inbox
format:  ## apply ruff formatting and fixes
	.venv/bin/ruff check --fix app inbox tests bench && .venv/bin/ruff format app inbox tests bench
migrations:  ## write migrations for model changes
	.venv/bin/followup makemigrations
dev:  ## run on embedded defaults
	.venv/bin/followup dev
