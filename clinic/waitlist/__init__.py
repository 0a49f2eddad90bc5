"""The waitlist: clients waiting for a time that suits them, told when one frees up."""
