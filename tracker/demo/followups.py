"""Follow-up after a procedure: the checks its technique plans, the assessments
(pain that falls after treatment and comes back as the nerve regrows), the
case's status and verdict, and the patient presented again."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tracker.cases.rules import CaseStatus
from tracker.core.mail import OutboxMessage
from tracker.demo.decisions import Performed
from tracker.demo.mix import RESPONSE
from tracker.demo.referrals import move
from tracker.followups.models import (
    AnalgesicUse,
    Assessment,
    AssessmentMode,
    CaseVerdict,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.queries import ELIGIBLE_KEY
from tracker.followups.rules import (
    Reading,
    Session,
    Verdict,
    followup_plan,
    in_order,
    is_eligible,
    regrowth_window,
    retreatment_verdict,
)

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator


@dataclass(frozen=True)
class Again:
    """The same problem referred again: the case it follows, when, its baseline."""

    previous_id: int
    referral_on: date
    baseline: int


def follow_up(
    gen: Generator,
    referral: dict[str, Any],
    performed: Performed,
    baseline: int,
    sessions: list[Session],
) -> Again | None:
    """The follow-ups of a procedure, its case's status and verdict; the next
    episode, if the patient is presented again."""
    rng = gen.rng
    performed_on, technique = performed.performed_on, performed.technique
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

    # The product's window (``followups.services.window_for``), from the site's rates.
    window = (
        regrowth_window(performed_on, performed.distance, *gen.regrowth_rates)
        if technique.acts_on_nerve
        else None
    )
    checks = followup_plan(
        performed_on, technique.followup_days or [], window, technique.followup_windows
    )
    # Each case's follow-up has an owner: its referrer when a clinician, else a
    # clinician of the team (the product's default puts those in the team queue).
    clinicians = gen.team.clinicians
    owner = referral["referrer_id"]
    if owner not in clinicians:
        owner = clinicians[referral["id"] % len(clinicians)] if clinicians else None
    readings: list[Reading] = []
    planned_left = 0
    last_due = performed_on
    noticed: date | None = None
    for check in sorted(checks, key=lambda check: check.offset_days):
        due_on, last_due = check.due_on, max(last_due, check.due_on)
        followup_id = gen.ids.next(FollowUp)
        status = FollowUpStatus.PLANNED
        if due_on <= gen.today:
            done_chance = 0.95 - min(check.offset_days, 365) / 365 * 0.2
            if rng.random() < done_chance:
                status = FollowUpStatus.DONE
            elif check.window[1] < gen.today:
                # Window closed: stamped by the nightly job, or marked missed by hand.
                status = (
                    FollowUpStatus.OUT_OF_WINDOW if rng.random() < 0.7 else FollowUpStatus.MISSED
                )
        planned_left += status is FollowUpStatus.PLANNED
        gen.rows.add(
            FollowUp.__table__,
            {
                "id": followup_id,
                "procedure_id": performed.procedure_id,
                "referral_id": referral["id"],
                "kind": FollowUpKind.REGROWTH if check.regrowth else FollowUpKind.SCHEDULED,
                "offset_days": check.offset_days,
                "due_on": due_on,
                "window_start_on": check.window[0],
                "window_end_on": check.window[1],
                "status": status,
                "responsible_id": owner,
                "missed_reason": "Could not be reached."
                if status is FollowUpStatus.MISSED
                else None,
                "created_at": gen.at(performed_on, 16),
            },
        )
        if status is not FollowUpStatus.DONE:
            continue
        # Assessed in the time point's window (that is what fulfils it).
        assessed_on = min(
            gen.today,
            check.window[1],
            max(check.window[0], due_on + timedelta(days=rng.randint(-2, 7))),
        )
        nrs = pain_on(assessed_on)
        back = bool(relapsed_on and assessed_on >= relapsed_on and rng.random() < 0.6)
        if relapsed_on and assessed_on >= relapsed_on and noticed is None:
            noticed = assessed_on
        readings.append(
            _assessment(gen, referral, performed, followup_id, assessed_on, nrs, back, baseline)
        )
    # About one patient in a hundred is seen every month between the time points
    # (a trial, a worried team): the long case pages that users open too.
    if performed_on <= gen.today - timedelta(days=700) and (
        not gen.closely_followed or rng.random() < 0.01
    ):
        gen.closely_followed += 1
        for month in range(1, 24):
            assessed_on = performed_on + timedelta(days=30 * month + 15)
            if len(readings) >= 20 or assessed_on > gen.today:
                break
            nrs = pain_on(assessed_on)
            back = bool(relapsed_on and assessed_on >= relapsed_on)
            readings.append(
                _assessment(gen, referral, performed, None, assessed_on, nrs, back, baseline)
            )
    readings = in_order(readings)
    sessions.append(
        Session(
            performed_on=performed_on,
            baseline=baseline,
            readings=tuple(readings),
            worst_cirse_grade=performed.worst_cirse_grade,
            settings=gen.settings[technique.code],
            technique=technique.name,
        )
    )
    # Every treated case keeps its verdict, as the product refreshes it.
    verdict = retreatment_verdict(sessions, gen.today)
    _keep(gen, referral, verdict)
    if readings:
        # The first assessment starts the follow-up (``log_assessment``).
        move(gen, referral, CaseStatus.FOLLOW_UP, gen.at(readings[0].on, 11))
        closed_on = max(readings[-1].on, last_due) + timedelta(days=rng.randint(7, 30))
        # ``close_case``: nothing planned left and the pain not back.
        if not planned_left and not verdict.recurrence and closed_on <= gen.today:
            move(gen, referral, CaseStatus.CLOSED, gen.at(closed_on, 12))
    if noticed is not None and rng.random() < 0.55:
        again_on = noticed + timedelta(days=rng.randint(14, 60))
        if again_on <= gen.today:
            # ``present_again``: the baseline is the latest assessment's pain.
            latest = max(
                (reading for reading in readings if reading.on <= again_on),
                key=lambda reading: reading.on,
            )
            return Again(referral["id"], again_on, latest.nrs)
    return None


def _assessment(
    gen: Generator,
    referral: dict[str, Any],
    performed: Performed,
    followup_id: int | None,
    assessed_on: date,
    nrs: int,
    back: bool,
    baseline: int,
) -> Reading:
    """The assessment's row, and the reading the retreatment rule sees."""
    rng = gen.rng
    assessment_id = gen.ids.next(Assessment)
    recorded_at = gen.at(assessed_on, 11)
    gen.rows.add(
        Assessment.__table__,
        {
            "id": assessment_id,
            "referral_id": referral["id"],
            "procedure_id": performed.procedure_id,
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
            "created_at": recorded_at,
        },
    )
    gen.assessments += 1
    return Reading(assessed_on, nrs, back, recorded_at, assessment_id)


