"""The client's data rights: downloading their data, deleting their account, and erasing health
data once the clinic's retention period has passed.

Imports go downwards only: this package reads auth, booking, screening, treatment, waitlist,
calendars and notify, and none of them imports it.
"""
