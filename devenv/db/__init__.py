"""Databases: URLs, connections, the pool's status, the interactive client."""
