"""The ``callcenter`` command: one module per command group."""
