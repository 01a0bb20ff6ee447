"""Follow-up rules that need no database: schedules, response, retreatment.

The retreatment rule is the default rule of the product's domain reference:

- responded: a follow-up after the procedure showed at least 50% NRS reduction
  from baseline (substantial), or at least 30% (partial response, flagged);
- recurrence: the latest assessment shows the reduction has fallen below 30%,
  or the patient reports the pain is back;
- not before the minimum interval since the last procedure (default 6 weeks);
- not if the last procedure caused a CIRSE grade 3 or worse adverse event;
- after 2 consecutive sessions without response: not eligible, another therapy.

Every threshold is a setting of the technique. The verdict never schedules a
procedure: it proposes presenting the case again at the RCP, which decides.

What a reading means is defined once, here, for the verdict, the relief
duration, the outcomes and the exports: readings in order of date then of the
time they were recorded (``reading_order``); a reading before the technique's
first counted day is charted but counts for nothing (``counts``); a reading
saying the pain is back is never a response (``responds``,
``reading_category``); a session failed when it has counted readings and none
responded (``Session.failed``).

Where a query needs one of these tests, its SQL is built here, beside the
Python, from the same thresholds (the ``*_sql`` functions: they build
expressions and run nothing); ``tests/followups/test_rules_in_sql.py`` holds
each pair equal through the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Enum,
    Select,
    and_,
    case,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)

from tracker.core.db import days_between
from tracker.core.enums import LabelledEnum, with_labels

#: Default follow-up time points (days after the procedure): week 1, months 1,
#: 3, 6 and 12 - a convention, editable per technique.
DEFAULT_SCHEDULE = (7, 30, 91, 183, 365)

#: Days in a unit, for putting a time point into words (never for storing one).
DAYS_PER = {"d": 1, "w": 7, "m": 30.44, "y": 365.25}
#: The last day a time point may fall on: three years after the procedure.
LAST_DAY = 3 * 366
#: More time points than this is a typing mistake, not a schedule.
MOST_TIME_POINTS = 24
_DAYS = re.compile(r"^[+-]?\d+$")


class TypedValueError(ValueError):
    """Something typed by an admin that cannot be used; ``code`` says why,
    ``token`` which part; ``message`` tells the admin in their language."""

    def __init__(self, code: str, token: str = "") -> None:
        super().__init__(f"{code}: {token}" if token else code)
        self.code = code
        self.token = token

    @property
    def message(self) -> Any:
        return self.messages(self.token)[self.code]

    def messages(self, token: str) -> dict[str, Any]:
        raise NotImplementedError


class ScheduleError(TypedValueError):
    """A follow-up schedule that cannot be used."""

    def messages(self, token: str) -> dict[str, Any]:
        return {
            "unreadable": _l("“%(token)s” is not a whole number of days.", token=token),
            "not_after": _l(
                "“%(token)s”: time points come after the procedure (day 1 or later).",
                token=token,
            ),
            "empty": _l("Give at least one time point."),
            "duplicate": _l("Day %(token)s appears twice.", token=token),
            "too_far": _l("Day %(token)s: time points go up to three years.", token=token),
            "too_many": _l("Too many time points."),
        }


def check_schedule(days: Sequence[int]) -> tuple[int, ...]:
    """A schedule as stored: whole days after the procedure, each once, from day 1
    to three years, in order. Raises ``ScheduleError`` otherwise."""
    if not days:
        raise ScheduleError("empty")
    if len(days) > MOST_TIME_POINTS:
        raise ScheduleError("too_many")
    seen: set[int] = set()
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int):
            raise ScheduleError("unreadable", str(day))
        if day <= 0:
            raise ScheduleError("not_after", str(day))
        if day > LAST_DAY:
            raise ScheduleError("too_far", str(day))
        if day in seen:
            raise ScheduleError("duplicate", str(day))
        seen.add(day)
    return tuple(sorted(days))


def parse_days(text: str) -> tuple[int, ...]:
    """ "7, 30, 91" (commas, semicolons or spaces) -> the days, checked and in order.

    Only whole days are read: a time point is stored as the days typed, so a
    schedule shown with ``format_days`` and saved unchanged stays the same."""
    days = []
    for token in re.split(r"[,;\s]+", text.strip()):
        if not token:
            continue
        if _DAYS.match(token) is None or len(token) > 6:
            raise ScheduleError("unreadable", token)
        days.append(int(token))
    return check_schedule(days)


def format_days(days: Iterable[int]) -> str:
    """The days of a schedule as typed in its field: the exact reverse of ``parse_days``."""
    return ", ".join(str(day) for day in days)


def describe_day(days: int) -> tuple[str, int]:
    """("week", 1), ("month", 3)... for showing a time point in words."""
    if days < 28 and days % 7 == 0:
        return "week", days // 7
    if days < 28:
        return "day", days
    months = round(days / DAYS_PER["m"])
    if months and months % 12 == 0 and abs(days - months * DAYS_PER["m"]) < 7:
        return "year", months // 12
    if abs(days - months * DAYS_PER["m"]) < 4:
        return "month", months
    return "day", days


def regrowth_window(
    performed_on: date, distance_mm: int | None, fast_mm_per_day: float, slow_mm_per_day: float
) -> tuple[date, date] | None:
    """When the regrown nerve may reach its end organ: distance / fast rate to
    distance / slow rate after the procedure. A modelling estimate, shown as such."""
    if not distance_mm or distance_mm <= 0 or fast_mm_per_day <= 0 or slow_mm_per_day <= 0:
        return None
    fast, slow = sorted((fast_mm_per_day, slow_mm_per_day), reverse=True)
    return (
        performed_on + timedelta(days=round(distance_mm / fast)),
        performed_on + timedelta(days=round(distance_mm / slow)),
    )


# --- windows of the time points ----------------------------------------------------------

#: A time point's window as days from its due date: (-7, 14) opens a week before
#: and closes two weeks after.
Window = tuple[int, int]

#: The longest a window may open before or close after its due date.
LONGEST_WINDOW_SIDE = 366


def default_window(days: int) -> Window:
    """DOMAIN's convention for the window of the time point ``days`` after the
    procedure: week 1 -2/+4, month 1 -7/+14, month 3 -14/+30, month 6 -30/+30,
    year 1 -30/+60 (time points between them take the nearer one's)."""
    if days < 18:
        return (-2, 4)
    if days < 60:
        return (-7, 14)
    if days < 135:
        return (-14, 30)
    if days < 270:
        return (-30, 30)
    return (-30, 60)


class WindowError(TypedValueError):
    """Windows of time points that cannot be used."""

    def messages(self, token: str) -> dict[str, Any]:
        return {
            "unreadable": _l(
                "“%(token)s” is not a window: write the days before and after the due date, "
                "as in -7/+14.",
                token=token,
            ),
            "outside": _l(
                "“%(token)s”: a window contains its own due date (opens on or before it, "
                "closes on or after it).",
                token=token,
            ),
            "too_wide": _l("“%(token)s”: a window reaches at most a year each side.", token=token),
            "count": _l("Give one window per time point, in the order of the schedule."),
        }


_WINDOW = re.compile(r"^([+-]?)(\d{1,4})/([+-]?)(\d{1,4})$")


def check_windows(schedule: Sequence[int], windows: Sequence[Sequence[int]]) -> list[list[int]]:
    """Windows as stored: one ``[opens, closes]`` pair per time point of the
    schedule, opening on or before the due date and closing on or after it."""
    checked = []
    for pair in windows:
        if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in pair):
            raise WindowError("unreadable", str(pair))
        opens, closes = pair
        if opens > 0 or closes < 0:
            raise WindowError("outside", format_window((opens, closes)))
        if -opens > LONGEST_WINDOW_SIDE or closes > LONGEST_WINDOW_SIDE:
            raise WindowError("too_wide", format_window((opens, closes)))
        checked.append([opens, closes])
    if len(checked) != len(schedule):
        raise WindowError("count")
    return checked


