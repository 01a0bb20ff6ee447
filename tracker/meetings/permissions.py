"""Who may do what to one meeting: per-object permissions of the meetings.

Pure functions of (user, object), written once here and asked by the views,
the templates (through their view) and the services (with the acting user;
``by=None`` is the product itself, e.g. the scheduler closing a meeting).
"""

from __future__ import annotations

from typing import Any

from tracker.web.permissions import Role, has_role, is_user

#: Prepare meetings: edit, cancel, build the agenda, tick who is present.
ORGANISERS = (Role.COORDINATOR,)


def is_chair(user: Any, meeting: Any) -> bool:
    return is_user(user, meeting.chair_id)


def can_organise_meeting(user: Any, meeting: Any) -> bool:
    """Edit or cancel the meeting, change its agenda and its attendance."""
    return has_role(user, *ORGANISERS)


def can_run_meeting(user: Any, meeting: Any) -> bool:
    """Start the meeting and mark it held: coordinators and its chair."""
    return has_role(user, Role.COORDINATOR) or is_chair(user, meeting)


def can_validate_attendance(user: Any, meeting: Any) -> bool:
    """Sign the attendance sheet: the chair alone."""
    return is_chair(user, meeting)
