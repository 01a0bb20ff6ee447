"""Database foundations: the declarative base, column types and connection tuning."""

from __future__ import annotations

import enum
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Date, DateTime, Engine, Enum, Integer, MetaData, event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator

logger = logging.getLogger(__name__)

#: Constraint names are deterministic so that migrations can refer to them on
#: every backend (SQLite batch mode needs names to drop or alter a constraint).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the database layer."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, always stored and returned in UTC.

    Naive datetimes are refused: a wall-clock time without a zone is ambiguous
    (a meeting at 17:00 in Paris is not 17:00 UTC), so callers must say which.
    SQLite has no zone-aware type; values are stored there as naive UTC and
    given their zone back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value!r}: give it a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # The registry carries the type map itself: Flask-SQLAlchemy subclasses this
    # base, and SQLAlchemy refuses a per-class map next to an inherited registry.
    # Every ``Mapped[datetime]`` is a UTC column; enumerations are stored by
    # name in a plain string column (no native enum types to migrate).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            date: Date(),
            enum.Enum: Enum(enum.Enum, native_enum=False, length=40, validate_strings=True),
        },
    )


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Foreign keys, WAL and a busy timeout on every SQLite connection.

    The driver's own transaction handling is switched off so that SQLAlchemy
    emits BEGIN itself: without this, SAVEPOINTs and transactional DDL do not
    work on SQLite.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_writing: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Work outside a request that changes data (a background job): on SQLite its
    transactions take the write lock when they begin, as write requests do."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _request_writes() -> bool:
    if _writing.get():
        return True
    return has_request_context() and request.method not in SAFE_METHODS


#: The PostgreSQL advisory lock that write transactions take first.  The audit
#: trail is one hash chain, so its entries are appended one writer at a time;
#: taking that lock before any row lock means two writers can never each hold
#: what the other waits for (a deadlock).
WRITER_LOCK_KEY = 0x52435054  # "RCPT"


def take_writer_lock(connection: Any) -> None:
    """Wait for the writer lock until this transaction ends (PostgreSQL only:
    SQLite's own write lock does the same)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")


@event.listens_for(Engine, "begin")
def _begin(connection: Any) -> None:
    """Transactions that change data take the write lock when they begin.

    SQLite: a deferred transaction that read first and writes later fails at
    once ("database is locked") if another writer committed in between; taking
    the lock up front makes concurrent writers queue (busy timeout) instead, and
    makes read-then-write checks (agenda capacity) safe.  PostgreSQL: the
    writer lock above, for the audit chain.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _request_writes() else "BEGIN")
    elif _request_writes():
        take_writer_lock(connection)


class days_between(FunctionElement[int]):
    """Whole days from one date to another, on SQLite and PostgreSQL alike."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_default(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


def refresh_statistics(connection: Any) -> None:
    """Fresh statistics for SQLite's query planner (ANALYZE, sampling 1,000 rows
    per index). Without them it may walk a common status's index where a rare
    patient's would do: a search at 100,000 cases went from 50 ms to 3 ms.
    PostgreSQL's autovacuum keeps its own."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
