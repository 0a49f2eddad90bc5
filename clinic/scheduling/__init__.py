"""Working hours, time off, clinic policies and the slot engine."""
