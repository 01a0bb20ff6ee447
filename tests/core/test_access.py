"""Every route declares one access rule, and undeclared routes are refused.

Who may open each route is checked in ``test_access_matrix``.
"""

from __future__ import annotations

from flask import Blueprint

from tests.factories import make_user
from tracker.web.permissions import RULE_ATTRIBUTE, Role, require_role


def test_every_route_declares_an_access_rule(app):
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and not hasattr(app.view_functions[rule.endpoint], RULE_ATTRIBUTE)
    ]
    assert missing == []


def test_a_view_without_a_rule_is_refused(app):
    from tracker import create_app

    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    forgotten = Blueprint("forgotten", __name__)

    @forgotten.route("/forgotten")
    def no_rule() -> str:
        return "secret"

    other.register_blueprint(forgotten)
    response = other.test_client().get("/forgotten")
    assert response.status_code == 403
    assert b"secret" not in response.data


def test_a_rule_cannot_be_declared_twice():
    import pytest

    def view() -> str:
        return ""

    require_role(Role.ADMIN)(view)
    with pytest.raises(TypeError):
        require_role(Role.CLINICIAN)(view)


def test_role_rule_accepts_any_of_its_roles(app):
    rule = getattr(app.view_functions["auth.users"], RULE_ATTRIBUTE)
    assert rule.allows(make_user(roles={Role.CLINICIAN, Role.ADMIN}))
    assert not rule.allows(make_user(roles={Role.CLINICIAN}))
