"""Every form, driven by Hypothesis with random and hostile values.

Huge strings, control characters, HTML and SQL fragments, numbers that are not
numbers, impossible dates, choices that were never offered, missing fields:
whatever is sent, the application never fails (a 500 raises here, since the
test app propagates its exceptions), saves nothing when it refuses, and tells
the person what is wrong.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import make_meeting, make_referral, make_user, running_meeting
from tests.forms_found import FormField, FoundForm, find_forms
from tests.html import soup
from tests.world import build_world
from tracker.auth import services as auth_services
from tracker.catalogue import services as catalogue_services
from tracker.catalogue.models import Technique
from tracker.core.audit import CHANGE_ACTIONS, AuditEntry, verify_chain
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role

EXAMPLES_PER_FORM = 8

#: Sent in every field of every form at once.
SWEEP = [
    "\x00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "99999999999999999999999",
    "NaN",
    "0001-01-01",
    "A" * 100_000,
]
TEXT_KINDS = {"text", "textarea", "email", "tel", "hidden", "search"}

#: Forms the crawl cannot reach, and why (each is tested by its own feature).
NOT_CRAWLED = {
    "auth.login": "shown to anonymous visitors only: fuzzed on its own below",
    "auth.logout": "would end the crawler's login; takes no input",
    "auth.login_code": "the second step of a login, after a password: fuzzed on its own below",
    "auth.second_factor_confirm": "offered while a key waits for its first code: fuzzed below",
    "auth.second_factor_codes": "offered once a second factor is set up: fuzzed below",
    "auth.second_factor_off": "offered once a second factor is set up: fuzzed below",
    "followups.close": "offered only once no follow-up is planned",
    "audit.mask": "offered only once identities are shown; takes no input",
    # The patient pages are opened from a message's link, never from a staff
    # page; their bad input is tested with them (tests/selfreport).
    "patient.landing": "the patient's page, opened from the link in a message",
    "patient.answers": "the patient's questionnaire, after the birth date on the landing page",
    "patient.stop": "the patient's opt-out, opened from the link in a message",
}

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "'; DROP TABLE referrals; --",
    "\x00",
    "nul\x00byte",
    "\x1b[31mred",
    "\u202eevil",
    "\ud7ff\ue000\uffff",
    "😀 Ω é",
    '=HYPERLINK("http://x")',
    "{{ 7 * 7 }}",
    "%s%n",
    "\r\n\r\n",
    " ",
    "",
    "-1",
    "0",
    "1e309",
    "NaN",
    "99999999999999999999999",
    "-99999999999999999999999",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "31/12/2026",
    "25:61",
    "A" * 100_000,
]


def _shown(form_field: FormField) -> list[str]:
    """What the page offered for a field: its value and its choices."""
    shown = [form_field.value] if form_field.value is not None else []
    return shown + form_field.choices


def _any_value(form_field: FormField) -> st.SearchStrategy[Any]:
    strategies = [
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
    ]
    shown = _shown(form_field)
    if shown:
        strategies.append(st.sampled_from(shown))
    single = st.one_of(*strategies)
    return st.lists(single, max_size=4) if form_field.multiple else single


@st.composite
def form_data(draw: Any, form: FoundForm) -> dict[str, Any]:
    """One field attacked, the others mostly as the page offered them (so that
    the request gets past the form to the service), some left out."""
    names = sorted(form.fields)
    data: dict[str, Any] = {}
    target = draw(st.sampled_from(names)) if names else None
    for name in names:
        form_field = form.fields[name]
        if draw(st.integers(0, 9)) == 0:
            continue  # missing from the request
        shown = _shown(form_field)
        if name == target or not shown or draw(st.integers(0, 3)) == 0:
            data[name] = draw(_any_value(form_field))
        else:
            data[name] = draw(st.sampled_from(shown))
    return data


def changes_saved() -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action.in_(CHANGE_ACTIONS))
    )


def shows_what_is_wrong(response: Any) -> bool:
    page = soup(response)
    return bool(page.select(".invalid-feedback, .alert-danger, .alert-warning"))


def fuzz(client: Any, form: FoundForm) -> None:
    @settings(
        max_examples=EXAMPLES_PER_FORM,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(form_data(form))
    def send_random(data: dict[str, Any]) -> None:
        send(client, form, data)

    send_random()
    # Then each of the worst values in every field at once, and a very long
    # text in each field alone (a column too short for what the form accepts).
    for value in SWEEP:
        send(client, form, dict.fromkeys(form.fields, value))
    for name, form_field in form.fields.items():
        if form_field.kind in TEXT_KINDS:
            others = {key: (_shown(f) or [""])[0] for key, f in form.fields.items()}
            send(client, form, {**others, name: "Z" * 5000})


def send(client: Any, form: FoundForm, data: dict[str, Any]) -> None:
    before = changes_saved()
    if form.method == "GET":
        response = client.get(form.action.split("?")[0], query_string=data)
    else:
        response = client.post(form.action, data=data)
    status = response.status_code
    assert status < 500, (form.action, data)
    if status in (400, 422):
        assert changes_saved() == before, f"{form.action} saved something it refused"
        if response.mimetype == "text/html":
            assert shows_what_is_wrong(response), f"{form.action}: refused without saying why"


@pytest.fixture
def superuser(app, auth):
    """Holds every role and chairs a running meeting: every form is offered."""
    user = make_user(
        roles=set(Role), specialty=Specialty.INTERVENTIONAL_RADIOLOGY, full_name="Dr Everything"
    )
    world = build_world(app)
    meeting = running_meeting(2, chair=user)
    from tests.factories import make_decision

    decision = make_decision(meeting.agenda[0])
    # A draft the chair is asked to confirm (the page meeting mode sends them to).
    draft = make_decision(meeting.agenda[1], validate=False)
    # A meeting whose sheet the chair has still to sign, from meeting mode.
    unsigned = running_meeting(1, chair=user, sign_attendance=False, capacity=3)
    make_meeting(starts_at=None)  # another open meeting to move cases to
    waiting = make_referral()  # a case waiting for a meeting
    catalogue_services.retire_entry(db.session.scalars(select(Technique)).first())
    auth.login_as(user)
    with app.test_request_context():
        auth_services.open_session(user, user_agent="Another browser", ip_address=None)
    db.session.commit()
    return {
        "world": world,
        "starts": [
            "/",
            f"/cases/{waiting.id}",
            f"/cases/{world['referral_id']}",  # with an invitation to answer online
            f"/cases/{decision.referral_id}",
            f"/meetings/{world['meeting_id']}",
            f"/meetings/{meeting.id}",
            f"/meetings/{meeting.id}/mode",
            f"/decisions/{draft.id}/validate",
            f"/meetings/{unsigned.id}/mode",
            "/admin/users",
            "/admin/catalogue/techniques",
            "/admin/fhir-clients",
            "/admin/directory-groups",
            "/account/sessions",
            "/followups?responsible_id=",  # everyone's follow-ups, not only the superuser's
        ],
    }


def test_every_form_survives_hostile_input(app, client, superuser):
    forms = find_forms(app, client, superuser["starts"])
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    reached = {form.endpoint for form in forms if form.method == "POST"}
    assert sorted(posts - reached - set(NOT_CRAWLED)) == [], "forms the crawl did not reach"
    by_endpoint: dict[tuple[str, str], FoundForm] = {}
    for form in forms:
        if form.endpoint not in NOT_CRAWLED:
            by_endpoint.setdefault((form.endpoint, form.method), form)
    for form in by_endpoint.values():
        fuzz(client, form)
    assert verify_chain(db.session.connection()).intact


def test_the_login_form_survives_hostile_input(app, client):
    make_user(email="someone@hospital.test")
    form = FoundForm(
        "auth.login",
        "POST",
        "/login",
        "/login",
        {
            "email": FormField("email", "email", value="someone@hospital.test"),
            "password": FormField("password", "password", value="a long enough test password"),
            "remember": FormField("remember", "checkbox", choices=["y"]),
        },
    )
    fuzz(client, form)


def _code(name: str) -> dict[str, FormField]:
    return {name: FormField(name, "text", value="123456")}


def test_the_second_factor_forms_survive_hostile_input(app, client, auth, clock):
    import pyotp

    from tracker.auth import second_factor
    from tracker.core.time import utcnow

    user = make_user(email="someone@hospital.test")
    auth.login_as(user)
    client.post("/account/second-factor/start")
    fuzz(
        client,
        FoundForm(
            "auth.second_factor_confirm",
            "POST",
            *["/account/second-factor/confirm"] * 2,
            _code("enrol-code"),
        ),
    )

    db.session.expire_all()
    user = db.session.get(type(user), user.id)
    second_factor.start_enrolment(user)
    second_factor.confirm_enrolment(user, pyotp.TOTP(user.totp_secret).at(utcnow()))
    db.session.commit()
    fuzz(
        client,
        FoundForm(
            "auth.second_factor_codes",
            "POST",
            *["/account/second-factor/recovery-codes"] * 2,
            _code("renew-code"),
        ),
    )
    off = {
        **_code("off-code"),
        "off-current_password": FormField("off-current_password", "password", value="x"),
    }
    fuzz(
        client,
        FoundForm("auth.second_factor_off", "POST", *["/account/second-factor/off"] * 2, off),
    )

    auth.logout()
    clock.advance(hours=2)  # past the waits that the wrong passwords above earned
    assert auth.login(user.email).headers["Location"] == "/login/code"
    fuzz(client, FoundForm("auth.login_code", "POST", "/login/code", "/login/code", _code("code")))
