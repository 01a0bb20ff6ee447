"""Helpers for the tests that hold a rule's SQL form equal to its Python form:
the same Hypothesis settings everywhere, and a scratch table of plain typed
columns for rules that read no model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, settings
from sqlalchemy import Column, MetaData, Table, delete, insert
from sqlalchemy.schema import CreateTable

from tracker.extensions import db

#: Deterministic: a fixed sequence of examples, no example database between runs.
SAME_IN_SQL = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def scratch_table(name: str, *columns: Column[Any]) -> Table:
    """A temporary table in the test's transaction (rolled back with it)."""
    table = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    db.session.execute(CreateTable(table))
    return table


def fill(table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Replace the table's rows (one Hypothesis example after another)."""
    db.session.execute(delete(table))
    rows = list(rows)
    if rows:
        db.session.execute(insert(table), rows)
