"""Adoption: a profile from a project (init), a running session (freeze) or another tool's config (import)."""
