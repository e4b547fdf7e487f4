"""The doctors' own calendars over CalDAV: their busy time read, the bookings written."""
