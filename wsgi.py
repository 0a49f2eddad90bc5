"""Entry point for `flask --app wsgi` and `gunicorn wsgi:app`."""

from clinic import create_app

app = create_app()
