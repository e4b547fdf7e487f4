"""What leaves the server on its own: SMS notices, the mail outbox, deletions at Twilio."""
