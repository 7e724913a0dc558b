"""Readiness: one-shot probes ("does it answer?"), waits built on them, prerequisites ("is it there, is it free?")."""
