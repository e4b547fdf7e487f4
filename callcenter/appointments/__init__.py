"""Appointments by phone: booking, cancelling, moving, SMS to patients, calendar feeds.

``booking`` takes, cancels and lists appointments in the database; ``sms``
queues and sends confirmations and reminders; ``ics`` renders the doctors'
calendar feeds; ``wishes`` reads the day a caller asks for.  The doctors'
schedules and the free slots they leave are configuration
(:mod:`callcenter.config.schedules`).
"""
