"""Creating meetings and series, building agendas, recording attendance."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from tracker.auth.models import User, hash_token
from tracker.cases import services as case_services
from tracker.cases.models import Referral, name_key
from tracker.cases.rules import CaseStatus
from tracker.core import signals
from tracker.core.errors import ConflictError, DomainError, Forbidden
from tracker.core.i18n import day_text
from tracker.core.locking import check_version
from tracker.core.specialties import PHYSICIAN_SPECIALTIES, Specialty
from tracker.core.time import local_today, site_timezone, to_local, utcnow
from tracker.extensions import db
from tracker.meetings.models import (
    OPEN,
    AgendaItem,
    Attendance,
    CalendarFeed,
    ItemState,
    Meeting,
    MeetingSeries,
    MeetingStatus,
)
from tracker.meetings.permissions import (
    can_organise_meeting,
    can_run_meeting,
    can_validate_attendance,
)
from tracker.meetings.rules import (
    AgendaLoad,
    Quorum,
    agenda_load,
    next_occurrence,
    overlaps,
    public_holiday,
    quorum,
    series_starts,
    starts_before_its_day,
)
from tracker.meetings.settings import CASE_MINUTES, QUORUM_MINIMUM
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeetingDetails:
    starts_at: datetime
    duration_minutes: int
    capacity: int
    title: str | None = None
    place: str | None = None
    video_link: str | None = None
    chair_id: int | None = None
    coordinator_id: int | None = None
    notes: str | None = None
    #: Why a meeting that has already started is entered now (required then).
    retrospective_reason: str | None = None


def local_start(day: date, start: time) -> datetime:
    """A wall-clock time at the site, as an aware datetime."""
    return datetime.combine(day, start).replace(tzinfo=site_timezone())


def is_retrospective(starts_at: datetime) -> bool:
    """A meeting entered once it has started (held on paper, entered late)."""
    return starts_at <= utcnow()


def may_chair(user: User | None) -> bool:
    """Only an active physician chairs a meeting (HAS method sheet)."""
    return user is not None and user.is_active and user.specialty in PHYSICIAN_SPECIALTIES


def _check_details(details: MeetingDetails, *, new_start: bool) -> MeetingDetails:
    """The details as they are kept, or the reason they are refused."""
    if details.duration_minutes <= 0:
        raise DomainError(_l("The meeting must end after it starts."), "ends")
    if details.capacity < 1:
        raise DomainError(_l("A meeting holds at least one case."), "capacity")
    if not (details.place or details.video_link):
        raise DomainError(_l("Give a place, a video link, or both."), "place")
    reason = (details.retrospective_reason or "").strip() or None
    if not is_retrospective(details.starts_at):
        reason = None
    elif new_start and reason is None:
        raise DomainError(
            _l("This meeting has already started: say why it is entered after the fact."),
            "retrospective_reason",
        )
    if details.chair_id is not None and not may_chair(db.session.get(User, details.chair_id)):
        raise DomainError(_l("The chair must be an active physician."), "chair_id")
    if details.coordinator_id is not None:
        user = db.session.get(User, details.coordinator_id)
        if user is None or not user.is_active or not user.has_role(Role.COORDINATOR):
            raise DomainError(_l("Choose an active member of the team."), "coordinator_id")
    return replace(details, retrospective_reason=reason)


def _apply(meeting: Meeting, details: MeetingDetails) -> None:
    for name, value in details.__dict__.items():
        setattr(meeting, name, value)


def create_meeting(details: MeetingDetails, *, series_id: int | None = None) -> Meeting:
    """One meeting, planned ahead or entered after the fact (with its reason):
    either way it can then be started, held and its decisions recorded. With
    ``series_id``, the meeting joins that series (an extra date, or one more)."""
    details = _check_details(details, new_start=True)
    meeting = Meeting()
    if series_id is not None:
        meeting.series = db.session.get(MeetingSeries, series_id)
        if meeting.series is None:
            raise DomainError(_l("This series does not exist."), "series_id")
    _apply(meeting, details)
    db.session.add(meeting)
    db.session.flush()
    return meeting


def create_series(
    details: MeetingDetails,
    *,
    interval_weeks: int,
    count: int | None = None,
    until: date | None = None,
) -> MeetingSeries:
    """Every ``interval_weeks`` weeks from ``details.starts_at``, ``count`` times or
    until ``until``; each meeting can then be moved or cancelled alone."""
    starts = _series_starts(details, interval_weeks=interval_weeks, count=count, until=until)
    details = _check_details(details, new_start=True)
    series = MeetingSeries(
        interval_weeks=interval_weeks, title=details.title, video_link=details.video_link
    )
    db.session.add(series)
    for start in starts:
        meeting = Meeting(series=series)
        _apply(meeting, replace(details, starts_at=start))
        db.session.add(meeting)
    db.session.flush()
    return series


def _series_starts(
    details: MeetingDetails, *, interval_weeks: int, count: int | None, until: date | None
) -> list[datetime]:
    # A series plans ahead: a meeting already held is entered on its own.
    if is_retrospective(details.starts_at):
        raise DomainError(
            _l("A series starts in the future: enter a past meeting on its own."), "day"
        )
    zone = site_timezone()
    first = details.starts_at.astimezone(zone)
    return series_starts(
        first.date(), first.time(), zone, interval_weeks=interval_weeks, count=count, until=until
    )


@dataclass(frozen=True)
class SeriesDate:
    """One meeting a series would create, and what the coordinator should know of it."""

    starts_at: datetime
    ends_at: datetime
    #: The name of the French public holiday that day, if any.
    holiday: Any | None
    #: Meetings already planned at an overlapping time.
    clashes: list[Meeting]


def preview_series(
    details: MeetingDetails,
    *,
    interval_weeks: int,
    count: int | None = None,
    until: date | None = None,
) -> list[SeriesDate]:
    """The meetings ``create_series`` would create, each marked when it falls on a
    public holiday or clashes with a meeting already planned (one query)."""
    starts = _series_starts(details, interval_weeks=interval_weeks, count=count, until=until)
    length = timedelta(minutes=max(details.duration_minutes, 0))
    # A meeting lasts less than a day: the ones that may overlap start within it.
    existing = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.status != MeetingStatus.CANCELLED,
            Meeting.starts_at > starts[0] - timedelta(days=1),
            Meeting.starts_at < starts[-1] + length,
        )
        .order_by(Meeting.starts_at)
    ).all()
    zone = site_timezone()
    return [
        SeriesDate(
            start,
            start + length,
            public_holiday(start.astimezone(zone).date()),
            [
                meeting
                for meeting in existing
                if overlaps(start, start + length, meeting.starts_at, meeting.ends_at)
            ],
        )
        for start in starts
    ]


@dataclass(frozen=True)
class MeetingDefaults:
    """What a new meeting starts from: the last meeting of its series (or the
    latest meeting), on the next date of its rhythm."""

    day: date
    starts: time
    ends: time
    title: str | None
    place: str | None
    video_link: str | None
    chair_id: int | None


def meeting_defaults(series_id: int | None = None) -> MeetingDefaults | None:
    """Defaults for a new meeting: from the last meeting of ``series_id`` (the
    date then follows the series), or without a series from the latest meeting
    held (else the latest planned); None when there is no meeting to start from."""
    query = (
        select(Meeting)
        .where(Meeting.status != MeetingStatus.CANCELLED)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .options(selectinload(Meeting.series), selectinload(Meeting.chair))
        .limit(1)
    )
    if series_id is not None:
        last = db.session.scalar(query.where(Meeting.series_id == series_id))
    else:
        last = db.session.scalar(query.where(Meeting.starts_at <= utcnow()))
        last = last or db.session.scalar(query)
    if last is None:
        return None
    zone = site_timezone()
    start = last.starts_at.astimezone(zone).replace(tzinfo=None)
    interval = last.series.interval_weeks if last.series is not None else 1
    now = utcnow().astimezone(zone).replace(tzinfo=None)
    following = next_occurrence(start, interval, now)
    ends = (following + timedelta(minutes=last.duration_minutes)).time()
    return MeetingDefaults(
        day=following.date(),
        starts=following.time(),
        ends=ends,
        title=last.title,
        place=last.place,
        video_link=last.video_link,
        chair_id=last.chair_id if may_chair(last.chair) else None,
    )


def _require_open(meeting: Meeting) -> None:
    if meeting.status not in OPEN:
        raise DomainError(
            _l("This meeting is %(status)s: it can no longer change.", status=meeting.status.label)
        )


def _require_organiser(meeting: Meeting, by: User | None) -> None:
    # ``by=None``: the product itself (scheduler, carry-over), not a person.
    if by is not None and not can_organise_meeting(by, meeting):
        raise Forbidden()


def update_meeting(
    meeting: Meeting,
    details: MeetingDetails,
    *,
    by: User | None,
    expected_version: int | None = None,
) -> None:
    """Move or re-describe one meeting (calendar copies are replaced).

    ``expected_version``: the version the editor started from (see
    ``tracker.core.locking``)."""
    _require_organiser(meeting, by)
    _require_open(meeting)
    check_version(meeting, expected_version)
    # A meeting entered after the fact keeps the reason why.
    details = _check_details(
        details,
        new_start=details.starts_at != meeting.starts_at
        or meeting.retrospective_reason is not None,
    )
    _apply(meeting, details)
    meeting.sequence += 1
    db.session.flush()


# --- agenda -------------------------------------------------------------------


def _lock(meeting: Meeting) -> None:
    """Serialise agenda changes of one meeting (capacity, positions).

    PostgreSQL locks the row; SQLite requests that write hold the database's
    write lock from their first statement (see ``tracker.core.db``).
    """
    db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def _pending_items(meeting: Meeting, *options: Any) -> list[AgendaItem]:
    return list(
        db.session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id, AgendaItem.state == ItemState.PENDING)
            .order_by(AgendaItem.position)
            .options(*options)
        )
    )


def _check_presenter(presenter_id: int | None) -> None:
    if presenter_id is None:
        return
    presenter = db.session.get(User, presenter_id)
    if presenter is None or not presenter.is_active or not presenter.has_role(Role.RADIOLOGIST):
        raise DomainError(_l("The presenter must be an active radiologist."), "presenter_id")


def _check_minutes(minutes: int) -> None:
    if not 1 <= minutes <= 240:
        raise DomainError(_l("Give between 1 and 240 minutes."), "minutes")


def _default_presenter(referral: Referral) -> int | None:
    referrer = referral.referrer
    if referrer is not None and referrer.is_active and referrer.has_role(Role.RADIOLOGIST):
        return referrer.id
    return None


def add_to_agenda(
    meeting: Meeting,
    referral: Referral,
    *,
    by: User | None,
    presenter_id: int | None = None,
    minutes: int | None = None,
) -> AgendaItem:
    """Put a complete referral on an open meeting's agenda; the case is "scheduled"."""
    _require_organiser(meeting, by)
    return _add_to_agenda(meeting, referral, by=by, presenter_id=presenter_id, minutes=minutes)


