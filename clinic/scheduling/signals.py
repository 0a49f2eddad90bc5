"""What the scheduling domain announces to the domains above it (the waitlist).

Sent before the commit, so receivers write into the same transaction.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent after a therapist's weekly working hours were saved. Sender: the app. Keyword
# arguments: therapist (Therapist), before (list of (weekday, start, end) as they were).
hours_saved = _signals.signal("hours-saved")
