"""Follow-up pages: the clinician's worklist, assessments, the trajectory chart,
closing a case and presenting it again."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from tracker.auth.models import User
from tracker.auth.services import active_users_with
from tracker.cases.models import Referral
from tracker.cases.permissions import TEAM
from tracker.cases.queries import next_episode
from tracker.cases.rules import pain_duration_on
from tracker.cases.sections import CaseAction, CaseFact
from tracker.cases.views import get_referral_or_404
from tracker.catalogue.models import Technique
from tracker.catalogue.services import offered_entries
from tracker.core import signals
from tracker.core.once import AlreadySaved, remember
from tracker.core.time import local_today
from tracker.decisions.queries import case_procedures
from tracker.extensions import db
from tracker.followups import queries, services
from tracker.followups.chart import Point, Trajectory, trajectory_svg
from tracker.followups.explain import explain, explain_all
from tracker.followups.forms import (
    AssessmentEntryForm,
    MissedForm,
    OwnerForm,
    PresentAgainForm,
    WorklistFilterForm,
)
from tracker.followups.models import (
    PGIC,
    AssessmentMode,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.permissions import (
    ASSIGNERS,
    CARERS,
    CLOSERS,
    OWNERS,
    can_change_owner,
    can_close_case,
    can_log_assessment,
    can_mark_missed,
    can_present_again,
    may_own_followups,
)
from tracker.followups.rules import (
    Kind,
    describe_day,
    in_window,
    kind_on,
    out_of_window,
    reading_category,
    reduction_pct,
)
from tracker.web.forms import ConfirmForm
from tracker.web.handlers import current_path, form_status, safe_next_url, saved_before, saving
from tracker.web.permissions import require_role

logger = logging.getLogger(__name__)

bp = Blueprint("followups", __name__)


@bp.app_template_global()
def timepoint(followup: FollowUp) -> str:
    """A follow-up's time point in words: "Week 1", "Month 3", "Regrowth check"."""
    if followup.kind is FollowUpKind.REGROWTH:
        return _("Regrowth check")
    return day_label(followup.offset_days)


@bp.app_template_global()
def day_label(days: int) -> str:
    """Days after a procedure in words: "Week 1", "Month 3", "Day 10"."""
    unit, count = describe_day(days)
    return {
        "day": lambda: _("Day %(n)d", n=count),
        "week": lambda: _("Week %(n)d", n=count),
        "month": lambda: _("Month %(n)d", n=count),
        "year": lambda: _("Year %(n)d", n=count),
    }[unit]()


# --- worklist --------------------------------------------------------------------


@bp.app_template_global()
def reading_meaning(assessment: Any, followup: FollowUp) -> Any:
    """What a case's latest reading counts as, measured against the procedure the
    follow-up belongs to (None when it does not count or is of another one)."""
    if assessment is None or assessment.procedure_id != followup.procedure_id:
        return None
    return reading_category(
        followup.referral.nrs_average,
        assessment.nrs_average,
        assessment.pain_is_back,
        followup.procedure.performed_on,
        assessment.assessed_on,
        followup.procedure.technique.counts_from_day,
    )


def remarks_on(followups: list[FollowUp]) -> dict[int, list[str]]:
    """What other features say about the listed follow-ups (an invitation sent
    to the patient...), by follow-up id: one query per feature that speaks
    (``signals.followup_remarks``), whatever the number of rows."""
    remarks: dict[int, list[str]] = defaultdict(list)
    ids = [followup.id for followup in followups]
    if ids:
        for provider in signals.collected(signals.followup_remarks):
            for followup_id, words in provider(ids).items():
                remarks[followup_id].append(words)
    return remarks


def owner_choices() -> list[SelectChoice]:
    """Who may own follow-ups, for the worklist filter and the case's owner."""
    return [SelectChoice(str(user.id), user.full_name) for user in active_users_with(*OWNERS)]


def default_owner_filter(user: Any) -> int | None:
    """A clinician opens the worklist on her own follow-ups (as her home counts
    them); everyone else on the whole team's."""
    return user.id if may_own_followups(user) else None