def carry_over(
    meeting: Meeting,
    referral: Referral,
    *,
    by: User | None,
    presenter_id: int | None = None,
    minutes: int | None = None,
) -> AgendaItem:
    """Put a case held over by its meeting (not discussed, or postponed) at the
    top of ``meeting``'s agenda: the product does it, on behalf of whoever
    closed that meeting or validated the decision, whatever their role."""
    return _add_to_agenda(
        meeting, referral, by=by, presenter_id=presenter_id, minutes=minutes, at_top=True
    )


def _add_to_agenda(
    meeting: Meeting,
    referral: Referral,
    *,
    by: User | None,
    presenter_id: int | None = None,
    minutes: int | None = None,
    at_top: bool = False,
) -> AgendaItem:
    _require_open(meeting)
    _lock(meeting)
    if not referral.is_complete:
        raise DomainError(
            _l("%(case)s is incomplete: complete the referral first.", case=referral.case_number)
        )
    on_other = db.session.scalar(
        select(AgendaItem).where(
            AgendaItem.referral_id == referral.id, AgendaItem.state == ItemState.PENDING
        )
    )
    if on_other is not None:
        raise DomainError(
            _l(
                "%(case)s is already on the agenda of another meeting: move it from there.",
                case=referral.case_number,
            )
        )
    # Waiting, postponed after a discussion, or carried over from a meeting that
    # ended (still "scheduled" but no longer on an open agenda).
    if referral.status not in (CaseStatus.REFERRED, CaseStatus.DISCUSSED, CaseStatus.SCHEDULED):
        raise DomainError(
            _l(
                "%(case)s cannot be scheduled while it is “%(status)s”.",
                case=referral.case_number,
                status=referral.status.label,
            )
        )
    pending = _pending_items(meeting)
    if len(pending) >= meeting.capacity:
        raise DomainError(
            ngettext(
                "The agenda is full (%(num)d case). Raise the meeting's capacity or choose "
                "another meeting.",
                "The agenda is full (%(num)d cases). Raise the meeting's capacity or choose "
                "another meeting.",
                meeting.capacity,
            )
        )
    if presenter_id is None:
        presenter_id = _default_presenter(referral)
    _check_presenter(presenter_id)
    minutes = minutes if minutes is not None else CASE_MINUTES.value
    _check_minutes(minutes)
    if at_top:
        for item in pending:
            item.position += 1
        position = min((item.position for item in pending), default=2) - 1
    else:
        last = db.session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        position = (last or 0) + 1
    item = AgendaItem(
        meeting=meeting,
        referral=referral,
        position=position,
        presenter_id=presenter_id,
        minutes=minutes,
    )
    db.session.add(item)
    if referral.status is not CaseStatus.SCHEDULED:
        case_services.change_status(referral, CaseStatus.SCHEDULED, by=by)
    db.session.flush()
    return item