def parse_windows(text: str, schedule: Sequence[int]) -> list[list[int]]:
    """ "-2/+4, -7/+14" -> the windows of ``schedule``, checked. A number without a
    sign before the slash counts back from the due date ("7/14" is -7/+14)."""
    windows = []
    for token in re.split(r"[,;\s]+", text.strip()):
        if not token:
            continue
        found = _WINDOW.match(token.replace("\u2212", "-"))
        if found is None:
            raise WindowError("unreadable", token)
        sign_open, opens, sign_close, closes = found.groups()
        opening = int(opens) if sign_open == "+" else -int(opens)
        closing = -int(closes) if sign_close == "-" else int(closes)
        windows.append([opening, closing])
    return check_windows(schedule, windows)


def format_window(window: Sequence[int]) -> str:
    opens, closes = window
    return f"{opens:+d}/{closes:+d}" if opens else f"0/{closes:+d}"


def format_windows(windows: Iterable[Sequence[int]]) -> str:
    """Windows as typed in their field: the exact reverse of ``parse_windows``."""
    return ", ".join(format_window(window) for window in windows)


def windows_of(schedule: Sequence[int], windows: Sequence[Sequence[int]] | None) -> list[Window]:
    """A technique's windows: its own when it has one per time point, else the defaults."""
    if windows and len(windows) == len(schedule):
        return [(int(opens), int(closes)) for opens, closes in windows]
    return [default_window(days) for days in schedule]


