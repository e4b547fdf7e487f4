"""Retention: what the policy says has lived long enough is deleted, here and at Twilio."""