@dataclass(frozen=True)
class AgendaRow:
    """One line of the agenda as the coordinator sends it back."""

    item_id: int
    presenter_id: int | None
    minutes: int


class AgendaChanged(ConflictError):
    """Someone changed the agenda after the coordinator's form was made."""

    def __init__(self) -> None:
        super().__init__(
            _l(
                "Someone changed this agenda while you were editing it, so nothing was saved. "
                "The agenda below is the current one with your order, presenters and minutes "
                "kept: check it, then save again."
            )
        )


class AgendaRowErrors(DomainError):
    """Some lines of the agenda are wrong: nothing was saved."""

    def __init__(self, errors: dict[int, dict[str, Any]]) -> None:
        super().__init__(_l("Nothing was saved: correct the lines marked below, then save again."))
        #: By agenda item id: the field's name and its message.
        self.errors = errors


def agenda_stamp(items: Iterable[AgendaItem]) -> str:
    """A short stamp of the cases still to discuss (order, presenters, minutes):
    a form carries the one it was made from, and saving refuses another, so one
    coordinator's save does not silently undo another's."""
    state = ";".join(
        f"{item.id}:{item.position}:{item.presenter_id or ''}:{item.minutes}"
        for item in sorted(items, key=lambda item: (item.position, item.id))
        if item.state is ItemState.PENDING
    )
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def _row_errors(row: AgendaRow) -> dict[str, Any]:
    """What is wrong with one line, by field (the same checks as one case)."""
    found: dict[str, Any] = {}
    checks = (partial(_check_presenter, row.presenter_id), partial(_check_minutes, row.minutes))
    for check in checks:
        try:
            check()
        except DomainError as error:
            found[error.field or ""] = error.message
    return found


