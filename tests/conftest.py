"""Test fixtures: one migrated database per run, rolled back after every test.

The suite runs on SQLite by default; ``pytest --db-url postgresql+psycopg://...``
runs the very same tests on PostgreSQL (``make test`` does both when
``TRACKER_TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import contextvars
import os
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

os.environ["TRACKER_ENV"] = "testing"
os.environ.pop("TRACKER_DATABASE_URL", None)

from tests import factories
from tracker import create_app
from tracker.extensions import db as _db

PASSWORD = factories.PASSWORD

# Hypothesis times each example (200 ms by default) and fails a test whose data
# are slow to draw: both measure the machine, not the code.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

#: Every test starts at this moment (a Friday morning in Paris, 10:00).
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class FakeClock:
    """The application's clock during a test: frozen, moved on by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("give the test clock an aware datetime")
        self.moment = moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    from tracker.core.time import use_clock

    test_clock = FakeClock(NOW)
    with use_clock(test_clock):
        yield test_clock


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db-url",
        default=None,
        help="Database to run the suite on (PostgreSQL); a temporary SQLite file by default.",
    )


def pytest_report_header(config: pytest.Config) -> str:
    url = config.getoption("--db-url")
    return f"database: {make_url(url).render_as_string() if url else 'SQLite (temporary file)'}"


def _reset_postgresql(url: str) -> None:
    """Start from an empty schema: the test database belongs to the suite."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = request.config.getoption("--db-url")
    if url:
        _reset_postgresql(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tracker-test.db'}"


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("instance"))
    os.environ["TRACKER_INSTANCE_PATH"] = path
    return path


TEST_CONFIG = {
    "TESTING": True,
    # Cheap hashes: the suite creates many accounts; production costs are tested apart.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
    "WTF_CSRF_ENABLED": False,
}


@pytest.fixture(scope="session")
def app(database_url: str, instance_path: str) -> Iterator[Any]:
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        # Requests and the test share one connection whose outer transaction is
        # rolled back after each test; a commit releases a savepoint instead.
        _db.session.configure(join_transaction_mode="create_savepoint")
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def db_session(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Every test runs in a transaction that is rolled back at its end."""
    if "app" not in request.fixturenames:
        yield None
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        try:
            yield _db.session
        finally:
            _db.session.remove()
            transaction.rollback()
            connection.close()
            engines[None] = engine


@pytest.fixture
def scratch_database_url(database_url: str, tmp_path) -> Iterator[str]:
    """An empty database on the same kind of server as the suite's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"rcp_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def committed_app(scratch_database_url: str, instance_path: str) -> Iterator[Any]:
    """An application on its own freshly migrated database whose transactions
    really commit: for tests of several connections at once (concurrency)."""
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as it would in production: its own
    application context, ``g`` and database session, not the test's."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Buffered: a streamed body (CSV export) is read inside the request's
        # own context, as the server would.
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.client.post("/login", data={"email": email, "password": password})

    def login_as(self, user: Any) -> Any:
        response = self.login(user.email)
        assert response.status_code == 302, f"login of {user.email} failed"
        return response

    def logout(self) -> Any:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


# Transaction control, not queries: the savepoints that only the test harness
# adds, and PostgreSQL's writer lock that SQLite's BEGIN IMMEDIATE stands for.
_SAVEPOINT = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SELECT pg_advisory_xact_lock)\b",
    re.I,
)


@pytest.fixture
def count_queries(app: Any) -> Any:
    """``with count_queries() as counter:`` counts the SQL statements run inside,
    leaving out transaction control (see ``_SAVEPOINT``)."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        connection = _db.engines[None]

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not _SAVEPOINT.match(statement):
                counter.statements.append(statement)

        event.listen(connection, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(connection, "before_cursor_execute", before)

    return counting


# --- a real SMTP server on this machine, for the tests of e-mails ----------------------


class Mailbox:
    """An SMTP handler that keeps what it accepts; it can refuse the first N."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refuse_next = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    # The server starts in a thread of its own: on a busy machine that can take
    # longer than aiosmtpd's default of five seconds.
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=300)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_to(app: Any, smtp_server: tuple[Mailbox, int]) -> Iterator[Mailbox]:
    """The application sends to the local SMTP server during the test."""
    mailbox, port = smtp_server
    saved = {key: app.config.get(key) for key in ("MAIL_HOST", "MAIL_PORT", "MAIL_SECURITY")}
    app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none")
    try:
        yield mailbox
    finally:
        app.config.update(saved)