@dataclass(frozen=True)
class PlannedCheck:
    """A follow-up to plan after a procedure."""

    offset_days: int
    due_on: date
    #: The dates an assessment fulfils it: around the due date for a time point
    #: of the schedule, the expected window of regrowth for the regrowth check.
    window: tuple[date, date]
    regrowth: bool = False


def followup_plan(
    performed_on: date,
    schedule: Sequence[int],
    regrowth: tuple[date, date] | None,
    windows: Sequence[Sequence[int]] | None = None,
) -> list[PlannedCheck]:
    """One check per time point of the technique's schedule and, after a nerve
    treatment, one more in the middle of the expected regrowth window. A window
    never opens before the day after the procedure."""
    first = performed_on + timedelta(days=1)
    planned = []
    for days, (opens, closes) in zip(schedule, windows_of(schedule, windows), strict=True):
        due = performed_on + timedelta(days=days)
        window = (max(first, due + timedelta(days=opens)), due + timedelta(days=closes))
        planned.append(PlannedCheck(days, due, window))
    if regrowth is not None:
        start, end = regrowth
        middle = start + (end - start) / 2
        planned.append(PlannedCheck((middle - performed_on).days, middle, regrowth, True))
    return planned


class FollowUpStatus(LabelledEnum):
    PLANNED = "planned"
    DONE = "done"
    MISSED = "missed"
    #: Its window closed with no assessment: missed, never overdue again.
    OUT_OF_WINDOW = "out_of_window"


with_labels(
    FollowUpStatus,
    {
        FollowUpStatus.PLANNED: _l("Planned"),
        FollowUpStatus.DONE: _l("Done"),
        FollowUpStatus.MISSED: _l("Missed"),
        FollowUpStatus.OUT_OF_WINDOW: _l("Missed (out of window)"),
    },
)


#: Statuses of a time point that count as missed in follow-up completeness.
MISSED_STATUSES = (FollowUpStatus.MISSED, FollowUpStatus.OUT_OF_WINDOW)


def counts_as_missed(status: FollowUpStatus, window_end_on: date | None, today: date) -> bool:
    """Missed for completeness: marked missed, stamped out of window, or still
    planned with its window closed (before the nightly job stamps it)."""
    if status in MISSED_STATUSES:
        return True
    return status is FollowUpStatus.PLANNED and out_of_window(window_end_on, today)


def counts_as_missed_sql(status: Any, window_end_on: Any, today: date) -> ColumnElement[bool]:
    return or_(
        status.in_(MISSED_STATUSES),
        and_(status == FollowUpStatus.PLANNED, out_of_window_sql(window_end_on, today)),
    )


class Fulfillable(Protocol):
    due_on: date
    window_start_on: date | None
    window_end_on: date | None


F = TypeVar("F", bound=Fulfillable)


def in_window(check: Fulfillable, on: date) -> bool:
    start, end = check.window_start_on, check.window_end_on
    return (start is None or start <= on) and (end is None or on <= end)


def fulfilled_by(on: date, open_checks: Iterable[F]) -> F | None:
    """The time point an assessment dated ``on`` fulfils: of the open ones whose
    window contains it, the one due nearest (the earlier on a tie); none when
    the date is outside every window (an unscheduled assessment)."""
    found = [check for check in open_checks if in_window(check, on)]
    if not found:
        return None
    return min(found, key=lambda check: (abs((check.due_on - on).days), check.due_on))


def out_of_window(window_end_on: date | None, today: date) -> bool:
    """A planned time point whose window has closed: missed, never overdue again."""
    return window_end_on is not None and window_end_on < today


def out_of_window_sql(window_end_on: Any, today: date) -> ColumnElement[bool]:
    return and_(window_end_on.is_not(None), window_end_on < today)


def still_open(window_end_on: date | None, today: date) -> bool:
    """A planned time point still to be done: its window has not closed."""
    return not out_of_window(window_end_on, today)


def still_open_sql(window_end_on: Any, today: date) -> ColumnElement[bool]:
    return or_(window_end_on.is_(None), window_end_on >= today)


class Response(LabelledEnum):
    """IMMPACT categories of change from baseline (Dworkin et al., J Pain 2008)."""

    SUBSTANTIAL = "substantial"  # at least 50% reduction
    MODERATE = "moderate"  # at least 30%
    MINIMAL_OR_NONE = "minimal_or_none"
    WORSE = "worse"


