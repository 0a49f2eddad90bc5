"""Lindring: booking for massage clinics that treat back pain."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic.config import load_config
from clinic.extensions import bootstrap, csrf, db, login_manager, mail, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding single settings (tests)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_mapping(load_config())
    if config:
        app.config.from_mapping(config)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'lindring.db'}"
        )

    if app.config["TRUSTED_PROXIES"]:
        # Links in e-mails must use the scheme and host the client saw, not the proxy's.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_security_headers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from clinic import assets, i18n, ratelimits, secret_links
    from clinic.notify import outbox

    secret_links.install_log_filter()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    mail.init_app(app)
    i18n.init_app(app)
    assets.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.login_message_category = "info"
    outbox.init_app(app)
    ratelimits.init_app(app)
    _import_models()


def _import_models() -> None:
    # Every model must be known to the metadata, for migrations and relationships alike.
    import clinic.audit.models
    import clinic.auth.access
    import clinic.auth.models
    import clinic.booking.models
    import clinic.calendars.models
    import clinic.catalog.models
    import clinic.database
    import clinic.notify.models
    import clinic.scheduling.models
    import clinic.screening.models
    import clinic.treatment.models
    import clinic.waitlist.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    # These modules add their routes to the API's and booking's blueprints when imported, or
    # connect to other domains' signals.
    import clinic.admin.audit_views
    import clinic.admin.certification_views
    import clinic.admin.email_views
    import clinic.admin.report_views
    import clinic.admin.technique_views
    import clinic.admin.therapist_views
    import clinic.admin.user_views
    import clinic.api.bookings
    import clinic.api.catalog
    import clinic.auth.invitation_views
    import clinic.booking.change_views
    import clinic.booking.series_views
    import clinic.booking.staff_views
    import clinic.waitlist.offers  # noqa: F401  (its receivers of booking and hours signals)
    from clinic.admin.views import bp as admin_bp
    from clinic.api.views import bp as api_bp
    from clinic.auth.two_factor_views import bp as two_factor_bp
    from clinic.auth.views import bp as auth_bp
    from clinic.booking.previsit import bp as previsit_bp
    from clinic.booking.views import bp as booking_bp
    from clinic.calendars.feeds import bp as feeds_bp
    from clinic.calendars.sources import bp as calendar_sources_bp
    from clinic.calendars.views import bp as calendar_bp
    from clinic.catalog.views import bp as catalog_bp
    from clinic.nul_bytes import bp as nul_bytes_bp
    from clinic.privacy.views import bp as privacy_bp
    from clinic.scheduling.views import admin_bp as scheduling_admin_bp
    from clinic.scheduling.views import bp as scheduling_bp
    from clinic.screening.views import bp as screening_bp
    from clinic.screening.views import review_bp
    from clinic.treatment.views import bp as treatment_bp
    from clinic.waitlist.views import bp as waitlist_bp

    app.register_blueprint(nul_bytes_bp)  # no routes: refuses a NUL in any request (400)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(two_factor_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(scheduling_bp)
    app.register_blueprint(scheduling_admin_bp)
    app.register_blueprint(screening_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(calendar_sources_bp)
    app.register_blueprint(waitlist_bp)
    app.register_blueprint(previsit_bp)
    app.register_blueprint(treatment_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(api_bp)
    # Bearer tokens only, never the session cookie: no cookie to ride on, so no CSRF to stop.
    csrf.exempt(api_bp)

    from clinic import health, request_log

    health.init_app(app)
    request_log.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from clinic.errors import init_app

    init_app(app)


def register_template_helpers(app: Flask) -> None:
    from clinic.templating import init_app

    init_app(app)


def register_security_headers(app: Flask) -> None:
    from clinic.headers import add_security_headers

    app.after_request(add_security_headers)


def register_commands(app: Flask) -> None:
    from clinic.cli import init_app

    init_app(app)
