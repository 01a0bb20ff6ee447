"""Who may open which page.

Every view declares exactly one access rule with a decorator from this module.
The rule is enforced centrally before the view runs, and a view without a rule
is refused (deny by default), so a forgotten decorator fails closed and is
caught by the access-matrix test that walks the URL map.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from tracker.core.address import with_feminine_labels
from tracker.core.audit import set_request_actor
from tracker.core.enums import LabelledEnum, with_labels
from tracker.extensions import login_manager

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Role(LabelledEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    RADIOLOGIST = "radiologist"
    CLINICIAN = "clinician"


with_labels(
    Role,
    {
        Role.ADMIN: _l("Administrator"),
        Role.COORDINATOR: _l("Coordinator"),
        Role.RADIOLOGIST: _l("Radiologist"),
        Role.CLINICIAN: _l("Clinician"),
    },
)
# Said of a person whose form of address is feminine ("Radiologue" is both).
with_feminine_labels(
    Role,
    {
        Role.ADMIN: lazy_pgettext("feminine", "Administrator"),
        Role.COORDINATOR: lazy_pgettext("feminine", "Coordinator"),
        Role.CLINICIAN: lazy_pgettext("feminine", "Clinician"),
    },
)


@dataclass(frozen=True)
class AccessRule:
    """``public``: anyone; otherwise a logged-in, active user holding one of ``roles``
    (any role when ``roles`` is empty). ``sessionless``: a public page that never
    reads the staff login, so that a staff member's cookie changes nothing there."""

    public: bool = False
    roles: frozenset[Role] = frozenset()
    sessionless: bool = False

    def allows(self, user: Any) -> bool:
        if self.public:
            return True
        if not getattr(user, "is_authenticated", False):
            return False
        return not self.roles or bool(self.roles & user.roles)


RULE_ATTRIBUTE = "access_rule"


def _declare(rule: AccessRule) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        if hasattr(view, RULE_ATTRIBUTE):
            raise TypeError(f"{view.__name__} already declares an access rule")
        setattr(view, RULE_ATTRIBUTE, rule)
        return view

    return decorator


def public(view: F) -> F:
    """Anyone, logged in or not (login page, language switch)."""
    return _declare(AccessRule(public=True))(view)


def by_link(view: F) -> F:
    """Anyone holding the link: the secret in its address is the key (the patient
    pages). No staff login is read, kept alive or named in the audit trail there."""
    return _declare(AccessRule(public=True, sessionless=True))(view)


def login_required(view: F) -> F:
    """Any logged-in user, whatever their roles."""
    return _declare(AccessRule())(view)


def require_role(*roles: Role) -> Callable[[F], F]:
    """A logged-in user holding at least one of ``roles``."""
    if not roles:
        raise TypeError("require_role needs at least one role")
    return _declare(AccessRule(roles=frozenset(roles)))


def rule_for(endpoint: str | None) -> AccessRule | None:
    if endpoint is None:
        return None
    if endpoint == "static":
        return AccessRule(public=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, RULE_ATTRIBUTE, None)


def has_role(user: Any, *roles: Role) -> bool:
    return bool(getattr(user, "is_authenticated", False) and set(roles) & user.roles)


def is_user(user: Any, *user_ids: int | None) -> bool:
    """``user`` is a logged-in person whose id is one of ``user_ids`` (an empty
    id, such as a meeting without a chair, matches nobody)."""
    if not getattr(user, "is_authenticated", False) or user.id is None:
        return False
    return user.id in user_ids


def without_staff_login() -> None:
    """Anonymous for the whole request, before anything asks Flask-Login: the
    staff session is neither loaded, nor kept alive, nor named in the audit."""
    login_manager._update_request_context_with_user(None)


def enforce_access() -> Any:
    """``before_request`` hook: apply the view's declared rule."""
    if request.endpoint is None:  # no route matched: let the 404/405 handler answer
        return None
    rule = rule_for(request.endpoint)
    if rule is not None and rule.sessionless:
        without_staff_login()
        return None
    user = current_user
    if user.is_authenticated:
        set_request_actor(user.id, user.email)
    if rule is None:
        logger.error("No access rule declared for endpoint %s: refused", request.endpoint)
        abort(403)
    if rule.allows(user):
        return None
    if not user.is_authenticated:
        return login_manager.unauthorized()
    abort(403)
