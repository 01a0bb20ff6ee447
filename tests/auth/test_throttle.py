"""Password guessing is slowed per client address, per e-mail and per known
browser, and nobody can keep the rightful owner out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user
from tests.html import soup, text
from tracker.auth import services, throttle
from tracker.auth.models import LoginFailure
from tracker.auth.rules import FailureLimit
from tracker.auth.tasks import sessions as sessions_job
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.web.permissions import Role

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
WARD = {"REMOTE_ADDR": "10.1.2.3"}


def post_login(client, email, password, environ=None):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_overrides=environ or {}
    )


def test_an_attackers_fifty_wrong_passwords_do_not_stop_the_owner_on_a_known_browser(app, clock):
    """M1: before, five failures from anyone locked the account for everyone."""
    owner = make_user(roles={Role.ADMIN})
    browser = app.test_client()
    assert post_login(browser, owner.email, PASSWORD, WARD).status_code == 302
    browser.post("/logout")

    attacker = app.test_client()
    for _ in range(50):
        assert post_login(attacker, owner.email, "guess", ATTACKER).status_code == 422
        clock.advance(seconds=5)

    assert post_login(browser, owner.email, PASSWORD, WARD).status_code == 302
    assert browser.get("/").status_code == 200


def test_a_browser_that_never_logged_in_waits_while_the_account_is_held_back(app, clock):
    owner = make_user()
    attacker = app.test_client()
    for _ in range(throttle.ACCOUNT_LIMIT.free):
        post_login(attacker, owner.email, "guess", ATTACKER)
    new_browser = app.test_client()
    response = post_login(new_browser, owner.email, PASSWORD, WARD)
    assert response.status_code == 422
    assert "Too many failed attempts" in text(soup(response))


def test_the_known_browser_cookie_is_per_account_and_cannot_be_forged(app, clock):
    owner = make_user()
    colleague = make_user()
    shared = app.test_client()
    assert post_login(shared, colleague.email, PASSWORD, WARD).status_code == 302
    shared.post("/logout")
    for _ in range(throttle.ACCOUNT_LIMIT.free):
        post_login(app.test_client(), owner.email, "guess", ATTACKER)
    # Known to the colleague's account, not to the owner's.
    assert post_login(shared, owner.email, PASSWORD, WARD).status_code == 422
    forged = app.test_client()
    forged.set_cookie(throttle.DEVICE_COOKIE, "W1sxLCJrZXkiLDBdXQ.forged")
    assert post_login(forged, owner.email, PASSWORD, WARD).status_code == 422


def test_one_address_trying_many_emails_is_held_back(app, clock):
    """M1: before, failures were counted per e-mail only, so one machine could
    try every account in turn without ever waiting."""
    owner = make_user()
    sprayer = app.test_client()
    for n in range(throttle.ADDRESS_LIMIT.free):
        assert post_login(sprayer, f"person{n}@hospital.test", "Summer2026!", ATTACKER).status_code
    response = post_login(sprayer, owner.email, PASSWORD, ATTACKER)
    assert response.status_code == 422
    assert "Too many failed attempts" in text(soup(response))
    # Another address is not concerned; the owner logs in.
    assert post_login(app.test_client(), owner.email, PASSWORD, WARD).status_code == 302


def test_waits_grow_with_each_failure_up_to_an_hour(app, clock):
    email = "someone@hospital.test"
    limit = throttle.ACCOUNT_LIMIT
    for _ in range(limit.free):
        with pytest.raises(services.LoginRefused, match="Wrong e-mail"):
            services.authenticate(email, "guess", ip_address=None)
    waits = []
    for _ in range(9):
        with pytest.raises(services.LoginRefused, match="Too many failed attempts"):
            services.authenticate(email, "guess")  # refused without being counted
        row = db.session.scalar(select(func.max(LoginFailure.attempted_at)))
        wait = throttle.wait_before_attempt(email, None, None, utcnow())
        assert wait is not None
        waits.append(wait.until - row.replace(tzinfo=wait.until.tzinfo))
        clock.set(wait.until)
        with pytest.raises(services.LoginRefused, match="Wrong e-mail"):
            services.authenticate(email, "guess")
    minutes = [int(w / timedelta(minutes=1)) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_wait_rule_on_plain_numbers():
    limit = FailureLimit(free=3)
    assert [limit.wait_after(n) for n in range(3)] == [timedelta(0)] * 3
    assert limit.wait_after(3) == timedelta(minutes=1)
    assert limit.wait_after(5) == timedelta(minutes=4)
    assert limit.wait_after(10**9) == timedelta(hours=1)
    assert limit.open_again_at(2, None) is None


def test_a_known_browser_is_held_back_by_its_own_failures(app, clock):
    owner = make_user()
    browser = app.test_client()
    assert post_login(browser, owner.email, PASSWORD, WARD).status_code == 302
    browser.post("/logout")
    for _ in range(throttle.DEVICE_LIMIT.free):
        assert post_login(browser, owner.email, "guess", WARD).status_code == 422
    assert post_login(browser, owner.email, PASSWORD, WARD).status_code == 422
    clock.advance(minutes=1)
    assert post_login(browser, owner.email, PASSWORD, WARD).status_code == 302


def test_the_admin_home_lists_what_is_held_back(app, client, auth, clock):
    admin = make_user(roles={Role.ADMIN})
    for n in range(throttle.ADDRESS_LIMIT.free):
        email = "victim@hospital.test" if n < throttle.ACCOUNT_LIMIT.free else f"x{n}@h.test"
        post_login(app.test_client(), email, "guess", ATTACKER)
    auth.login_as(admin)
    page = soup(client.get("/"))
    panel = text(page.find(id="home-throttle").find_parent("section"))
    assert "victim@hospital.test" in panel
    assert "203.0.113.66" in panel
    assert "10:01" in panel  # the address waits until then


def test_the_admin_home_says_when_nothing_is_held_back(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    panel = text(soup(client.get("/")).find(id="home-throttle").find_parent("section"))
    assert "No e-mail or client address" in panel


def test_the_nightly_job_forgets_failures_older_than_a_day(app, clock):
    throttle.count_failure("a@hospital.test", "10.0.0.1", None, utcnow() - timedelta(hours=25))
    throttle.count_failure("a@hospital.test", "10.0.0.1", None, utcnow() - timedelta(hours=23))
    assert sessions_job(utcnow())["forgotten"] == 1
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 1