def save_agenda(meeting: Meeting, rows: list[AgendaRow], *, stamp: str, by: User | None) -> None:
    """Save the whole agenda at once: the order of ``rows`` is the order of the
    cases still to discuss, with each one's presenter and minutes.

    Every line is checked first; if any is wrong nothing changes and
    ``AgendaRowErrors`` says which. The cases already dealt with keep their
    place: the cases to discuss share the places they held between them.
    """
    _require_organiser(meeting, by)
    _require_open(meeting)
    _lock(meeting)
    pending = _pending_items(meeting)
    ids = [row.item_id for row in rows]
    if stamp != agenda_stamp(pending) or sorted(ids) != sorted(item.id for item in pending):
        raise AgendaChanged()
    errors = {row.item_id: found for row in rows if (found := _row_errors(row))}
    if errors:
        raise AgendaRowErrors(errors)
    by_id = {item.id: item for item in pending}
    places = sorted(item.position for item in pending)
    for place, row in zip(places, rows, strict=True):
        item = by_id[row.item_id]
        item.position = place
        item.presenter_id = row.presenter_id
        item.minutes = row.minutes
    db.session.flush()


def remove_from_agenda(item: AgendaItem, *, by: User | None) -> None:
    """Take a case off the agenda: back to the waiting list."""
    _require_organiser(item.meeting, by)
    _require_open(item.meeting)
    if item.state is not ItemState.PENDING:
        raise DomainError(_l("This case has already been dealt with at the meeting."))
    item.set_state(ItemState.REMOVED)
    db.session.flush()
    if item.referral.status is CaseStatus.SCHEDULED:
        case_services.change_status(item.referral, CaseStatus.REFERRED, by=by)


