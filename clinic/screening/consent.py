"""The consent a client gives before their health answers are stored. Pure data.

A change of wording is a new version; each screening stores the version its client agreed to.
"""

from clinic.text import N_

CONSENT_VERSION = "2026-11-v1"

# Translated where it is shown; the Danish wording says the same, so it shares the version.
CONSENT_TEXT = N_(
    "I agree that the clinic stores my answers to this health screening and uses them to decide "
    "which treatments are safe for me. My answers are seen by the clinic's admins, and my "
    "therapist sees only what matters for my session. They are kept while my account exists "
    "and I can ask for them to be deleted at any time."
)
