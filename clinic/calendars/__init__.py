"""Calendars: iCalendar export and feeds, the therapist's calendar, import of external busy time."""