def move_to_meeting(item: AgendaItem, target: Meeting, *, by: User | None) -> AgendaItem:
    _require_organiser(target, by)
    if target.id == item.meeting_id:
        raise DomainError(_l("The case is already on this meeting's agenda."), "meeting_id")
    _require_open(target)
    presenter_id, minutes = item.presenter_id, item.minutes
    remove_from_agenda(item, by=by)
    return add_to_agenda(target, item.referral, by=by, presenter_id=presenter_id, minutes=minutes)


def mark_discussed(item: AgendaItem, *, by: User | None) -> None:
    """The case came up at the meeting (its decision records what was decided)."""
    if item.meeting.status is not MeetingStatus.IN_PROGRESS and item.meeting.status is not (
        MeetingStatus.HELD
    ):
        raise DomainError(_l("A case is discussed once the meeting has started."))
    if item.state is ItemState.DISCUSSED:
        return
    if item.state is not ItemState.PENDING:
        raise DomainError(_l("This case is no longer on this agenda."))
    item.set_state(ItemState.DISCUSSED)
    if item.referral.status is CaseStatus.SCHEDULED:
        case_services.change_status(item.referral, CaseStatus.DISCUSSED, by=by)
    db.session.flush()


def _with_room(after: Meeting) -> Any:
    """The planned meetings after ``after`` whose agenda is not full, earliest
    first, each with the number of cases it still has room for."""
    pending = (
        select(func.count())
        .where(AgendaItem.meeting_id == Meeting.id, AgendaItem.state == ItemState.PENDING)
        .correlate(Meeting)
        .scalar_subquery()
    )
    return (
        select(Meeting, Meeting.capacity - pending)
        .where(
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > after.starts_at,
            Meeting.id != after.id,
            pending < Meeting.capacity,
        )
        .order_by(Meeting.starts_at, Meeting.id)
    )


def next_meeting_with_room(after: Meeting) -> Meeting | None:
    """The earliest planned meeting after ``after`` whose agenda is not full."""
    row = db.session.execute(_with_room(after).limit(1)).first()
    return row[0] if row else None


@dataclass(frozen=True)
class RollOver:
    """Where a case the meeting did not discuss (its line ``item``) goes: to
    ``meeting``, at the top of its agenda, or, when None, back to the waiting
    list."""

    item: AgendaItem
    meeting: Meeting | None

    @property
    def referral(self) -> Referral:
        return self.item.referral


def roll_over_plan(meeting: Meeting) -> list[RollOver]:
    """Where each case still pending on ``meeting`` would go if it closed now:
    the earliest planned meetings after it with room, filled in agenda order.

    What the coordinator is shown before marking the meeting held, and what
    ``roll_over`` then does: one rule for both.
    """
    pending = _pending_items(meeting, selectinload(AgendaItem.referral))
    if not pending:
        return []
    # Each of these has room for one case at least: as many meetings as cases suffice.
    rows = db.session.execute(_with_room(meeting).limit(len(pending))).all()
    room = [[target, free] for target, free in rows]
    plan = []
    for item in pending:
        slot = next((slot for slot in room if slot[1] > 0), None)
        if slot is not None:
            slot[1] -= 1
        plan.append(RollOver(item, slot[0] if slot else None))
    return plan