#: IMMPACT's thresholds of a reduction from baseline, in percent.
SUBSTANTIAL_PCT, MODERATE_PCT = 50, 30
#: The categories that count as "at least a moderate response".
AT_LEAST_MODERATE = (Response.SUBSTANTIAL, Response.MODERATE)

with_labels(
    Response,
    {
        Response.SUBSTANTIAL: _l("Substantial (at least %(pct)d%% less pain)", pct=SUBSTANTIAL_PCT),
        Response.MODERATE: _l("Moderate (at least %(pct)d%% less pain)", pct=MODERATE_PCT),
        Response.MINIMAL_OR_NONE: _l("Minimal or none"),
        Response.WORSE: _l("Worse"),
    },
)


def reduction_pct(baseline: int | None, nrs: int) -> float | None:
    """Percent reduction of pain from baseline (negative when worse)."""
    if not baseline:
        return None
    return (baseline - nrs) * 100 / baseline


def at_least(baseline: int, nrs: int, pct: float) -> bool:
    """A reduction of at least ``pct`` percent, exactly (no float rounding at 30/50)."""
    return (baseline - nrs) * 100 >= pct * baseline


def at_least_sql(baseline: Any, nrs: Any, pct: Any) -> ColumnElement[bool]:
    """``at_least`` in SQL, in whole numbers as there."""
    test: ColumnElement[bool] = (baseline - nrs) * 100 >= pct * baseline
    return test


def response_category(baseline: int | None, nrs: int) -> Response | None:
    """The IMMPACT category of a reading (None without a baseline)."""
    if not baseline:
        return None
    if nrs > baseline:
        return Response.WORSE
    if at_least(baseline, nrs, SUBSTANTIAL_PCT):
        return Response.SUBSTANTIAL
    if at_least(baseline, nrs, MODERATE_PCT):
        return Response.MODERATE
    return Response.MINIMAL_OR_NONE


def response_category_sql(baseline: Any, nrs: Any) -> ColumnElement[Response | None]:
    """``response_category`` in SQL (a ``Response``, or NULL without a baseline)."""
    stored_as: Any = Enum(Response, native_enum=False, length=40)
    return type_coerce(
        case(
            (or_(baseline.is_(None), baseline == 0), null()),
            (nrs > baseline, Response.WORSE.name),
            (at_least_sql(baseline, nrs, SUBSTANTIAL_PCT), Response.SUBSTANTIAL.name),
            (at_least_sql(baseline, nrs, MODERATE_PCT), Response.MODERATE.name),
            else_=Response.MINIMAL_OR_NONE.name,
        ),
        stored_as,
    )


def responds(baseline: int, nrs: int, pain_is_back: bool, partial_pct: float) -> bool:
    """A reading that starts a relief: at least a partial response, and the
    patient does not say the pain is back."""
    return at_least(baseline, nrs, partial_pct) and not pain_is_back


def responds_sql(
    baseline: Any, nrs: Any, pain_is_back: Any, partial_pct: Any
) -> ColumnElement[bool]:
    """``responds`` in SQL."""
    return and_(at_least_sql(baseline, nrs, partial_pct), pain_is_back.is_(False))


def is_recurrence(baseline: int, nrs: int, pain_is_back: bool, recurrence_pct: float) -> bool:
    """The pain has come back at this reading: the reduction has fallen below
    the recurrence threshold, or the patient says so."""
    return pain_is_back or not at_least(baseline, nrs, recurrence_pct)


def is_recurrence_sql(
    baseline: Any, nrs: Any, pain_is_back: Any, recurrence_pct: Any
) -> ColumnElement[bool]:
    """``is_recurrence`` in SQL."""
    return or_(pain_is_back.is_(True), ~at_least_sql(baseline, nrs, recurrence_pct))


