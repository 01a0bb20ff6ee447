"""The access matrix: every route of the URL map, asked by every kind of visitor.

``EXPECTED`` is the reviewed list of who may open what.  A new route is not in
it, so the suite fails until someone writes down who may use it; and every
route is then requested for real, with real objects behind its ids, by an
anonymous visitor, a deactivated account and one account per role.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_meeting, make_referral, make_user
from tests.world import build_world
from tracker.extensions import db
from tracker.meetings.models import Attendance
from tracker.web.permissions import RULE_ATTRIBUTE, Role

PUBLIC, ANY = "public", "any"
#: Public, and the staff login is not even read: the patient pages.
BY_LINK = "by link"
TEAM = {"COORDINATOR", "RADIOLOGIST", "CLINICIAN"}
ADMIN = {"ADMIN"}
COORDINATOR = {"COORDINATOR"}
TREATING = {"RADIOLOGIST", "CLINICIAN"}

EXPECTED: dict[str, Any] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    # The second step of a login: only a password checked moments before opens it.
    "auth.login_code": PUBLIC,
    "pages.set_language": PUBLIC,
    "meetings.feed": PUBLIC,  # the secret token in its URL is the key
    "patient.landing": BY_LINK,
    "patient.answers": BY_LINK,
    "patient.stop": BY_LINK,
    # The FHIR API: no staff login is read; the bearer token of a client is the key.
    "fhir.metadata": BY_LINK,
    "fhir.read": BY_LINK,
    "fhir.search": BY_LINK,
    "fhir.clients": ADMIN,
    "fhir.client_revoke": ADMIN,
    "fhir.case_bundle": TEAM,
    "auth.logout": ANY,
    "pages.home": ANY,
    "auth.notifications": ANY,
    "auth.profile": ANY,
    "meetings.calendar_settings": ANY,
    "auth.password": ANY,
    "auth.sessions": ANY,
    "auth.second_factor_page": ANY,
    "auth.second_factor_start": ANY,
    "auth.second_factor_confirm": ANY,
    "auth.second_factor_codes": ANY,
    "auth.second_factor_off": ANY,
    "auth.session_end": ANY,
    "auth.sessions_end_others": ANY,
    "audit.index": ADMIN,
    "audit.export": ADMIN,
    "audit.unmask": ADMIN,
    "audit.mask": ADMIN,
    "auth.users": ADMIN,
    "auth.user_create": ADMIN,
    "auth.user_edit": ADMIN,
    "auth.user_password": ADMIN,
    "auth.user_deactivate": ADMIN,
    "auth.user_reactivate": ADMIN,
    "auth.directory_groups": ADMIN,
    "auth.directory_group_delete": ADMIN,
    "catalogue.index": ADMIN,
    "catalogue.entries": ADMIN,
    "catalogue.create": ADMIN,
    "catalogue.edit": ADMIN,
    "catalogue.retire": ADMIN,
    "catalogue.restore": ADMIN,
    "admin.settings": ADMIN,
    "admin.jobs": ADMIN,
    "admin.outbox_retry": ADMIN,
    "cases.index": TEAM,
    "cases.create": TEAM,
    "cases.show": TEAM,
    "cases.history": TEAM,
    "cases.edit": TEAM,
    "cases.withdraw": TEAM,
    "cases.patient_edit": {"COORDINATOR", "RADIOLOGIST"},
    "cases.patient_contact": TEAM,
    "followups.worklist": TEAM,
    "followups.chart": TEAM,
    "followups.close": TEAM,
    "followups.owner": TEAM,
    "followups.assess_unscheduled": TREATING,
    "followups.assess": TREATING,
    "followups.missed": TREATING,
    "followups.present_again": TREATING,
    "invitations.resend": TREATING,
    "invitations.revoke": TREATING,
    "invitations.link": TREATING,
    "decisions.sheet": TEAM,
    "decisions.sheet_as_pdf": TEAM,
    "decisions.validate": TEAM,
    "decisions.amend": TEAM,
    "decisions.patient_answer": TEAM,
    "decisions.not_carried_out": TEAM,
    "decisions.plan_edit": {"COORDINATOR", "RADIOLOGIST"},
    "decisions.prerequisite": TEAM,
    "decisions.procedure_new": {"RADIOLOGIST"},
    "decisions.adverse_event": TREATING,
    "outcomes.index": TEAM,
    "outcomes.exports_page": {"COORDINATOR", "RADIOLOGIST"},
    "outcomes.export_pseudonymised": {"COORDINATOR", "RADIOLOGIST"},
    "outcomes.export_identified": COORDINATOR,
    "meetings.index": TEAM,
    "meetings.show": TEAM,
    "meetings.meeting_ics": TEAM,
    "meetings.print_agenda": TEAM,
    "decisions.meeting_mode": TEAM,
    "decisions.meeting_summary": TEAM,
    "decisions.follow": TEAM,
    "decisions.follow_live": TEAM,
    "meetings.start": TEAM,
    "meetings.hold": TEAM,
    "meetings.validate_attendance": TEAM,
    "meetings.create": COORDINATOR,
    "meetings.create_series": COORDINATOR,
    "meetings.edit": COORDINATOR,
    "meetings.cancel": COORDINATOR,
    "meetings.add_case": COORDINATOR,
    "meetings.save_agenda": COORDINATOR,
    "meetings.move_to_meeting": COORDINATOR,
    "meetings.remove_item": COORDINATOR,
    "meetings.attendance": COORDINATOR,
    "meetings.add_guest": COORDINATOR,
    "meetings.remove_guest": COORDINATOR,
}

#: Routes that, beyond the role, check the object: a 403 there is a refusal of
#: this particular object (someone else's referral, a meeting they do not chair).
OBJECT_CHECKED = {
    "cases.edit",
    "cases.withdraw",
    "decisions.amend",
    "decisions.meeting_mode",
    "decisions.validate",  # the chair of the decision's meeting alone
    "meetings.start",
    "meetings.hold",
    "meetings.validate_attendance",
}

PRINCIPALS = ["anonymous", "deactivated", *[role.name for role in Role]]


def declared(app: Any, endpoint: str) -> Any:
    if endpoint == "static":
        return PUBLIC
    rule = getattr(app.view_functions[endpoint], RULE_ATTRIBUTE)
    if rule.sessionless:
        return BY_LINK
    if rule.public:
        return PUBLIC
    return {role.name for role in rule.roles} or ANY


def test_every_route_is_in_the_reviewed_matrix_with_its_declared_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(EXPECTED)) == [], "add the new routes to EXPECTED"
    assert sorted(set(EXPECTED) - endpoints) == [], "remove the routes that went away"
    wrong = {
        endpoint: declared(app, endpoint)
        for endpoint in endpoints
        if declared(app, endpoint) != EXPECTED[endpoint]
    }
    assert wrong == {}


@pytest.fixture
def world(app) -> dict[str, Any]:
    return build_world(app)


def urls(app: Any, world: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route; logout last, since it ends the login."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        missing = set(rule.arguments) - set(world)
        assert not missing, f"{rule.rule}: give the world a {missing}"
        url = rule.build({name: world[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods & {"GET", "POST"}):
            found.append((rule.endpoint, method, url))
    return sorted(found, key=lambda entry: entry[0] == "auth.logout")


def log_in_as(app: Any, principal: str) -> Any:
    client = app.test_client()
    if principal == "anonymous":
        return client
    role = Role.CLINICIAN if principal == "deactivated" else Role[principal]
    user = make_user(roles={role}, email=f"{principal.lower()}@matrix.test")
    response = client.post(
        "/login", data={"email": user.email, "password": "a long enough test password"}
    )
    assert response.status_code == 302
    if principal == "deactivated":
        # Deactivated behind the login's back: the open session must stop working.
        user.is_active = False
        db.session.commit()
    return client


def allowed(expected: Any, principal: str) -> bool:
    if expected in (PUBLIC, BY_LINK):
        return True
    if principal in ("anonymous", "deactivated"):
        return False
    return expected == ANY or principal in expected


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_route_answers_every_visitor_as_the_matrix_says(app, world, principal):
    client = log_in_as(app, principal)
    problems = []
    for endpoint, method, url in urls(app, world):
        response = client.open(url, method=method)
        status = response.status_code
        to_login = status == 302 and response.headers["Location"].startswith("/login")
        if allowed(EXPECTED[endpoint], principal):
            refused = to_login or (status == 403 and endpoint not in OBJECT_CHECKED)
            # Logging out sends one to the login page: that is its success.
            # The code step sends back to the login page anyone without a password
            # checked moments before: that is its answer, not a refusal.
            if refused and endpoint not in ("auth.login", "auth.logout", "auth.login_code"):
                problems.append(f"{method} {url}: refused ({status}) but allowed")
        elif principal in ("anonymous", "deactivated"):
            if not to_login:
                problems.append(f"{method} {url}: {status}, not sent to the login page")
        elif status != 403:
            problems.append(f"{method} {url}: {status}, not refused")
    assert problems == []


def test_ids_of_another_meeting_are_not_found(app, auth, world):
    other = make_meeting()
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    client = auth.client
    item = world["item_id"]
    for path in (f"{item}/remove", f"{item}/move"):
        assert client.post(f"/meetings/{other.id}/agenda/{path}").status_code == 404, path
    response = client.post(
        f"/meetings/{other.id}/guests/{world['attendance_id']}/remove", follow_redirects=True
    )
    assert "not on the attendance sheet" in response.get_data(as_text=True)
    assert db.session.get(Attendance, world["attendance_id"]) is not None


def test_clinicians_edit_only_the_referrals_they_made(app, auth):
    clinician = make_user(roles={Role.CLINICIAN})
    own = make_referral(referrer_id=clinician.id)
    others = make_referral()
    auth.login_as(clinician)
    assert auth.client.get(f"/cases/{own.id}/edit").status_code == 200
    assert auth.client.get(f"/cases/{others.id}/edit").status_code == 403
    assert auth.client.post(f"/cases/{others.id}/withdraw").status_code == 403
    assert auth.client.get(f"/cases/{others.id}").status_code == 200  # reading is for the team