def roll_over(meeting: Meeting, *, by: User | None) -> list[RollOver]:
    """Cases left undiscussed go to the next planned meeting with room, at the top
    of its agenda (they have waited), or back to the waiting list."""
    plan = roll_over_plan(meeting)
    for planned in plan:
        item = planned.item
        item.set_state(ItemState.NOT_DISCUSSED)
        db.session.flush()
        if planned.meeting is not None:
            carry_over(
                planned.meeting,
                item.referral,
                by=by,
                presenter_id=item.presenter_id,
                minutes=item.minutes,
            )
        else:
            case_services.change_status(item.referral, CaseStatus.REFERRED, by=by)
    return plan


def _require_runner(meeting: Meeting, by: User | None) -> None:
    if by is not None and not can_run_meeting(by, meeting):
        raise Forbidden()


class TooEarly(DomainError):
    """The meeting's day has not come: it starts only with a reason."""


def before_its_day(meeting: Meeting) -> bool:
    """Today (at the site) comes before the day the meeting is scheduled for."""
    return starts_before_its_day(to_local(meeting.starts_at).date(), local_today())


def start_meeting(meeting: Meeting, *, by: User | None, early_reason: str | None = None) -> None:
    """Start the meeting; before the day it is scheduled for, only with a reason
    (kept on the meeting, so in the audit trail with who started it)."""
    _require_runner(meeting, by)
    if meeting.status is not MeetingStatus.PLANNED:
        raise DomainError(_l("Only a planned meeting can start."))
    if before_its_day(meeting):
        early_reason = " ".join((early_reason or "").split())
        if not early_reason:
            raise TooEarly(
                _l(
                    "This meeting is scheduled for %(date)s: say why it starts before its day.",
                    date=day_text(to_local(meeting.starts_at).date(), "d MMM y"),
                ),
                "early_reason",
            )
        meeting.early_start_reason = early_reason[:2000]
    meeting.status = MeetingStatus.IN_PROGRESS
    db.session.flush()


def hold_meeting(meeting: Meeting, *, by: User | None) -> list[RollOver]:
    """Mark the meeting held; undiscussed cases roll over (where each went)."""
    _require_runner(meeting, by)
    _lock(meeting)
    db.session.refresh(meeting)  # closed meanwhile by someone (or a scheduler) else?
    if meeting.status not in OPEN:
        raise DomainError(_l("This meeting is already closed."))
    if meeting.status is MeetingStatus.PLANNED and before_its_day(meeting):
        # Started early, with a reason, it may close; never straight from planned.
        raise TooEarly(_l("This meeting's day has not come: it cannot be closed yet."))
    meeting.status = MeetingStatus.HELD
    meeting.current_item_id = None
    db.session.flush()
    moved = roll_over(meeting, by=by)
    signals.meeting_held.send(meeting, by=by)
    return moved


def cancel_meeting(meeting: Meeting, *, by: User | None) -> list[RollOver]:
    _require_organiser(meeting, by)
    if meeting.status is not MeetingStatus.PLANNED:
        raise DomainError(_l("Only a planned meeting can be cancelled."))
    meeting.status = MeetingStatus.CANCELLED
    meeting.sequence += 1
    db.session.flush()
    return roll_over(meeting, by=by)


@case_services.status_changed.connect
def _withdrawn_cases_leave_their_agenda(referral: Referral, **extra: Any) -> None:
    if referral.status is CaseStatus.WITHDRAWN:
        db.session.execute(
            update(AgendaItem)
            .where(AgendaItem.referral_id == referral.id, AgendaItem.state == ItemState.PENDING)
            .values(state=ItemState.REMOVED, state_changed_at=utcnow())
        )


# --- attendance ---------------------------------------------------------------


