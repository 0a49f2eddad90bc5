"""The catalogue and the screening in Danish: techniques' own Danish texts, the admin's Danish
fields, and a screening shown in the language it was answered in.
"""

from __future__ import annotations

from email.header import decode_header, make_header

from flask.testing import FlaskClient
from sqlalchemy import select

from clinic.auth.models import User
from clinic.catalog.models import Technique
from clinic.demo import TECHNIQUES, TECHNIQUES_DA
from clinic.extensions import db
from clinic.screening.models import Screening
from clinic.screening.rules import question
from tests.integration.test_screening import form_data
from tests.support import Clinic, Mailbox, Person, post_form

DANISH = {"Accept-Language": "da"}
ENGLISH = {"Accept-Language": "en"}


def page(web: FlaskClient, url: str, headers: dict[str, str]) -> str:
    response = web.get(url, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


SPORTS = next(t for t in TECHNIQUES if t["slug"] == "sports-massage")
SPORTS_DA = TECHNIQUES_DA["sports-massage"]


def test_a_demo_technique_shows_its_danish_texts_to_a_danish_browser(clinic: Clinic):
    web = clinic.web()
    danish = page(web, "/techniques/sports-massage", DANISH)
    assert '<h1 class="h2">Sportsmassage</h1>' in danish
    assert SPORTS_DA["description"].split("\n\n")[0] in danish
    assert "Hvem bør ikke få den" in danish  # the page's own texts in Danish too
    assert "Sports massage" not in danish
    english = page(web, "/techniques/sports-massage", ENGLISH)
    assert '<h1 class="h2">Sports massage</h1>' in english
    assert SPORTS["description"].split("\n\n")[0] in english
    assert "Who should not have it" in english and "Sportsmassage" not in english
    # The list shows each technique's Danish name.
    listed = page(web, "/techniques", DANISH)
    assert all(texts["name"] in listed for texts in TECHNIQUES_DA.values())


def test_the_admin_saves_a_danish_description_and_it_is_shown(clinic: Clinic):
    admin = clinic.staff("admin")
    url = f"/admin/techniques/{clinic.ids['classic-massage']}"
    form = page(admin, url, DANISH)
    # The fields hold the English columns and the Danish texts apart, whatever the page's
    # language.
    assert 'value="Classic massage"' in form and 'value="Klassisk massage"' in form
    with clinic.app.app_context():
        technique = db.session.get(Technique, clinic.ids["classic-massage"])
        data = {name: technique.text(name, "en") for name in ("name", "summary", "description")}
        data |= {
            "slug": technique.slug,
            "helps_with": technique.text("helps_with", "en"),
            "not_suitable_for": technique.text("not_suitable_for", "en"),
            "pressure": technique.pressure.value,
            "active": "y",
            **{
                f"{name}_{n}": value
                for n, o in enumerate(technique.options, start=1)
                for name, value in (
                    ("duration", o.duration_minutes),
                    ("price", o.price_minor // 100),
                )
            },
            **{f"{name}_da": text for name, text in TECHNIQUES_DA["classic-massage"].items()},
        }
    data["description_da"] = "Rolig massage med lange strøg.\n\nGod til en første behandling."
    data["summary_da"] = ""  # blank: shown in English
    response = post_form(admin, url, data, headers=DANISH)
    assert response.status_code == 302

    web = clinic.web()
    danish = page(web, "/techniques/classic-massage", DANISH)
    assert "<p>Rolig massage med lange strøg.</p>" in danish
    assert "<p>God til en første behandling.</p>" in danish
    assert "The familiar Swedish-style massage" in danish  # no Danish summary: English
    english = page(web, "/techniques/classic-massage", ENGLISH)
    assert "Rolig massage" not in english and "uses long, gliding strokes" in english
    # Shown again when the admin edits it; the English columns are untouched.
    assert "Rolig massage med lange strøg." in page(admin, url, ENGLISH)
    with clinic.app.app_context():
        technique = db.session.get(Technique, clinic.ids["classic-massage"])
        assert technique.text("name", "en") == "Classic massage"
        assert "summary" not in technique.translations["da"]


def test_a_screening_answered_in_danish_shows_the_admin_its_danish_questions(
    clinic: Clinic, make_client
):
    client: Person = make_client("ida@example.com", screened=False)
    response = post_form(
        client.web, "/screening/new", form_data(yes=("pregnancy",)), headers=DANISH
    )
    assert response.status_code == 302
    with clinic.app.app_context():
        screening = db.session.scalar(
            select(Screening).where(Screening.client_id == client.user.id)
        )
        assert screening.language == "da"
        screening_id = screening.id
    # The client reads the result in Danish.
    mine = page(client.web, f"/screening/{screening_id}", DANISH)
    assert "Resultatet af dit helbredsskema" in mine
    assert "Disse svar blev givet" not in mine  # the same language as the page

    admin = clinic.staff("admin")
    review = page(admin, f"/admin/screenings/{screening_id}", ENGLISH)
    assert "<dt>Er du gravid?</dt>" in review
    assert question("pregnancy").text not in review
    assert "These answers were given in Danish." in review
    assert "The answers that triggered this" in review  # the page itself stays English


def test_the_urgent_alert_is_written_in_the_admins_language(
    clinic: Clinic, make_client, mailbox: Mailbox
):
    with clinic.app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@lindring.example"))
        admin.locale = "da"
        db.session.commit()
    client: Person = make_client("ida@example.com", screened=False)
    post_form(client.web, "/screening/new", form_data(yes=("rf_leg_weakness",)), headers=ENGLISH)
    [alert] = mailbox.to("admin@lindring.example")
    assert str(make_header(decode_header(alert["Subject"]))) == (
        "Haster: en klients helbredsskema skal ses på i dag"
    )
    assert Mailbox.body(alert).startswith("Hej Clinic Admin")
    assert "Åbn helbredsskemaet" in Mailbox.html(alert)
    # The client still reads their own page in English.
    assert "Please contact a doctor today" in page(client.web, "/screening", ENGLISH)
