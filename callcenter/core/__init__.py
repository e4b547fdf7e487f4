"""Core: the clock, phone numbers, logs, metrics, and the clients for Twilio's REST API and SMTP.

Imports nothing else from callcenter."""
