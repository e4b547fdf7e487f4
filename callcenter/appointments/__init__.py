"""Appointments by phone (issue 5): schedules, free slots, booking, SMS, calendars.

``schedule`` reads the practice file's ``appointments:`` section and finds
free slots (pure functions of the schedule, the taken cells and ``now``);
``booking`` takes, cancels and lists appointments in the database; ``sms``
queues and sends confirmations and reminders; ``ics`` renders the doctors'
calendar feeds; ``cli`` is ``callcenter appointments``.
"""