@bp.route("/followups")
@require_role(*TEAM)
def worklist() -> str:
    form = WorklistFilterForm(request.args)
    form.responsible_id.choices = [
        SelectChoice("", _("Everyone")),
        SelectChoice(str(queries.TEAM_QUEUE), _("Team queue (nobody yet)")),
        *owner_choices(),
    ]
    form.technique_id.choices = [SelectChoice("", _("All techniques"))] + [
        SelectChoice(str(entry.id), entry.name)
        for entry in offered_entries(Technique, with_retired=True)
    ]
    if "responsible_id" not in request.args:
        form.responsible_id.data = default_owner_filter(current_user)
    if form.validate():
        filters = {"owner_id": form.responsible_id.data, "technique_id": form.technique_id.data}
    else:
        filters = {"owner_id": default_owner_filter(current_user), "technique_id": None}
    today = local_today()
    eligible = queries.eligible_cases(today, limit=queries.WORKLIST_ROWS)
    work = queries.worklist(today, **filters)
    return render_template(
        "followups/worklist.html",
        form=form,
        today=today,
        work=work,
        remarks=remarks_on(work.overdue + work.today + work.week),
        eligible=eligible,
        may_present_again=_may_present_again(current_user, eligible),
        eligible_total=queries.eligible_count(today),
        eligible_cap=queries.ELIGIBLE_COUNT_CAP,
        may_record=can_log_assessment(current_user, None),
        back=current_path(request),
    )


# --- assessments -------------------------------------------------------------------


def _assessment_page(referral: Referral, followup: FollowUp | None) -> Any:
    if not can_log_assessment(current_user, referral):
        abort(403)
    form = AssessmentEntryForm()
    if request.method == "GET":
        form.assessed_on.data = local_today()
        if followup is not None:
            # A time point on the worklist is done by phone, most of the time.
            form.mode.data = AssessmentMode.PHONE
    back = safe_next_url(request.args.get("next"), url_for("cases.show", referral_id=referral.id))
    if form.validate_on_submit():
        if saved_before(form):
            return redirect(back)
        with saving(form) as saved:
            assessment = services.log_assessment(
                referral, form.values(), by=current_user, followup=followup
            )
            remember(form.once_key.data, "assessment", assessment.id, user_id=current_user.id)
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(back)
        if saved.ok:
            flash(_("Assessment of %(case)s recorded.", case=referral.case_number), "success")
            fulfilled = assessment.followup
            if fulfilled is None:
                flash(
                    _(
                        "Its date is outside every follow-up window: it is kept as an "
                        "unscheduled assessment."
                    ),
                    "info",
                )
            elif fulfilled is not followup:
                flash(
                    _(
                        "Its date falls in the window of %(timepoint)s: it fulfils that "
                        "time point.",
                        timepoint=timepoint(fulfilled),
                    ),
                    "info",
                )
            return redirect(back)
    procedure = services.latest_procedure(referral)
    patient = referral.patient
    return render_template(
        "followups/assessment_form.html",
        form=form,
        referral=referral,
        followup=followup,
        procedure=procedure,
        previous=queries.case_assessments(referral.id),
        phones=[number for number in (patient.phone_1, patient.phone_2) if number],
        pgic_titles=PGIC,
        back=back,
    ), form_status(form)


@bp.route("/followups/<int:followup_id>/assessment", methods=["GET", "POST"])
@require_role(*CARERS)
def assess(followup_id: int) -> Any:
    followup = db.get_or_404(FollowUp, followup_id)
    referral = get_referral_or_404(followup.referral_id)
    if followup.status is not FollowUpStatus.PLANNED and request.method == "GET":
        flash(_("This follow-up has already been done or marked missed."), "info")
        return redirect(url_for("cases.show", referral_id=referral.id))
    # A form sent for a follow-up someone recorded meanwhile is shown again with
    # what was typed and why it was not saved.
    return _assessment_page(referral, followup)


@bp.route("/cases/<int:referral_id>/assessments/new", methods=["GET", "POST"])
@require_role(*CARERS)
def assess_unscheduled(referral_id: int) -> Any:
    return _assessment_page(get_referral_or_404(referral_id), None)


