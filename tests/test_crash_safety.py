"""SQLite after a crash: a writer killed in the middle of a transaction leaves a
database that passes its integrity check, with every committed change in it
and nothing of the transaction that was cut short."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from tracker import create_app
from tracker.core.audit import verify_chain
from tracker.extensions import db

ROOT = Path(__file__).resolve().parents[1]

#: The writer: commits accounts one by one (saying so once each is committed),
#: then starts a large transaction and waits, uncommitted, to be killed.
WRITER = """
import sys
from tests.conftest import TEST_CONFIG
from tests.factories import make_user
from tracker import create_app
from tracker.auth.models import User
from tracker.extensions import db

app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
with app.app_context():
    for number in range(20):
        user = make_user(full_name=f"Committed {number}")
        print(f"committed {user.email}", flush=True)
    for number in range(500):
        db.session.add(User(email=f"lost{number}@hospital.test", full_name="Lost",
                            specialty=user.specialty, password_hash="x"))
    db.session.flush()
    print("in the middle", flush=True)
    sys.stdin.read()  # killed here, the transaction open
"""


def test_a_writer_killed_mid_transaction_loses_only_that_transaction(tmp_path):
    from flask_migrate import upgrade

    path = tmp_path / "crash.db"
    url = f"sqlite:///{path}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()

    env = {
        **os.environ,
        "TRACKER_ENV": "testing",
        "TRACKER_DATABASE_URL": url,
        "TRACKER_INSTANCE_PATH": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    committed = []
    for line in writer.stdout:
        if line.startswith("committed "):
            committed.append(line.split()[1])
        elif line.startswith("in the middle"):
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    writer.stdin.close()
    assert len(committed) == 20

    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        emails = {row[0] for row in connection.execute("SELECT email FROM users")}
    finally:
        connection.close()
    assert set(committed) <= emails
    assert not any(email.startswith("lost") for email in emails)

    engine = create_engine(url)
    with engine.connect() as check:
        assert verify_chain(check, app.config["AUDIT_KEY"].encode()).intact
    engine.dispose()
