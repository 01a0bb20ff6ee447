"""Who may do what to one decision, plan or procedure: per-object permissions.

Pure functions of (user, object), written once here and asked by the views,
the templates (through their view) and the services (with the acting user).
"""

from __future__ import annotations

from typing import Any

from tracker.cases.permissions import TEAM
from tracker.meetings.permissions import is_chair
from tracker.web.permissions import Role, has_role

#: Type decisions during a meeting and amend them afterwards (and the chair).
RECORDERS = (Role.COORDINATOR, Role.RADIOLOGIST)
#: Change a procedure plan once decided.
PLAN_EDITORS = (Role.RADIOLOGIST, Role.COORDINATOR)
#: Tick the prerequisites of a plan (consent, anaesthesia visit...).
PREREQUISITE_CHECKERS = TEAM
#: Record a procedure performed.
OPERATORS = (Role.RADIOLOGIST,)
#: Report an adverse event after a procedure.
EVENT_REPORTERS = (Role.RADIOLOGIST, Role.CLINICIAN)
#: Record that the patient was told of the decision and what they answered.
INFORMERS = TEAM
#: Record that a proposed procedure will not be carried out, and why.
FOLLOW_THROUGH_RECORDERS = TEAM


def can_record_decision(user: Any, meeting: Any) -> bool:
    """Type the decisions of the meeting: coordinators, radiologists, its chair."""
    return has_role(user, *RECORDERS) or is_chair(user, meeting)


def can_validate(user: Any, decision: Any) -> bool:
    """Validate a decision: the chair of its meeting alone."""
    return is_chair(user, decision.meeting)


def can_amend(user: Any, decision: Any) -> bool:
    """Correct a validated decision: whoever may record the meeting's decisions."""
    return can_record_decision(user, decision.meeting)


def can_record_patient_answer(user: Any, decision: Any) -> bool:
    return has_role(user, *INFORMERS)


def can_edit_plan(user: Any, plan: Any) -> bool:
    return has_role(user, *PLAN_EDITORS)


def can_tick_prerequisite(user: Any, plan: Any) -> bool:
    return has_role(user, *PREREQUISITE_CHECKERS)


def can_record_procedure(user: Any, plan: Any) -> bool:
    return has_role(user, *OPERATORS)


def can_add_adverse_event(user: Any, procedure: Any) -> bool:
    return has_role(user, *EVENT_REPORTERS)


def can_record_not_carried_out(user: Any, plan: Any) -> bool:
    return has_role(user, *FOLLOW_THROUGH_RECORDERS)
