"""Tortoise migrations, one package per app label."""
