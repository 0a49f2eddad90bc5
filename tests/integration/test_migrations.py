"""The schema comes from migrations, and the migrations match the models."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from clinic import create_app
from clinic.extensions import db
from tests.conftest import base_config
from tests.support import fresh_postgres_database


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new empty database of the kind the suite runs on."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database(server_url, "lindring_migrate") as url:
        yield url


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(empty_database_url):
    app = create_app(base_config(empty_database_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"user", "technique", "technique_option", "therapist", "certification"} <= tables

        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "user" in inspect(db.engine).get_table_names()
        db.engine.dispose()