class ThresholdError(ValueError):
    """Response thresholds out of order; ``field`` names the one to change."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_thresholds(responder_pct: int, partial_pct: int, recurrence_pct: int) -> None:
    """Recurrence <= partial response <= response, or ``ThresholdError``: above the
    partial threshold, one reading would be both a response and a recurrence."""
    if partial_pct > responder_pct:
        raise ThresholdError(
            "partial_pct", _l("A partial response cannot need more than a full response.")
        )
    if recurrence_pct > partial_pct:
        raise ThresholdError(
            "recurrence_pct",
            _l(
                "A recurrence cannot start above the partial response (%(pct)d%%): "
                "one reading would be both.",
                pct=partial_pct,
            ),
        )


@dataclass(frozen=True)
class RuleSettings:
    """A technique's thresholds as the rules read them. Where they are set (the
    technique form and the catalogue service), ``check_thresholds`` keeps them in
    order; the rules themselves give an answer whatever the order."""

    responder_pct: int = 50
    partial_pct: int = 30
    recurrence_pct: int = 30
    min_interval_days: int = 42
    max_failed_sessions: int = 2
    blocking_cirse_grade: int = 3
    #: False for structural treatments (cement...): they are not expected to wear off.
    retreatable: bool = True
    #: Readings count from this day after the procedure: earlier ones (the local
    #: anaesthetic's effect on day 0) are kept and charted but mean nothing.
    counts_from_day: int = 1


# --- what a reading means (DOMAIN "Ordering and counting readings") ---------------------

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Reading:
    on: date
    nrs: int
    pain_is_back: bool = False
    #: When it was recorded: of two readings of one day, the one recorded later
    #: is the latest (whatever the order they were typed in).
    recorded_at: datetime | None = None
    #: The order of entry (the assessment's id), for readings recorded at the
    #: same instant.
    seq: int = 0


def reading_order(reading: Reading) -> tuple[date, bool, datetime, int]:
    """Readings in order: by date, then by the time they were recorded."""
    recorded = reading.recorded_at
    if recorded is not None and recorded.tzinfo is None:
        recorded = recorded.replace(tzinfo=UTC)
    return (reading.on, recorded is not None, recorded or _NEVER, reading.seq)


def in_order(readings: Iterable[Reading]) -> list[Reading]:
    return sorted(readings, key=reading_order)


def reading_order_sql(on: Any, recorded_at: Any, seq: Any) -> tuple[Any, ...]:
    """``reading_order`` as ORDER BY terms (oldest first)."""
    return (on.asc(), recorded_at.asc().nulls_first(), seq.asc())


def latest_first_sql(on: Any, recorded_at: Any, seq: Any) -> tuple[Any, ...]:
    """``reading_order`` reversed: the latest reading first."""
    return (on.desc(), recorded_at.desc().nulls_last(), seq.desc())


def counts(performed_on: date, on: date, counts_from_day: int) -> bool:
    """A reading counts (as a response or a recurrence) from day N after the
    procedure; one on an earlier day is kept and charted only."""
    return (on - performed_on).days >= counts_from_day


def counts_sql(performed_on: Any, on: Any, counts_from_day: Any) -> ColumnElement[bool]:
    """``counts`` in SQL."""
    test: ColumnElement[bool] = days_between(on, performed_on) >= counts_from_day
    return test


def pain_back(
    baseline: int | None,
    nrs: int,
    pain_is_back: bool,
    performed_on: date,
    on: date,
    counts_from_day: int,
    recurrence_pct: float,
) -> bool:
    """Whether one reading says the pain has come back (the owner is told at once
    when a patient reports it): it counts, and the patient says so or, with a
    baseline, the reduction has fallen below the recurrence threshold."""
    if not counts(performed_on, on, counts_from_day):
        return False  # kept and charted, but not a recurrence
    if pain_is_back:
        return True
    if not baseline:
        return False
    return is_recurrence(baseline, nrs, pain_is_back, recurrence_pct)


def pain_back_sql(
    baseline: Any,
    nrs: Any,
    pain_is_back: Any,
    performed_on: Any,
    on: Any,
    counts_from_day: Any,
    recurrence_pct: Any,
) -> ColumnElement[bool]:
    """``pain_back`` in SQL."""
    return and_(
        counts_sql(performed_on, on, counts_from_day),
        or_(
            pain_is_back.is_(True),
            and_(
                baseline.is_not(None),
                baseline != 0,
                is_recurrence_sql(baseline, nrs, pain_is_back, recurrence_pct),
            ),
        ),
    )


def reading_category(
    baseline: int | None,
    nrs: int,
    pain_is_back: bool,
    performed_on: date,
    on: date,
    counts_from_day: int,
) -> Response | None:
    """What a reading counts as, for responder rates and exports: its IMMPACT
    category, None when it does not count (no baseline, or too early), and
    never a response when the patient says the pain is back."""
    if not counts(performed_on, on, counts_from_day):
        return None
    category = response_category(baseline, nrs)
    if pain_is_back and category in AT_LEAST_MODERATE:
        return Response.MINIMAL_OR_NONE
    return category


def reading_category_sql(
    baseline: Any, nrs: Any, pain_is_back: Any, performed_on: Any, on: Any, counts_from_day: Any
) -> ColumnElement[Response | None]:
    """``reading_category`` in SQL (a ``Response``, or NULL)."""
    stored_as: Any = Enum(Response, native_enum=False, length=40)
    return type_coerce(
        case(
            (~counts_sql(performed_on, on, counts_from_day), null()),
            (or_(baseline.is_(None), baseline == 0), null()),
            (nrs > baseline, Response.WORSE.name),
            (pain_is_back.is_(True), Response.MINIMAL_OR_NONE.name),
            (at_least_sql(baseline, nrs, SUBSTANTIAL_PCT), Response.SUBSTANTIAL.name),
            (at_least_sql(baseline, nrs, MODERATE_PCT), Response.MODERATE.name),
            else_=Response.MINIMAL_OR_NONE.name,
        ),
        stored_as,
    )


@dataclass(frozen=True)
class Session:
    """One procedure, the baseline of its episode, and the assessments that
    followed it (until the next procedure)."""

    performed_on: date
    baseline: int | None
    readings: tuple[Reading, ...] = ()
    worst_cirse_grade: int | None = None
    settings: RuleSettings = RuleSettings()
    technique: str = ""

    @property
    def counted(self) -> list[Reading]:
        """The readings that count, in order (DOMAIN "Ordering and counting readings")."""
        day = self.settings.counts_from_day
        return [r for r in in_order(self.readings) if counts(self.performed_on, r.on, day)]

    @property
    def failed(self) -> bool | None:
        """True when the session has counted readings and none was a response;
        None (unknown) without a counted reading or a baseline."""
        counted = self.counted
        if not counted or not self.baseline:
            return None
        partial = self.settings.partial_pct
        return not any(responds(self.baseline, r.nrs, r.pain_is_back, partial) for r in counted)


class Kind(LabelledEnum):
    RESPONDING = "responding"
    NO_RESPONSE = "no_response"
    ELIGIBLE = "eligible"
    NOT_YET = "not_yet"
    NOT_ELIGIBLE = "not_eligible"


with_labels(
    Kind,
    {
        Kind.RESPONDING: _l("Responding"),
        Kind.NO_RESPONSE: _l("No response"),
        Kind.ELIGIBLE: _l("Eligible for re-discussion"),
        Kind.NOT_YET: _l("Not yet"),
        Kind.NOT_ELIGIBLE: _l("Not eligible"),
    },
)


@dataclass(frozen=True)
class Reason:
    """One sentence of the verdict's explanation: a code and its values, put
    into words (in the reader's language) when shown."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reasons: tuple[Reason, ...]
    #: For "not yet": the first day it may become eligible (if known).
    eligible_from: date | None = None
    #: The pain has come back (whatever the verdict).
    recurrence: bool = False
    #: The best response was partial (30-50%), not substantial.
    partial: bool = False


def retreatment_verdict(sessions: Sequence[Session], today: date) -> Verdict:
    """The verdict for the latest session, with its reasons in order."""
    if not sessions:
        return Verdict(Kind.NOT_YET, (Reason("no_procedure"),))
    last = sessions[-1]
    rule = last.settings
    if last.worst_cirse_grade is not None and last.worst_cirse_grade >= rule.blocking_cirse_grade:
        return Verdict(
            Kind.NOT_ELIGIBLE,
            (
                Reason(
                    "severe_adverse_event",
                    {"grade": last.worst_cirse_grade, "limit": rule.blocking_cirse_grade},
                ),
            ),
        )
    # Consecutive failures, latest first: a response, or a session not known
    # to have failed (no counted reading), ends the run.
    failed = 0
    for session in reversed(sessions):
        if session.failed is not True:
            break
        failed += 1
    if failed >= rule.max_failed_sessions:
        return Verdict(Kind.NOT_ELIGIBLE, (Reason("failed_sessions", {"count": failed}),))
    if not last.readings:
        return Verdict(Kind.NOT_YET, (Reason("no_assessment", {"since": last.performed_on}),))
    readings = last.counted
    if not readings:
        return Verdict(
            Kind.NOT_YET,
            (
                Reason(
                    "no_counted_assessment",
                    {"since": last.performed_on, "day": rule.counts_from_day},
                ),
            ),
        )
    if not last.baseline:
        return Verdict(Kind.NOT_YET, (Reason("no_baseline"),))

    # A reading saying the pain is back is never a response, whatever its score.
    candidates = [reading for reading in readings if not reading.pain_is_back] or readings
    best_reading = min(candidates, key=lambda reading: reading.nrs)
    best = reduction_pct(last.baseline, best_reading.nrs)
    if not responds(last.baseline, best_reading.nrs, best_reading.pain_is_back, rule.partial_pct):
        return Verdict(
            Kind.NO_RESPONSE,
            (
                Reason("pain_back_throughout", {"on": best_reading.on})
                if best_reading.pain_is_back
                else Reason(
                    "no_response",
                    {"best": best, "on": best_reading.on, "threshold": rule.partial_pct},
                ),
                Reason("failed_so_far", {"count": failed, "limit": rule.max_failed_sessions}),
            ),
        )
    partial = not at_least(last.baseline, best_reading.nrs, rule.responder_pct)
    responded = Reason(
        "partial_response" if partial else "responded",
        {
            "best": best,
            "on": best_reading.on,
            "threshold": rule.partial_pct if partial else rule.responder_pct,
        },
    )
    latest = readings[-1]
    latest_pct = reduction_pct(last.baseline, latest.nrs)
    if not is_recurrence(last.baseline, latest.nrs, latest.pain_is_back, rule.recurrence_pct):
        return Verdict(
            Kind.RESPONDING,
            (responded, Reason("holding", {"latest": latest_pct, "on": latest.on})),
            partial=partial,
        )
    recurrence = Reason(
        "pain_is_back" if latest.pain_is_back else "recurrence",
        {"latest": latest_pct, "on": latest.on, "threshold": rule.recurrence_pct},
    )
    if not rule.retreatable:
        return Verdict(
            Kind.NOT_ELIGIBLE,
            (responded, recurrence, Reason("not_retreatable", {"technique": last.technique})),
            recurrence=True,
            partial=partial,
        )
    eligible_from = last.performed_on + timedelta(days=rule.min_interval_days)
    if today < eligible_from:
        return Verdict(
            Kind.NOT_YET,
            (
                responded,
                recurrence,
                Reason("too_early", {"days": rule.min_interval_days, "from": eligible_from}),
            ),
            eligible_from=eligible_from,
            recurrence=True,
            partial=partial,
        )
    return Verdict(
        Kind.ELIGIBLE,
        (
            responded,
            recurrence,
            Reason("interval_passed", {"days": rule.min_interval_days, "since": last.performed_on}),
            Reason("no_severe_adverse_event", {"limit": rule.blocking_cirse_grade}),
        ),
        recurrence=True,
        partial=partial,
    )


# --- the kept verdict, as of a day ---------------------------------------------------

#: The kept verdicts that are, or may become with time alone, "eligible": the
#: partial index ``ix_case_verdicts_open`` holds only these.
OPEN_KINDS = (Kind.ELIGIBLE, Kind.NOT_YET)


class KeptVerdict(Protocol):
    """A verdict as kept in the database (``CaseVerdict``). The SQL forms below
    take the mapped class itself, whose attributes are then the columns."""

    kind: Kind
    recurrence: bool
    eligible_from: date | None


def is_open_sql(kind: Any) -> ColumnElement[bool]:
    """``kind IN ('ELIGIBLE', 'NOT_YET')`` with the names written out, not bound:
    the partial index's own condition, which a query must state in these words
    for the database to use that index."""
    test: ColumnElement[bool] = kind.in_(
        [literal_column(f"'{member.name}'") for member in OPEN_KINDS]
    )
    return test


def interval_passed(verdict: KeptVerdict, today: date) -> bool:
    """Kept as "not yet" only for the minimum interval, which has passed by
    ``today``: eligible now, as ``retreatment_verdict`` would say today."""
    return (
        verdict.kind is Kind.NOT_YET
        and verdict.recurrence
        and verdict.eligible_from is not None
        and verdict.eligible_from <= today
    )


def _interval_passed_terms(verdict: Any, today: date) -> ColumnElement[bool]:
    return and_(
        verdict.kind == Kind.NOT_YET,
        verdict.recurrence.is_(True),
        verdict.eligible_from <= today,
    )


def interval_passed_sql(verdict: Any, today: date) -> ColumnElement[bool]:
    """``interval_passed`` in SQL (within the partial index of open verdicts)."""
    return and_(is_open_sql(verdict.kind), _interval_passed_terms(verdict, today))


def kind_on(verdict: KeptVerdict, today: date) -> Kind:
    """The kept verdict as of ``today``."""
    return Kind.ELIGIBLE if interval_passed(verdict, today) else verdict.kind


def is_eligible(verdict: KeptVerdict, today: date) -> bool:
    """Eligible for re-discussion on ``today``, by the kept verdict."""
    return kind_on(verdict, today) is Kind.ELIGIBLE


def is_eligible_sql(verdict: Any, today: date) -> ColumnElement[bool]:
    """``is_eligible`` in SQL.

    Written as the partial index's condition, with the finer test as an
    expression that no index answers: the planner then walks that index in order
    (or a referrer's cases) instead of sorting every verdict.
    """
    return and_(
        is_open_sql(verdict.kind),
        case(
            (verdict.kind == Kind.ELIGIBLE, 1),
            (_interval_passed_terms(verdict, today), 1),
            else_=0,
        )
        == 1,
    )


def waiting_for_discussion(verdict: KeptVerdict, presented_again: bool, today: date) -> bool:
    """Eligible today and not presented again yet (the case has no later
    episode): what the lists of eligible cases show and referrers hear of."""
    return is_eligible(verdict, today) and not presented_again


def waiting_for_discussion_sql(
    verdict: Any, presented_again: ColumnElement[bool], today: date
) -> ColumnElement[bool]:
    """``waiting_for_discussion`` in SQL; ``presented_again`` is the query's own
    test for a later episode."""
    return and_(is_eligible_sql(verdict, today), ~presented_again)


# --- relief ---------------------------------------------------------------------------


def relief_duration(session: Session) -> tuple[int, bool] | None:
    """How long a procedure relieved the pain, for the outcomes' survival curve:
    ``(days, ended)``, or None when there was no response to last.

    The relief starts with the first assessment showing at least a partial
    response and ends (``ended``) at the first later assessment where the
    retreatment rule sees a recurrence: the reduction fallen below its
    threshold, or the patient saying the pain is back. Without a recurrence the
    relief is followed up to the last assessment (censored there). Days count
    from the procedure.
    Only counted readings take part, in their order (of two readings of one
    day, the one recorded later comes after).
    """
    readings = session.counted
    if not session.baseline or not readings:
        return None
    rule = session.settings
    responded = next(
        (
            index
            for index, reading in enumerate(readings)
            if responds(session.baseline, reading.nrs, reading.pain_is_back, rule.partial_pct)
        ),
        None,
    )
    if responded is None:
        return None
    for reading in readings[responded + 1 :]:
        if is_recurrence(session.baseline, reading.nrs, reading.pain_is_back, rule.recurrence_pct):
            return (reading.on - session.performed_on).days, True
    return (readings[-1].on - session.performed_on).days, False


def relief_duration_sql(readings: Any) -> Select[Any]:
    """``relief_duration`` in SQL, for every procedure at once.

    ``readings`` (a CTE) has one row per assessment: ``procedure_id``,
    ``performed_on``, ``on``, ``recorded_at``, ``seq`` (the order of entry),
    ``nrs``, ``back`` (the pain is back), the episode's ``baseline`` and the
    technique's ``partial`` and ``recurrence`` thresholds and ``counts_from``
    day. The query returns one row per procedure with a relief to measure:
    ``procedure_id``, ``days`` and ``ended``.
    """
    r = readings.c
    counted = (
        select(
            r.procedure_id,
            r.performed_on,
            r.on,
            r.nrs,
            r.back,
            r.baseline,
            r.partial,
            r.recurrence,
            func.row_number()
            .over(
                partition_by=r.procedure_id,
                order_by=reading_order_sql(r.on, r.recorded_at, r.seq),
            )
            .label("position"),
        )
        .where(counts_sql(r.performed_on, r.on, r.counts_from))
        .cte("counted")
    )
    c = counted.c
    first = (
        select(c.procedure_id, func.min(c.position).label("responded_at"))
        .where(c.baseline > 0, responds_sql(c.baseline, c.nrs, c.back, c.partial))
        .group_by(c.procedure_id)
        .cte("responded")
    )
    # Positions follow the dates: the first recurrence after the response is
    # on the earliest date among the later readings that are one.
    recurred = func.min(
        case(
            (
                and_(
                    c.position > first.c.responded_at,
                    is_recurrence_sql(c.baseline, c.nrs, c.back, c.recurrence),
                ),
                c.on,
            )
        )
    )
    per_procedure = (
        select(
            first.c.procedure_id,
            func.min(c.performed_on).label("performed_on"),
            recurred.label("recurred_on"),
            func.max(c.on).label("last_on"),
        )
        .join(counted, c.procedure_id == first.c.procedure_id)
        .group_by(first.c.procedure_id)
        .subquery()
    )
    p = per_procedure.c
    ended_on = func.coalesce(p.recurred_on, p.last_on)
    return select(
        p.procedure_id,
        days_between(ended_on, p.performed_on).label("days"),
        p.recurred_on.is_not(None).label("ended"),
    )
