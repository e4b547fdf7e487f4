"""Twilio's webhooks: thin handlers that parse, call the engine and answer TwiML."""
