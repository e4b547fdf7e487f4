"""The waiting list: patients who asked to be told when an earlier slot frees up.

``entries`` joins and ends entries (booked, date passed, STOP, a secretary);
``offers`` finds free slots matching open entries, offers each by SMS to the
first entries in the order they were made, and books it for the first OUI;
``sms`` sends the offers through the shared SMS queue.  Entries hold no more
than a booking would: the patient, the number to text, a doctor, a day and a
half-day.
"""
