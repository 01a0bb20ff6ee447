"""Follow-up after a procedure: the planned checks, the assessments (pain that
falls after treatment and comes back as the nerve regrows), the case's verdict."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Technique
from tracker.core.mail import OutboxMessage
from tracker.core.time import utcnow
from tracker.demo.bulk import at
from tracker.demo.mix import RESPONSE
from tracker.demo.referrals import finish
from tracker.followups.models import (
    AnalgesicUse,
    Assessment,
    AssessmentMode,
    CaseVerdict,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.rules import Reading, Session, regrowth_window, retreatment_verdict

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator


def follow_up(
    gen: Generator,
    referral: dict[str, Any],
    procedure_id: int,
    technique: Technique,
    performed_on: date,
    distance: int | None,
    worst: int | None,
    baseline: int,
    sessions: list[Session],
) -> tuple[int, date, int] | None:
    """The follow-ups of a procedure; the next episode's referral, if any."""
    rng = gen.rng
    referral_id = referral["id"]
    responds, median, spread = RESPONSE.get(technique.code, (0.6, 200, 0.5))
    responder = rng.random() < responds
    relief_level = max(0, round(baseline * rng.uniform(0.1, 0.5)))
    lasts = None
    if responder and median is not None:
        lasts = max(14, round(median * math.exp(rng.gauss(0, spread))))
    relapsed_on = performed_on + timedelta(days=lasts) if lasts else None

    def pain_on(day: date) -> int:
        if not responder:
            return max(0, baseline - rng.randint(0, 2))
        if relapsed_on is None or day < relapsed_on:
            return max(0, min(10, relief_level + rng.randint(-1, 1)))
        return min(10, max(0, round(baseline * rng.uniform(0.75, 1.05))))

    offsets = [(FollowUpKind.SCHEDULED, days, None) for days in technique.followup_days or []]
    window = regrowth_window(performed_on, distance, 3.0, 1.0) if technique.acts_on_nerve else None
    if window is not None:
        middle = window[0] + (window[1] - window[0]) / 2
        offsets.append((FollowUpKind.REGROWTH, (middle - performed_on).days, window))
    readings: list[Reading] = []
    planned_left = False
    noticed: tuple[date, int] | None = None
    for kind, days, window in sorted(offsets, key=lambda entry: entry[1]):
        due_on = performed_on + timedelta(days=days)
        followup_id = gen.ids.next(FollowUp)
        status = FollowUpStatus.PLANNED
        if due_on <= gen.today:
            done_chance = 0.95 - min(days, 365) / 365 * 0.2
            if rng.random() < done_chance:
                status = FollowUpStatus.DONE
            elif due_on < gen.today - timedelta(days=21):
                status = FollowUpStatus.MISSED
        planned_left = planned_left or status is FollowUpStatus.PLANNED
        gen.rows.add(
            FollowUp.__table__,
            {
                "id": followup_id,
                "procedure_id": procedure_id,
                "referral_id": referral_id,
                "kind": kind,
                "offset_days": days,
                "due_on": due_on,
                "window_start_on": window[0] if window else None,
                "window_end_on": window[1] if window else None,
                "status": status,
                "responsible_id": referral["referrer_id"],
                "missed_reason": "Could not be reached."
                if status is FollowUpStatus.MISSED
                else None,
                "created_at": at(performed_on, 16),
            },
        )
        if status is not FollowUpStatus.DONE:
            continue
        assessed_on = min(gen.today, due_on + timedelta(days=rng.randint(-2, 7)))
        nrs = pain_on(assessed_on)
        back = bool(relapsed_on and assessed_on >= relapsed_on and rng.random() < 0.6)
        readings.append(Reading(assessed_on, nrs, back))
        if relapsed_on and assessed_on >= relapsed_on and noticed is None:
            noticed = (assessed_on, nrs)
        assessment(gen, referral, procedure_id, followup_id, assessed_on, nrs, back, baseline)
    # About one patient in a hundred is seen every month between the time points
    # (a trial, a worried team): the long case pages that users open too.
    if performed_on <= gen.today - timedelta(days=700) and (
        not gen.closely_followed or rng.random() < 0.01
    ):
        gen.closely_followed += 1
        for month in range(1, 24):
            if len(readings) >= 20:
                break
            assessed_on = performed_on + timedelta(days=30 * month + 15)
            nrs = pain_on(assessed_on)
            back = bool(relapsed_on and assessed_on >= relapsed_on)
            readings.append(Reading(assessed_on, nrs, back))
            assessment(gen, referral, procedure_id, None, assessed_on, nrs, back, baseline)
        readings.sort(key=lambda reading: reading.on)
    sessions.append(
        Session(
            performed_on=performed_on,
            baseline=baseline,
            readings=tuple(readings),
            worst_cirse_grade=worst,
            settings=gen.settings[technique.code],
            technique=technique.name_en,
        )
    )
    again = None
    if noticed is not None and rng.random() < 0.55:
        next_on = noticed[0] + timedelta(days=rng.randint(14, 60))
        if next_on <= gen.today:
            again = (referral_id, next_on, max(4, noticed[1]))
    status = (
        CaseStatus.FOLLOW_UP
        if planned_left or (noticed is not None and again is None)
        else CaseStatus.CLOSED
    )
    finish(gen, referral, status, at(performed_on, 16))
    # Every treated case keeps its verdict, as when assessments are recorded.
    verdict(gen, referral, sessions)
    return again


