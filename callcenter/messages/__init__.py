"""Messages callers leave: stored encrypted, transcribed, their audio deleted."""
