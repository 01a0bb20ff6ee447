"""What decisions add to a case's timeline: decisions, amendments, the patient's
answer, prerequisites done, procedures and adverse events."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from tracker.cases.models import Referral
from tracker.cases.timeline import TimelineEvent, start_of_day
from tracker.decisions.models import CIRSE_GRADES
from tracker.decisions.queries import case_decisions, case_procedures


def decision_events(referral: Referral) -> list[TimelineEvent]:
    events = []
    for decision in case_decisions(referral.id):
        if not decision.is_validated:
            continue
        link = url_for("decisions.sheet", decision_id=decision.id)
        events.append(
            TimelineEvent(
                at=decision.validated_at,  # type: ignore[arg-type]  # set when validated
                kind="decision",
                title=_(
                    "Decision: %(outcome)s",
                    outcome=decision.outcome.label,  # type: ignore[union-attr]  # validated
                ),
                detail=decision.reasons,
                actor=decision.validated_by.full_name if decision.validated_by else None,
                link=link,
            )
        )
        for amendment in decision.amendments:
            events.append(
                TimelineEvent(
                    at=amendment.amended_at,
                    kind="decision",
                    title=_("Decision amended"),
                    detail=amendment.reason,
                    link=link,
                )
            )
        if decision.patient_answer is not None:
            events.append(
                TimelineEvent(
                    at=start_of_day(decision.informed_on),  # type: ignore[arg-type]  # with the answer
                    kind="decision",
                    title=_("Patient informed: %(answer)s", answer=decision.patient_answer.label),
                    date_only=True,
                )
            )
        if decision.plan is not None:
            for _name, label, done_on in decision.plan.checklist:
                if done_on is not None:
                    events.append(
                        TimelineEvent(
                            at=start_of_day(done_on),
                            kind="plan",
                            title=_("Done: %(item)s", item=label),
                            date_only=True,
                        )
                    )
    return events


def procedure_events(referral: Referral) -> list[TimelineEvent]:
    events = []
    for procedure in case_procedures(referral.id):
        detail = procedure.immediate_result
        if procedure.deviation_reason:
            detail = _("Deviation from the plan: %(reason)s", reason=procedure.deviation_reason)
        events.append(
            TimelineEvent(
                at=start_of_day(procedure.performed_on),
                kind="procedure",
                title=_("Procedure: %(technique)s", technique=procedure.technique.name),
                detail=detail,
                date_only=True,
            )
        )
        for event in procedure.adverse_events:
            events.append(
                TimelineEvent(
                    at=event.recorded_at,
                    kind="adverse",
                    title=str(CIRSE_GRADES[event.cirse_grade]),
                    detail=event.description,
                )
            )
    return events
