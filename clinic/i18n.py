"""Danish and English: which language a request is answered in, and the switch that sets it.

The JSON API always answers in English. A page: the signed-in user's own setting, else the one
chosen with the switch in this browser's session, else the best match of the browser's
Accept-Language, else DEFAULT_LOCALE.
Message catalogues live in translations/ (the .po files; `make translations` compiles them).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import Babel, force_locale, get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from clinic.extensions import db

LOCALES = ("en", "da")
# What the switch shows: each language in its own words.
LOCALE_NAMES = {"en": "English", "da": "Dansk"}
SESSION_KEY = "locale"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The language of this request (see the module's docstring for the order)."""
    if not has_request_context():  # a command run from cron: forced per message, else default
        return current_app.config["DEFAULT_LOCALE"]
    if request.blueprint == "api":
        return "en"  # programs read the API: its texts and technique names stay English
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


def current_locale() -> str:
    """The language code being used now ('en' or 'da')."""
    locale = get_locale()
    return locale.language if locale is not None else current_app.config["DEFAULT_LOCALE"]


def locale_of(user: object) -> str:
    """The language to write to this user in (e-mails, calendar files): their own setting, or
    the request's when they are the one asking, else DEFAULT_LOCALE."""
    chosen = getattr(user, "locale", None)
    if chosen in LOCALES:
        return chosen
    if has_request_context() and current_user.is_authenticated and current_user == user:
        return current_locale()
    return current_app.config["DEFAULT_LOCALE"]


def speaking(user: object) -> AbstractContextManager[None]:
    """`with speaking(user):` renders texts (an e-mail to them) in that user's language."""
    return force_locale(locale_of(user))


@bp.post("/language")
def switch() -> Response:
    """Set the language from the layout's switch: in the session, and as a signed-in user's own
    setting, then go back to the page it was chosen on."""
    from clinic.auth.access import is_safe_next

    chosen = request.form.get("locale", "")
    back = request.form.get("next", "")
    if chosen in LOCALES:
        session[SESSION_KEY] = chosen
        if current_user.is_authenticated:
            current_user.locale = chosen
            db.session.commit()
    return redirect(back if is_safe_next(back) else url_for("catalog.home"))


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_locale=app.config["DEFAULT_LOCALE"],
        default_translation_directories=str(TRANSLATIONS),
    )
    app.register_blueprint(bp)

    @app.context_processor
    def language_values() -> dict[str, object]:
        return {"current_locale": current_locale, "locale_names": LOCALE_NAMES}
