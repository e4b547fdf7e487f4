"""Configuration: instance settings, practices, staff, schedules, the recordings policy, prompts."""
