"""Shared infrastructure: money, clock, errors, request context, after-commit hooks."""
