"""Login sessions: time limits, remember-me, rotation, the list of one's sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.html import soup, text
from tracker.auth import services, throttle
from tracker.auth.models import SessionEnd, UserSession
from tracker.auth.settings import SESSION_IDLE_MINUTES, SESSION_MAX_HOURS
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.settings import set_setting
from tracker.extensions import db

NEW_PASSWORD = "another long sentence to remember"


def sessions_of(user) -> list[UserSession]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        )
    )


def logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_login_ends_after_thirty_minutes_without_activity(client, auth, clock):
    user = make_user()
    auth.login_as(user)
    clock.advance(minutes=29)
    assert logged_in(client)
    clock.advance(minutes=29)  # 29 minutes after the last request: still open
    assert logged_in(client)
    clock.advance(minutes=31)
    response = client.get("/cases", follow_redirects=True)
    assert "not used for a while" in text(soup(response))
    [session] = sessions_of(user)
    assert session.ended_reason is SessionEnd.IDLE
    assert not logged_in(client)


def test_a_login_ends_after_twelve_hours_however_active(client, auth, clock):
    user = make_user()
    auth.login_as(user)
    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert logged_in(client)
    clock.advance(minutes=20)
    response = client.get("/", follow_redirects=True)
    assert "maximum length" in text(soup(response))
    assert sessions_of(user)[0].ended_reason is SessionEnd.EXPIRED


def test_the_time_limits_are_site_settings_taken_at_login(client, auth, clock):
    set_setting(SESSION_IDLE_MINUTES, 10)
    set_setting(SESSION_MAX_HOURS, 2)
    db.session.commit()
    user = make_user()
    auth.login_as(user)
    [session] = sessions_of(user)
    assert session.idle_minutes == 10
    assert session.expires_at - session.created_at == timedelta(hours=2)
    clock.advance(minutes=11)
    assert not logged_in(client)


def test_remember_me_is_off_by_default_and_short_when_on(app, client, clock):
    user = make_user()
    page = soup(client.get("/login"))
    assert page.find("input", {"name": "remember"}).get("checked") is None
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get_cookie("remember_token") is None
    session_cookie = client.get_cookie("rcp_session")
    assert session_cookie.expires is None  # gone when the browser closes
    assert session_cookie.http_only
    assert session_cookie.same_site == "Lax"

    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    remembered = other.get_cookie("remember_token")
    assert remembered is not None
    assert remembered.http_only
    # Flask-Login dates the cookie by the real clock, not the application's.
    assert remembered.expires - datetime.now(UTC) <= timedelta(hours=12, minutes=1)

    # Without the session cookie (browser closed), the remember cookie logs in again,
    # within the same session and its limits.
    other.delete_cookie("rcp_session")
    assert logged_in(other)
    clock.advance(minutes=31)
    assert not logged_in(other)


def test_a_copied_cookie_stops_working_after_a_password_change(app, client, auth):
    user = make_user()
    auth.login_as(user)
    copied = client.get_cookie("rcp_session").value
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert logged_in(client)  # this browser carries on, with a new token
    assert client.get_cookie("rcp_session").value != copied
    thief = app.test_client()
    thief.set_cookie("rcp_session", copied)
    assert not logged_in(thief)
    reasons = [session.ended_reason for session in sessions_of(user)]
    assert reasons == [SessionEnd.PASSWORD, None]
    auth.logout()
    assert auth.login(user.email, NEW_PASSWORD).status_code == 302


def test_the_password_change_needs_the_current_password(client, auth):
    user = make_user()
    auth.login_as(user)
    response = client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    page = soup(response)
    assert "not your current password" in text(page)
    assert page.find("input", {"name": "password"}).get("value") in (None, "")
    db.session.expire_all()
    assert services.authenticate(user.email, PASSWORD) is not None
    assert len(sessions_of(user)) == 1


def test_wrong_current_passwords_lock_the_account_like_failed_logins(client, auth):
    user = make_user()
    auth.login_as(user)
    for _ in range(throttle.DEVICE_LIMIT.free):
        client.post(
            "/account/password",
            data={"current_password": "guess", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert "Too many failed attempts" in text(soup(response))


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short", "at least 12 characters"),
        ("Password2024!!", "among the most common"),
        ("azertyuiop123", "among the most common"),
        ("aaaaaaaaaaaaaaaa", "different characters"),
    ],
)
def test_the_new_password_must_follow_the_rules(client, auth, new_password, message):
    auth.login_as(make_user())
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": new_password, "confirm": new_password},
    )
    assert response.status_code == 422
    assert message in text(soup(response))


def test_the_new_password_cannot_be_the_email(client, auth):
    user = make_user(email="claire.martin@hospital.test")
    auth.login_as(user)
    for candidate in ("claire.martin@hospital.test", "Claire.Martin2026!"):
        response = client.post(
            "/account/password",
            data={"current_password": PASSWORD, "password": candidate, "confirm": candidate},
        )
        assert response.status_code == 422, candidate
        assert "must not be your e-mail" in text(soup(response))


def test_users_see_their_sessions_and_end_another_one(app, client, auth):
    user = make_user()
    auth.login_as(user)
    laptop = app.test_client()
    laptop.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": "Ward laptop browser"},
    )
    page = soup(client.get("/account/sessions"))
    assert "Ward laptop browser" in text(page)
    assert "This browser" in text(page)
    laptop_session = sessions_of(user)[1]
    response = client.post(f"/account/sessions/{laptop_session.id}/end")
    assert response.status_code == 302
    assert not logged_in(laptop)
    assert logged_in(client)
    assert sessions_of(user)[1].ended_reason is SessionEnd.REVOKED


def test_ending_all_other_sessions_keeps_this_one(app, client, auth):
    user = make_user()
    auth.login_as(user)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        other.post("/login", data={"email": user.email, "password": PASSWORD})
    client.post("/account/sessions/end-others")
    assert logged_in(client)
    assert not any(logged_in(other) for other in others)


def test_nobody_can_end_someone_elses_session(app, client, auth):
    owner = make_user()
    theirs = app.test_client()
    theirs.post("/login", data={"email": owner.email, "password": PASSWORD})
    auth.login_as(make_user())
    [their_session] = sessions_of(owner)
    response = client.post(f"/account/sessions/{their_session.id}/end", follow_redirects=True)
    assert "does not exist" in text(soup(response))
    assert logged_in(theirs)


def test_logins_and_logouts_are_in_the_audit_trail(client, auth):
    user = make_user()
    auth.login_as(user)
    auth.logout()
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "User", AuditEntry.entity_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == [AuditAction.LOGIN, AuditAction.LOGOUT]


def test_the_nightly_job_closes_lapsed_sessions_and_forgets_old_failures(client, auth, clock):
    from tracker.auth.tasks import sessions as sessions_job

    user = make_user()
    auth.login("someone@hospital.test", "wrong")
    auth.login_as(user)
    clock.advance(days=2)
    counts = sessions_job(clock())
    assert counts == {"closed": 1, "forgotten": 1}
    assert sessions_of(user)[0].ended_reason is SessionEnd.IDLE
