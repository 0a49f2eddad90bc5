"""The health screening in a real browser: answering it, what the answers mean, the admins' review.

Each test gets its own app, database and live server (see conftest.py) and the demo clinic, with
fresh clients made for the test. Screenshots go to the directory conftest.py chooses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from clinic.auth.models import User
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.screening.models import Decision, Screening, ScreeningOutcome, ScreeningReview
from clinic.screening.rules import Outcome, question, questions
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.journeys import (
    Screenshot,
    fits_the_phone,
    flash,
    log_in,
    nav,
    open_phone_menu,
    path_is,
    wait_for_mail,
)
from tests.support import DEMO_PASSWORD, Mailbox

ADMIN_EMAIL = "admin@lindring.example"

YES_NO = [q for q in questions() if q.kind == "yes_no"]
CONSENT = "I agree to the processing of my health data as described above."
CONSENT_ERROR = "Please agree, or we cannot store your answers."
URGENT_HEADING = "Please contact a doctor today"


# --- helpers ------------------------------------------------------------------------------------


def result_url(live_server: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(live_server)}/screening/(\d+)$")


def question_group(page: Page, question_id: str) -> Locator:
    """The fieldset of a yes/no question, found the way a screen reader user finds it."""
    return page.get_by_role("group", name=question(question_id).text, exact=True)


def answer(page: Page, yes: Iterable[str] = ()) -> None:
    """Tick "Yes" for the questions in `yes` and "No" for every other yes/no question."""
    yes = set(yes)
    for q in YES_NO:
        label = "Yes" if q.id in yes else "No"
        question_group(page, q.id).get_by_role("radio", name=label, exact=True).check()


def expect_answers_ticked(page: Page, yes: Iterable[str] = ()) -> None:
    """Every yes/no question shows the answer given: the "Yes" radio or the "No" radio."""
    yes = set(yes)
    for q in YES_NO:
        yes_radio = page.locator(f"#{q.id}-0")
        no_radio = page.locator(f"#{q.id}-1")
        if q.id in yes:
            expect(yes_radio).to_be_checked()
            expect(no_radio).not_to_be_checked()
        else:
            expect(no_radio).to_be_checked()
            expect(yes_radio).not_to_be_checked()


def send(page: Page, consent: bool = True) -> None:
    if consent:
        page.get_by_label(CONSENT, exact=True).check()
    page.get_by_role("button", name="Send my answers").click()


def result_rows(page: Page) -> Locator:
    return page.locator("table.screening-result tbody tr[data-technique]")


def technique_slugs(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Technique.slug).order_by(Technique.position)))


def screenings_of(app: Flask, client_id: int) -> list[Screening]:
    """The client's stored screenings, with outcomes and reviews loaded, detached."""
    with app.app_context():
        found = list(
            db.session.scalars(
                select(Screening).where(Screening.client_id == client_id).order_by(Screening.id)
            )
        )
        for screening in found:
            for row in screening.outcomes:
                _ = row.technique.slug
            _ = screening.reviews
        db.session.expunge_all()
        return found


def screening_id_from(page: Page, live_server: str) -> int:
    match = result_url(live_server).match(page.url)
    assert match, page.url
    return int(match.group(1))


def expect_every_row(page: Page, app: Flask, label: str) -> None:
    """The result table has one row per technique of the clinic, each saying `label`."""
    rows = result_rows(page)
    slugs = technique_slugs(app)
    assert len(slugs) == 5
    expect(rows).to_have_count(len(slugs))
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.technique)") == slugs
    for slug in slugs:
        expect(page.locator(f"table.screening-result tr[data-technique='{slug}']")).to_contain_text(
            label
        )


# --- a clean screening, answered with the keyboard ----------------------------------------------


