"""The public catalogue: techniques and therapists, what they show and how many queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.catalog.models import Technique
from clinic.demo import TECHNIQUES
from clinic.extensions import db
from tests.conftest import today
from tests.support import count_queries


def test_techniques_page_lists_all_five_with_durations_and_prices(client, demo):
    html = client.get("/techniques").get_data(as_text=True)
    for data in TECHNIQUES:
        assert data["name"] in html
        for minutes, price in data["options"]:
            assert f"{minutes} min · DKK {price // 100:,}" in html


def test_technique_page_says_what_it_is_helps_with_and_who_should_not(client, demo):
    html = client.get("/techniques/trigger-point-therapy").get_data(as_text=True)
    assert "<h1" in html and "Trigger point therapy" in html
    assert "What it helps with" in html and "Sharp, local pain" in html
    assert "Who should not have it" in html and "runs down a leg" in html
    assert "30 minutes" in html and "DKK 375" in html


def test_technique_page_lists_only_therapists_certified_today(client, demo):
    html = client.get("/techniques/trigger-point-therapy").get_data(as_text=True)
    assert "Anna Holm" in html and "Clara Nørgaard" in html
    assert "David Skov" not in html  # his certificate expired
    assert "Bo Lindqvist" not in html  # never certified for it


def test_unknown_or_inactive_technique_is_not_found(app, client, demo):
    assert client.get("/techniques/reiki").status_code == 404
    with app.app_context():
        db.session.scalar(
            select(Technique).where(Technique.slug == "classic-massage")
        ).active = False
        db.session.commit()
    assert client.get("/techniques/classic-massage").status_code == 404
    assert "Classic massage" not in client.get("/techniques").get_data(as_text=True)


def test_therapists_page_shows_bio_certifications_body_and_expiry(client, demo):
    html = client.get("/therapists").get_data(as_text=True)
    for name in ("Anna Holm", "Bo Lindqvist", "Clara Nørgaard", "David Skov"):
        assert name in html
    assert "Danish Massage Therapists&#39; Association" in html
    expiry = today() + timedelta(days=700)
    assert f"valid until {expiry:%A} {expiry.day} {expiry:%B %Y}" in html


def test_expired_certification_is_not_shown(client, demo):
    # David's trigger point certificate ran out 30 days ago.
    from sqlalchemy import select as sa_select

    from clinic.auth.models import User
    from clinic.catalog.models import Therapist

    with client.application.app_context():
        david = db.session.scalar(
            sa_select(Therapist).join(Therapist.user).where(User.email == "david@lindring.example")
        )
        david_id = david.id
    html = client.get(f"/therapists/{david_id}").get_data(as_text=True)
    assert "Sports massage" in html and "Myofascial release" in html
    assert "Trigger point therapy" not in html


def test_unknown_therapist_is_not_found(client, demo):
    assert client.get("/therapists/99999").status_code == 404


@pytest.mark.parametrize("path", ["/", "/techniques", "/therapists"])
def test_catalogue_pages_run_a_fixed_number_of_queries(app, client, demo, make_therapist, path):
    """Adding therapists and certifications does not add queries (no N+1)."""
    with count_queries(app) as few:
        client.get(path)
    for _ in range(12):
        make_therapist("sports-massage", "classic-massage", "myofascial-release")
    with count_queries(app) as many:
        html = client.get(path).get_data(as_text=True)
    assert len(many) == len(few), many
    assert len(many) <= 6
    if path == "/therapists":
        assert html.count("Bio of Therapist") == 12
