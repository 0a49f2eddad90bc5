"""Which language a page is in: the user's own setting, then the switch, then the browser's
Accept-Language, then DEFAULT_LOCALE; and the switch itself."""

from __future__ import annotations

import re

from sqlalchemy import select

from clinic.auth.models import User
from clinic.extensions import db
from tests.support import csrf_token_from, login

DANISH = {"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"}


def html_lang(response) -> str:
    found = re.search(r'<html lang="([a-z]+)">', response.get_data(as_text=True))
    assert found, "the page names its language"
    return found.group(1)


def switch(client, locale: str, next_url: str = "/techniques"):
    token = csrf_token_from(client.get(next_url).get_data(as_text=True))
    return client.post("/language", data={"csrf_token": token, "locale": locale, "next": next_url})


def stored_locale(app, email: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(User.locale).where(User.email == email))


def test_without_a_choice_the_page_follows_the_browser(client):
    assert html_lang(client.get("/")) == "en"
    assert html_lang(client.get("/", headers=DANISH)) == "da"
    assert html_lang(client.get("/", headers={"Accept-Language": "de-DE, fr;q=0.8"})) == "en"


def test_default_locale_is_the_answer_for_a_browser_asking_for_neither(app, client):
    app.config["DEFAULT_LOCALE"] = "da"
    assert html_lang(client.get("/", headers={"Accept-Language": "de"})) == "da"
    assert html_lang(client.get("/", headers={"Accept-Language": "en-GB"})) == "en"


def test_the_switch_wins_over_the_browser_and_goes_back_to_the_page(client):
    response = switch(client, "da")
    assert response.status_code == 302 and response.headers["Location"] == "/techniques"
    assert html_lang(client.get("/")) == "da"
    assert html_lang(client.get("/", headers={"Accept-Language": "en"})) == "da"
    switch(client, "en")
    assert html_lang(client.get("/", headers=DANISH)) == "en"


def test_the_layout_offers_the_other_language_in_its_own_words(client):
    english = client.get("/").get_data(as_text=True)
    assert 'name="locale" value="da" lang="da"' in english and ">Dansk</button>" in english
    assert ">English</button>" not in english
    danish = client.get("/", headers=DANISH).get_data(as_text=True)
    assert ">English</button>" in danish and ">Dansk</button>" not in danish


def test_a_signed_in_users_choice_is_kept_on_their_account(app, client, make_user):
    make_user(email="maja@example.com")
    login(client, "maja@example.com")
    assert stored_locale(app, "maja@example.com") is None
    switch(client, "da")
    assert stored_locale(app, "maja@example.com") == "da"

    # Another browser, which asks for English: the account's setting wins once logged in.
    other = app.test_client()
    assert html_lang(other.get("/login", headers={"Accept-Language": "en"})) == "en"
    login(other, "maja@example.com")
    assert html_lang(other.get("/", headers={"Accept-Language": "en"})) == "da"


def test_an_unknown_language_or_a_foreign_next_changes_nothing(app, client, make_user):
    make_user(email="maja@example.com")
    login(client, "maja@example.com")
    response = switch(client, "xx")
    assert response.status_code == 302
    assert stored_locale(app, "maja@example.com") is None
    assert html_lang(client.get("/")) == "en"
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    response = client.post(
        "/language", data={"csrf_token": token, "locale": "da", "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"  # never off the site


def test_the_switch_needs_its_token(app, client, make_user):
    make_user(email="maja@example.com")
    login(client, "maja@example.com")
    response = client.post("/language", data={"locale": "da", "next": "/"})
    assert response.status_code == 400
    assert stored_locale(app, "maja@example.com") is None


def test_the_api_answers_in_english_whatever_the_browser_asks(client, demo):
    page = client.get("/techniques", headers=DANISH).get_data(as_text=True)
    assert "Sportsmassage" in page  # the page is Danish
    names = {t["name"] for t in client.get("/api/v1/techniques", headers=DANISH).get_json()}
    assert "Sports massage" in names and "Sportsmassage" not in names


def test_a_language_chosen_before_logging_in_survives_the_fresh_session(app, client, make_user):
    make_user(email="maja@example.com")
    switch(client, "da", next_url="/login")
    login(client, "maja@example.com")
    assert html_lang(client.get("/")) == "da"
    assert stored_locale(app, "maja@example.com") == "da"  # it is the account's now