def _keep(gen: Generator, referral: dict[str, Any], verdict: Verdict) -> None:
    """The verdict row, as ``followups.services.refresh_verdict`` keeps it."""
    gen.rows.add(
        CaseVerdict.__table__,
        {
            "referral_id": referral["id"],
            "kind": verdict.kind,
            "eligible_from": verdict.eligible_from,
            "recurrence": verdict.recurrence,
            "partial": verdict.partial,
            "reasons": [
                {"code": reason.code, "values": _plain(reason.values)} for reason in verdict.reasons
            ],
            "computed_at": gen.now,
            # The referrer was told when the case became eligible (the daily job).
            "referrer_told_at": gen.now if is_eligible(verdict, gen.today) else None,
        },
    )
    if is_eligible(verdict, gen.today):
        # ... and the message that told them.
        gen.rows.add(
            OutboxMessage.__table__,
            {
                "id": gen.ids.next(OutboxMessage),
                "dedup_key": f"{ELIGIBLE_KEY}{referral['id']}",
                "recipient_id": referral["referrer_id"],
                "recipient_email": gen.team.emails[referral["referrer_id"]],
                "subject": f"RCP Tracker: {referral['case_number']} may be eligible",
                "body": "Sent when the case became eligible for re-discussion.",
                "created_at": gen.now,
                "sent_at": gen.now,
                "attempts": 1,
                "next_attempt_at": gen.now,
            },
        )


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in values.items()
    }
