"""After a session: the therapist's private treatment note, aftercare for the client, a plan."""
