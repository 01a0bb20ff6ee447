"""Logging in and out."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tracker.auth import services, throttle
from tracker.auth.models import User, UserSession
from tracker.core.audit import AuditAction, AuditEntry
from tracker.extensions import db
from tracker.web.permissions import Role


def test_login_page_is_served(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data
    assert b'name="password"' in response.data


def test_login_success_opens_a_session_and_shows_home(client, auth):
    user = make_user(roles={Role.COORDINATOR}, full_name="Sophie Bernard")
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Sophie Bernard" in home.get_data(as_text=True)
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(sessions) == 1
    assert sessions[0].ended_at is None


def test_login_ignores_email_case_and_spaces(client, auth):
    make_user(email="dr.moreau@hospital.test")
    assert auth.login("  Dr.Moreau@Hospital.TEST ").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, auth):
    user = make_user()
    response = auth.login(user.email, "not the right password")
    assert response.status_code == 422
    assert "Wrong e-mail or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_message(client, auth):
    response = auth.login("nobody@hospital.test", PASSWORD)
    assert response.status_code == 422
    assert "Wrong e-mail or password" in response.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(client, auth):
    user = make_user(is_active=False)
    response = auth.login(user.email)
    assert response.status_code == 422
    assert client.get("/").status_code == 302


def test_deactivated_user_is_logged_out_at_next_request(client, auth):
    user = make_user()
    auth.login_as(user)
    assert client.get("/").status_code == 200
    db.session.get(User, user.id).is_active = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_anonymous_visitor_is_sent_to_login_and_back(client, auth):
    user = make_user(roles={Role.ADMIN})
    response = client.get("/admin/users?page=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/users?page%3D1"
    response = client.post(
        "/login?next=/admin/users?page%3D1", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/admin/users?page=1"


def test_login_never_redirects_to_another_site(client, auth):
    user = make_user()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"):
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"email": user.email, "password": PASSWORD},
        )
        assert response.headers["Location"] == "/", target
        auth.logout()


def test_logout_ends_the_session_and_a_copied_cookie_stops_working(app, client, auth):
    user = make_user()
    auth.login_as(user)
    cookie = client.get_cookie("rcp_session")
    assert cookie is not None
    copied = cookie.value

    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/").status_code == 302

    thief = app.test_client()
    thief.set_cookie("rcp_session", copied)
    assert thief.get("/").status_code == 302


def test_logout_needs_a_post(client, auth):
    auth.login_as(make_user())
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_password_is_rehashed_when_the_cost_settings_change(app, client, auth):
    user = make_user()
    old_hash = user.password_hash
    app.config["ARGON2_TIME_COST"] = 2
    try:
        auth.login_as(user)
    finally:
        app.config["ARGON2_TIME_COST"] = 1
    db.session.expire_all()
    new_hash = db.session.get(User, user.id).password_hash
    assert new_hash != old_hash
    assert "t=2" in new_hash
    assert new_hash.startswith("$argon2id$")


def fail_logins(auth, email: str, times: int) -> None:
    for _ in range(times):
        assert auth.login(email, "a wrong guess at it").status_code == 422


def test_five_failures_make_the_next_attempt_wait_a_minute(client, auth, clock):
    user = make_user()
    fail_logins(auth, user.email, throttle.ACCOUNT_LIMIT.free)
    elsewhere = client.application.test_client()  # a browser never used for this account
    response = elsewhere.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Too many failed attempts: try again after 10:01 (in 1 min)" in page
    assert elsewhere.get("/").status_code == 302
    clock.advance(seconds=59)
    assert (
        elsewhere.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
        == 422
    )
    clock.advance(seconds=1)
    assert (
        elsewhere.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
        == 302
    )


def test_four_failures_do_not_hold_back_and_a_success_resets_the_count(client, auth):
    user = make_user()
    fail_logins(auth, user.email, throttle.ACCOUNT_LIMIT.free - 1)
    auth.login_as(user)
    auth.logout()
    fail_logins(auth, user.email, throttle.ACCOUNT_LIMIT.free - 1)
    auth.login_as(user)


def without_csrf_token(page: str) -> str:
    """The page less its CSRF token, which is signed with the second it was made
    in (by the real clock): two pages a second apart differ there and only there."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', page)


def test_unknown_addresses_are_held_back_the_same_way(client, auth):
    """The waits must not tell which addresses have accounts."""
    known = make_user()
    fail_logins(auth, known.email, throttle.ACCOUNT_LIMIT.free)
    fail_logins(auth, "nobody@hospital.test", throttle.ACCOUNT_LIMIT.free)
    known_page = auth.login(known.email, "again").get_data(as_text=True)
    unknown_page = auth.login("nobody@hospital.test", "again").get_data(as_text=True)
    assert "Too many failed attempts" in known_page
    assert 'name="csrf_token"' in known_page
    assert without_csrf_token(known_page).replace(known.email, "") == without_csrf_token(
        unknown_page
    ).replace("nobody@hospital.test", "")


def test_the_count_is_shared_by_every_web_worker(app, auth):
    """Counted in the database: another worker (another client) sees it."""
    user = make_user()
    fail_logins(auth, user.email, throttle.ACCOUNT_LIMIT.free)
    other_worker = app.test_client()
    response = other_worker.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422


def test_an_admin_password_reset_lifts_the_wait(client, auth):
    user = make_user()
    fail_logins(auth, user.email, throttle.ACCOUNT_LIMIT.free)
    services.set_password(db.session.get(User, user.id), "a brand new long password")
    db.session.commit()
    assert auth.login(user.email, "a brand new long password").status_code == 302


def test_failed_logins_are_audited_with_their_reason(auth):
    user = make_user(email="known@hospital.test")
    auth.login("known@hospital.test", "wrong")
    auth.login("Unknown@Hospital.test", "wrong")
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == AuditAction.LOGIN_FAILED)
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.entity_id, e.changes) for e in entries] == [
        (str(user.id), {"email": "known@hospital.test", "reason": "password"}),
        ("", {"email": "unknown@hospital.test", "reason": "unknown"}),
    ]
