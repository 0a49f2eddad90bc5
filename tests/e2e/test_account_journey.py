"""A client's own account in the browser: two-factor sign-in set up and used, then the data
downloaded and the account deleted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from clinic.auth.models import User
from clinic.extensions import db
from tests.e2e.journeys import (
    SIZES,
    Screenshot,
    flash,
    log_in,
    log_out,
    menu,
    path_is,
    photograph,
    screened_client,
    submit_login,
    use_size,
)
from tests.support import TEST_PASSWORD

EMAIL = "maja.lund@example.com"


def test_a_client_sets_up_two_factor_sign_in_and_logs_in_with_a_recovery_code(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    screened_client(app, make_user, EMAIL)
    log_in(page, EMAIL)
    page.goto("/account")
    page.get_by_role("link", name="Two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    key = page.locator("code.fs-5").inner_text().replace(" ", "")
    screenshot(page, "two-factor-setup")

    # A wrong code changes nothing and says so beside the field.
    page.get_by_label("The 6-digit code your app shows").fill("000000")
    page.get_by_role("button", name="Switch on").click()
    expect(page.locator("#code-error")).to_contain_text("That code is not right")
    expect(page.get_by_label("The 6-digit code your app shows")).to_have_value("000000")

    page.get_by_label("The 6-digit code your app shows").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Switch on").click()
    expect(flash(page)).to_contain_text("Two-factor sign-in is on.")
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10

    log_out(page)
    submit_login(page, EMAIL, TEST_PASSWORD)
    expect(page).to_have_url(path_is(live_server, "/login/two-factor"))
    expect(page.get_by_role("heading", level=1)).to_have_text("One more step")
    page.get_by_label("Code from your app, or a recovery code").fill("999999")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#code-error")).to_contain_text("That code is not right")
    # The app's code of this half-minute was spent switching it on; a recovery code works once.
    page.get_by_label("Code from your app, or a recovery code").fill(codes[0])
    page.get_by_role("button", name="Log in").click()
    expect(flash(page)).to_contain_text("You used a recovery code")
    expect(flash(page)).to_contain_text("You are logged in as Maja Lund.")
    page.goto("/account/two-factor")
    expect(page.get_by_text("You have 9 unused recovery codes.")).to_be_visible()


@pytest.mark.parametrize("size", SIZES)
def test_a_client_downloads_their_data_then_deletes_their_account(
    size: str,
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    user = screened_client(app, make_user, EMAIL)
    use_size(page, size)
    log_in(page, EMAIL)
    menu(page).get_by_role("link", name="Maja Lund").click()  # the account, by name
    page.get_by_role("link", name="Download your data").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data (JSON)").click()
    data = json.loads(download.value.path().read_text())
    assert EMAIL in json.dumps(data) and "Maja Lund" in json.dumps(data)
    assert "demo-password" not in json.dumps(data) and "client@lindring" not in json.dumps(data)

    page.goto("/account/delete")
    page.get_by_label("Your password").fill("not my password at all")
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator("#form-errors")).to_be_visible()
    with app.app_context():
        assert db.session.get(User, user.id).erased_at is None  # nothing changed
    photograph(screenshot, page, "delete-account", size)

    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account is deleted")
    with app.app_context():
        erased = db.session.get(User, user.id)
        assert erased.erased_at is not None and erased.name == "Deleted client"
        assert db.session.scalar(select(User).where(User.email == EMAIL)) is None

    submit_login(page, EMAIL, TEST_PASSWORD)
    expect(page.locator("#password-error")).to_have_text(
        "The e-mail address or the password is not right."
    )
