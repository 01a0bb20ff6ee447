"""What follow-up adds to a case's timeline: assessments, missed follow-ups,
and the links between episodes of the same problem."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from tracker.cases.models import Referral
from tracker.cases.queries import other_episodes
from tracker.cases.timeline import TimelineEvent, start_of_day
from tracker.core.i18n import in_sentence
from tracker.decisions.queries import case_procedures
from tracker.followups.models import FollowUpStatus
from tracker.followups.queries import case_assessments, case_followups
from tracker.followups.rules import reading_category, reduction_pct


def followup_events(referral: Referral) -> list[TimelineEvent]:
    events = _links(referral)
    procedures = {procedure.id: procedure for procedure in case_procedures(referral.id)}
    if not procedures:
        return events  # nothing to follow up yet
    for assessment in case_assessments(referral.id):
        procedure = procedures[assessment.procedure_id]
        reduction = reduction_pct(referral.nrs_average, assessment.nrs_average)
        # What the reading counts as: nothing on the day of the procedure, and
        # never a response when the pain is back.
        category = reading_category(
            referral.nrs_average,
            assessment.nrs_average,
            assessment.pain_is_back,
            procedure.performed_on,
            assessment.assessed_on,
            procedure.technique.counts_from_day,
        )
        detail = None
        if reduction is not None and category is not None:
            detail = _(
                "%(pct)d%% less pain than at referral: %(category)s",
                pct=round(reduction),
                category=in_sentence(str(category.label)),
            )
        if assessment.pain_is_back:
            detail = f"{detail} · {_('the pain is back')}" if detail else _("the pain is back")
        events.append(
            TimelineEvent(
                at=start_of_day(assessment.assessed_on),
                kind="assessment",
                title=_("Assessment: average pain %(nrs)d/10", nrs=assessment.nrs_average),
                detail=detail,
                date_only=True,
            )
        )
    missed = [f for f in case_followups(referral.id) if f.status is FollowUpStatus.MISSED]
    for followup in missed:
        events.append(
            TimelineEvent(
                at=start_of_day(followup.due_on),
                kind="assessment",
                title=_("Follow-up missed"),
                detail=followup.missed_reason,
                date_only=True,
            )
        )
    return events


def _links(referral: Referral) -> list[TimelineEvent]:
    """Links between episodes of the same problem."""
    events = []
    linked = [
        other
        for other in other_episodes(referral)
        if other.previous_referral_id == referral.id or other.id == referral.previous_referral_id
    ]
    for other in linked:
        if other.previous_referral_id == referral.id:
            title = _("Presented again as %(case)s", case=other.case_number)
            at = other.created_at
        else:
            title = _("Presents again %(case)s", case=other.case_number)
            at = referral.created_at
        events.append(
            TimelineEvent(
                at=at,
                kind="referral",
                title=title,
                detail=referral.recurrence_reason
                if other.id == referral.previous_referral_id
                else None,
                link=url_for("cases.show", referral_id=other.id),
            )
        )
    return events
