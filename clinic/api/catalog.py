"""API v1: techniques, therapists and free slots. Public: nothing here is personal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic import clock
from clinic.api import ApiError, clinic_times
from clinic.api.views import bp
from clinic.auth.models import User
from clinic.booking.availability import search_slots
from clinic.catalog.models import Certification, Technique, Therapist
from clinic.extensions import db
from clinic.numbers import whole_number
from clinic.scheduling.models import ClinicPolicy

MAX_RANGE_DAYS = 93


@bp.get("/techniques")
def techniques() -> Response:
    found = db.session.scalars(
        select(Technique)
        .where(Technique.active)
        .options(selectinload(Technique.options))
        .order_by(Technique.position, Technique.name)
    )
    currency = current_app.config["CLINIC_CURRENCY"]
    return jsonify(
        [
            {
                "slug": t.slug,
                "name": t.name,
                "durations": [o.duration_minutes for o in t.options],
                # In the currency's minor unit (øre), in the order of `durations`.
                "prices": [o.price_minor for o in t.options],
                "currency": currency,
            }
            for t in found
        ]
    )


def _technique(slug: str | None) -> Technique:
    if not slug:
        raise ApiError(
            422, "invalid_parameters", "Give a technique.", problems={"technique": "required"}
        )
    found = db.session.scalar(
        select(Technique)
        .where(Technique.slug == slug, Technique.active)
        .options(selectinload(Technique.options))
    )
    if found is None:
        raise ApiError(
            422,
            "invalid_parameters",
            f"No technique {slug!r}; GET /api/v1/techniques lists them.",
            problems={"technique": "unknown"},
        )
    return found


@bp.get("/therapists")
def therapists() -> Response:
    """Active therapists with the techniques they are certified for today."""
    today = clock.local_today(current_app.config["CLINIC_TIMEZONE"])
    slug = request.args.get("technique")
    technique = _technique(slug) if slug is not None else None
    rows = db.session.execute(
        select(Therapist.id, User.name, Technique.slug)
        .join(Therapist.user)
        .join(Certification, Certification.therapist_id == Therapist.id)
        .join(Technique, Technique.id == Certification.technique_id)
        .where(
            Therapist.active,
            User.active,
            Technique.active,
            Certification.valid_from <= today,
            Certification.valid_until >= today,
        )
        .order_by(User.name, Therapist.id, Technique.position)
    )
    found: dict[int, dict[str, Any]] = {}
    for tid, name, technique_slug in rows:
        entry = found.setdefault(tid, {"id": tid, "name": name, "techniques": []})
        if technique_slug not in entry["techniques"]:
            entry["techniques"].append(technique_slug)
    listed = list(found.values())
    if technique is not None:
        listed = [t for t in listed if technique.slug in t["techniques"]]
    return jsonify(listed)


def _date(name: str, problems: dict[str, str]) -> date | None:
    raw = request.args.get(name)
    if not raw:
        problems[name] = "required, as YYYY-MM-DD"
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems[name] = "not a date; use YYYY-MM-DD"
        return None


@bp.get("/slots")
def slots() -> Response:
    """Free slots: `from` and `to` are inclusive local dates of the clinic."""
    timezone = current_app.config["CLINIC_TIMEZONE"]
    technique = _technique(request.args.get("technique"))
    problems: dict[str, str] = {}
    durations = [o.duration_minutes for o in technique.options]
    duration = request.args.get("duration", type=int)
    if duration not in durations:
        problems["duration"] = f"one of {', '.join(map(str, durations))} (minutes)"
    first_day, last_day = _date("from", problems), _date("to", problems)
    therapist_id = None
    if request.args.get("therapist") is not None:
        therapist_id = whole_number(request.args.get("therapist"))
        if therapist_id is None or db.session.get(Therapist, therapist_id) is None:
            problems["therapist"] = "no such therapist; GET /api/v1/therapists lists them"
    today = clock.local_today(timezone)
    if first_day and last_day:
        if last_day < first_day:
            problems["to"] = "must not be before from"
        elif last_day < today:
            problems["to"] = "is in the past"
        elif (last_day - first_day).days >= MAX_RANGE_DAYS:
            problems["to"] = f"at most {MAX_RANGE_DAYS} days after from"
    if problems:
        raise ApiError(
            422, "invalid_parameters", "Some parameters are not right.", problems=problems
        )
    assert first_day and last_day and duration  # for the type checker: checked above
    policy = ClinicPolicy.current()
    horizon_end = today + timedelta(days=policy.horizon_days)
    first_day, last_day = max(first_day, today), min(last_day, horizon_end)
    found = []
    if first_day <= last_day:
        found = search_slots(
            technique=technique,
            duration_minutes=duration,
            first_day=first_day,
            last_day=last_day,
            now=clock.utcnow(),
            timezone=timezone,
            therapist_id=therapist_id,
            policy=policy,
        ).slots
    write = clinic_times()
    # Two weeks of a clinic are thousands of slots; building a dict of each and encoding it
    # took a third of the answer's time. Each is written as jsonify writes it (keys sorted, no
    # spaces, outside debug mode; tested byte for byte), its values ISO instants and ids that
    # need no escaping.
    items = ",".join(
        f'{{"end":"{write(s.end)}","start":"{write(s.start)}","therapist_id":{s.therapist_id:d}}}'
        for s in found
    )
    zone = current_app.json.dumps(timezone)
    return current_app.response_class(
        f'{{"slots":[{items}],"timezone":{zone}}}\n', mimetype=current_app.json.mimetype
    )
