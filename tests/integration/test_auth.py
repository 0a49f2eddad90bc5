"""Registration, login, logout, sessions and the profile, against a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clinic.auth.models import Role, User
from clinic.extensions import db
from tests.support import TEST_PASSWORD, csrf_token_from, login, post_form

GOOD = {
    "name": "Ida Berg",
    "email": "Ida.Berg@Example.com",
    "phone": "+45 11 22 33 44",
    "password": "a quiet walk by the sea",
    "confirm": "a quiet walk by the sea",
}


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_register_creates_a_client_logged_in_with_lowercased_email(app, client):
    response = post_form(client, "/register", GOOD)
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ida.berg@example.com"
        assert user.role is Role.CLIENT
        assert user.phone == "+45 11 22 33 44"
        assert user.password_hash.startswith("pbkdf2:") and "quiet" not in user.password_hash
    page = client.get("/").get_data(as_text=True)
    assert "Ida Berg" in page and "Log out" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password": "short", "confirm": "short"}, "password", "at least 12"),  # too short
        ({"password": "qwerty123456", "confirm": "qwerty123456"}, "password", "too common"),
        ({"confirm": "something else entirely"}, "confirm", "not the same"),  # mismatch
        ({"email": "not-an-address"}, "email", "valid e-mail"),  # malformed
        ({"phone": "call me"}, "phone", "phone number"),  # not a number
        ({"name": ""}, "name", "Enter your name"),  # missing
        ({"password": "x" * 129, "confirm": "x" * 129}, "password", "at most"),  # past the cap
    ],
)
def test_register_refuses_bad_input_beside_the_field_and_keeps_it(
    app, client, change, field, message
):
    data = {**GOOD, **change}
    response = post_form(client, "/register", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error"' in html
    assert message in html
    # What was typed is still there (passwords excepted, by design).
    for kept in ("name", "phone"):
        if data[kept]:
            assert f'value="{data[kept]}"' in html
    assert user_count(app) == 0


def test_sixty_four_character_password_is_accepted(app, client):
    long_password = "birch " * 10 + "moss"
    assert len(long_password) == 64
    response = post_form(
        client, "/register", {**GOOD, "password": long_password, "confirm": long_password}
    )
    assert response.status_code == 302
    assert user_count(app) == 1


def test_email_is_unique_regardless_of_case(app, client, make_user):
    make_user(email="ida.berg@example.com")
    response = post_form(client, "/register", {**GOOD, "email": "IDA.BERG@example.COM"})
    assert "already exists" in response.get_data(as_text=True)
    assert user_count(app) == 1


def test_register_without_csrf_token_changes_nothing(app, client):
    response = client.post("/register", data=GOOD)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert user_count(app) == 0


def test_replayed_registration_does_not_create_a_second_account(app, client):
    html = client.get("/register").get_data(as_text=True)
    data = {**GOOD, "csrf_token": csrf_token_from(html)}
    assert client.post("/register", data=data).status_code == 302
    other = app.test_client()
    other.get("/register")
    replay = other.post("/register", data=data)  # token from another session
    assert replay.status_code == 400
    assert user_count(app) == 1


def test_login_accepts_any_case_of_the_email(client, make_user):
    make_user(email="bo@example.com")
    response = login(client, "BO@Example.com")
    assert response.headers["Location"] == "/"


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_user):
    make_user(email="bo@example.com")
    wrong = post_form(client, "/login", {"email": "bo@example.com", "password": "wrong password!"})
    unknown = post_form(client, "/login", {"email": "nobody@example.com", "password": "x" * 14})
    assert wrong.status_code == unknown.status_code == 200
    message = "The e-mail address or the password is not right."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert "nobody@example.com" in unknown.get_data(as_text=True)  # the typed e-mail is kept


def test_inactive_account_cannot_log_in(app, client, make_user):
    user = make_user(email="gone@example.com")
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    response = post_form(client, "/login", {"email": "gone@example.com", "password": TEST_PASSWORD})
    assert "not right" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account", "/account"),  # a page here
        ("https://evil.example/", "/"),  # another site
        ("//evil.example/", "/"),  # protocol-relative
        ("/\\evil.example", "/"),  # backslash trick
    ],
)
def test_login_follows_next_only_on_this_site(client, make_user, next_url, expected):
    make_user(email="bo@example.com")
    response = post_form(
        client,
        f"/login?next={next_url}",
        {"email": "bo@example.com", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_page_asks_anonymous_users_to_log_in_first(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_starts_a_fresh_session(client, make_user):
    make_user(email="bo@example.com")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, "bo@example.com")
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_logout_needs_a_post_and_kills_a_copied_cookie(app, client, make_user):
    make_user(email="bo@example.com", name="Bo Berg")
    login(client, "bo@example.com")
    copied = client.get_cookie("session").value

    page = client.get("/logout")  # GET only asks
    assert "Log out?" in page.get_data(as_text=True)
    assert "Bo Berg" in client.get("/").get_data(as_text=True)

    response = post_form(client, "/logout", {})
    assert response.status_code == 302
    assert "Bo Berg" not in client.get("/").get_data(as_text=True)

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/account").status_code == 302  # back to login: the cookie is dead


def test_logout_without_csrf_token_does_not_log_out(client, make_user):
    make_user(email="bo@example.com", name="Bo Berg")
    login(client, "bo@example.com")
    assert client.post("/logout").status_code == 400
    assert "Bo Berg" in client.get("/").get_data(as_text=True)


def test_password_change_ends_other_sessions_but_not_this_one(app, client, make_user):
    make_user(email="bo@example.com")
    login(client, "bo@example.com")
    laptop = app.test_client()
    login(laptop, "bo@example.com")

    response = post_form(
        client,
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "password": "new winter coat pockets",
            "confirm": "new winter coat pockets",
        },
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert laptop.get("/account").status_code == 302
    login(app.test_client(), "bo@example.com", "new winter coat pockets")


def test_password_change_needs_the_current_password(app, client, make_user):
    user = make_user(email="bo@example.com")
    login(client, "bo@example.com")
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "not my password",
            "password": "new winter coat pockets",
            "confirm": "new winter coat pockets",
        },
    )
    assert "current password is not right" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == user.password_hash


def test_profile_edit_saves_and_checks_email_against_others(app, client, make_user):
    user = make_user(email="bo@example.com")
    make_user(email="taken@example.com")
    login(client, "bo@example.com")

    clash = post_form(
        client, "/account", {"name": "Bo B", "email": "Taken@example.com", "phone": "+4599887766"}
    )
    assert "Another account already uses" in clash.get_data(as_text=True)
    assert 'value="Bo B"' in clash.get_data(as_text=True)

    saved = post_form(
        client, "/account", {"name": "Bo B", "email": "Bo.New@example.com", "phone": "+4599887766"}
    )
    assert saved.status_code == 302
    with app.app_context():
        fresh = db.session.get(User, user.id)
        assert (fresh.name, fresh.email, fresh.phone) == (
            "Bo B",
            "bo.new@example.com",
            "+4599887766",
        )


def test_production_hashes_with_scrypt(app):
    from clinic.auth.passwords import hash_password

    with app.app_context():
        app.config["PASSWORD_HASH_METHOD"] = "scrypt"
        assert hash_password("correct horse battery staple").startswith("scrypt:")