def _require_attendable(meeting: Meeting) -> None:
    if meeting.status is MeetingStatus.CANCELLED:
        raise DomainError(_l("This meeting was cancelled: no attendance is recorded."))


def _attendance_changed(meeting: Meeting) -> None:
    # The chair validated a sheet that no longer stands.
    meeting.attendance_validated_at = None
    meeting.attendance_validated_by_id = None


def set_members_present(meeting: Meeting, user_ids: set[int], *, by: User | None) -> None:
    """Tick the team members present (guests are kept)."""
    _require_organiser(meeting, by)
    _require_attendable(meeting)
    members = {row.user_id: row for row in meeting.attendance if row.user_id is not None}
    changed = False
    for user_id, row in members.items():
        if user_id not in user_ids:
            meeting.attendance.remove(row)
            changed = True
    new_ids = user_ids - set(members)
    if new_ids:
        users = db.session.scalars(select(User).where(User.id.in_(new_ids))).all()
        if len(users) != len(new_ids) or not all(user.is_active for user in users):
            raise DomainError(_l("Only active team members can be ticked."), "present")
        for user in users:
            meeting.attendance.append(Attendance(user=user, specialty=user.specialty))
        changed = True
    if changed:
        _attendance_changed(meeting)
    db.session.flush()


def add_guest(meeting: Meeting, *, name: str, specialty: Specialty, by: User | None) -> Attendance:
    _require_organiser(meeting, by)
    _require_attendable(meeting)
    name = (name or "").strip()
    if not name:
        raise DomainError(_l("Give the guest's name."), "guest_name")
    name = name[:200]
    if any(name_key(row.name) == name_key(name) for row in meeting.attendance):
        raise DomainError(
            _l("%(name)s is already on the attendance sheet.", name=name), "guest_name"
        )
    guest = Attendance(guest_name=name, specialty=specialty)
    meeting.attendance.append(guest)
    _attendance_changed(meeting)
    db.session.flush()
    return guest


def remove_guest(meeting: Meeting, attendance_id: int, *, by: User | None) -> None:
    _require_organiser(meeting, by)
    _require_attendable(meeting)
    row = next(
        (row for row in meeting.attendance if row.id == attendance_id and row.is_guest), None
    )
    if row is None:
        raise DomainError(_l("This guest is not on the attendance sheet."))
    meeting.attendance.remove(row)
    _attendance_changed(meeting)
    db.session.flush()


def meeting_quorum(meeting: Meeting) -> Quorum:
    return quorum((row.specialty for row in meeting.attendance), QUORUM_MINIMUM.value)


def validate_attendance(meeting: Meeting, *, by: User) -> None:
    """The chair signs the attendance sheet."""
    if not can_validate_attendance(by, meeting):
        raise Forbidden(_l("Only the chair of the meeting validates the attendance sheet."))
    _require_attendable(meeting)
    if not meeting.attendance:
        raise DomainError(_l("Nobody is marked present yet."))
    meeting.attendance_validated_at = utcnow()
    meeting.attendance_validated_by_id = by.id
    db.session.flush()


def meeting_load(meeting: Meeting) -> AgendaLoad:
    return agenda_load(
        (item.minutes for item in meeting.agenda), meeting.capacity, meeting.duration_minutes
    )


# --- calendar subscriptions -------------------------------------------------------


def create_feed(user: User) -> str:
    """A new secret subscription address for ``user`` (the old one stops working).

    Returns the token: only its hash is stored, so it is shown once.
    """
    token = secrets.token_urlsafe(24)
    feed = db.session.get(CalendarFeed, user.id)
    if feed is None:
        db.session.add(CalendarFeed(user_id=user.id, token_hash=hash_token(token)))
    else:
        feed.token_hash = hash_token(token)
        feed.created_at = utcnow()
    db.session.flush()
    return token


def revoke_feed(user: User) -> None:
    feed = db.session.get(CalendarFeed, user.id)
    if feed is not None:
        db.session.delete(feed)
        db.session.flush()


def feed_user(token: str) -> User | None:
    return db.session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(CalendarFeed.token_hash == hash_token(token), User.is_active.is_(True))
    )
