"""The data layer: UTC columns, SQLite tuning, constraint names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from tests.factories import make_user
from tracker.auth.models import User
from tracker.core.db import NAMING_CONVENTION
from tracker.extensions import db


def test_datetimes_come_back_timezone_aware_in_utc(app):
    paris_winter = timezone(timedelta(hours=1))
    user = make_user()
    user.last_login_at = datetime(2026, 1, 15, 17, 0, tzinfo=paris_winter)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(User, user.id).last_login_at
    assert stored == datetime(2026, 1, 15, 16, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(app):
    user = make_user()
    user.last_login_at = datetime(2026, 1, 15, 17, 0)  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_datetimes_compare_correctly_in_queries(app):
    early = make_user()
    late = make_user()
    early.last_login_at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    late.last_login_at = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    db.session.commit()
    moment = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    after = db.session.scalars(select(User.id).where(User.last_login_at > moment)).all()
    assert after == [late.id]


def test_sqlite_connections_are_tuned(app):
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only apply to SQLite")
    assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_foreign_keys_are_enforced(app):
    from sqlalchemy.exc import IntegrityError

    statement = text("INSERT INTO user_roles (user_id, role) VALUES (987654, 'ADMIN')")
    with pytest.raises(IntegrityError):
        db.session.execute(statement)
    db.session.rollback()


def test_constraints_follow_the_naming_convention(app):
    assert db.metadata.naming_convention == NAMING_CONVENTION
    names = {
        constraint.name for table in db.metadata.tables.values() for constraint in table.constraints
    }
    assert "pk_users" in names
    assert "uq_users_email" in names
    assert "fk_user_roles_user_id_users" in names
