"""E-mail: a transactional outbox and its delivery."""
