"""Who may do what in the follow-up of one case: per-object permissions.

Pure functions of (user, object), written once here and asked by the views,
the templates (through their view) and the services (with the acting user).
"""

from __future__ import annotations

from typing import Any

from tracker.cases.permissions import TEAM
from tracker.web.permissions import Role, has_role

#: The physicians who see patients after their procedure.
CARERS = (Role.CLINICIAN, Role.RADIOLOGIST)
#: Close a case whose follow-up is over.
CLOSERS = TEAM
#: Who may own follow-ups and make the calls: nurses, pain physicians, anaesthetists.
OWNERS = (Role.CLINICIAN,)
#: Who may give a case's follow-up to another owner: the whole team.
ASSIGNERS = TEAM


def can_log_assessment(user: Any, referral: Any) -> bool:
    return has_role(user, *CARERS)


def can_mark_missed(user: Any, followup: Any) -> bool:
    return has_role(user, *CARERS)


def can_present_again(user: Any, referral: Any) -> bool:
    return has_role(user, *CARERS)


def can_close_case(user: Any, referral: Any) -> bool:
    return has_role(user, *CLOSERS)


def may_own_followups(user: Any) -> bool:
    """Whether ``user`` may be given follow-ups to make (a role, not an object rule)."""
    return has_role(user, *OWNERS)


def can_change_owner(user: Any, referral: Any) -> bool:
    return has_role(user, *ASSIGNERS)
