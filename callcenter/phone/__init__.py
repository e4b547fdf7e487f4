"""A phone for the terminal: places calls through a server exactly as Twilio would.

Not on the serving path: only ``callcenter call`` and the tests use it."""
