"""Logging in with the hospital directory, against a real OpenLDAP server
(``tests/auth/slapd.py``): provisioning, roles from the mapped groups, disabled
people, StartTLS, a server that does not answer, the nightly check."""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest
from sqlalchemy import select

from tests.auth import slapd
from tests.factories import PASSWORD, make_user
from tracker.auth import services, tasks
from tracker.auth.models import AuthSource, SessionEnd, User, UserSession
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role

CLAIRE = "Radiologue-2026!"
PAUL = "Coordination-2026!"


@pytest.fixture
def groups(app) -> None:
    services.map_directory_group(
        slapd.group_dn("RCP-Radiologues"),
        role=Role.RADIOLOGIST,
        specialty=Specialty.INTERVENTIONAL_RADIOLOGY,
    )
    services.map_directory_group(
        slapd.group_dn("RCP-Coordination").upper(), role=Role.COORDINATOR, specialty=None
    )
    services.map_directory_group(slapd.group_dn("RCP-Anciens"), role=Role.CLINICIAN, specialty=None)
    db.session.commit()


@pytest.fixture
def membership(slapd_server) -> Iterator[object]:
    """Change a group's members on the server; put back as it was afterwards."""
    changed: list[str] = []

    def change(group: str, operation: str, login: str) -> None:
        kind = ldap3.MODIFY_DELETE if operation == "remove" else ldap3.MODIFY_ADD
        with slapd_server.admin() as conn:
            conn.modify(slapd.group_dn(group), {"member": [(kind, [slapd.person_dn(login)])]})
        changed.append(group)

    yield change
    with slapd_server.admin() as conn:
        for group in changed:
            members = slapd.group_members(group)
            conn.modify(slapd.group_dn(group), {"member": [(ldap3.MODIFY_REPLACE, members)]})


def _directory_account(login: str, mailbox: str | None = None) -> User:
    """An account made from the directory earlier (the person's entry may be gone)."""
    return make_user(
        email=f"{mailbox or login}@chu-test.fr",
        auth_source=AuthSource.DIRECTORY,
        directory_dn=slapd.person_dn(login),
    )


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def _failures() -> list[dict]:
    return [
        entry.changes
        for entry in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == AuditAction.LOGIN_FAILED)
        )
    ]


def test_first_login_creates_the_account_with_the_roles_of_its_groups(
    client, auth, use_directory, groups
):
    response = auth.login("cmartin", CLAIRE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = _user("cmartin@chu-test.fr")
    assert user is not None
    assert user.auth_source is AuthSource.DIRECTORY
    assert user.directory_dn == slapd.person_dn("cmartin")
    assert user.full_name == "Claire Martin"
    assert user.roles == {Role.RADIOLOGIST, Role.COORDINATOR}
    assert user.specialty is Specialty.INTERVENTIONAL_RADIOLOGY
    # The hospital's password is never kept.
    assert CLAIRE not in user.password_hash
    assert not services.verify_password(user.password_hash, CLAIRE)
    assert "Claire Martin" in client.get("/").get_data(as_text=True)
    # The login is audited like any other, and opened a session.
    logins = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.LOGIN)
    ).all()
    assert [entry.entity_id for entry in logins] == [str(user.id)]


def test_the_email_works_as_login_name_too(client, auth, use_directory, groups):
    assert auth.login("PDurand@chu-test.fr", PAUL).status_code == 302
    assert _user("pdurand@chu-test.fr").roles == {Role.COORDINATOR}


def test_the_group_search_finds_the_groups_without_memberof(client, auth, use_directory, groups):
    use_directory(
        LDAP_GROUP_ATTRIBUTE="",
        LDAP_GROUP_BASE=slapd.GROUPS,
        LDAP_USER_FILTER="(|(uid={login})(mail={login}))",
        LDAP_DISABLED_ATTRIBUTE="",
    )
    assert auth.login("cmartin", CLAIRE).status_code == 302
    assert _user("cmartin@chu-test.fr").roles == {Role.RADIOLOGIST, Role.COORDINATOR}