def assessment(
    gen: Generator,
    referral: dict[str, Any],
    procedure_id: int,
    followup_id: int | None,
    assessed_on: date,
    nrs: int,
    back: bool,
    baseline: int,
) -> None:
    rng = gen.rng
    gen.rows.add(
        Assessment.__table__,
        {
            "id": gen.ids.next(Assessment),
            "referral_id": referral["id"],
            "procedure_id": procedure_id,
            "followup_id": followup_id,
            "assessed_on": assessed_on,
            "mode": AssessmentMode.PHONE if rng.random() < 0.6 else AssessmentMode.VISIT,
            "nrs_now": nrs,
            "nrs_average": nrs,
            "nrs_worst": min(10, nrs + 2),
            "relief_pct": max(0, round((baseline - nrs) * 100 / baseline)) if baseline else None,
            "pgic": 2 if nrs < baseline * 0.7 else 4,
            "side_effects": [],
            "analgesic_use": AnalgesicUse.LESS if nrs < baseline * 0.7 else AnalgesicUse.SAME,
            "pain_is_back": back,
            "recorded_by_id": referral["referrer_id"],
            "created_at": at(assessed_on, 11),
        },
    )
    gen.assessments += 1


def verdict(gen: Generator, referral: dict[str, Any], sessions: list[Session]) -> None:
    verdict = retreatment_verdict(sessions, gen.today)
    gen.rows.add(
        CaseVerdict.__table__,
        {
            "referral_id": referral["id"],
            "kind": verdict.kind,
            "eligible_from": verdict.eligible_from,
            "recurrence": verdict.recurrence,
            "partial": verdict.partial,
            "reasons": [
                {"code": reason.code, "values": plain_values(reason.values)}
                for reason in verdict.reasons
            ],
            "computed_at": utcnow(),
        },
    )
    eligible = verdict.recurrence and (
        verdict.eligible_from is None or verdict.eligible_from <= gen.today
    )
    if eligible and verdict.kind.name in ("ELIGIBLE", "NOT_YET"):
        # The referrer was told on the day (the daily job did it then).
        gen.rows.add(
            OutboxMessage.__table__,
            {
                "id": gen.ids.next(OutboxMessage),
                "dedup_key": f"eligible:{referral['id']}",
                "recipient_id": referral["referrer_id"],
                "recipient_email": gen.team.emails[referral["referrer_id"]],
                "subject": f"RCP Tracker: {referral['case_number']} may be eligible",
                "body": "Sent when the case became eligible for re-discussion.",
                "created_at": utcnow(),
                "sent_at": utcnow(),
                "attempts": 1,
                "next_attempt_at": utcnow(),
            },
        )


def plain_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in values.items()
    }
