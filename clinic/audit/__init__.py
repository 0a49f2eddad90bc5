"""The audit log: who did or saw what, when and from where. Any domain may record to it."""
