"""The group-mapping page: which directory groups give which roles and
specialties (no directory server needed)."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_user
from tracker.auth import services
from tracker.auth.models import DirectoryGroup
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role


def _groups() -> list[tuple[str, Role | None, Specialty | None]]:
    db.session.expire_all()
    return [
        (g.group_dn, g.role, g.specialty)
        for g in db.session.scalars(select(DirectoryGroup).order_by(DirectoryGroup.group_dn))
    ]


def test_an_admin_maps_a_group_and_it_is_audited(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    response = client.post(
        "/admin/directory-groups",
        data={
            "group_dn": " CN=RCP-Radiologues, OU=Groupes,DC=chu,DC=fr ",
            "role": "RADIOLOGIST",
            "specialty": "INTERVENTIONAL_RADIOLOGY",
        },
    )
    assert response.status_code == 302
    assert _groups() == [
        (
            "cn=rcp-radiologues,ou=groupes,dc=chu,dc=fr",
            Role.RADIOLOGIST,
            Specialty.INTERVENTIONAL_RADIOLOGY,
        )
    ]
    page = client.get("/admin/directory-groups").get_data(as_text=True)
    assert "cn=rcp-radiologues,ou=groupes,dc=chu,dc=fr" in page
    # The same group again changes what it gives rather than adding a line.
    client.post(
        "/admin/directory-groups",
        data={"group_dn": "cn=rcp-radiologues,ou=groupes,dc=chu,dc=fr", "role": "CLINICIAN"},
    )
    assert _groups() == [("cn=rcp-radiologues,ou=groupes,dc=chu,dc=fr", Role.CLINICIAN, None)]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "DirectoryGroup")
    ).all()
    assert actions == [AuditAction.INSERT, AuditAction.UPDATE]


def test_a_mapping_is_removed(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    group = services.map_directory_group("cn=old,dc=chu,dc=fr", role=Role.CLINICIAN, specialty=None)
    db.session.commit()
    group_id = group.id
    assert client.post(f"/admin/directory-groups/{group_id}/delete").status_code == 302
    assert _groups() == []
    # Twice: a message, nothing else.
    response = client.post(f"/admin/directory-groups/{group_id}/delete", follow_redirects=True)
    assert "This group is not mapped." in response.get_data(as_text=True)


def test_bad_input_is_refused_with_a_message_and_changes_nothing(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    for data, message in (
        ({"group_dn": "RCP-Radiologues", "role": "RADIOLOGIST"}, "distinguished name"),
        ({"group_dn": "cn=a,dc=chu,dc=fr"}, "Choose a role, a specialty, or both."),
        ({"group_dn": "cn=a,dc=chu,dc=fr", "role": "EMPEROR"}, "Not a valid choice"),
        ({"group_dn": "cn=" + "a" * 600, "role": "CLINICIAN"}, "500"),
    ):
        response = client.post("/admin/directory-groups", data=data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data
    assert _groups() == []


def test_only_administrators_open_the_page(client, auth):
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    assert client.get("/admin/directory-groups").status_code == 403
    assert client.post("/admin/directory-groups", data={"group_dn": "cn=x"}).status_code == 403


def test_the_page_reads_in_a_fixed_number_of_queries(client, auth, count_queries):
    auth.login_as(make_user(roles={Role.ADMIN}))

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/admin/directory-groups").status_code == 200
        return counter.count

    services.map_directory_group("cn=a,dc=chu,dc=fr", role=Role.CLINICIAN, specialty=None)
    db.session.commit()
    few = queries()
    for name in "bcdef":
        services.map_directory_group(
            f"cn={name},dc=chu,dc=fr", role=None, specialty=Specialty.OTHER
        )
    db.session.commit()
    assert queries() == few


def test_roles_come_from_mapped_groups_only(app):
    services.map_directory_group("cn=rad,dc=chu,dc=fr", role=Role.RADIOLOGIST, specialty=None)
    services.map_directory_group(
        "cn=ir,dc=chu,dc=fr", role=None, specialty=Specialty.INTERVENTIONAL_RADIOLOGY
    )
    assert services.roles_from_groups(["CN=Rad, DC=chu,DC=fr", "cn=cafeteria,dc=chu,dc=fr"]) == (
        {Role.RADIOLOGIST},
        None,
    )
    assert services.roles_from_groups(["cn=rad,dc=chu,dc=fr", "cn=ir,dc=chu,dc=fr"]) == (
        {Role.RADIOLOGIST},
        Specialty.INTERVENTIONAL_RADIOLOGY,
    )
    assert services.roles_from_groups([]) == (set(), None)


def test_the_directory_settings_come_from_the_environment(tmp_path):
    from tracker.auth.directory import LdapSettings
    from tracker.config import build_config

    config = build_config(
        str(tmp_path),
        {
            "TRACKER_ENV": "testing",
            "TRACKER_LDAP_URL": "ldaps://ad.chu.example",
            "TRACKER_LDAP_START_TLS": "no",
            "TRACKER_LDAP_GROUP_ATTRIBUTE": "memberOf",
            "TRACKER_LOCAL_LOGIN_ONLY": " Admin@CHU.example, ,secours@chu.example",
        },
    )
    settings = LdapSettings.from_config(config)
    assert settings is not None
    assert (settings.url, settings.start_tls, settings.group_attribute) == (
        "ldaps://ad.chu.example",
        False,
        "memberOf",
    )
    assert settings.user_filter == "(|(uid={login})(mail={login}))"
    assert config["LOCAL_LOGIN_ONLY"] == ["admin@chu.example", "secours@chu.example"]
    assert LdapSettings.from_config(build_config(str(tmp_path), {"TRACKER_ENV": "testing"})) is None


def test_the_user_list_and_edit_page_say_which_accounts_are_from_the_directory(client, auth):
    from tracker.auth.models import AuthSource

    auth.login_as(make_user(roles={Role.ADMIN}, full_name="Local Admin"))
    person = make_user(
        full_name="Paul Durand",
        auth_source=AuthSource.DIRECTORY,
        directory_dn="uid=pdurand,ou=people,dc=chu,dc=fr",
    )
    db.session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Hospital directory" in page
    assert "Local account" in page
    # No password to set for a directory account.
    assert f"/admin/users/{person.id}/password" not in page
    edit = client.get(f"/admin/users/{person.id}/edit").get_data(as_text=True)
    assert "uid=pdurand,ou=people,dc=chu,dc=fr" in edit
