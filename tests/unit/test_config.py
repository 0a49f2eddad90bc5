"""Settings from the environment."""

import pytest

from clinic.config import INSECURE_DEV_SECRET, ConfigError, load_config, normalise_database_url


def test_development_defaults():
    config = load_config({})
    assert config["LINDRING_ENV"] == "development"
    assert config["SECRET_KEY"] == INSECURE_DEV_SECRET
    assert config["SQLALCHEMY_DATABASE_URI"] is None  # SQLite under instance/, set by create_app
    assert config["CLINIC_TIMEZONE"] == "Europe/Copenhagen"
    assert config["MAIL_BACKEND"] == "console"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert load_config({"PUBLIC_URL": "https://b.example/"})["PUBLIC_URL"] == "https://b.example"
    assert config["CALENDAR_UID_DOMAIN"] == ""
    domain = load_config({"CALENDAR_UID_DOMAIN": " booking.clinic.dk "})["CALENDAR_UID_DOMAIN"]
    assert domain == "booking.clinic.dk"
    assert config["INVITATION_MAX_AGE"] == 7 * 24 * 3600
    assert load_config({"INVITATION_MAX_AGE": "3600"})["INVITATION_MAX_AGE"] == 3600


def test_production_refuses_to_start_without_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"LINDRING_ENV": "production"})


def test_production_sets_secure_cookies_and_smtp():
    config = load_config({"LINDRING_ENV": "production", "SECRET_KEY": "s" * 40})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["MAIL_BACKEND"] == "smtp"
    assert config["SECRET_KEY"] == "s" * 40


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LINDRING_ENV": "staging"}, "LINDRING_ENV"),  # unknown environment
        ({"CLINIC_TIMEZONE": "Mars/Olympus"}, "CLINIC_TIMEZONE"),  # unknown zone
        ({"MAIL_PORT": "twenty-five"}, "MAIL_PORT"),  # not a number
        ({"MAIL_USE_TLS": "perhaps"}, "yes/no"),  # not a boolean
        ({"MAIL_BACKEND": "pigeon"}, "MAIL_BACKEND"),  # unknown backend
    ],
)
def test_malformed_values_are_refused_with_the_variable_named(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),  # Heroku-style scheme
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),  # plain scheme
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),  # already explicit
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),  # untouched
    ],
)
def test_database_urls_use_psycopg(url, expected):
    assert normalise_database_url(url) == expected


def test_database_url_from_environment():
    config = load_config({"DATABASE_URL": "postgresql://root@127.0.0.1/lindring"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://root@127.0.0.1/lindring"
