"""External calendars a therapist connects: upload an .ics file or give its URL.

A therapist manages their own under /therapist/calendar-sources; an admin manages any
therapist's under /admin/therapists/ID/calendar-sources. Both are the same code and template,
like the working hours and time-off pages (clinic/scheduling/views.py), of which this page is
one more tab.

Fetching a URL waits on someone else's server, up to CALENDAR_FETCH_TIMEOUT seconds, so it runs
outside the request's database transaction (imports.download_unlocked).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.calendars import fetch, imports
from clinic.calendars.forms import ReplaceUploadForm, UploadSourceForm, UrlSourceForm
from clinic.calendars.models import CalendarSource
from clinic.catalog.models import Therapist
from clinic.extensions import csrf, db
from clinic.scheduling.forms import ButtonForm

bp = Blueprint("calendar_sources", __name__)

# Room in an upload's request body for the multipart framing and the other fields.
UPLOAD_OVERHEAD = 64 * 1024


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


def _max_bytes() -> int:
    return current_app.config["CALENDAR_FETCH_MAX_BYTES"]


class _Place:
    """Whose sources, and where their pages are: the therapist's own, or an admin's view."""

    def __init__(self, therapist: Therapist, *, own: bool) -> None:
        self.therapist = therapist
        self.therapist_id = therapist.id
        self.own = own

    def url(self, action: str, **values: Any) -> str:
        if self.own:
            return url_for(f"calendar_sources.my_{action}", **values)
        return url_for(
            f"calendar_sources.therapist_{action}", therapist_id=self.therapist_id, **values
        )

    def source(self, source_id: int) -> CalendarSource:
        found = db.session.get(CalendarSource, source_id)
        if found is None or found.therapist_id != self.therapist_id:
            abort(404)  # someone else's calendar is not found, not forbidden
        return found


def _own() -> _Place:
    mine = db.session.scalar(select(Therapist).where(Therapist.user_id == current_user.id))
    if mine is None:
        abort(404)  # a therapist account without a profile has no availability to block
    return _Place(mine, own=True)


def _admins(therapist_id: int) -> _Place:
    found = db.session.scalar(
        select(Therapist).where(Therapist.id == therapist_id).options(joinedload(Therapist.user))
    )
    if found is None:
        abort(404)
    return _Place(found, own=False)


# --- the page and its actions, for both ------------------------------------------------------


def _page(
    place: _Place,
    *,
    url_form: UrlSourceForm | None = None,
    upload_form: UploadSourceForm | None = None,
    replace_form: ReplaceUploadForm | None = None,
    replace_id: int | None = None,
) -> str:
    max_bytes = _max_bytes()
    sources = list(
        db.session.scalars(
            select(CalendarSource)
            .where(CalendarSource.therapist_id == place.therapist_id)
            .order_by(CalendarSource.name, CalendarSource.id)
        )
    )
    replace = {
        s.id: ReplaceUploadForm(formdata=None, prefix=f"replace-{s.id}", max_bytes=max_bytes)
        for s in sources
        if s.url is None
    }
    if replace_form is not None and replace_id in replace:
        replace[replace_id] = replace_form
    for s in sources:
        if s.id in replace:  # one label per row, so each file field says whose it is
            replace[s.id].file.label.text = _("New file for “%(name)s”", name=s.name)
    own = place.own
    return render_template(
        "calendars/sources.html",
        therapist=place.therapist,
        own=own,
        sources=sources,
        host=fetch.url_host,
        url_form=url_form or UrlSourceForm(formdata=None, prefix="url"),
        upload_form=upload_form
        or UploadSourceForm(formdata=None, prefix="upload", max_bytes=max_bytes),
        replace=replace,
        button=ButtonForm(formdata=None),  # only renders; the body may be refused (too large)
        action=place.url,
        max_size=fetch.size_text(max_bytes),
        timeout=current_app.config["CALENDAR_FETCH_TIMEOUT"],
        hours_url=url_for("scheduling.my_hours")
        if own
        else url_for("scheduling_admin.therapist_hours", therapist_id=place.therapist_id),
        time_off_url=url_for("scheduling.my_time_off")
        if own
        else url_for("scheduling_admin.therapist_time_off", therapist_id=place.therapist_id),
    )


def _sources(place: _Place) -> str | Response:
    """The list, and adding a calendar by its URL: fetched at once, kept only if it works."""
    form = UrlSourceForm(prefix="url")
    if form.validate_on_submit():
        name, url = form.name.data, form.url.data
        try:
            data = imports.download_unlocked(url)
            source = imports.add_source(
                place.therapist_id, name, data, url=url, by=_me(), now=clock.utcnow(), ip=_ip()
            )
        except (fetch.FetchError, imports.SourceError) as exc:
            db.session.rollback()
            form.url.errors.append(str(exc))
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Calendar “%(name)s” connected: %(num)d busy time(s) imported. It is fetched "
                    "again regularly.",
                    "Calendar “%(name)s” connected: %(num)d busy time(s) imported. It is fetched "
                    "again regularly.",
                    source.event_count,
                    name=name,
                ),
                "success",
            )
            return redirect(place.url("sources"))
    return _page(place, url_form=form)


def _read_upload(form_class: type, **kwargs: Any) -> tuple[Any, bool]:
    """The upload form read under this route's own size limit: (form, too large)."""
    max_bytes = _max_bytes()
    # The app-wide MAX_CONTENT_LENGTH is for ordinary forms; a calendar file may be larger.
    request.max_content_length = max_bytes + UPLOAD_OVERHEAD
    try:
        return form_class(max_bytes=max_bytes, **kwargs), False
    except RequestEntityTooLarge:
        form = form_class(formdata=None, max_bytes=max_bytes, **kwargs)
        form.file.errors = [fetch.too_large(max_bytes)]
        return form, True


