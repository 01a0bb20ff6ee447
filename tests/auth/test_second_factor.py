"""The optional second factor: enrolment, login with a code, recovery codes,
turning it off, and the site setting that requires it of administrators."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_user
from tests.html import soup, text
from tracker.auth import second_factor, services
from tracker.auth.models import RecoveryCode, User
from tracker.auth.settings import ADMIN_SECOND_FACTOR
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.errors import DomainError
from tracker.core.settings import set_setting
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.web.permissions import Role


def code_now(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).at(utcnow())


def enrol(user: User) -> list[str]:
    second_factor.start_enrolment(user)
    codes = second_factor.confirm_enrolment(user, code_now(user))
    db.session.commit()
    return codes


def test_enrolment_from_the_account_page(client, auth, clock):
    user = make_user()
    auth.login_as(user)
    page = soup(client.get("/account/second-factor"))
    assert "Set up a second factor" in text(page)
    assert client.post("/account/second-factor/start").status_code == 302
    page = soup(client.get("/account/second-factor"))
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert page.find(id="totp-uri").get_text().startswith("otpauth://totp/RCP%20Tracker:")
    assert page.find(id="totp-key").get_text().replace(" ", "") == user.totp_secret
    assert not user.has_second_factor

    wrong = client.post("/account/second-factor/confirm", data={"enrol-code": "000000"})
    assert wrong.status_code == 422
    assert "not the one expected" in text(soup(wrong))

    clock.advance(seconds=30)
    done = client.post("/account/second-factor/confirm", data={"enrol-code": code_now(user)})
    assert done.status_code == 200
    codes = [li.get_text() for li in soup(done).find(id="recovery-codes").find_all("li")]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) for code in codes)
    db.session.expire_all()
    assert db.session.get(User, user.id).has_second_factor
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10
    assert all(h.startswith("$argon2id$") for h in stored)
    changes = db.session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.entity_type == "User", AuditEntry.action == AuditAction.UPDATE
        )
    ).all()
    assert any("totp_confirmed_at" in change for change in changes)
    assert user.totp_secret not in str(changes)


def test_login_asks_for_the_code_after_the_password(client, auth, clock):
    user = make_user()
    enrol(user)
    response = auth.login(user.email)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302  # not logged in yet
    assert client.post("/login/code", data={"code": "123456"}).status_code == 422
    clock.advance(seconds=30)
    response = client.post("/login/code", data={"code": code_now(user)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    login = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.LOGIN)
    ).all()[-1]
    assert login.changes["second_factor"] == "app"


def test_a_code_works_once(app, clock):
    user = make_user()
    enrol(user)
    clock.advance(seconds=30)
    code = code_now(user)
    assert services.verify_second_factor(user, code) == "app"
    with pytest.raises(services.LoginRefused):
        services.verify_second_factor(user, code)


def test_a_recovery_code_works_once(client, auth, clock):
    user = make_user()
    codes = enrol(user)
    auth.login(user.email)
    assert client.post("/login/code", data={"code": codes[3].upper()}).status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    auth.login(user.email)
    assert client.post("/login/code", data={"code": codes[3]}).status_code == 422
    assert client.post("/login/code", data={"code": codes[4]}).status_code == 302


def test_the_code_step_lasts_five_minutes(client, auth, clock):
    user = make_user()
    enrol(user)
    auth.login(user.email)
    clock.advance(minutes=6)
    response = client.post("/login/code", data={"code": code_now(user)})
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_wrong_codes_are_held_back_like_wrong_passwords(client, auth, clock):
    user = make_user()
    enrol(user)
    auth.login(user.email)
    for _ in range(5):
        assert client.post("/login/code", data={"code": "000000"}).status_code == 422
    clock.advance(seconds=30)
    response = client.post("/login/code", data={"code": code_now(user)})
    assert response.status_code == 422
    assert "Too many failed attempts" in text(soup(response))


def test_turning_off_needs_the_password_and_a_code(client, auth, clock):
    user = make_user()
    codes = enrol(user)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    client.post("/login/code", data={"code": codes[0]})
    refused = client.post(
        "/account/second-factor/off",
        data={"off-current_password": "not it", "off-code": codes[1]},
    )
    assert refused.status_code == 422
    refused = client.post(
        "/account/second-factor/off",
        data={"off-current_password": PASSWORD, "off-code": "000000"},
    )
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).has_second_factor
    done = client.post(
        "/account/second-factor/off",
        data={"off-current_password": PASSWORD, "off-code": codes[1]},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).has_second_factor
    assert db.session.scalars(select(RecoveryCode)).all() == []


def test_admins_can_be_required_to_set_one_up(client, auth, clock):
    set_setting(ADMIN_SECOND_FACTOR, 1)
    db.session.commit()
    admin = make_user(roles={Role.ADMIN})
    response = auth.login(admin.email)
    assert response.headers["Location"] == "/account/second-factor"
    assert client.get("/admin/users").headers["Location"] == "/account/second-factor"
    client.post("/account/second-factor/start")
    db.session.expire_all()
    admin = db.session.get(User, admin.id)
    done = client.post("/account/second-factor/confirm", data={"enrol-code": code_now(admin)})
    assert done.status_code == 200, text(soup(done))
    assert client.get("/admin/users").status_code == 200
    db.session.expire_all()
    with pytest.raises(DomainError, match="must keep"):
        second_factor.turn_off(admin, "000000", required=True)


def test_not_required_by_default_and_not_of_other_roles(client, auth):
    assert ADMIN_SECOND_FACTOR.default == 0
    set_setting(ADMIN_SECOND_FACTOR, 1)
    db.session.commit()
    coordinator = make_user(roles={Role.COORDINATOR})
    assert auth.login(coordinator.email).headers["Location"] == "/"
