"""Pages of the meetings: calendar, meeting page, agenda and attendance actions."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_time, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectChoice

from tracker.auth.models import User
from tracker.auth.services import active_users_with
from tracker.cases.models import Referral
from tracker.cases.permissions import TEAM
from tracker.core.audit import AuditAction, record_access
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import local_today, to_local
from tracker.extensions import db
from tracker.meetings import queries, services
from tracker.meetings.calendar import calendar_for
from tracker.meetings.forms import (
    AgendaForm,
    AttendanceForm,
    GuestForm,
    MeetingCreateForm,
    MeetingEditForm,
    MeetingForm,
    MoveItemForm,
    SeriesForm,
    StartForm,
)
from tracker.meetings.models import (
    AgendaItem,
    CalendarFeed,
    ItemState,
    Meeting,
    MeetingSeries,
    MeetingStatus,
)
from tracker.meetings.permissions import (
    ORGANISERS,
    can_organise_meeting,
    can_run_meeting,
    can_validate_attendance,
)
from tracker.meetings.rules import case_start_times
from tracker.web.forms import INT_LIMIT, ConfirmForm
from tracker.web.handlers import (
    INVALID,
    conflict_of,
    edit_status,
    form_status,
    paginate,
    record_id,
    safe_next_url,
    saved_before,
    saving,
)
from tracker.web.letterhead import letterhead
from tracker.web.permissions import Role, login_required, public, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("meetings", __name__)


# --- loading and access -------------------------------------------------------------


def get_meeting_or_404(meeting_id: int, *, full: bool = False) -> Meeting:
    if full:
        return db.one_or_404(queries.meeting_page_query(meeting_id))
    return db.get_or_404(Meeting, meeting_id)


def get_item_or_404(meeting: Meeting, item_id: int) -> AgendaItem:
    """An agenda line of this meeting (another meeting's line is not found here)."""
    return db.one_or_404(
        select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.meeting_id == meeting.id)
    )


def organising(meeting_id: int) -> Meeting:
    """The meeting, if the user may organise it (404, then 403)."""
    meeting = get_meeting_or_404(meeting_id)
    if not can_organise_meeting(current_user, meeting):
        abort(403)
    return meeting


def _back(meeting: Meeting, anchor: str = "") -> Any:
    return redirect(url_for("meetings.show", meeting_id=meeting.id) + anchor)


def _user_choices(users: list[User], blank: bool = True) -> list[SelectChoice]:
    choices = [SelectChoice("", "—")] if blank else []
    return choices + [SelectChoice(str(user.id), user.full_name) for user in users]


def _series_label(series: MeetingSeries, first: datetime) -> str:
    """ "RCP rachis · Thursday 17:00": a series as the coordinator knows it."""
    rhythm = _("%(day)s %(time)s", day=format_date(first, "EEEE"), time=format_time(first, "HH:mm"))
    return " · ".join(part for part in (series.title, rhythm) if part)


def _series_options() -> list[SelectChoice]:
    return [
        SelectChoice(str(series.id), _series_label(series, first))
        for series, first in queries.series_list()
    ]


def _fill_people(form: MeetingForm) -> None:
    chairs = [user for user in active_users_with() if services.may_chair(user)]
    form.chair_id.choices = _user_choices(chairs)
    form.coordinator_id.choices = _user_choices(active_users_with(Role.COORDINATOR))
    if "series_id" in form:
        form.series_id.choices = [SelectChoice("", _("No series")), *_series_options()]


def _text(field: Any) -> str | None:
    return (field.data or "").strip() or None


def _details(form: MeetingForm) -> services.MeetingDetails:
    return services.MeetingDetails(
        starts_at=services.local_start(form.day.data, form.starts.data),
        duration_minutes=form.duration_minutes(),
        capacity=form.capacity.data,
        title=_text(form.title),
        place=_text(form.place),
        video_link=_text(form.video_link),
        chair_id=form.chair_id.data,
        coordinator_id=form.coordinator_id.data,
        notes=_text(form.notes),
        retrospective_reason=_text(form.retrospective_reason)
        if "retrospective_reason" in form
        else None,
    )


