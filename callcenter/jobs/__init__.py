"""Scheduled work and the worker process that runs it."""
