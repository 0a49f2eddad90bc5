"""Accounts, login, roles and password reset."""
