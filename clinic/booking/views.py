"""Finding a free time (/book)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic import clock
from clinic.booking.availability import search_slots
from clinic.booking.forms import SlotSearchForm
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy

bp = Blueprint("booking", __name__)

DAYS_PER_PAGE = 14


@bp.route("/book")
def search() -> str:
    """Free times for a technique, two weeks a page, no JavaScript needed."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    today = clock.local_today(timezone)
    techniques = list(
        db.session.scalars(
            select(Technique)
            .where(Technique.active)
            .options(selectinload(Technique.options))
            .order_by(Technique.position, Technique.name)
        )
    )
    form = SlotSearchForm(request.args)
    form.technique.choices = {t.slug: t.name for t in techniques}
    chosen = next((t for t in techniques if t.slug == form.technique.data), None)
    notes: list[str] = []
    if chosen is None:
        if form.technique.data:
            notes.append("We do not offer that technique; choose one from the list.")
        chosen = techniques[0] if techniques else None
    if chosen is None:
        return render_template("booking/search.html", form=form, search=None, notes=notes)
    form.technique.data = chosen.slug

    durations = [o.duration_minutes for o in chosen.options]
    form.duration.choices = {d: f"{d} minutes" for d in durations}
    if request.args.get("duration") and form.duration.data not in durations:
        notes.append(f"{chosen.name} comes in {', '.join(map(str, durations))} minutes.")
    if form.duration.data not in durations:
        form.duration.data = durations[0]

    policy = ClinicPolicy.current()
    last_bookable = today + timedelta(days=policy.horizon_days)
    first_day = form.start.data or today
    if request.args.get("start") and form.start.data is None:
        notes.append("That date could not be read; showing from today.")
        first_day = today
    if first_day < today:
        notes.append("That date has passed; showing from today.")
        first_day = today
    if first_day > last_bookable:
        notes.append(f"We take bookings up to {policy.horizon_days} days ahead.")
        first_day = last_bookable
    form.start.data = first_day
    last_day = min(first_day + timedelta(days=DAYS_PER_PAGE - 1), last_bookable)

    result = search_slots(
        technique=chosen,
        duration_minutes=form.duration.data,
        first_day=first_day,
        last_day=last_day,
        now=clock.utcnow(),
        timezone=timezone,
        policy=policy,
    )
    therapist_id = form.therapist.data if request.args.get("therapist") else None
    form.therapist.choices = {0: "Any therapist"} | dict(
        sorted(result.therapist_names.items(), key=lambda item: item[1])
    )
    slots = result.slots
    if therapist_id:
        if therapist_id not in result.therapist_names:
            notes.append("That therapist does not offer this technique in these weeks.")
        slots = [s for s in slots if s.therapist_id == therapist_id]
    else:
        form.therapist.data = 0
    shown = type(result)(result.timezone, first_day, last_day, slots, result.therapist_names)

    def page_link(day):
        return {
            "technique": chosen.slug,
            "duration": form.duration.data,
            "therapist": form.therapist.data or None,
            "start": day.isoformat(),
        }

    return render_template(
        "booking/search.html",
        form=form,
        technique=chosen,
        search=shown,
        notes=notes,
        zone_name=timezone,
        zone_abbreviation=clock.utcnow().astimezone(ZoneInfo(timezone)).tzname(),
        earlier=page_link(max(today, first_day - timedelta(days=DAYS_PER_PAGE)))
        if first_day > today
        else None,
        later=page_link(last_day + timedelta(days=1)) if last_day < last_bookable else None,
    )
