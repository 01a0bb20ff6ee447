"""Who may manage a patient's invitations: per-object permissions."""

from __future__ import annotations

from typing import Any

from tracker.followups.permissions import CARERS
from tracker.web.permissions import has_role

#: Resend, revoke, or read out a link: the clinicians who follow patients up.
MANAGERS = CARERS


def can_manage_invitation(user: Any, invitation: Any) -> bool:
    return has_role(user, *MANAGERS)