def _start_from_defaults(form: MeetingForm | SeriesForm, series_id: int | None) -> None:
    """Fill what is still empty from the last meeting of the series (or the
    latest meeting): nothing the coordinator typed is replaced."""
    defaults = services.meeting_defaults(series_id)
    if defaults is None:
        return
    for name in ("day", "starts", "ends", "title", "place", "video_link", "chair_id"):
        field = form[name]
        if not any(field.raw_data or ()):
            field.data, field.raw_data = getattr(defaults, name), None


def _series_filter() -> int | None:
    return record_id(request.args.get("series"))


# --- calendar -------------------------------------------------------------------


def _month_start(value: str | None) -> date:
    today = local_today()
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def _month_grid(first_day: date, meetings: list[Meeting]) -> list[list[tuple[date, list]]]:
    """Weeks (Monday first) of (day, meetings that day) covering the month."""
    by_day: dict[date, list[Meeting]] = {}
    for meeting in meetings:
        by_day.setdefault(to_local(meeting.starts_at).date(), []).append(meeting)
    start = first_day - timedelta(days=first_day.weekday())
    weeks = []
    day = start
    while True:
        week = [
            (day + timedelta(days=i), by_day.get(day + timedelta(days=i), [])) for i in range(7)
        ]
        weeks.append(week)
        day += timedelta(days=7)
        if day.month != first_day.month and day > first_day:
            break
    return weeks


@bp.route("/meetings")
@require_role(*TEAM)
@shows_no_patient_data
def index() -> str:
    view = request.args.get("view", "upcoming")
    series = _series_filter()
    filters = {"series": series, "series_options": _series_options()}
    if view == "month":
        first_day = _month_start(request.args.get("month"))
        previous = (first_day - timedelta(days=1)).replace(day=1)
        following = (first_day + timedelta(days=32)).replace(day=1)
        meetings = queries.month_meetings(first_day, series)
        return render_template(
            "meetings/month.html",
            first_day=first_day,
            meetings=meetings,
            weeks=_month_grid(first_day, meetings),
            previous=previous,
            following=following,
            view=view,
            **filters,
        )
    query = queries.past_query(series) if view == "past" else queries.upcoming_query(series)
    page = paginate(query, per_page=current_app.config["PER_PAGE"])
    return render_template("meetings/list.html", page=page, view=view, **filters)


@bp.route("/meetings/new", methods=["GET", "POST"])
@require_role(*ORGANISERS)
@shows_no_patient_data
def create() -> Any:
    form = MeetingCreateForm()
    _fill_people(form)
    if request.method == "GET":
        form.coordinator_id.data = current_user.id
        form.series_id.data = record_id(request.args.get("series"))
        _start_from_defaults(form, form.series_id.data)
    elif request.form.get("action") == "defaults":
        # "Start from this series": the form again, its empty fields filled.
        form.series_id.validate(form)
        _start_from_defaults(form, form.series_id.data if not form.series_id.errors else None)
        return render_template("meetings/meeting_form.html", form=form, meeting=None)
    if form.validate_on_submit():
        if done := saved_before(form):
            return redirect(url_for("meetings.show", meeting_id=done.object_id))
        with saving(form) as saved:
            meeting = services.create_meeting(_details(form), series_id=form.series_id.data)
            remember(form.once_key.data, "meeting", meeting.id, user_id=current_user.id)
        if saved.ok:
            flash(_("Meeting created."), "success")
            return _back(meeting)
        if isinstance(saved.error, AlreadySaved) and (done := saved_before(form)):
            return redirect(url_for("meetings.show", meeting_id=done.object_id))
    return render_template("meetings/meeting_form.html", form=form, meeting=None), form_status(form)


@bp.route("/meetings/series/new", methods=["GET", "POST"])
@require_role(*ORGANISERS)
@shows_no_patient_data
def create_series() -> Any:
    """A series is created in two steps: its dates are shown first (public
    holidays and clashes marked), then "Create" saves them."""
    form = SeriesForm()
    _fill_people(form)
    if request.method == "GET":
        form.coordinator_id.data = current_user.id
        # The unit's usual meeting: title, place, time, chair and video link.
        _start_from_defaults(form, None)
    dates = None
    if form.validate_on_submit():
        recurrence = {
            "interval_weeks": form.interval_weeks.data,
            "count": form.count.data,
            "until": form.until.data,
        }
        if request.form.get("action") == "preview":
            with saving(form) as saved:
                dates = services.preview_series(_details(form), **recurrence)
            if saved.ok:
                return render_template("meetings/series_form.html", form=form, dates=dates)
        elif done := saved_before(form):
            return redirect(url_for("meetings.index", series=done.object_id))
        else:
            with saving(form) as saved:
                series = services.create_series(_details(form), **recurrence)
                remember(form.once_key.data, "series", series.id, user_id=current_user.id)
            if saved.ok:
                flash(
                    ngettext(
                        "%(num)d meeting created.",
                        "%(num)d meetings created.",
                        len(series.meetings),
                    ),
                    "success",
                )
                return redirect(url_for("meetings.index", series=series.id))
            if isinstance(saved.error, AlreadySaved) and (done := saved_before(form)):
                return redirect(url_for("meetings.index", series=done.object_id))
    return render_template("meetings/series_form.html", form=form, dates=dates), form_status(form)


