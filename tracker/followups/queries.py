"""Reading follow-ups: the worklist, eligible cases, one case's follow-up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased, joinedload

from tracker.cases.models import Referral
from tracker.core.memo import once_per_request
from tracker.decisions.models import Procedure
from tracker.extensions import db
from tracker.followups.models import (
    Assessment,
    CaseVerdict,
    FollowUp,
    FollowUpStatus,
)
from tracker.followups.rules import (
    Reading,
    in_order,
    reading_order_sql,
    still_open_sql,
    waiting_for_discussion_sql,
)

#: Rows shown per part of the worklist (the counts say how many in all): a
#: day's work, not the whole backlog.
WORKLIST_ROWS = 30


#: The worklist's owner filter for follow-ups nobody owns yet (the team queue).
TEAM_QUEUE = 0


@dataclass
class Worklist:
    overdue: list[FollowUp] = field(default_factory=list)
    today: list[FollowUp] = field(default_factory=list)
    week: list[FollowUp] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    #: The latest assessment of each listed case, by case id.
    last: dict[int, Assessment] = field(default_factory=dict)


def _to_do(today: date, owner_id: int | None, technique_id: int | None) -> Any:
    """Follow-ups still to do: planned, window not closed; of one owner
    (``TEAM_QUEUE``: of nobody), or everyone's when ``owner_id`` is None."""
    query = select(FollowUp).where(
        FollowUp.status == FollowUpStatus.PLANNED, still_open_sql(FollowUp.window_end_on, today)
    )
    if owner_id == TEAM_QUEUE:
        query = query.where(FollowUp.responsible_id.is_(None))
    elif owner_id is not None:
        query = query.where(FollowUp.responsible_id == owner_id)
    if technique_id is not None:
        query = query.where(
            FollowUp.procedure_id.in_(
                select(Procedure.id).where(Procedure.technique_id == technique_id)
            )
        )
    return query


def worklist(
    today: date, *, owner_id: int | None = None, technique_id: int | None = None
) -> Worklist:
    """Follow-ups overdue (window still open), due today and due within the week,
    the most urgent first (the window closing first), with each listed case's
    latest assessment: five queries. The home panels count with this too, so
    they always agree with the worklist."""
    week_end = today + timedelta(days=7)
    base = _to_do(today, owner_id, technique_id)
    options = (
        joinedload(FollowUp.referral).joinedload(Referral.patient),
        joinedload(FollowUp.procedure).joinedload(Procedure.technique),
        joinedload(FollowUp.responsible),
    )
    parts = {
        "overdue": base.where(FollowUp.due_on < today),
        "today": base.where(FollowUp.due_on == today),
        "week": base.where(FollowUp.due_on > today, FollowUp.due_on <= week_end),
    }
    urgency = (
        FollowUp.window_end_on.is_(None),
        FollowUp.window_end_on,
        FollowUp.due_on,
        FollowUp.id,
    )
    result = Worklist()
    for name, query in parts.items():
        rows = db.session.scalars(query.options(*options).order_by(*urgency).limit(WORKLIST_ROWS))
        setattr(result, name, list(rows))
    counted = aliased(FollowUp, base.where(FollowUp.due_on <= week_end).subquery())
    bucket = case(
        (counted.due_on < today, "overdue"),
        (counted.due_on == today, "today"),
        else_="week",
    )
    result.counts = {"overdue": 0, "today": 0, "week": 0} | dict(
        db.session.execute(
            select(bucket.label("bucket"), func.count()).select_from(counted).group_by(bucket)
        ).all()
    )
    result.last = latest_assessments(
        {row.referral_id for row in result.overdue + result.today + result.week}
    )
    return result


def latest_assessments(referral_ids: set[int]) -> dict[int, Assessment]:
    """The latest assessment of each case (the product's reading order): one query."""
    if not referral_ids:
        return {}
    rows = db.session.scalars(
        select(Assessment)
        .where(Assessment.referral_id.in_(referral_ids))
        .order_by(*reading_order_sql(Assessment.assessed_on, Assessment.created_at, Assessment.id))
    )
    return {row.referral_id: row for row in rows}


