"""The client's screening pages, and the admins' review queue."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.audit.models import record as audit
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.database import writes_on_get
from clinic.extensions import db
from clinic.i18n import current_locale
from clinic.paging import PAGE_SIZE, Page, read_page
from clinic.screening import notices, operations
from clinic.screening.forms import ApproveForm, ClearanceForm, RejectForm, questionnaire_form
from clinic.screening.models import (
    Decision,
    Screening,
    ScreeningOutcome,
    ScreeningReview,
    client_label,
    client_reasons,
)
from clinic.screening.rules import (
    CURRENT_VERSION,
    OUTCOME_LABELS,
    InvalidAnswers,
    Outcome,
    Section,
    questions,
    triggering_answers,
)
from clinic.screening.signals import review_decided

bp = Blueprint("screening", __name__)
review_bp = Blueprint("review", __name__, url_prefix="/admin/screenings")

# Said on a screening's page when it was answered in another language than the page's.
ANSWERED_IN = {
    "en": _l("These answers were given in English."),
    "da": _l("These answers were given in Danish."),
}


def _me() -> User:
    return db.session.get(User, current_user.id)


def _load(screening_id: int) -> Screening:
    screening = db.session.scalar(
        select(Screening)
        .where(Screening.id == screening_id)
        .options(
            selectinload(Screening.client),
            selectinload(Screening.outcomes).selectinload(ScreeningOutcome.technique),
            selectinload(Screening.outcomes).selectinload(ScreeningOutcome.review),
            selectinload(Screening.reviews).selectinload(ScreeningReview.admin),
        )
    )
    if screening is None:
        abort(404)
    return screening


def _audit_staff_view(screening: Screening, user: User) -> None:
    if user.id != screening.client_id:
        audit(
            "screening.viewed",
            "screening",
            screening.id,
            actor_id=user.id,
            ip=request.remote_addr or "",
            detail={"client_id": screening.client_id, "path": request.path},
        )


@bp.route("/screening")
@roles_required(Role.CLIENT)
def current() -> str:
    screening = operations.current_screening(current_user.id)
    return render_template(
        "screening/current.html",
        screening=screening,
        now=clock.utcnow(),
        **_result_context(screening),
    )


@bp.route("/screening/new", methods=["GET", "POST"])
@roles_required(Role.CLIENT)
def new() -> str | Response:
    form = questionnaire_form(CURRENT_VERSION)()
    if form.validate_on_submit():
        try:
            screening = operations.submit_screening(
                _me(),
                form.answers(),
                consent=form.consent.data,
                now=clock.utcnow(),
                language=current_locale(),
            )
        except InvalidAnswers as exc:  # the form's own checks make this rare
            for question_id, problem in exc.problems.items():
                if question_id in form:
                    form[question_id].errors.append(_(problem))
        except operations.ScreeningError as exc:
            form.consent.errors.append(_(str(exc)))
        else:
            if screening.is_urgent:
                notices.queue_urgent_alert(screening)
            db.session.commit()
            return redirect(url_for("screening.show", screening_id=screening.id))
    sections = {
        section.value: [form[q.id] for q in questions(CURRENT_VERSION) if q.section is section]
        for section in Section
    }
    return render_template("screening/new.html", form=form, sections=sections)


def _result_context(screening: Screening | None) -> dict:
    if screening is None:
        return {}
    rows = sorted(screening.outcomes, key=lambda o: (o.technique.position, o.technique.name))
    answered_in = None
    if screening.language != current_locale():
        answered_in = ANSWERED_IN.get(screening.language)
    return {
        "rows": rows,
        "client_label": client_label,
        "client_reasons": client_reasons,
        "answered_in": answered_in,
    }


@bp.route("/screening/<int:screening_id>")
@writes_on_get
@login_required
def show(screening_id: int) -> str:
    screening = _load(screening_id)
    me = _me()
    if not screening.can_be_seen_by(me):
        abort(404)  # not even whether it exists
    # Rendered before the commit, which would expire what the page shows and load it again.
    page = render_template(
        "screening/show.html", screening=screening, now=clock.utcnow(), **_result_context(screening)
    )
    _audit_staff_view(screening, me)
    db.session.commit()
    return page


# --- the admins' review queue ---------------------------------------------------------------


@review_bp.before_request
@login_required
def _admins_only() -> None:
    if current_user.role is not Role.ADMIN:
        abort(403)


@review_bp.route("/")
def queue() -> str:
    urgent = db.session.scalars(
        select(Screening)
        .where(Screening.overall == Outcome.URGENT, Screening.superseded_at.is_(None))
        .options(selectinload(Screening.client))
        .order_by(Screening.submitted_at.desc())
        .limit(20)
    )
    # A page at a time: after a campaign, or a holiday, hundreds may wait. A page past the
    # end (the queue shrank as others reviewed) shows the last one.
    total = operations.review_queue_count()
    page = min(read_page(request.args), max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))
    waiting = operations.review_queue(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    queue = Page(waiting, total, page, PAGE_SIZE, "answered", "asc")
    return render_template(
        "screening/queue.html", queue=queue, urgent=list(urgent), now=clock.utcnow()
    )


def _decision_forms(screening: Screening) -> dict[str, object]:
    forms = {
        "approve": ApproveForm(prefix="approve"),
        "clear": ClearanceForm(prefix="clear"),
        "reject": RejectForm(prefix="reject"),
    }
    kinds = {"approve": Decision.APPROVED, "clear": Decision.CLEARED, "reject": Decision.REJECTED}
    for key, form in forms.items():
        rows = operations.decidable_outcomes(screening, kinds[key])
        form.techniques.choices = {r.technique_id: r.technique.name for r in rows}
        if request.method == "GET" and key == "approve":
            # Approving is the common, harmless case; clearing and rejecting are chosen one by one.
            form.techniques.data = [r.technique_id for r in rows]
    return forms


@review_bp.route("/<int:screening_id>", endpoint="show")
@writes_on_get
def review(screening_id: int) -> str:
    screening = _load(screening_id)
    # Rendered before the commit, which would expire what the page shows and load it again.
    page = _render_review(screening, _decision_forms(screening))
    _audit_staff_view(screening, _me())
    db.session.commit()
    return page


def _render_review(screening: Screening, forms: dict[str, object]) -> str:
    # The questions as the client read them: in the language the screening was answered in.
    with force_locale(screening.language):
        texts = {q.id: _(q.text) for q in questions(screening.version)}
    return render_template(
        "screening/review.html",
        question_text=lambda qid, version: texts[qid],
        outcome_label=lambda outcome: _(OUTCOME_LABELS[outcome]),
        screening=screening,
        triggers=[
            (q, answer, texts[q.id])
            for q, answer in triggering_answers(screening.answers, screening.version)
        ],
        forms=forms,
        now=clock.utcnow(),
        **_result_context(screening),
    )


# The decision details a form may carry, named as operations.decide takes them.
_DETAILS = ("reason", "clearance_issued_by", "clearance_date", "note")


@review_bp.route("/<int:screening_id>/<any(approve, clear, reject):kind>", methods=["POST"])
def decide(screening_id: int, kind: str) -> str | Response:
    screening = _load(screening_id)
    forms = _decision_forms(screening)
    form = forms[kind]
    decision = {"approve": Decision.APPROVED, "clear": Decision.CLEARED}.get(
        kind, Decision.REJECTED
    )
    if not form.techniques.choices:
        flash(_("There is nothing left to decide of that kind on this screening."), "warning")
        return redirect(url_for("review.show", screening_id=screening.id))
    if form.validate_on_submit():
        try:
            review = operations.decide(
                screening,
                admin=_me(),
                decision=decision,
                technique_ids=form.techniques.data,
                now=clock.utcnow(),
                **{name: form[name].data for name in _DETAILS if name in form},
            )
        except operations.ScreeningError as exc:
            db.session.rollback()
            target = form[exc.field] if exc.field and exc.field in form else form.techniques
            target.errors = [*target.errors, _(str(exc))]
            screening = _load(screening_id)
        else:
            audit(
                f"screening.{decision.value}",
                "screening",
                screening.id,
                actor_id=current_user.id,
                ip=request.remote_addr or "",
                detail={"techniques": form.techniques.data},
            )
            notices.queue_decision_notice(screening)
            # Booking settles the client's pending bookings in this same transaction.
            review_decided.send(
                current_app._get_current_object(),
                screening=screening,
                review=review,
                decision=decision,
                technique_ids=list(form.techniques.data),
            )
            db.session.commit()
            done = {
                Decision.APPROVED: _l("Approved. The client has been told by e-mail."),
                Decision.CLEARED: _l(
                    "Medical clearance recorded. The client has been told by e-mail."
                ),
                Decision.REJECTED: _l("Rejected. The client has been told by e-mail."),
            }[decision]
            flash(str(done), "success")
            return redirect(url_for("review.show", screening_id=screening.id))
    return _render_review(screening, forms)
