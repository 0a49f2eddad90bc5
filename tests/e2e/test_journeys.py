"""What people do in a real browser: find their way, register, log in and out, reset a password.

Each test gets its own app, database and live server (see conftest.py). Screenshots for the docs
are saved along the way to docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, Request, expect
from sqlalchemy import func, select

from clinic.auth.models import Role, User
from clinic.auth.passwords import verify_password
from clinic.extensions import db
from tests.e2e.conftest import PHONE
from tests.e2e.journeys import (
    Screenshot,
    fits_the_phone,
    flash,
    log_out,
    nav,
    path_is,
    submit_login,
    wait_for_mail,
)
from tests.support import DEMO_PASSWORD, TEST_PASSWORD, Mailbox

NEW_PASSWORD = "lanterns over the harbour"


# --- helpers ------------------------------------------------------------------------------------


def count_users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


# --- a newcomer ---------------------------------------------------------------------------------


def test_newcomer_registers_browses_and_logs_in_again(
    page: Page, live_server: str, app: Flask, demo: None, screenshot: Screenshot
) -> None:
    page.goto("/")
    expect(page).to_have_title("Massage for back pain · Lindring")
    expect(page.get_by_role("heading", level=1)).to_have_text("Relief for your back, booked safely")
    expect(page.locator(".technique-card")).to_have_count(5)
    screenshot(page, "home")

    nav(page).get_by_role("link", name="Create account").click()
    expect(page).to_have_url(path_is(live_server, "/register"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    page.get_by_label("Full name").fill("Ida Berg")
    page.get_by_label("E-mail", exact=True).fill("Ida.Berg@Example.com")
    page.get_by_label("Phone").fill("+45 12 34 56 78")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    screenshot(page, "register")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(path_is(live_server, "/"))
    expect(flash(page)).to_contain_text("Welcome to Lindring, Ida Berg. Your account is ready.")
    expect(nav(page)).to_contain_text("Ida Berg")
    expect(nav(page).get_by_role("link", name="Create account")).to_have_count(0)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.name == "Ida Berg"))
        assert user is not None
        assert user.email == "ida.berg@example.com"
        assert user.role is Role.CLIENT
        assert user.phone == "+45 12 34 56 78"
        assert verify_password(user.password_hash, NEW_PASSWORD)

    nav(page).get_by_role("link", name="Techniques").click()
    expect(page).to_have_url(path_is(live_server, "/techniques"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Techniques")
    expect(page.locator(".technique-card .card-title")).to_have_text(
        [
            "Sports massage",
            "Trigger point therapy",
            "Myofascial release",
            "Deep tissue massage",
            "Classic massage",
        ],
        ignore_case=True,
    )
    sports_card = page.locator(".technique-card", has_text="Sports massage")
    expect(sports_card.locator(".prices li")).to_have_text(["60 min · DKK 650", "90 min · DKK 925"])
    screenshot(page, "techniques")

    page.get_by_role("link", name="Sports massage").click()
    expect(page).to_have_url(path_is(live_server, "/techniques/sports-massage"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sports massage")
    prices = page.get_by_role("table").locator("tbody tr")
    expect(prices).to_have_count(2)
    expect(prices.nth(0)).to_contain_text("60 minutes")
    expect(prices.nth(0)).to_contain_text("DKK 650")
    expect(prices.nth(1)).to_contain_text("90 minutes")
    expect(prices.nth(1)).to_contain_text("DKK 925")
    expect(page.get_by_role("heading", name="Who should not have it")).to_be_visible()
    not_suitable = page.locator("h2:has-text('Who should not have it') ~ ul").first
    expect(not_suitable.locator("li")).to_have_count(4)
    expect(not_suitable).to_contain_text("A fresh strain or sprain (the last 72 hours)")
    expect(not_suitable).to_contain_text("Blood thinners or a clotting disorder")
    # Anna, Clara and David hold a valid sports-massage certificate; Bo does not.
    therapists_box = page.locator(".card", has_text="Therapists for sports massage")
    expect(therapists_box.get_by_role("link")).to_have_text(
        [re.compile(r"^Anna "), re.compile(r"^Clara "), re.compile(r"^David ")]
    )
    screenshot(page, "technique")

    nav(page).get_by_role("link", name="Therapists").click()
    expect(page).to_have_url(path_is(live_server, "/therapists"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Our therapists")
    expect(page.locator("article h2")).to_have_text(
        [re.compile(r"^Anna "), re.compile(r"^Bo "), re.compile(r"^Clara "), re.compile(r"^David ")]
    )
    screenshot(page, "therapists")

    log_out(page)
    expect(page).to_have_url(path_is(live_server, "/"))
    expect(nav(page)).not_to_contain_text("Ida Berg")

    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    screenshot(page, "login")
    page.get_by_label("E-mail", exact=True).fill("ida.berg@example.com")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/"))
    expect(flash(page)).to_contain_text("You are logged in as Ida Berg.")
    expect(nav(page)).to_contain_text("Ida Berg")

    log_out(page)
    # Logged out for real: a page for members sends us to the login form.
    page.goto("/account")
    expect(page).to_have_url(path_is(live_server, "/login"))
    expect(flash(page)).to_contain_text("Please log in to see that page.")


# --- forms that fail ----------------------------------------------------------------------------


def test_a_failed_registration_keeps_what_was_typed(
    page: Page, live_server: str, app: Flask
) -> None:
    page.goto("/register")
    page.get_by_label("Full name").fill("Ida Berg")
    page.get_by_label("E-mail", exact=True).fill("ida@example.com")
    page.get_by_label("Phone").fill("+45 12 34 56 78")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(path_is(live_server, "/register"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    password = page.get_by_label("Password", exact=True)
    error = page.locator("#password-error")
    expect(error).to_have_text("Use at least 12 characters.")
    expect(error).to_be_visible()
    # "Next to the field": in the field's own group, and announced with it.
    expect(password.locator("xpath=..").locator("#password-error")).to_have_count(1)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", re.compile(r"\bpassword-error\b"))
    expect(page.get_by_role("alert")).to_contain_text("Password: Use at least 12 characters.")
    # The other fields had no error.
    expect(page.locator(".invalid-feedback")).to_have_count(1)

    expect(page.get_by_label("Full name")).to_have_value("Ida Berg")
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("ida@example.com")
    expect(page.get_by_label("Phone")).to_have_value("+45 12 34 56 78")
    # Passwords are never sent back to the browser.
    expect(password).to_have_value("")
    expect(nav(page).get_by_role("link", name="Log in", exact=True)).to_be_visible()
    assert count_users(app) == 0


def test_wrong_password_stays_on_login(
    page: Page, live_server: str, make_user: Callable[..., User]
) -> None:
    make_user(email="ida@example.com", name="Ida Berg")

    submit_login(page, "ida@example.com", "not the right password")

    expect(page).to_have_url(path_is(live_server, "/login"))
    expect(page.locator("#password-error")).to_have_text(
        "The e-mail address or the password is not right."
    )
    expect(page.get_by_label("E-mail", exact=True)).to_have_value("ida@example.com")
    expect(nav(page).get_by_role("link", name="Log in", exact=True)).to_be_visible()
    expect(nav(page)).not_to_contain_text("Ida Berg")

    # The right password still works afterwards.
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(flash(page)).to_contain_text("You are logged in as Ida Berg.")


# --- password reset through e-mail --------------------------------------------------------------


def test_password_reset_through_email(
    page: Page, live_server: str, app: Flask, demo: None, mailbox: Mailbox
) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(path_is(live_server, "/password/forgot"))
    page.get_by_label("E-mail", exact=True).fill("client@lindring.example")
    page.get_by_role("button", name="Send me a reset link").click()
    expect(page).to_have_url(path_is(live_server, "/login"))
    expect(flash(page)).to_contain_text(
        "If client@lindring.example has a Lindring account, a link to choose a new password "
        "is on its way."
    )

    [message] = wait_for_mail(mailbox, "client@lindring.example")
    assert message["Subject"] == "Reset your Lindring password"
    body = Mailbox.body(message)
    assert "Hello Demo Client," in body
    match = re.search(rf"{re.escape(live_server)}/password/reset/\S+", body)
    assert match, body
    link = match.group(0)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(page.get_by_text("For the account client@lindring.example.")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page).to_have_url(path_is(live_server, "/login"))
    expect(flash(page)).to_contain_text("Your password is changed. Log in with the new one.")

    # The old password is gone, the new one works.
    submit_login(page, "client@lindring.example", DEMO_PASSWORD)
    expect(page.locator("#password-error")).to_have_text(
        "The e-mail address or the password is not right."
    )
    submit_login(page, "client@lindring.example", NEW_PASSWORD)
    expect(page).to_have_url(path_is(live_server, "/"))
    expect(flash(page)).to_contain_text("You are logged in as Demo Client.")
    with app.app_context():
        user = User.by_email("client@lindring.example")
        assert verify_password(user.password_hash, NEW_PASSWORD)

    # The link works once.
    log_out(page)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work any more")


# --- admin --------------------------------------------------------------------------------------


def test_admin_reaches_the_admin_page_through_the_nav(
    page: Page, live_server: str, demo: None, screenshot: Screenshot
) -> None:
    submit_login(page, "admin@lindring.example", DEMO_PASSWORD)
    expect(flash(page)).to_contain_text("You are logged in as Clinic Admin.")

    page.goto("/")
    nav(page).get_by_role("link", name="Admin", exact=True).click()
    expect(page).to_have_url(path_is(live_server, "/admin/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinic admin")
    stats = {
        label: page.locator(".stat", has_text=label).locator(".stat-value")
        for label in ("Clients", "Therapists", "Admins", "Techniques", "Rooms")
    }
    expect(stats["Clients"]).to_have_text("1")
    expect(stats["Therapists"]).to_have_text("4")
    expect(stats["Admins"]).to_have_text("1")
    expect(stats["Techniques"]).to_have_text("5")
    expect(stats["Rooms"]).to_have_text("3")
    expect(page.locator("#today-emails h3 .badge")).to_have_text("0")
    expect(page.locator("#nothing-to-decide")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Admin", exact=True)).to_have_class(
        re.compile(r"\bactive\b")
    )
    screenshot(page, "admin")


def test_a_client_is_kept_out_of_admin(page: Page, live_server: str, demo: None) -> None:
    submit_login(page, "client@lindring.example", DEMO_PASSWORD)
    expect(flash(page)).to_contain_text("You are logged in as Demo Client.")
    expect(nav(page).get_by_role("link", name="Admin", exact=True)).to_have_count(0)

    response = page.goto("/admin/")
    assert response is not None and response.status == 403
    expect(page).to_have_url(path_is(live_server, "/admin/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for you")
    expect(page.get_by_text("Your account does not have access to this page.")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Clinic admin")


# --- a phone ------------------------------------------------------------------------------------


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True)
def test_phone_menu_opens_and_navigates(
    page: Page, live_server: str, demo: None, screenshot: Screenshot
) -> None:
    page.goto("/")
    therapists_link = nav(page).get_by_role("link", name="Therapists")
    toggle = page.get_by_role("button", name="Show the menu")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(therapists_link).to_be_hidden()

    # Only Bootstrap's JavaScript opens the collapsed menu.
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(therapists_link).to_be_visible()
    therapists_link.click()

    expect(page).to_have_url(path_is(live_server, "/therapists"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Our therapists")
    expect(page.locator("article h2")).to_have_count(4)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # Nothing is wider than the phone's screen.
    fits_the_phone(page)
    screenshot(page, "therapists-phone")


# --- nothing leaves the site --------------------------------------------------------------------


def test_every_request_goes_to_the_live_server(page: Page, live_server: str, demo: None) -> None:
    requests: list[str] = []
    problems: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console error: {msg.text} at {msg.location}")

    page.on("console", console)

    page.goto("/")
    nav(page).get_by_role("link", name="Techniques").click()
    page.get_by_role("link", name="Sports massage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sports massage")
    nav(page).get_by_role("link", name="Therapists").click()
    page.get_by_role("link", name=re.compile(r"^Anna ")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anna")
    submit_login(page, "client@lindring.example", DEMO_PASSWORD)
    expect(flash(page)).to_contain_text("You are logged in as Demo Client.")
    log_out(page)
    page.wait_for_load_state("networkidle")

    assert requests, "no request was recorded"
    strangers = [url for url in requests if not url.startswith(live_server + "/")]
    assert strangers == [], strangers
    paths = [url.removeprefix(live_server) for url in requests]
    # Bootstrap and the clinic's stylesheet come from the app itself, by their hashed names.
    hashed = {re.sub(r"\.[0-9a-f]{10}\.", ".", p) for p in paths}
    assert "/assets/bootstrap/css/bootstrap.min.css" in hashed, paths
    assert "/assets/bootstrap/js/bootstrap.min.js" in hashed, paths
    assert "/assets/static/css/lindring.css" in hashed, paths
    assert problems == [], problems