@bp.route("/followups/<int:followup_id>/missed", methods=["GET", "POST"])
@require_role(*CARERS)
def missed(followup_id: int) -> Any:
    followup = db.get_or_404(FollowUp, followup_id)
    if not can_mark_missed(current_user, followup):
        abort(403)
    form = MissedForm()
    back = safe_next_url(
        request.args.get("next"), url_for("cases.show", referral_id=followup.referral_id)
    )
    if form.validate_on_submit():
        with saving(form) as saved:
            services.mark_missed(followup, reason=form.reason.data, by=current_user)
        if saved.ok:
            flash(_("Follow-up marked missed."), "success")
            return redirect(back)
    return render_template(
        "followups/missed.html", form=form, followup=followup, back=back
    ), form_status(form)


# --- closing and presenting again ------------------------------------------------------


@bp.route("/cases/<int:referral_id>/close", methods=["POST"])
@require_role(*CLOSERS)
def close(referral_id: int) -> Any:
    referral = get_referral_or_404(referral_id)
    if not can_close_case(current_user, referral):
        abort(403)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.close_case(referral, by=current_user)
        if saved.ok:
            flash(_("%(case)s is closed.", case=referral.case_number), "success")
    return redirect(url_for("cases.show", referral_id=referral.id))


@bp.route("/cases/<int:referral_id>/present-again", methods=["GET", "POST"])
@require_role(*CARERS)
def present_again(referral_id: int) -> Any:
    referral = get_referral_or_404(referral_id)
    if not can_present_again(current_user, referral):
        abort(403)
    again = next_episode(referral)
    if again is not None:
        # Presented again already: the page says as what, and offers nothing more.
        return render_template("followups/present_again.html", referral=referral, again=again), (
            409 if request.method == "POST" else 200
        )
    verdict = services.compute_verdict(referral)
    form = PresentAgainForm()
    if request.method == "GET":
        form.reason.data = "\n".join(
            explain(reason.code, reason.values) for reason in verdict.reasons
        )
        procedures = case_procedures(referral.id)
        technique = procedures[0].technique.name_in_sentence if procedures else ""
        form.question.data = _("Repeat %(technique)s after recurrence?", technique=technique)
        form.pain_duration_months.data = pain_duration_on(
            referral.pain_duration_months, referral.referral_on, local_today()
        )
        form.patient_agreed_on.data = local_today()
    if form.validate_on_submit():
        with saving(form) as saved:
            again = services.present_again(
                referral,
                reason=form.reason.data,
                question=form.question.data,
                patient_agreed_on=form.patient_agreed_on.data,
                pain_duration_months=form.pain_duration_months.data,
                by=current_user,
            )
        if saved.ok and again is not None:
            flash(
                _(
                    "%(case)s is referred to the RCP again as %(new)s.",
                    case=referral.case_number,
                    new=again.case_number,
                ),
                "success",
            )
            return redirect(url_for("cases.show", referral_id=again.id))
    return render_template(
        "followups/present_again.html",
        form=form,
        referral=referral,
        again=None,
        verdict=verdict,
        reasons=[explain(reason.code, reason.values) for reason in verdict.reasons],
    ), form_status(form)


# --- the trajectory ------------------------------------------------------------------


