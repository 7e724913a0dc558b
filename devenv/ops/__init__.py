"""The operations on a session, one module per verb: explicit inputs in, a result record out, nothing printed."""