def _upload(place: _Place) -> str | Response:
    form, too_large = _read_upload(UploadSourceForm, prefix="upload")
    if not too_large and form.validate_on_submit():
        name = form.name.data
        try:
            source = imports.add_source(
                place.therapist_id,
                name,
                form.content,
                url=None,
                by=_me(),
                now=clock.utcnow(),
                ip=_ip(),
            )
        except imports.SourceError as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
        else:
            db.session.commit()
            flash(
                ngettext(
                    "Calendar “%(name)s” uploaded: %(num)d busy time(s) imported.",
                    "Calendar “%(name)s” uploaded: %(num)d busy time(s) imported.",
                    source.event_count,
                    name=name,
                ),
                "success",
            )
            return redirect(place.url("sources"))
    return _page(place, upload_form=form)


def _replace(place: _Place, source_id: int) -> str | Response:
    source = place.source(source_id)
    if source.url is not None:
        abort(404)  # a URL source is refreshed, not uploaded
    form, too_large = _read_upload(ReplaceUploadForm, prefix=f"replace-{source_id}")
    if not too_large and form.validate_on_submit():
        error = imports.replace_upload(source, form.content, by=_me(), now=clock.utcnow(), ip=_ip())
        db.session.commit()  # the new import, or the error noted on the source
        if error is None:
            flash(
                ngettext(
                    "Calendar “%(name)s” replaced: %(num)d busy time(s) imported.",
                    "Calendar “%(name)s” replaced: %(num)d busy time(s) imported.",
                    source.event_count,
                    name=source.name,
                ),
                "success",
            )
            return redirect(place.url("sources"))
        form.file.errors.append(
            _("%(error)s The busy times imported before are kept.", error=error)
        )
    return _page(place, replace_form=form, replace_id=source_id)


def _refresh(place: _Place, source_id: int) -> Response:
    source = place.source(source_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if source.url is None:
        flash(_("An uploaded calendar is brought up to date by uploading its file again."), "info")
        return redirect(place.url("sources"))
    outcome = imports.refresh(source_id, now=clock.utcnow())
    if outcome is None:
        abort(404)  # deleted while it was being fetched
    db.session.commit()
    refreshed, error = outcome
    if error is None:
        flash(
            ngettext(
                "Calendar “%(name)s” refreshed: %(num)d busy time(s).",
                "Calendar “%(name)s” refreshed: %(num)d busy time(s).",
                refreshed.event_count,
                name=refreshed.name,
            ),
            "success",
        )
    else:
        flash(
            _(
                "Calendar “%(name)s” could not be refreshed: %(error)s The busy times imported "
                "before are kept.",
                name=refreshed.name,
                error=error,
            ),
            "danger",
        )
    return redirect(place.url("sources"))


def _delete(place: _Place, source_id: int) -> Response:
    source = place.source(source_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    name = source.name
    imports.delete_source(source, by=_me(), ip=_ip())
    db.session.commit()
    flash(_("Calendar “%(name)s” removed, with its busy times.", name=name), "success")
    return redirect(place.url("sources"))


# --- routes: a therapist's own, and an admin's for any therapist ------------------------------
# The upload routes read their body under their own size limit, so the app-wide CSRF check
# (which reads the body first, under MAX_CONTENT_LENGTH) is skipped for them; their forms
# check the CSRF token themselves, as every FlaskForm does.

MINE = "/therapist/calendar-sources"
ADMINS = "/admin/therapists/<int:therapist_id>/calendar-sources"


@bp.route(MINE, methods=["GET", "POST"])
@roles_required(Role.THERAPIST)
def my_sources() -> str | Response:
    return _sources(_own())


@bp.route(MINE + "/upload", methods=["POST"])
@csrf.exempt
@roles_required(Role.THERAPIST)
def my_upload() -> str | Response:
    return _upload(_own())


@bp.route(MINE + "/<int:source_id>/upload", methods=["POST"])
@csrf.exempt
@roles_required(Role.THERAPIST)
def my_replace(source_id: int) -> str | Response:
    return _replace(_own(), source_id)


@bp.route(MINE + "/<int:source_id>/refresh", methods=["POST"])
@roles_required(Role.THERAPIST)
def my_refresh(source_id: int) -> Response:
    return _refresh(_own(), source_id)


@bp.route(MINE + "/<int:source_id>/delete", methods=["POST"])
@roles_required(Role.THERAPIST)
def my_delete(source_id: int) -> Response:
    return _delete(_own(), source_id)


@bp.route(ADMINS, methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def therapist_sources(therapist_id: int) -> str | Response:
    return _sources(_admins(therapist_id))


@bp.route(ADMINS + "/upload", methods=["POST"])
@csrf.exempt
@roles_required(Role.ADMIN)
def therapist_upload(therapist_id: int) -> str | Response:
    return _upload(_admins(therapist_id))


@bp.route(ADMINS + "/<int:source_id>/upload", methods=["POST"])
@csrf.exempt
@roles_required(Role.ADMIN)
def therapist_replace(therapist_id: int, source_id: int) -> str | Response:
    return _replace(_admins(therapist_id), source_id)


@bp.route(ADMINS + "/<int:source_id>/refresh", methods=["POST"])
@roles_required(Role.ADMIN)
def therapist_refresh(therapist_id: int, source_id: int) -> Response:
    return _refresh(_admins(therapist_id), source_id)


@bp.route(ADMINS + "/<int:source_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def therapist_delete(therapist_id: int, source_id: int) -> Response:
    return _delete(_admins(therapist_id), source_id)