def test_a_wrong_password_is_refused_and_counted(client, auth, use_directory, groups):
    response = auth.login("cmartin", "not-her-password")
    assert response.status_code == 422
    assert "Wrong user name or password" in response.get_data(as_text=True)
    assert _user("cmartin@chu-test.fr") is None
    assert _failures()[-1]["reason"] == "password"
    # An empty password is never an anonymous bind that "succeeds".
    assert (
        services.get_directory().check_password(services.get_directory().find("cmartin"), "")
        is False
    )


def test_filter_characters_in_the_login_name_find_nobody(client, auth, use_directory, groups):
    for login in ("cmar*", "*)(uid=*", "cmartin)(|(uid=*"):
        response = auth.login(login, CLAIRE)
        assert response.status_code == 422, login
        assert _failures()[-1]["reason"] == "unknown"
    assert db.session.scalar(select(User).where(User.auth_source == AuthSource.DIRECTORY)) is None


def test_removed_from_a_group_the_person_loses_its_role(
    client, auth, use_directory, groups, membership
):
    assert auth.login("cmartin", CLAIRE).status_code == 302
    auth.logout()
    membership("RCP-Radiologues", "remove", "cmartin")
    assert auth.login("cmartin", CLAIRE).status_code == 302
    user = _user("cmartin@chu-test.fr")
    assert user.roles == {Role.COORDINATOR}
    # The change of roles is in the audit trail.
    changes = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "UserRole")
    ).all()
    assert any(entry.action == AuditAction.DELETE for entry in changes)


def test_in_no_mapped_group_the_person_cannot_log_in(
    client, auth, use_directory, groups, membership
):
    assert auth.login("pdurand", PAUL).status_code == 302
    auth.logout()
    membership("RCP-Coordination", "remove", "pdurand")
    response = auth.login("pdurand", PAUL)
    assert response.status_code == 422
    assert "none of the groups" in response.get_data(as_text=True)
    assert _user("pdurand@chu-test.fr").roles == set()
    # Never been in one: no account is created.
    assert auth.login("nogroup", "Sansgroupe-2026!").status_code == 422
    assert _user("nogroup@chu-test.fr") is None


def test_a_person_disabled_in_the_directory_is_refused_and_deactivated(
    client, auth, use_directory, groups, slapd_server
):
    user = _directory_account("ldisabled")
    session = services.open_session(user, user_agent="test", ip_address=None)
    db.session.commit()
    response = auth.login("ldisabled", "Parti-2026!")
    assert response.status_code == 422
    user = _user("ldisabled@chu-test.fr")
    assert user.is_active is False
    assert db.session.get(UserSession, session.id).ended_reason is SessionEnd.DEACTIVATED
    assert _failures()[-1]["reason"] == "disabled in the directory"


def test_starttls_with_the_sites_certificate_authority(client, auth, use_directory, groups):
    use_directory(LDAP_START_TLS=True)
    # Without the site's CA the server's certificate is not trusted: no login.
    response = auth.login("cmartin", CLAIRE)
    assert response.status_code == 422
    assert "does not answer" in response.get_data(as_text=True)


def test_starttls_login(client, auth, use_directory, groups, slapd_server):
    use_directory(LDAP_START_TLS=True, LDAP_CA_FILE=slapd_server.ca_file)
    assert auth.login("cmartin", CLAIRE).status_code == 302


def test_a_directory_that_does_not_answer_never_falls_back_to_a_local_password(
    client, auth, use_directory, groups
):
    assert auth.login("cmartin", CLAIRE).status_code == 302
    auth.logout()
    user = _user("cmartin@chu-test.fr")
    # Even a local password planted on the account is not tried.
    user.password_hash = services.hash_password(PASSWORD)
    db.session.commit()
    use_directory(LDAP_URL=f"ldap://127.0.0.1:{slapd.free_port()}", LDAP_TIMEOUT=2)
    for login, password in (("cmartin", CLAIRE), ("cmartin@chu-test.fr", PASSWORD)):
        response = auth.login(login, password)
        assert response.status_code == 422
        assert (
            "The hospital directory does not answer: try again in a few minutes or call "
            "the IT help desk." in response.get_data(as_text=True)
        )
    assert client.get("/").status_code == 302
    assert _failures()[-1]["reason"] == "directory unavailable"


