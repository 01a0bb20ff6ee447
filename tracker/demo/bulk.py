"""Writing generated rows in bulk: ids are given before the rows are written (so
that rows can be linked at once), rows wait by table and go in many at a time,
in an order that respects the foreign keys."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import func, select

from tracker.cases.models import CaseEvent, Patient, Referral
from tracker.core.mail import OutboxMessage
from tracker.core.time import site_timezone
from tracker.decisions.models import (
    AdverseEvent,
    Decision,
    Procedure,
    ProcedurePlan,
    procedure_operators,
)
from tracker.extensions import db
from tracker.followups.models import Assessment, CaseVerdict, FollowUp
from tracker.meetings.models import AgendaItem


@dataclass
class Rows:
    """Rows waiting to be inserted, by table, in an order that respects keys."""

    tables: dict[Any, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    ORDER = (
        Patient.__table__,
        Referral.__table__,
        AgendaItem.__table__,
        Decision.__table__,
        ProcedurePlan.__table__,
        Procedure.__table__,
        procedure_operators,
        AdverseEvent.__table__,
        FollowUp.__table__,
        Assessment.__table__,
        CaseEvent.__table__,
        CaseVerdict.__table__,
        OutboxMessage.__table__,
    )

    def add(self, table: Any, row: dict[str, Any]) -> None:
        self.tables[table].append(row)

    def flush(self) -> int:
        written = 0
        for table in self.ORDER:
            rows = self.tables.pop(table, None)
            if rows:
                # One statement for many rows needs the same columns in each.
                columns = set().union(*rows)
                for row in rows:
                    if len(row) != len(columns):
                        for column in columns - row.keys():
                            row[column] = None
                db.session.execute(table.insert(), rows)
                written += len(rows)
        return written


class Ids:
    """The next free id of each table (rows are linked before they are written)."""

    def __init__(self) -> None:
        self._next: dict[Any, int] = {}

    def next(self, model: Any) -> int:
        if model not in self._next:
            self._next[model] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        value = self._next[model]
        self._next[model] = value + 1
        return value

    def catch_up(self) -> None:
        """Move PostgreSQL's sequences past the ids given here, so that the rows
        the product adds later do not take them again (SQLite needs nothing)."""
        if db.session.get_bind().dialect.name != "postgresql":
            return
        for model in self._next:
            table = model.__table__
            db.session.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence(table.name, "id"),
                        select(func.max(table.c.id)).scalar_subquery(),
                    )
                )
            )


def weighted(rng: random.Random, choices: tuple[tuple[Any, float], ...]) -> Any:
    """One of the values, drawn in proportion to its weight."""
    pick = rng.random() * sum(weight for _value, weight in choices)
    for value, weight in choices:
        pick -= weight
        if pick <= 0:
            return value
    return choices[-1][0]


def at(day: date, hour: int, zone: tzinfo | None = None) -> datetime:
    """The moment (in UTC) of an hour of the site's wall clock on that day."""
    local = datetime.combine(day, time(hour), tzinfo=zone or site_timezone())
    return local.astimezone(UTC)
