"""What the booking domain announces to the domains above it (waitlist, treatment).

Booking sits below them (they import booking, never the reverse), so it sends signals instead
of calling them. Each is sent before the commit, so receivers write into the same transaction.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent by notices.announce after every booking change. Sender: the app. Keyword arguments:
# booking (Booking), event (str: "booked", "cancelled", "expired", "rescheduled", ...), detail
# (dict: for a move, "from" (ISO instant) and "from_therapist_id").
booking_changed = _signals.signal("booking-changed")

# Sent by series_views after every date of a series is booked. Sender: the app. Keyword
# arguments: client_id (int), bookings (list[Booking], the first one names the series),
# plan_id (int | None: the `plan` the page was opened with, unchecked).
series_booked = _signals.signal("series-booked")