def test_local_accounts_still_log_in_unless_the_site_keeps_them_for_named_admins(
    app, client, auth, use_directory
):
    admin = make_user(email="breakglass@chu-test.fr", roles={Role.ADMIN})
    other = make_user(email="local@chu-test.fr")
    db.session.commit()
    assert auth.login(other.email).status_code == 302
    auth.logout()
    app.config["LOCAL_LOGIN_ONLY"] = ["breakglass@chu-test.fr"]
    try:
        assert auth.login(other.email).status_code == 422
        assert _failures()[-1]["reason"] == "local login not allowed"
        assert auth.login(admin.email).status_code == 302
    finally:
        app.config["LOCAL_LOGIN_ONLY"] = []


def test_directory_accounts_have_no_password_to_change_here(client, auth, use_directory, groups):
    assert auth.login("cmartin", CLAIRE).status_code == 302
    user = _user("cmartin@chu-test.fr")
    with pytest.raises(services.DomainError):
        services.set_password(user, "Another-password-2026")


def test_the_nightly_job_deactivates_people_the_directory_no_longer_lists(
    app, use_directory, groups, slapd_server, clock
):
    kept = _directory_account("cmartin")
    gone = _directory_account("left-last-year", "left")
    disabled = _directory_account("ldisabled")
    local = make_user(email="local@chu-test.fr")
    db.session.commit()
    assert tasks.directory_accounts(clock()) == {"checked": 3, "deactivated": 2}
    db.session.expire_all()
    assert [u.is_active for u in (kept, gone, disabled, local)] == [True, False, False, True]
    audited = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "User", AuditEntry.action == AuditAction.UPDATE
        )
    ).all()
    assert {entry.entity_id for entry in audited} >= {str(gone.id), str(disabled.id)}
    # Again: nothing more to do.
    assert tasks.directory_accounts(clock()) == {"checked": 1, "deactivated": 0}
    # The directory down: nobody is deactivated for it.
    use_directory(LDAP_URL=f"ldap://127.0.0.1:{slapd.free_port()}", LDAP_TIMEOUT=2)
    assert tasks.directory_accounts(clock())["deactivated"] == 0
    assert _user("cmartin@chu-test.fr").is_active


def test_without_a_directory_the_job_does_nothing(app, clock):
    assert tasks.directory_accounts(clock()) == {"checked": 0, "deactivated": 0}


def test_guessing_a_directory_password_is_throttled_like_a_local_one(
    client, auth, use_directory, groups
):
    for _ in range(6):
        assert auth.login("cmartin", "a wrong guess").status_code == 422
    # Now even the right password waits, without the directory being asked.
    response = auth.login("cmartin", CLAIRE)
    assert response.status_code == 422
    assert _failures()[-1]["reason"] == "throttled (account)"
    assert _user("cmartin@chu-test.fr") is None


def test_a_directory_account_with_a_second_factor_still_needs_its_code(
    client, auth, use_directory, groups
):
    assert auth.login("cmartin", CLAIRE).status_code == 302
    auth.logout()
    user = _user("cmartin@chu-test.fr")
    user.totp_secret = "JBSWY3DPEHPK3PXP"
    user.totp_confirmed_at = user.created_at
    db.session.commit()
    response = auth.login("cmartin", CLAIRE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code"


def test_turning_off_the_second_factor_asks_the_directory_for_the_password(
    client, auth, use_directory, groups
):
    assert auth.login("cmartin", CLAIRE).status_code == 302
    user = _user("cmartin@chu-test.fr")
    with pytest.raises(services.DomainError):
        services.check_current_password(user, "not-her-password")
    services.check_current_password(user, CLAIRE)
    # The page to change one's password says where to change it instead.
    page = client.get("/account/password").get_data(as_text=True)
    assert "hospital account" in page
    assert 'name="current_password"' not in page