def trajectory_of(referral: Referral) -> tuple[Trajectory, list[dict[str, Any]]]:
    """The chart's data and the same points as table rows."""
    procedures = sorted(case_procedures(referral.id), key=lambda p: p.performed_on)
    assessments = queries.case_assessments(referral.id)
    baseline = referral.nrs_average
    points: list[Point] = []
    if baseline is not None and referral.referral_on is not None:
        points.append(Point(referral.referral_on, baseline, "baseline"))
    points += [Point(a.assessed_on, a.nrs_average, "assessment") for a in assessments]
    window = None
    for procedure in procedures:
        window = services.window_for(procedure) or window
    trajectory = Trajectory(
        baseline=baseline,
        points=points,
        procedures=[(p.performed_on, p.technique.name) for p in procedures],
        window=window,
    )
    # The table says what each reading counts as (a reading on the day of the
    # procedure is charted, but counts for nothing; "pain is back" is no response).
    by_id = {procedure.id: procedure for procedure in procedures}
    rows: list[dict[str, Any]] = []
    if points and points[0].kind == "baseline":
        first = {"on": points[0].on, "kind": "baseline", "nrs": baseline}
        rows.append({**first, "reduction": None, "category": None})
    for assessment in assessments:
        procedure = by_id[assessment.procedure_id]
        rows.append(
            {
                "on": assessment.assessed_on,
                "kind": "assessment",
                "nrs": assessment.nrs_average,
                "reduction": reduction_pct(baseline, assessment.nrs_average),
                "unscheduled": assessment.followup_id is None,
                "procedure_id": assessment.procedure_id,
                "mode": assessment.mode,
                "category": reading_category(
                    baseline,
                    assessment.nrs_average,
                    assessment.pain_is_back,
                    procedure.performed_on,
                    assessment.assessed_on,
                    procedure.technique.counts_from_day,
                ),
            }
        )
    return trajectory, rows


@bp.route("/cases/<int:referral_id>/trajectory.svg")
@require_role(*TEAM)
def chart(referral_id: int) -> Response:
    trajectory, _rows = trajectory_of(get_referral_or_404(referral_id))
    response = Response(trajectory_svg(trajectory), mimetype="image/svg+xml")
    return response


# --- on the case page and the home page ----------------------------------------------------


def case_section(referral: Referral) -> dict[str, Any]:
    if not case_procedures(referral.id):
        return {"treated": False}
    trajectory, rows = trajectory_of(referral)
    stored = referral.verdict  # loaded with the case
    today = local_today()
    if stored is not None and kind_on(stored, today) is stored.kind:
        kind, reasons = stored.kind, explain_all(stored.reasons)
    else:
        # The minimum interval has passed since the verdict was kept: say it as of today.
        live = services.compute_verdict(referral, today)
        kind, reasons = live.kind, [explain(r.code, r.values) for r in live.reasons]
    followups = queries.case_followups(referral.id)
    planned_left = sum(1 for f in followups if f.status is FollowUpStatus.PLANNED)
    for row in rows:
        # A reading for no time point: outside every window, or an extra one in
        # the window of a time point already done.
        row["extra"] = row.get("unscheduled") and any(
            f.procedure_id == row["procedure_id"] and in_window(f, row["on"]) for f in followups
        )
    owner = services.owner_among(followups)
    return {
        "treated": True,
        # Once presented again, the new case carries the question: this one says so.
        "again": next_episode(referral),
        "kind": kind,
        "reasons": reasons,
        "followups": followups,
        "rows": rows,
        "window": trajectory.window,
        "planned_left": planned_left,
        "today": today,
        "baseline": referral.nrs_average,
        "owner": owner,
        "owner_form": _owner_form(referral, owner) if planned_left else None,
        "back": current_path(request),
        "can_log_assessment": can_log_assessment(current_user, referral),
        "can_present_again": can_present_again(current_user, referral),
        "can_close": can_close_case(current_user, referral),
    }


