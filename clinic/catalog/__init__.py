"""Techniques, therapists, certifications and rooms: the public catalogue."""
