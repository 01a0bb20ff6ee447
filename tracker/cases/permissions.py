"""Who may do what to one case: per-object permissions of the cases.

Each rule is a pure function of (user, object), written once here. Views ask
it before showing or accepting an action, templates get its answer as a
boolean from their view, and services ask it again with the acting user, so
that a direct call is refused too (``Forbidden``). Which pages a role may
open at all is declared on the routes, from the role tuples below.
"""

from __future__ import annotations

from typing import Any

from tracker.web.permissions import Role, has_role, is_user

#: Everyone who works on cases; admins manage the tool, not patients.
TEAM = (Role.COORDINATOR, Role.RADIOLOGIST, Role.CLINICIAN)
#: Edit any referral; other members of the team edit the ones they made.
REFERRAL_EDITORS = (Role.COORDINATOR, Role.RADIOLOGIST)
#: Correct a patient's identity (every case of the patient follows).
IDENTITY_EDITORS = (Role.COORDINATOR, Role.RADIOLOGIST)
#: Update how a patient is reached: the whole team, the nurse who phones them too.
CONTACT_EDITORS = TEAM


def can_edit_referral(user: Any, referral: Any) -> bool:
    """Edit the referral sheet or withdraw the case: coordinators and
    radiologists, or the referrer and whoever registered the referral."""
    return has_role(user, *REFERRAL_EDITORS) or is_user(
        user, referral.referrer_id, referral.created_by_id
    )


def can_correct_identity(user: Any, patient: Any) -> bool:
    return has_role(user, *IDENTITY_EDITORS)


def can_edit_contact(user: Any, patient: Any) -> bool:
    """Phone numbers, e-mail, preferences and consent to be contacted: whoever
    works on cases, since the one who phones is the first to learn of a change."""
    return has_role(user, *CONTACT_EDITORS)