def team_queue_count(today: date) -> int:
    """Follow-ups still to do that nobody owns."""
    found = _to_do(today, TEAM_QUEUE, None).subquery()
    return db.session.execute(select(func.count()).select_from(found)).scalar_one()


def _waiting_for_discussion(today: date) -> Any:
    """``rules.waiting_for_discussion`` over the kept verdicts."""
    later = aliased(Referral)
    presented_again = select(later.id).where(later.previous_referral_id == CaseVerdict.referral_id)
    return waiting_for_discussion_sql(CaseVerdict, presented_again.exists(), today)


def eligible_cases(
    today: date,
    *,
    referrer_id: int | None = None,
    limit: int = 50,
    not_yet_told: bool = False,
) -> list[Any]:
    """Treated cases whose pain came back, eligible for re-discussion, not yet
    presented again (with ``not_yet_told``: whose referrer has not been e-mailed)."""
    query = (
        select(CaseVerdict)
        .join(CaseVerdict.referral)
        .where(_waiting_for_discussion(today))
        .options(joinedload(CaseVerdict.referral).joinedload(Referral.patient))
        .order_by(CaseVerdict.eligible_from, CaseVerdict.referral_id)
        .limit(limit)
    )
    if referrer_id is not None:
        query = query.where(Referral.referrer_id == referrer_id)
    if not_yet_told:
        query = query.where(CaseVerdict.referrer_told_at.is_(None))
    return list(db.session.scalars(query))


#: Beyond this many eligible cases the worklist says "more than" (counting them
#: all would read every open verdict).
ELIGIBLE_COUNT_CAP = 1000


def eligible_count(today: date) -> int:
    """How many cases ``eligible_cases`` would list without a limit, counted up
    to ``ELIGIBLE_COUNT_CAP + 1``."""
    found = (
        select(CaseVerdict.referral_id)
        .where(_waiting_for_discussion(today))
        .limit(ELIGIBLE_COUNT_CAP + 1)
        .subquery()
    )
    return db.session.execute(select(func.count()).select_from(found)).scalar_one()


#: The outbox key of the e-mail telling a referrer a case became eligible (the
#: verdict's ``referrer_told_at`` records that it was sent; the key keeps two
#: schedulers at once from writing it twice).
ELIGIBLE_KEY = "eligible:"


def case_followups(referral_id: int) -> list[FollowUp]:
    return once_per_request(
        ("followups", referral_id),
        lambda: list(
            db.session.scalars(
                select(FollowUp)
                .where(FollowUp.referral_id == referral_id)
                .options(joinedload(FollowUp.assessment), joinedload(FollowUp.responsible))
                .order_by(FollowUp.due_on, FollowUp.id)
            )
        ),
    )


def case_assessments(referral_id: int) -> list[Assessment]:
    return once_per_request(
        ("assessments", referral_id),
        lambda: list(
            db.session.scalars(
                select(Assessment)
                .where(Assessment.referral_id == referral_id)
                .order_by(
                    *reading_order_sql(Assessment.assessed_on, Assessment.created_at, Assessment.id)
                )
            )
        ),
    )


def readings_by_procedure(*where: Any) -> dict[int, list[Reading]]:
    """The readings of the assessments that match ``where``, in order, by
    procedure: what the retreatment rule and the relief duration read. One query."""
    readings: dict[int, list[Reading]] = defaultdict(list)
    rows = db.session.execute(
        select(
            Assessment.procedure_id,
            Assessment.assessed_on,
            Assessment.nrs_average,
            Assessment.pain_is_back,
            Assessment.created_at,
            Assessment.id,
        ).where(*where)
    )
    for procedure_id, assessed_on, nrs, pain_is_back, recorded_at, seq in rows:
        readings[procedure_id].append(Reading(assessed_on, nrs, pain_is_back, recorded_at, seq))
    return {procedure_id: in_order(found) for procedure_id, found in readings.items()}


def readings_of_patient(patient_id: int) -> dict[int, list[Reading]]:
    """Every reading of a patient, whatever the episode, by procedure: one query
    however many procedures the patient had."""
    return readings_by_procedure(
        Assessment.referral_id.in_(select(Referral.id).where(Referral.patient_id == patient_id))
    )