def test_client_answers_no_to_everything_with_the_keyboard_and_can_book_everything(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    client = make_user(email="ida@example.com", name="Ida Berg")
    log_in(page, "ida@example.com")

    nav(page).get_by_role("link", name="Health screening").click()
    expect(page).to_have_url(path_is(live_server, "/screening"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your health screening")
    expect(nav(page).get_by_role("link", name="Health screening")).to_have_class(
        re.compile(r"\bactive\b")
    )
    page.get_by_role("link", name="Answer the screening").click()
    expect(page).to_have_url(path_is(live_server, "/screening/new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Health screening")

    # Keyboard only: into the first question, an arrow key picks "No", Tab goes to the next one.
    first = page.locator(f"#{YES_NO[0].id}-0")
    first.focus()
    for q in YES_NO:
        expect(page.locator(f"#{q.id}-0")).to_be_focused()
        page.keyboard.press("ArrowRight")
        expect(page.locator(f"#{q.id}-1")).to_be_checked()
        page.keyboard.press("Tab")
    expect(page.get_by_label(question("other_conditions").text)).to_be_focused()
    page.keyboard.press("Tab")
    consent = page.get_by_label(CONSENT, exact=True)
    expect(consent).to_be_focused()
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send my answers")).to_be_focused()
    expect_answers_ticked(page)
    page.keyboard.press("Enter")

    expect(page).to_have_url(result_url(live_server))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your screening result")
    expect_every_row(page, app, "You can book it now")
    expect(page.get_by_text(URGENT_HEADING)).to_have_count(0)
    expect(page.locator("table.screening-result .badge")).to_have_text(["Yes"] * 5)
    screenshot(page, "screening-result")

    [stored] = screenings_of(app, client.id)
    assert stored.id == screening_id_from(page, live_server)
    assert stored.overall is Outcome.CLEAR
    assert stored.superseded_at is None
    assert [row.outcome for row in stored.outcomes] == [Outcome.CLEAR] * 5
    assert stored.answers == {**{q.id: False for q in YES_NO}, "other_conditions": ""}

    # The nav's page now shows the same answer instead of the invitation.
    nav(page).get_by_role("link", name="Health screening").click()
    expect(page).to_have_url(path_is(live_server, "/screening"))
    expect(page.get_by_role("link", name="Answer the screening")).to_have_count(0)
    expect_every_row(page, app, "You can book it now")


# --- needs a medical clearance ------------------------------------------------------------------


def test_a_disc_herniation_needs_a_medical_clearance_for_every_technique(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
    screenshot: Screenshot,
) -> None:
    client = make_user(email="bo@example.com", name="Bo Holm")
    log_in(page, "bo@example.com")
    page.goto("/screening/new")

    answer(page, yes=["disc_herniation"])
    page.get_by_label(CONSENT, exact=True).check()
    expect_answers_ticked(page, yes=["disc_herniation"])
    screenshot(page, "screening-form")
    page.get_by_role("button", name="Send my answers").click()

    expect(page).to_have_url(result_url(live_server))
    expect_every_row(page, app, "You can book; we confirm after a medical clearance")
    expect(result_rows(page).locator(".badge")).to_have_text(["After a decision"] * 5)
    # The reason in plain words, once per technique.
    expect(
        page.get_by_text("With a disc herniation we need a note from your doctor", exact=False)
    ).to_have_count(5)
    expect(page.get_by_text(URGENT_HEADING)).to_have_count(0)
    screenshot(page, "screening-clearance")

    [stored] = screenings_of(app, client.id)
    assert stored.id == screening_id_from(page, live_server)
    assert stored.overall is Outcome.NEEDS_CLEARANCE
    assert stored.answers["disc_herniation"] is True
    assert {row.outcome for row in stored.outcomes} == {Outcome.NEEDS_CLEARANCE}
    assert all(row.because_of == ["disc_herniation"] for row in stored.outcomes)
    assert all(row.decision is None for row in stored.outcomes)
    # Not urgent: nobody is alerted.
    assert mailbox.messages == []


# --- a red flag ---------------------------------------------------------------------------------


def test_a_red_flag_tells_the_client_to_see_a_doctor_and_alerts_the_admin(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
    screenshot: Screenshot,
) -> None:
    client = make_user(email="carl@example.com", name="Carl Lund")
    log_in(page, "carl@example.com")
    page.goto("/screening/new")
    answer(page, yes=["rf_leg_weakness"])
    send(page)

    expect(page).to_have_url(result_url(live_server))
    screening_id = screening_id_from(page, live_server)
    advice = page.locator("main .urgent-advice")
    expect(advice).to_be_visible()
    expect(advice.get_by_role("heading")).to_have_text(URGENT_HEADING)
    expect(advice).to_contain_text("112")
    expect(advice).to_contain_text("1813")
    expect_every_row(page, app, "Not until you have seen a doctor")
    expect(result_rows(page).locator(".badge")).to_have_text(["No"] * 5)

    # At the top: seen without scrolling, and before the table.
    assert page.evaluate("window.scrollY") == 0
    viewport_height = page.viewport_size["height"]
    advice_box = advice.bounding_box()
    table_box = page.locator("table.screening-result").bounding_box()
    assert advice_box is not None and table_box is not None
    assert advice_box["y"] < viewport_height, (advice_box, viewport_height)
    assert advice_box["y"] + advice_box["height"] <= table_box["y"], (advice_box, table_box)
    heading_box = advice.get_by_role("heading").bounding_box()
    assert heading_box is not None
    assert heading_box["y"] + heading_box["height"] <= viewport_height

    # Nothing in the page invites them to book.
    paths = page.locator("main a").evaluate_all("links => links.map(a => new URL(a.href).pathname)")
    to_booking = [p for p in paths if p.startswith("/book") or p.startswith("/techniques/")]
    assert to_booking == [], paths
    screenshot(page, "screening-urgent")

    [stored] = screenings_of(app, client.id)
    assert stored.id == screening_id
    assert stored.overall is Outcome.URGENT
    assert {row.outcome for row in stored.outcomes} == {Outcome.URGENT}

    # The admin is alerted by e-mail, with a link and no health data.
    [alert] = wait_for_mail(mailbox, ADMIN_EMAIL)
    assert alert["Subject"] == "Urgent: a client's screening needs attention today"
    body = Mailbox.body(alert)
    assert f"{live_server}/admin/screenings/{screening_id}" in body, body
    assert question("rf_leg_weakness").text not in body
    assert "weak" not in body.lower()
    assert mailbox.to("carl@example.com") == []


# --- no consent ---------------------------------------------------------------------------------


def test_without_consent_nothing_is_stored_and_the_answers_stay(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
) -> None:
    client = make_user(email="dina@example.com", name="Dina Krog")
    log_in(page, "dina@example.com")
    page.goto("/screening/new")
    yes = ["pregnancy", "varicose_veins", "skin_allergy"]
    answer(page, yes=yes)
    other = page.get_by_label(question("other_conditions").text)
    other.fill("A stiff neck in the mornings.")
    send(page, consent=False)

    expect(page).to_have_url(path_is(live_server, "/screening/new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Health screening")
    consent = page.get_by_label(CONSENT, exact=True)
    error = page.locator("#consent-error")
    expect(error).to_have_text(CONSENT_ERROR)
    expect(error).to_be_visible()
    expect(consent).not_to_be_checked()
    expect(consent).to_have_attribute("aria-describedby", re.compile(r"\bconsent-error\b"))
    expect(page.locator("#form-errors")).to_contain_text(CONSENT_ERROR)
    # Only consent is wrong: no question is flagged.
    expect(page.locator("fieldset.is-invalid")).to_have_count(0)
    expect_answers_ticked(page, yes=yes)
    expect(other).to_have_value("A stiff neck in the mornings.")
    assert screenings_of(app, client.id) == []

    # Agreeing now is enough: nothing has to be answered again.
    send(page)
    expect(page).to_have_url(result_url(live_server))
    [stored] = screenings_of(app, client.id)
    assert stored.answers["pregnancy"] is True
    assert stored.answers["other_conditions"] == "A stiff neck in the mornings."


# --- an admin approves, the client sees it ------------------------------------------------------


def test_admin_approves_a_screening_from_the_queue_and_the_client_sees_it(
    page: Page,
    browser: Browser,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    mailbox: Mailbox,
    screenshot: Screenshot,
) -> None:
    client = make_user(email="eva@example.com", name="Eva Dahl")
    log_in(page, "eva@example.com")
    page.goto("/screening/new")
    answer(page, yes=["pregnancy"])
    send(page)
    expect(page).to_have_url(result_url(live_server))
    screening_id = screening_id_from(page, live_server)
    expect_every_row(page, app, "You can book; we confirm after a review by our staff")

    admin_context = browser.new_context(base_url=live_server, viewport=DESKTOP)
    try:
        admin = admin_context.new_page()
        log_in(admin, ADMIN_EMAIL, DEMO_PASSWORD)
        nav(admin).get_by_role("link", name="Admin", exact=True).click()
        expect(admin).to_have_url(path_is(live_server, "/admin/"))
        waiting = admin.locator("#today-review")
        expect(waiting.locator("h3 .badge")).to_have_text("1")
        expect(waiting.locator("li")).to_have_text([re.compile(r"Eva Dahl\s+review\s+waiting")])
        waiting.get_by_role("link", name="All screenings to review").click()

        expect(admin).to_have_url(path_is(live_server, "/admin/screenings/"))
        expect(admin.get_by_role("heading", level=1)).to_have_text("Screenings to review")
        expect(admin.get_by_text("1 waiting.")).to_be_visible()
        row = admin.locator("tbody tr", has_text="Eva Dahl")
        expect(row).to_have_count(1)
        expect(row.locator(".badge")).to_have_text(["review"])
        # The demo client's clean screening is not waiting for anyone.
        expect(admin.locator("main")).not_to_contain_text("Demo Client")
        screenshot(admin, "review-queue")

        row.get_by_role("link", name="Review Eva Dahl").click()
        expect(admin).to_have_url(path_is(live_server, f"/admin/screenings/{screening_id}"))
        expect(admin.get_by_role("heading", level=1)).to_have_text("Screening of Eva Dahl")
        triggers = admin.locator("dl.triggers")
        expect(triggers.locator("dt")).to_have_text([question("pregnancy").text])
        expect(triggers.locator("dd[data-question='pregnancy']")).to_contain_text("Yes")
        approve_form = admin.locator("form[action$='/approve']")
        boxes = approve_form.locator("input[type=checkbox][name='approve-techniques']")
        expect(boxes).to_have_count(5)
        for i in range(5):
            expect(boxes.nth(i)).to_be_checked()
        screenshot(admin, "review")

        approve_form.get_by_role("button", name="Approve", exact=True).click()
        expect(admin).to_have_url(path_is(live_server, f"/admin/screenings/{screening_id}"))
        expect(flash(admin)).to_contain_text("Approved. The client has been told by e-mail.")
        expect(admin.get_by_text("Nothing left to decide on this screening.")).to_be_visible()
        expect(admin.locator("form[action$='/approve']")).to_have_count(0)
    finally:
        admin_context.close()

    [stored] = screenings_of(app, client.id)
    assert stored.id == screening_id
    assert [row.decision for row in stored.outcomes] == [Decision.APPROVED] * 5
    assert [row.outcome for row in stored.outcomes] == [Outcome.NEEDS_REVIEW] * 5
    [review] = stored.reviews
    with app.app_context():
        review = db.session.get(ScreeningReview, review.id)
        assert review.admin.email == ADMIN_EMAIL
        assert review.decision is Decision.APPROVED
        assert {
            row.review_id
            for row in db.session.scalars(
                select(ScreeningOutcome).where(ScreeningOutcome.screening_id == screening_id)
            )
        } == {review.id}

    # The client, still on their result page, reloads their screening.
    page.goto("/screening")
    expect_every_row(page, app, "You can book it: approved by the clinic")
    expect(result_rows(page).locator(".badge")).to_have_text(["Yes"] * 5)
    expect(page.get_by_role("heading", name="Decisions by the clinic")).to_be_visible()

    [notice] = wait_for_mail(mailbox, "eva@example.com")
    assert notice["Subject"] == "Your health screening has been reviewed"
    body = Mailbox.body(notice)
    assert "Hello Eva Dahl," in body
    assert f"{live_server}/screening/{screening_id}" in body, body
    assert "pregnan" not in body.lower()


# --- a phone ------------------------------------------------------------------------------------


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True)
def test_the_questionnaire_works_on_a_phone(
    page: Page,
    live_server: str,
    app: Flask,
    demo: None,
    make_user: Callable[..., User],
    screenshot: Screenshot,
) -> None:
    client = make_user(email="finn@example.com", name="Finn Berg")
    log_in(page, "finn@example.com")

    open_phone_menu(page)  # a tap while the menu still opens can miss its links
    nav(page).get_by_role("link", name="Health screening").click()
    expect(page).to_have_url(path_is(live_server, "/screening"))
    page.get_by_role("link", name="Answer the screening").click()
    expect(page).to_have_url(path_is(live_server, "/screening/new"))

    # Tapped, as a thumb would: every "No" and the consent box.
    for q in YES_NO:
        question_group(page, q.id).get_by_role("radio", name="No", exact=True).tap()
    page.get_by_label(CONSENT, exact=True).tap()
    expect_answers_ticked(page)
    expect(page.get_by_label(CONSENT, exact=True)).to_be_checked()
    fits_the_phone(page)
    # Every question and the button fit the screen's width.
    for target in [
        *(question_group(page, q.id) for q in YES_NO),
        page.get_by_role("button", name="Send my answers"),
    ]:
        box = target.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    screenshot(page, "screening-phone")

    page.get_by_role("button", name="Send my answers").tap()
    expect(page).to_have_url(result_url(live_server))
    expect_every_row(page, app, "You can book it now")
    fits_the_phone(page)
    [stored] = screenings_of(app, client.id)
    assert stored.overall is Outcome.CLEAR