def case_summary(referral: Referral, ctx: dict[str, Any]) -> list[CaseAction | CaseFact]:
    """The verdict, the next follow-up and what to do about them, for the header."""
    if not ctx["treated"]:
        return []
    anchor = url_for("cases.show", referral_id=referral.id, _anchor="followup")
    said: list[CaseAction | CaseFact] = []
    again = ctx["again"]
    if again is not None:
        said.append(
            CaseFact(
                _("Retreatment"),
                _("Presented again as %(case)s", case=again.case_number),
                10,
                link=url_for("cases.show", referral_id=again.id),
                tone="info",
            )
        )
    elif ctx["kind"] is not None:
        kind = ctx["kind"]
        tone = {Kind.ELIGIBLE: "warning", Kind.NOT_ELIGIBLE: "danger"}.get(kind, "")
        said.append(CaseFact(_("Retreatment"), kind.label, 10, link=anchor, tone=tone))
        if ctx["can_present_again"]:
            said.append(
                CaseAction(
                    _("Present again at the RCP"),
                    url_for("followups.present_again", referral_id=referral.id),
                    15,
                    is_next=kind is Kind.ELIGIBLE,
                )
            )
    today = ctx["today"]
    upcoming = [f for f in ctx["followups"] if followup_state(f, today)["open"]]
    if upcoming:
        due = min(upcoming, key=lambda f: (f.due_on, f.id))
        owner = ctx["owner"]
        said.append(
            CaseFact(
                _("Next follow-up"),
                _(
                    "%(point)s, due %(date)s (%(owner)s)",
                    point=timepoint(due),
                    date=format_date(due.due_on, "d MMM y"),
                    owner=owner.full_name if owner is not None else _("team queue"),
                ),
                40,
                link=anchor,
                tone="warning" if due.due_on < today else "",
            )
        )
        if ctx["can_log_assessment"]:
            said.append(
                CaseAction(
                    _("Record the follow-up: %(point)s", point=timepoint(due)),
                    url_for("followups.assess", followup_id=due.id, next=ctx["back"]),
                    40,
                )
            )
    return said


def _owner_form(referral: Referral, owner: User | None) -> OwnerForm | None:
    """The form giving the case's follow-up to another owner, for who may."""
    if not can_change_owner(current_user, referral):
        return None
    form = OwnerForm(formdata=None, followup_owner_id=owner.id if owner is not None else None)
    form.followup_owner_id.choices = [
        SelectChoice("", _("Nobody yet: the team queue")),
        *owner_choices(),
    ]
    return form


@bp.route("/cases/<int:referral_id>/followup-owner", methods=["POST"])
@require_role(*ASSIGNERS)
def owner(referral_id: int) -> Any:
    referral = get_referral_or_404(referral_id)
    if not can_change_owner(current_user, referral):
        abort(403)
    form = OwnerForm()
    form.followup_owner_id.choices = [SelectChoice("", ""), *owner_choices()]
    back = url_for("cases.show", referral_id=referral.id, _anchor="followup")
    if not form.validate_on_submit():
        flash(_("Choose a clinician of the team, or the team queue."), "danger")
        return redirect(back)
    with saving() as saved:
        services.change_owner(referral, form.followup_owner_id.data, by=current_user)
    if saved.ok:
        owner = services.case_owner(referral)
        if owner is None:
            flash(
                _("The follow-up of %(case)s is in the team queue.", case=referral.case_number),
                "success",
            )
        else:
            flash(
                _(
                    "%(name)s now owns the follow-up of %(case)s.",
                    name=owner.full_name,
                    case=referral.case_number,
                ),
                "success",
            )
    return redirect(back)


@bp.app_template_global()
def followup_state(followup: FollowUp, today: Any) -> dict[str, Any]:
    """A follow-up's state as shown: done, missed, missed (out of window) once its
    window has closed, overdue while it is still open, or planned."""
    status = followup.status
    if status is FollowUpStatus.PLANNED and out_of_window(followup.window_end_on, today):
        status = FollowUpStatus.OUT_OF_WINDOW
    if status is FollowUpStatus.PLANNED and followup.due_on < today:
        return {"code": "overdue", "label": _("Overdue"), "open": True}
    return {
        "code": status.value,
        "label": status.label,
        "open": status is FollowUpStatus.PLANNED,
    }


def clinician_panel(user: User) -> dict[str, Any]:
    today = local_today()
    return {
        "work": queries.worklist(today, owner_id=default_owner_filter(user)),
        "queue": queries.team_queue_count(today),
        "today": today,
    }


def eligible_panel(user: User) -> dict[str, Any]:
    eligible = queries.eligible_cases(local_today(), referrer_id=user.id, limit=10)
    return {"eligible": eligible, "may_present_again": _may_present_again(user, eligible)}


def _may_present_again(user: Any, eligible: list[Any]) -> set[int]:
    """Ids of the listed cases that ``user`` may present again."""
    return {row.referral_id for row in eligible if can_present_again(user, row.referral)}
