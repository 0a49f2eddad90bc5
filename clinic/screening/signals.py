"""What the screening domain announces to the domains above it.

Screening sits below booking (booking imports screening, never the reverse), so it cannot
call booking when a review decides. It sends a signal instead; whoever cares connects to it.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent by the review view after operations.decide succeeded and before the commit, so that
# receivers write into the same transaction. Sender: the app. Keyword arguments: screening
# (Screening), review (ScreeningReview), decision (Decision), technique_ids (list[int]).
review_decided = _signals.signal("review-decided")
