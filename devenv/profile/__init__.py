"""Profiles: YAML files -> validated, merged, immutable records (load), their layered environment (env)."""
