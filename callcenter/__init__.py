"""callcenter: a privacy-first call-handling and IVR server for medical practices."""

__version__ = "0.1.0"
