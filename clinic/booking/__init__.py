"""Bookings: the flow, series, cancellation and rescheduling."""
