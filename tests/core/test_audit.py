"""The audit hook records inserts, updates and deletes of audited models."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_user
from tracker.auth.models import User, UserRole
from tracker.core.audit import SECRET_PLACEHOLDER, AuditAction, AuditEntry, acting_as
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role


def entries_for(entity_type: str, entity_id: object) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    )


def test_insert_records_every_value_and_the_actor(app):
    with acting_as("unit test"):
        user = make_user(full_name="Dr Karim Haddad", specialty=Specialty.ANAESTHESIOLOGY)
    [entry] = entries_for("User", user.id)
    assert entry.action is AuditAction.INSERT
    assert entry.actor_label == "unit test"
    assert entry.actor_id is None
    assert entry.changes["full_name"] == [None, "Dr Karim Haddad"]
    assert entry.changes["specialty"] == [None, "ANAESTHESIOLOGY"]
    assert entry.recorded_at.tzinfo is not None


def test_update_records_old_and_new_values_of_changed_fields_only(app):
    user = make_user(full_name="Dr Amélie Laurent")
    user.full_name = "Dr Amélie Laurent-Petit"
    user.specialty = Specialty.NEUROLOGY
    db.session.commit()
    [_, update] = entries_for("User", user.id)
    assert update.action is AuditAction.UPDATE
    assert update.changes == {
        "full_name": ["Dr Amélie Laurent", "Dr Amélie Laurent-Petit"],
        "specialty": ["PAIN_MEDICINE", "NEUROLOGY"],
        "version": [1, 2],  # an edit moves the account's version on
    }


def test_update_of_an_expired_object_still_knows_the_old_value(app):
    user = make_user(full_name="Before")
    db.session.expire(user)
    user.full_name = "After"
    db.session.commit()
    assert entries_for("User", user.id)[-1].changes == {
        "full_name": ["Before", "After"],
        "version": [1, 2],
    }


def test_setting_the_same_value_records_nothing(app):
    user = make_user(full_name="Same")
    user.full_name = "Same"
    db.session.commit()
    assert len(entries_for("User", user.id)) == 1


def test_delete_records_the_old_values(app):
    user = make_user(roles={Role.CLINICIAN, Role.RADIOLOGIST})
    link = next(link for link in user.role_links if link.role is Role.RADIOLOGIST)
    user.role_links.remove(link)
    db.session.commit()
    deleted = entries_for("UserRole", f"{user.id}:RADIOLOGIST")
    assert [e.action for e in deleted] == [AuditAction.INSERT, AuditAction.DELETE]
    assert deleted[-1].changes == {"user_id": [user.id, None], "role": ["RADIOLOGIST", None]}
    assert db.session.get(UserRole, (user.id, Role.RADIOLOGIST)) is None


def test_secret_columns_are_recorded_as_changed_without_their_value(app):
    user = make_user()
    user.password_hash = "$argon2id$v=19$m=8,t=1,p=1$new"
    db.session.commit()
    change = entries_for("User", user.id)[-1].changes
    assert change == {"password_hash": [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]}


def test_excluded_columns_are_not_recorded(app):
    from tracker.core.time import utcnow

    user = make_user()
    user.last_login_at = utcnow()
    db.session.commit()
    assert len(entries_for("User", user.id)) == 1


def test_audit_entry_is_rolled_back_with_the_change(app):
    user = make_user(full_name="Kept")
    user.full_name = "Never saved"
    db.session.flush()
    assert len(entries_for("User", user.id)) == 2
    db.session.rollback()
    assert len(entries_for("User", user.id)) == 1
    assert db.session.get(User, user.id).full_name == "Kept"


def test_changes_made_through_a_page_name_the_logged_in_user(client, auth):
    admin = make_user(roles={Role.ADMIN}, email="admin@hospital.test")
    target = make_user(full_name="Old Name")
    auth.login_as(admin)
    response = client.post(
        f"/admin/users/{target.id}/edit",
        data={
            "email": target.email,
            "full_name": "New Name",
            "specialty": "PAIN_MEDICINE",
            "roles": ["CLINICIAN"],
            "version": str(target.version),
        },
    )
    assert response.status_code == 302
    entry = entries_for("User", target.id)[-1]
    assert entry.actor_id == admin.id
    assert entry.actor_label == "admin@hospital.test"
    assert entry.changes == {"full_name": ["Old Name", "New Name"], "version": [1, 2]}
