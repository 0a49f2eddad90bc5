"""`flask --app wsgi ...` commands: seed-demo, create-admin, create-client, send-outbox,
queue-reminders, expire-pending, import-calendars, purge-expired."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from clinic.auth.models import Role
from clinic.auth.operations import AccountError, create_user
from clinic.clock import local_today, utcnow
from clinic.extensions import db


def _create_account(email: str, password: str, name: str | None, role: Role, phone: str) -> None:
    try:
        user = create_user(
            email=email, name=name or email.split("@")[0], password=password, role=role, phone=phone
        )
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {role.value} {user.email} (id {user.id}).")


def _account_command(role: Role) -> click.Command:
    @click.command(f"create-{role.value}", help=f"Create a {role.value} account.")
    @click.argument("email")
    @click.option(
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 12 characters; asked for when left out.",
    )
    @click.option("--name", default=None, help="Full name (default: the part before the @).")
    @click.option("--phone", default="", help="Phone number.")
    @with_appcontext
    def command(email: str, password: str, name: str | None, phone: str) -> None:
        _create_account(email, password, name, role, phone)

    return command


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no accounts.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Create the demo clinic (idempotent). Refused in production."""
    from clinic.demo import database_is_empty, seed_demo

    if current_app.config["LINDRING_ENV"] == "production":
        raise click.ClickException("seed-demo is refused when LINDRING_ENV=production.")
    if if_empty and not database_is_empty():
        click.echo("The database already has accounts; demo data not seeded.")
        return
    created = seed_demo(local_today(current_app.config["CLINIC_TIMEZONE"]), utcnow())
    db.session.commit()
    if created:
        click.echo(f"Seeded the demo clinic: {', '.join(created)}.")
        click.echo("Log in as anna@, bo@, clara@, david@, admin@ or client@lindring.example")
        click.echo("with the password demo-password.")
    else:
        click.echo("The demo clinic is already complete; nothing to add.")


@click.command("send-outbox")
@click.option("--limit", default=100, show_default=True, help="Most messages to send this run.")
@with_appcontext
def send_outbox_command(limit: int) -> None:
    """Queue the reminders that are due, then send queued e-mail, retrying what failed before.

    Safe to run from cron and from several machines at once: no message goes out twice. Exits 1
    when a message failed in this run or the reminders could not be queued.
    """
    from clinic import clock
    from clinic.notify.outbox import MAX_ATTEMPTS, backlog, deliver_pending
    from clinic.notify.reminders import queue_due_reminders

    try:
        reminders = queue_due_reminders(clock.utcnow())
        db.session.commit()
    except Exception as exc:  # a broken reminder must not hold up the mail already queued
        db.session.rollback()
        click.echo(f"Queueing the reminders failed: {type(exc).__name__}: {exc}", err=True)
        reminders = None
    sent, failed = deliver_pending(limit)
    left = backlog()
    waiting, given_up = left["failed"], left["given_up"]
    click.echo(f"Queued {reminders or 0} reminder(s). Sent {sent} e-mail(s), {failed} failed.")
    if waiting or given_up:
        click.echo(
            f"{waiting} e-mail(s) wait for a retry; "
            f"{given_up} gave up after {MAX_ATTEMPTS} attempts."
        )
    if failed or reminders is None:
        raise SystemExit(1)


@click.command("queue-reminders")
@with_appcontext
def queue_reminders_command() -> None:
    """Queue the 24-hour reminders that are due, without sending them (send-outbox does both)."""
    from clinic import clock
    from clinic.notify.reminders import queue_due_reminders

    queued = queue_due_reminders(clock.utcnow())
    db.session.commit()
    click.echo(f"Queued {queued} reminder(s); send-outbox delivers them.")


@click.command("expire-pending")
@with_appcontext
def expire_pending_command() -> None:
    """Cancel pending bookings nobody decided, 24 hours before they start (run it from cron)."""
    from clinic import clock
    from clinic.booking import changes, notices

    # The e-mails link to the booking; outside a request, PUBLIC_URL says where the site is.
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        expired = changes.expire_pending(clock.utcnow())
        for booking in expired:
            notices.announce(booking, "expired", actor_id=None)
        db.session.commit()
    click.echo(f"Expired {len(expired)} pending booking(s); send-outbox delivers the e-mails.")


@click.command("purge-expired")
@with_appcontext
def purge_expired_command() -> None:
    """Erase health data kept past the retention period (run it daily from cron).

    Only deletes, so it is harmless to run twice or on several servers at once.
    """
    from clinic import clock
    from clinic.privacy.purge import purge_expired

    purged = purge_expired(clock.utcnow())
    db.session.commit()
    click.echo(
        f"Erased {purged.screenings} screening(s), {purged.previsit_checks} pre-visit check(s) "
        f"and the texts of {purged.treatment_notes} treatment note(s) kept longer than "
        f"{purged.retention_years} year(s) after the last visit."
    )


def init_app(app: Flask) -> None:
    from clinic.calendars.imports import import_calendars_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(import_calendars_command)
    app.cli.add_command(send_outbox_command)
    app.cli.add_command(queue_reminders_command)
    app.cli.add_command(expire_pending_command)
    app.cli.add_command(purge_expired_command)
    app.cli.add_command(_account_command(Role.ADMIN))
    app.cli.add_command(_account_command(Role.CLIENT))
