"""Doctors' digests: what happened on the line, signed and encrypted."""
