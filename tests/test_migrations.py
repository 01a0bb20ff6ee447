"""The migrations build the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tracker.extensions import db


def test_models_and_migrations_agree(app):
    connection = db.session.connection()
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(scratch_database_url, instance_path):
    from flask_migrate import downgrade, upgrade

    from tracker import create_app

    scratch = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "user_roles", "user_sessions", "audit_entries"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) == tables
        db.engine.dispose()
