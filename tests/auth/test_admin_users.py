"""Account administration pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import PASSWORD, make_user
from tests.html import checked_values, field_errors, field_value, soup
from tracker.auth.models import User, UserSession
from tracker.extensions import db
from tracker.web.permissions import Role

ADMIN_PAGES = [
    ("get", "/admin/users"),
    ("get", "/admin/users/new"),
    ("post", "/admin/users/new"),
    ("get", "/admin/users/{id}/edit"),
    ("post", "/admin/users/{id}/edit"),
    ("get", "/admin/users/{id}/password"),
    ("post", "/admin/users/{id}/password"),
    ("get", "/admin/users/{id}/deactivate"),
    ("post", "/admin/users/{id}/deactivate"),
    ("post", "/admin/users/{id}/reactivate"),
]


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


@pytest.fixture
def admin(auth):
    user = make_user(roles={Role.ADMIN}, email="admin@hospital.test", full_name="Claire Martin")
    auth.login_as(user)
    return user


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.RADIOLOGIST, Role.CLINICIAN])
def test_admin_pages_are_refused_to_other_roles(client, auth, role):
    target = make_user()
    auth.login_as(make_user(roles={role}))
    for method, path in ADMIN_PAGES:
        response = getattr(client, method)(path.format(id=target.id))
        assert response.status_code == 403, (method, path)


def test_admin_pages_send_anonymous_visitors_to_login(client):
    target = make_user()
    for method, path in ADMIN_PAGES:
        response = getattr(client, method)(path.format(id=target.id))
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login")


def test_admin_lists_users(client, admin):
    make_user(full_name="Dr Julien Moreau", roles={Role.RADIOLOGIST})
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Dr Julien Moreau" in page
    assert "Radiologist" in page


def test_admin_creates_a_user_with_several_roles(client, admin):
    response = client.post(
        "/admin/users/new",
        data={
            "email": "Karim.Haddad@Hopital.local",
            "full_name": "Dr Karim Haddad",
            "specialty": "ANAESTHESIOLOGY",
            "roles": ["CLINICIAN", "COORDINATOR"],
            "password": "twelve chars or more",
            "confirm": "twelve chars or more",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "karim.haddad@hopital.local"))
    assert user.roles == {Role.CLINICIAN, Role.COORDINATOR}
    assert user.password_hash.startswith("$argon2id$")


def test_invalid_new_user_keeps_the_input_and_saves_nothing(client, admin):
    before = user_count()
    response = client.post(
        "/admin/users/new",
        data={
            "email": "not an address",
            "full_name": "Dr Nadia Benali",
            "specialty": "SURGERY",
            "roles": [],
            "password": "short",
            "confirm": "different",
        },
    )
    assert response.status_code == 422
    page = soup(response)
    assert field_value(page, "full_name") == "Dr Nadia Benali"
    assert field_value(page, "email") == "not an address"
    assert field_value(page, "specialty") == "SURGERY"
    assert "Enter an e-mail address" in field_errors(page, "email")
    assert "The passwords differ." in field_errors(page, "confirm")
    assert user_count() == before


def test_new_user_needs_a_role_and_a_long_password(client, admin):
    before = user_count()
    response = client.post(
        "/admin/users/new",
        data={
            "email": "nadia.benali@hospital.test",
            "full_name": "Dr Nadia Benali",
            "specialty": "SURGERY",
            "password": "short",
            "confirm": "short",
        },
    )
    assert response.status_code == 422
    assert "Choose at least one role." in response.get_data(as_text=True)
    response = client.post(
        "/admin/users/new",
        data={
            "email": "nadia.benali@hospital.test",
            "full_name": "Dr Nadia Benali",
            "specialty": "SURGERY",
            "roles": ["CLINICIAN"],
            "password": "short",
            "confirm": "short",
        },
    )
    assert response.status_code == 422
    assert "Use at least 12 characters." in response.get_data(as_text=True)
    assert user_count() == before


def test_duplicate_email_is_refused_on_its_field(client, admin):
    make_user(email="taken@hospital.test")
    before = user_count()
    response = client.post(
        "/admin/users/new",
        data={
            "email": "TAKEN@hospital.test",
            "full_name": "Someone Else",
            "specialty": "OTHER",
            "roles": ["CLINICIAN"],
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "Another account already uses this e-mail address." in response.get_data(as_text=True)
    assert user_count() == before


def test_unknown_specialty_or_role_is_a_field_error_not_a_crash(client, admin):
    response = client.post(
        "/admin/users/new",
        data={
            "email": "x@hospital.test",
            "full_name": "X",
            "specialty": "ASTROLOGY",
            "roles": ["SUPERUSER"],
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_admin_edits_roles(client, admin):
    user = make_user(roles={Role.CLINICIAN})
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data={
            "email": user.email,
            "full_name": user.full_name,
            "specialty": "INTERVENTIONAL_RADIOLOGY",
            "roles": ["RADIOLOGIST"],
            "version": str(user.version),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == {Role.RADIOLOGIST}


def test_edit_form_shows_the_current_values(client, admin):
    user = make_user(roles={Role.CLINICIAN, Role.COORDINATOR}, full_name="Dr Léa Roux")
    page = soup(client.get(f"/admin/users/{user.id}/edit"))
    assert field_value(page, "full_name") == "Dr Léa Roux"
    assert field_value(page, "specialty") == "PAIN_MEDICINE"
    assert checked_values(page, "roles") == {"CLINICIAN", "COORDINATOR"}


def test_admin_cannot_remove_their_own_admin_role(client, admin):
    response = client.post(
        f"/admin/users/{admin.id}/edit",
        data={
            "email": admin.email,
            "full_name": admin.full_name,
            "specialty": "OTHER",
            "roles": ["COORDINATOR"],
            "version": str(admin.version),
        },
    )
    assert response.status_code == 422
    assert "You cannot change your own roles" in response.get_data(as_text=True)
    db.session.expire_all()
    assert Role.ADMIN in db.session.get(User, admin.id).roles


def test_an_admin_cannot_grant_themselves_a_role_in_the_service(app):
    """M5: before, an administrator could give their own account a clinical role."""
    from tracker.auth import services
    from tracker.core.errors import DomainError

    admin = make_user(roles={Role.ADMIN})
    with pytest.raises(DomainError, match="another administrator must"):
        services.update_user(
            admin,
            email=admin.email,
            full_name=admin.full_name,
            specialty=admin.specialty,
            roles={Role.ADMIN, Role.CLINICIAN},
            acting_user=admin,
        )
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(User, admin.id).roles == {Role.ADMIN}


def test_another_admin_grants_the_role_and_one_edits_own_name(app):
    from tracker.auth import services

    admin, colleague = make_user(roles={Role.ADMIN}), make_user(roles={Role.ADMIN})
    services.update_user(
        admin,
        email=admin.email,
        full_name="Renamed Admin",
        specialty=admin.specialty,
        roles={Role.ADMIN},
        acting_user=admin,
    )
    services.update_user(
        admin,
        email=admin.email,
        full_name=admin.full_name,
        specialty=admin.specialty,
        roles={Role.ADMIN, Role.CLINICIAN},
        acting_user=colleague,
    )
    assert admin.roles == {Role.ADMIN, Role.CLINICIAN}
    assert admin.full_name == "Renamed Admin"


def test_the_form_says_why_a_self_grant_is_refused(client, admin):
    response = client.post(
        f"/admin/users/{admin.id}/edit",
        data={
            "email": admin.email,
            "full_name": admin.full_name,
            "specialty": "OTHER",
            "roles": ["ADMIN", "CLINICIAN"],
            "version": str(admin.version),
        },
    )
    assert response.status_code == 422
    assert field_errors(soup(response), "roles") == (
        "You cannot change your own roles: another administrator must do it."
    )
    db.session.expire_all()
    assert db.session.get(User, admin.id).roles == {Role.ADMIN}


def test_deactivation_asks_for_confirmation_then_ends_the_sessions(app, client, admin):
    user = make_user()
    other_browser = app.test_client()
    other_browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert other_browser.get("/").status_code == 200

    confirm = client.get(f"/admin/users/{user.id}/deactivate")
    assert confirm.status_code == 200
    assert "Deactivate the account of" in confirm.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active

    assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_active
    assert other_browser.get("/").status_code == 302
    open_sessions = db.session.scalar(
        select(func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    )
    assert open_sessions == 0

    assert client.post(f"/admin/users/{user.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active


def test_admin_cannot_deactivate_themselves(client, admin):
    response = client.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_active


def test_admin_deactivates_another_admin_while_one_remains(client, admin):
    other = make_user(roles={Role.ADMIN})
    assert client.post(f"/admin/users/{other.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, other.id).is_active


def test_the_last_active_admin_is_protected_in_the_service(app):
    from tracker.auth import services
    from tracker.core.errors import DomainError

    only_admin = make_user(roles={Role.ADMIN})
    make_user(roles={Role.ADMIN}, is_active=False)
    coordinator = make_user(roles={Role.COORDINATOR})
    with pytest.raises(DomainError, match="last active administrator"):
        services.deactivate_user(only_admin, acting_user=coordinator)
    with pytest.raises(DomainError, match="last active administrator"):
        services.update_user(
            only_admin,
            email=only_admin.email,
            full_name=only_admin.full_name,
            specialty=only_admin.specialty,
            roles={Role.CLINICIAN},
            acting_user=coordinator,
        )
    db.session.rollback()
    assert db.session.get(User, only_admin.id).is_active
    assert Role.ADMIN in db.session.get(User, only_admin.id).roles


def test_password_reset_ends_sessions_and_the_new_password_works(app, client, admin):
    user = make_user()
    browser = app.test_client()
    browser.post("/login", data={"email": user.email, "password": PASSWORD})
    new_password = "a brand new passphrase"
    response = client.post(
        f"/admin/users/{user.id}/password",
        data={"password": new_password, "confirm": new_password},
    )
    assert response.status_code == 302
    assert browser.get("/").status_code == 302
    login = browser.post("/login", data={"email": user.email, "password": new_password})
    assert login.status_code == 302


def test_password_equal_to_email_is_refused(client, admin):
    user = make_user(email="long.address@hospital.test")
    response = client.post(
        f"/admin/users/{user.id}/password",
        data={"password": "long.address@hospital.test", "confirm": "long.address@hospital.test"},
    )
    assert response.status_code == 422
    assert "must not be your e-mail address" in response.get_data(as_text=True)


def test_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/99999/edit").status_code == 404


def test_the_new_account_form_sent_twice_creates_one_account(client, admin):
    key = soup(client.get("/admin/users/new")).find(attrs={"name": "once_key"})["value"]
    data = {
        "email": "julie.petit@hospital.test",
        "full_name": "Julie Petit",
        "specialty": "NURSING",
        "roles": ["COORDINATOR"],
        "password": PASSWORD,
        "confirm": PASSWORD,
        "once_key": key,
    }
    before = user_count()
    first = client.post("/admin/users/new", data=data)
    second = client.post("/admin/users/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"] == "/admin/users"
    assert user_count() == before + 1
