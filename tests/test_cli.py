"""``flask --app tracker`` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from tracker.auth.models import User
from tracker.core.audit import AuditEntry
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role

ROOT = Path(__file__).resolve().parents[1]


def find(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def test_create_user_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Julien.Moreau@hospital.test",
            "--name",
            "Dr Julien Moreau",
            "--role",
            "radiologist",
            "--role",
            "coordinator",
            "--specialty",
            "interventional_radiology",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = find("julien.moreau@hospital.test")
    assert user.roles == {Role.RADIOLOGIST, Role.COORDINATOR}
    assert user.specialty is Specialty.INTERVENTIONAL_RADIOLOGY
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "User", AuditEntry.entity_id == str(user.id)
        )
    )
    assert entry.actor_label.startswith("cli:create-user")


def test_create_user_prompts_twice_for_the_password(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "lea.roux@hospital.test",
            "--name",
            "Léa Roux",
            "--role",
            "clinician",
        ],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert find("lea.roux@hospital.test") is not None


def test_create_user_refuses_a_short_password_and_saves_nothing(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "short@hospital.test",
            "--name",
            "Short",
            "--role",
            "clinician",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert result.exit_code != 0
    assert "Use at least 12 characters." in result.output
    assert find("short@hospital.test") is None


def test_create_user_refuses_an_unknown_role(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "x@hospital.test",
            "--name",
            "X",
            "--role",
            "surgeon",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 2
    assert find("x@hospital.test") is None


def test_seed_demo_creates_one_account_per_role_and_prints_the_logins(runner, instance_path):
    result = runner.invoke(args=["seed-demo", "--password", "demo password 2026"])
    assert result.exit_code == 0, result.output
    assert "demo password 2026" in result.output
    roles = set()
    for email in (
        "admin@example.org",
        "coordinator@example.org",
        "radiologist@example.org",
        "clinician@example.org",
    ):
        assert email in result.output
        roles |= find(email).roles
    assert roles == set(Role)
    kept = Path(instance_path, "demo-logins.txt")
    assert "coordinator@example.org" in kept.read_text()
    assert oct(kept.stat().st_mode & 0o777) == "0o600"

    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0
    assert "demo password 2026" in again.output  # the kept logins, shown again
    kept.unlink()
    without_file = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has accounts" in without_file.output
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0


def test_seed_demo_generates_a_password_when_none_is_given(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    first_line = result.output.splitlines()[0]
    password = first_line.split(": ")[1].rstrip(")")
    assert len(password) >= 12
    from tracker.auth.services import authenticate

    assert authenticate("radiologist@example.org", password) is not None


def test_flask_finds_the_application_factory(tmp_path):
    """The real command line, in a separate process, on a fresh database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(
        TRACKER_ENV="testing",
        TRACKER_INSTANCE_PATH=str(tmp_path),
        TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        TRACKER_ARGON2_MEMORY_COST="8",
        TRACKER_ARGON2_TIME_COST="1",
        TRACKER_ARGON2_PARALLELISM="1",
    )
    flask = [sys.executable, "-m", "flask", "--app", "tracker"]

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*flask, *args],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=900,  # a guard against a hang, not a measure of speed
            check=False,
        )

    assert run("db", "upgrade").returncode == 0
    created = run(
        "create-user",
        "--email",
        "ops@hospital.test",
        "--name",
        "Ops",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "Created account ops@hospital.test (admin)." in created.stdout
    help_text = run("--help").stdout
    assert "create-user" in help_text
    assert "seed-demo" in help_text