# --- one meeting --------------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>")
@require_role(*TEAM)
def show(meeting_id: int) -> str:
    meeting = get_meeting_or_404(meeting_id, full=True)
    return _meeting_page(meeting)


def _meeting_page(meeting: Meeting, agenda_form: AgendaForm | None = None) -> str:
    """The meeting's page; ``agenda_form`` is the agenda as the coordinator
    sent it back (reordered, or refused), else as saved."""
    can_organise = can_organise_meeting(current_user, meeting)
    search = (request.args.get("q") or "").strip()[:100]
    present_ids = {row.user_id for row in meeting.attendance if row.user_id}
    context: dict[str, Any] = {
        "meeting": meeting,
        "quorum": services.meeting_quorum(meeting),
        "load": services.meeting_load(meeting),
        "present_ids": present_ids,
        "can_run": can_run_meeting(current_user, meeting),
        "can_organise": can_organise,
        "can_validate_attendance": can_validate_attendance(current_user, meeting),
        "search": search,
        "guest_form": GuestForm(),
        "confirm": ConfirmForm(),
        "start_form": StartForm(formdata=None),
        "before_its_day": services.before_its_day(meeting),
    }
    if can_organise and meeting.is_open:
        context["candidates"] = queries.schedulable(search or None)
        context["radiologists"] = radiologists = active_users_with(Role.RADIOLOGIST)
        context["other_meetings"] = queries.other_open_meetings(meeting)
        if agenda_form is None:
            agenda_form = _agenda_form(meeting, radiologists)
        context["agenda_form"] = agenda_form
    if can_organise and meeting.status is not MeetingStatus.CANCELLED:
        context["members"] = active_users_with(*TEAM)
    context["lines"] = _agenda_lines(meeting, agenda_form, present_ids)
    return render_template("meetings/show.html", **context)


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@require_role(*ORGANISERS)
@shows_no_patient_data
def edit(meeting_id: int) -> Any:
    meeting = organising(meeting_id)
    form = MeetingEditForm(obj=meeting)
    del form.series_id  # a meeting stays in its series
    _fill_people(form)
    if request.method == "GET":
        local = to_local(meeting.starts_at)
        form.day.data, form.starts.data = local.date(), local.time()
        form.ends.data = to_local(meeting.ends_at).time()
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_meeting(
                meeting,
                _details(form),
                by=current_user,
                expected_version=form.expected_version(),
            )
        if saved.ok:
            flash(_("Meeting saved; calendars will show the change."), "success")
            return _back(meeting)
        conflict = conflict_of(saved, form, meeting)
    return render_template(
        "meetings/meeting_form.html", form=form, meeting=meeting, conflict=conflict
    ), edit_status(form, conflict)


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@require_role(*ORGANISERS)
@shows_no_patient_data
def cancel(meeting_id: int) -> Any:
    meeting = organising(meeting_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        return _close(meeting, services.cancel_meeting, _("Meeting cancelled."))
    return render_template("meetings/cancel.html", form=form, meeting=meeting)


def _close(meeting: Meeting, close: Any, message: str) -> Any:
    """Cancel or hold the meeting, then say where each case it left went."""
    with saving() as saved:
        moved = close(meeting, by=current_user)
    if saved.ok:
        flash(message, "success")
        if moved:
            flash(_where_they_went(moved), "info")
    return _back(meeting)


def _run(meeting_id: int, action: Any, message: Any, then: str | None = None) -> Any:
    """Run ``action`` on the meeting; back to its page, or to ``then`` once done."""
    meeting = get_meeting_or_404(meeting_id)
    if not can_run_meeting(current_user, meeting):
        abort(403)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            result = action(meeting)
        if saved.ok:
            flash(message(result), "success")
            if then is not None:
                return redirect(then)
    return _back(meeting)


@bp.route("/meetings/<int:meeting_id>/start", methods=["POST"])
@require_role(*TEAM)
def start(meeting_id: int) -> Any:
    meeting = get_meeting_or_404(meeting_id)
    if not can_run_meeting(current_user, meeting):
        abort(403)
    form = StartForm()
    if form.validate_on_submit():
        with saving() as saved:
            services.start_meeting(meeting, by=current_user, early_reason=form.early_reason.data)
        if saved.ok:
            flash(_("The meeting has started."), "success")
            # Started in the room: straight to the cases and their decisions.
            return redirect(url_for("decisions.meeting_mode", meeting_id=meeting_id))
    for error in form.early_reason.errors:
        flash(error, "danger")
    return _back(meeting)


def _where_they_went(moved: list[services.RollOver]) -> Markup:
    """The cases not discussed and where each one went, as a list to flash."""
    lines = [
        Markup("<li>{}: {}</li>").format(
            case.referral.case_number,
            _("the meeting of %(date)s", date=format_date(case.meeting.starts_at, "d MMM y"))
            if case.meeting is not None
            else _("back to the waiting list"),
        )
        for case in moved
    ]
    return Markup('{}<ul class="mb-0">{}</ul>').format(
        _("Not discussed, and so carried over:"), Markup("").join(lines)
    )


@bp.route("/meetings/<int:meeting_id>/hold", methods=["GET", "POST"])
@require_role(*TEAM)
def hold(meeting_id: int) -> Any:
    """Mark the meeting held, once the page listing where each case still on
    its agenda will go is confirmed (the step cannot be undone)."""
    meeting = get_meeting_or_404(meeting_id)
    if not can_run_meeting(current_user, meeting):
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit():
        return _close(meeting, services.hold_meeting, _("The meeting is marked held."))
    if not meeting.is_open:
        flash(_("This meeting is already closed."), "info")
        return _back(meeting)
    return render_template(
        "meetings/hold.html", form=form, meeting=meeting, moves=services.roll_over_plan(meeting)
    )


# --- agenda -------------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
@require_role(*ORGANISERS)
def add_case(meeting_id: int) -> Any:
    meeting = organising(meeting_id)
    referral_id = record_id(request.form.get("referral_id"))
    referral = db.session.get(Referral, referral_id) if referral_id else None
    if referral is None:
        flash(_("Choose a case from the list of cases waiting for a meeting."), "danger")
        return _back(meeting, "#add-cases")
    with saving() as saved:
        services.add_to_agenda(meeting, referral, by=current_user)
    if saved.ok:
        flash(_("%(case)s added to the agenda.", case=referral.case_number), "success")
        load = services.meeting_load(meeting)
        if load.over_time:
            flash(
                ngettext(
                    "The agenda now runs %(num)d minute beyond the meeting's planned end.",
                    "The agenda now runs %(num)d minutes beyond the meeting's planned end.",
                    load.over_time,
                ),
                "warning",
            )
    return _back(meeting, "#agenda")


@dataclass
class AgendaLine:
    """A case as the agenda shows it: its number, when it starts, its line of
    the agenda form (when it can still change) and what clashes."""

    item: AgendaItem
    number: int
    starts_at: datetime
    minutes: int
    presenter_id: int | None
    form: Any = None
    #: Attendance is recorded and the presenter is not marked present.
    presenter_absent: bool = False
    #: The case ends after the meeting's planned end.
    runs_over: bool = False


def _agenda_form(
    meeting: Meeting,
    radiologists: list[User],
    kept: list[services.AgendaRow] | None = None,
) -> AgendaForm:
    """The agenda form as saved, or (``kept``) with the order, presenters and
    minutes a coordinator sent for the cases still to discuss."""
    saved = [item for item in meeting.agenda if item.state is ItemState.PENDING]
    rows = {row.item_id: row for row in kept or []}
    order = [row.item_id for row in kept or []]
    pending = sorted(
        saved, key=lambda item: order.index(item.id) if item.id in rows else len(order)
    )
    lines = []
    for number, item in enumerate(pending, 1):
        row = rows.get(item.id)
        lines.append(
            {
                "item_id": str(item.id),
                "position": str(number),
                "presenter_id": row.presenter_id if row else item.presenter_id,
                "minutes": row.minutes if row else item.minutes,
            }
        )
    form = AgendaForm(formdata=None, data={"stamp": services.agenda_stamp(saved), "lines": lines})
    _presenter_choices(form, radiologists)
    return form


def _presenter_choices(form: AgendaForm, radiologists: list[User]) -> None:
    choices = [SelectChoice("", _("to be decided")), *_user_choices(radiologists, blank=False)]
    for line in form.lines:
        line.presenter_id.choices = choices


def _position(line: Any) -> int:
    return record_id(line.position.data) or INT_LIMIT


def _in_order(form: AgendaForm, move: str | None = None) -> None:
    """Put the form's lines in the order they were sent (their positions), then
    apply ``move`` ("<item id>:up" or ":down", a move button without script)."""
    entries = sorted(form.lines.entries, key=_position)
    item_id, _sep, direction = (move or "").partition(":")
    ids = [line.item_id.data for line in entries]
    if item_id in ids and direction in ("up", "down"):
        index = ids.index(item_id)
        other = index + (-1 if direction == "up" else 1)
        if 0 <= other < len(entries):
            entries[index], entries[other] = entries[other], entries[index]
    form.lines.entries = entries
    for number, line in enumerate(entries, 1):
        line.position.data = str(number)


def _agenda_lines(
    meeting: Meeting, form: AgendaForm | None, present_ids: set[int]
) -> list[AgendaLine]:
    """The agenda in the order shown: the cases to discuss in the form's order,
    in the places they hold between the cases already dealt with."""
    agenda = meeting.agenda
    pending = {item.id: item for item in agenda if item.state is ItemState.PENDING}
    entries = {}
    for line in form.lines if form is not None else []:
        item_id = record_id(line.item_id.data)
        if item_id in pending:
            entries[item_id] = line
    queue = [pending[item_id] for item_id in entries]
    queue += [item for item in pending.values() if item.id not in entries]
    ordered = [queue.pop(0) if item.state is ItemState.PENDING else item for item in agenda]
    lines = []
    for number, item in enumerate(ordered, 1):
        line = entries.get(item.id)
        typed = line.minutes.data if line is not None else None
        minutes = typed if isinstance(typed, int) and 0 < typed <= 240 else item.minutes
        presenter_id = line.presenter_id.data if line is not None else item.presenter_id
        lines.append(AgendaLine(item, number, meeting.starts_at, minutes, presenter_id, line))
    starts = case_start_times(meeting.starts_at, (line.minutes for line in lines))
    recorded = bool(meeting.attendance)
    ends_at = meeting.ends_at
    for line, starts_at in zip(lines, starts, strict=True):
        line.starts_at = starts_at
        line.runs_over = starts_at + timedelta(minutes=line.minutes) > ends_at
        line.presenter_absent = (
            recorded and line.presenter_id is not None and line.presenter_id not in present_ids
        )
    return lines


@bp.route("/meetings/<int:meeting_id>/agenda/lines", methods=["POST"])
@require_role(*ORGANISERS)
def save_agenda(meeting_id: int) -> Any:
    """The agenda form: "Save" saves every line at once; a move button without
    script sends the form back in the new order, saved only by "Save"."""
    meeting = get_meeting_or_404(meeting_id, full=True)
    if not can_organise_meeting(current_user, meeting):
        abort(403)
    if not meeting.is_open:
        flash(
            _("This meeting is %(status)s: it can no longer change.", status=meeting.status.label),
            "danger",
        )
        return _back(meeting)
    radiologists = active_users_with(Role.RADIOLOGIST)
    form = AgendaForm()
    _presenter_choices(form, radiologists)
    move = request.form.get("move")
    _in_order(form, move)
    if move is not None:
        flash(_("The new order is not saved yet: save the agenda to keep it."), "info")
        return _meeting_page(meeting, form)
    if form.validate_on_submit():
        rows = [
            services.AgendaRow(
                item_id=record_id(line.item_id.data) or 0,
                presenter_id=line.presenter_id.data,
                minutes=line.minutes.data,
            )
            for line in form.lines
        ]
        with saving(form) as saved:
            services.save_agenda(meeting, rows, stamp=form.stamp.data or "", by=current_user)
        if saved.ok:
            flash(_("Agenda saved."), "success")
            return _back(meeting, "#agenda")
        # Refused: nothing was kept; the page again, from the database as it is now.
        meeting = get_meeting_or_404(meeting_id, full=True)
        if isinstance(saved.error, services.AgendaChanged):
            form = _agenda_form(meeting, radiologists, kept=rows)
        elif isinstance(saved.error, services.AgendaRowErrors):
            for line in form.lines:
                for name, message in saved.error.errors.get(
                    record_id(line.item_id.data) or 0, {}
                ).items():
                    line[name].errors = [*line[name].errors, message]
    else:
        flash(_("Nothing was saved: correct the lines marked below, then save again."), "danger")
    return _meeting_page(meeting, form), INVALID


@bp.route("/meetings/<int:meeting_id>/agenda/<int:item_id>/remove", methods=["POST"])
@require_role(*ORGANISERS)
def remove_item(meeting_id: int, item_id: int) -> Any:
    meeting = organising(meeting_id)
    item = get_item_or_404(meeting, item_id)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.remove_from_agenda(item, by=current_user)
        if saved.ok:
            flash(
                _("%(case)s is back on the waiting list.", case=item.referral.case_number),
                "success",
            )
    return _back(meeting, "#agenda")


@bp.route("/meetings/<int:meeting_id>/agenda/<int:item_id>/move", methods=["POST"])
@require_role(*ORGANISERS)
def move_to_meeting(meeting_id: int, item_id: int) -> Any:
    meeting = organising(meeting_id)
    item = get_item_or_404(meeting, item_id)
    form = MoveItemForm()
    form.meeting_id.choices = [
        SelectChoice(str(other.id), str(other.id)) for other in queries.other_open_meetings(meeting)
    ]
    if form.validate_on_submit():
        target = db.get_or_404(Meeting, form.meeting_id.data)
        with saving() as saved:
            services.move_to_meeting(item, target, by=current_user)
        if saved.ok:
            flash(_("%(case)s moved.", case=item.referral.case_number), "success")
            return _back(target, "#agenda")
    else:
        flash(_("Choose a planned meeting to move the case to."), "danger")
    return _back(meeting, "#agenda")


# --- attendance -----------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
@require_role(*ORGANISERS)
def attendance(meeting_id: int) -> Any:
    meeting = organising(meeting_id)
    form = AttendanceForm()
    form.present.choices = [
        SelectChoice(str(user.id), user.full_name) for user in active_users_with(*TEAM)
    ]
    if form.validate_on_submit():
        with saving() as saved:
            services.set_members_present(meeting, set(form.present.data or []), by=current_user)
        if saved.ok:
            flash(_("Attendance saved."), "success")
    else:
        flash(_("Only active team members can be ticked."), "danger")
    return _back(meeting, "#attendance")


@bp.route("/meetings/<int:meeting_id>/guests", methods=["POST"])
@require_role(*ORGANISERS)
def add_guest(meeting_id: int) -> Any:
    meeting = organising(meeting_id)
    form = GuestForm()
    if form.validate_on_submit():
        if saved_before(form):
            return _back(meeting, "#attendance")
        with saving(form) as saved:
            guest = services.add_guest(
                meeting,
                name=form.guest_name.data,
                specialty=form.specialty.data,
                by=current_user,
            )
            remember(form.once_key.data, "guest", guest.id, user_id=current_user.id)
        if saved.ok:
            flash(_("%(name)s added as a guest.", name=form.guest_name.data.strip()), "success")
        if saved.ok or (isinstance(saved.error, AlreadySaved) and saved_before(form)):
            return _back(meeting, "#attendance")
    full = get_meeting_or_404(meeting_id, full=True)
    return render_template("meetings/guest_form.html", form=form, meeting=full), form_status(form)


@bp.route("/meetings/<int:meeting_id>/guests/<int:attendance_id>/remove", methods=["POST"])
@require_role(*ORGANISERS)
def remove_guest(meeting_id: int, attendance_id: int) -> Any:
    meeting = organising(meeting_id)
    if ConfirmForm().validate_on_submit():
        with saving():
            services.remove_guest(meeting, attendance_id, by=current_user)
    return _back(meeting, "#attendance")


@bp.route("/meetings/<int:meeting_id>/attendance/validate", methods=["POST"])
@require_role(*TEAM)
def validate_attendance(meeting_id: int) -> Any:
    meeting = get_meeting_or_404(meeting_id)
    if not can_validate_attendance(current_user, meeting):
        abort(403)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.validate_attendance(meeting, by=current_user)
        if saved.ok:
            flash(_("Attendance sheet validated."), "success")
    # Meeting mode sends the chair back to the case they were on.
    back = url_for("meetings.show", meeting_id=meeting.id) + "#attendance"
    return redirect(safe_next_url(request.form.get("next"), back))


# --- print and calendar ---------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/print")
@require_role(*TEAM)
def print_agenda(meeting_id: int) -> str:
    meeting = get_meeting_or_404(meeting_id, full=True)
    # The printed agenda names every patient on it, with birth date and hospital
    # number: it stays inside the hospital, and reading it is recorded.
    record_access(AuditAction.DOWNLOAD, "Meeting", meeting.id, details={"format": "print"})
    agenda = meeting.agenda
    starts = case_start_times(meeting.starts_at, (item.minutes for item in agenda))
    return render_template(
        "meetings/print.html",
        meeting=meeting,
        head=letterhead(),
        cases=list(zip(agenda, starts, strict=True)),
        expected=_expected_participants(meeting),
        blank_lines=BLANK_SIGNATURE_LINES,
    )


#: Empty lines at the foot of the attendance sheet, for people not expected.
BLANK_SIGNATURE_LINES = 4


def _expected_participants(meeting: Meeting) -> list[tuple[str, str]]:
    """Who is expected to sign the attendance sheet (name, specialty): those
    marked present, the chair, the coordinator and the presenters."""
    people: dict[object, tuple[str, str]] = {}
    for row in meeting.attendance:
        people[row.user_id or f"guest-{row.id}"] = (row.name, str(row.specialty.label))
    for user in (
        meeting.chair,
        meeting.coordinator,
        *(item.presenter for item in meeting.agenda),
    ):
        if user is not None and user.id not in people:
            people[user.id] = (user.full_name, str(user.specialty.label))
    # In the order of names as people read them ("User 2" before "User 10").
    return sorted(
        people.values(),
        key=lambda person: [
            (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
            for part in re.split(r"(\d+)", person[0])
        ],
    )


def _meeting_link(meeting: Meeting) -> str:
    return url_for("meetings.show", meeting_id=meeting.id, _external=True)


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/meetings/<int:meeting_id>.ics")
@require_role(*TEAM)
def meeting_ics(meeting_id: int) -> Response:
    meeting = get_meeting_or_404(meeting_id, full=True)
    day = to_local(meeting.starts_at).date().isoformat()
    record_access(AuditAction.DOWNLOAD, "Meeting", meeting.id, details={"format": "ics"})
    return _ics(calendar_for([meeting], _meeting_link), f"rcp-{day}-{meeting.id}.ics")


@bp.route("/calendar/<token>.ics")
@public
@shows_no_patient_data
def feed(token: str) -> Response:
    """A user's subscription: the secret token in the address is the credential."""
    user = services.feed_user(token)
    if user is None:
        abort(404)
    return _ics(calendar_for(queries.feed_meetings(user), _meeting_link), "rcp-meetings.ics")


@bp.route("/account/calendar", methods=["GET", "POST"])
@login_required
@shows_no_patient_data
def calendar_settings() -> Any:
    form = ConfirmForm()
    new_link = None
    if form.validate_on_submit():
        action = request.form.get("action")
        with saving() as saved:
            if action == "revoke":
                services.revoke_feed(current_user)
            else:
                token = services.create_feed(current_user)
        if saved.ok and action == "revoke":
            flash(_("Your calendar address no longer works."), "success")
        elif saved.ok:
            new_link = url_for("meetings.feed", token=token, _external=True)
    has_feed = db.session.get(CalendarFeed, current_user.id) is not None
    return render_template(
        "meetings/calendar_settings.html", form=form, new_link=new_link, has_feed=has_feed
    )


# --- home --------------------------------------------------------------------------


def radiologist_panel(user: User) -> dict[str, Any]:
    return {"agenda_items": queries.coming_items_for(user)}


def coordinator_panel(user: User) -> dict[str, Any]:
    upcoming = db.session.scalars(queries.upcoming_query().limit(3)).all()
    return {"meetings": upcoming}
