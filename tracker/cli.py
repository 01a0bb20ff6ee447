"""``flask --app tracker ...`` commands."""

from __future__ import annotations

import getpass
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from tracker.auth import services as auth_services
from tracker.core.audit import acting_as
from tracker.core.db import writing
from tracker.core.errors import DomainError
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)

DEMO_LOGINS_FILE = "demo-logins.txt"


def _cli_actor(command: str) -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"cli:{command} ({who})"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("create-user")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", "full_name", required=True, help="Full name as shown to the team.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="A role; repeat for several.",
)
@click.option(
    "--specialty",
    default=Specialty.OTHER.value,
    show_default=True,
    type=click.Choice([specialty.value for specialty in Specialty]),
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(
    email: str, full_name: str, roles: tuple[str, ...], specialty: str, password_stdin: bool
) -> None:
    """Create an account (the password is prompted for unless --password-stdin)."""
    password = _read_password(password_stdin)
    with acting_as(_cli_actor("create-user")):
        try:
            user = auth_services.create_user(
                email=email,
                full_name=full_name,
                specialty=Specialty(specialty),
                roles={Role(role) for role in roles},
                password=password,
            )
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error.message)) from None
        db.session.commit()
    click.echo(f"Created account {user.email} ({', '.join(sorted(roles))}).")


@click.command("seed-demo")
@click.option("--password", help="Password of every demo account (generated if not given).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has accounts.")
@click.option(
    "--cases",
    type=click.IntRange(min=1),
    help="Generate this many synthetic cases (years of activity) instead of the small demo.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="The same seed gives the same data."
)
@with_appcontext
def seed_demo_command(password: str | None, if_empty: bool, cases: int | None, seed: int) -> None:
    """Fill an empty database with a demonstration team (and, with --cases,
    with years of synthetic activity)."""
    from tracker.demo.team import database_has_accounts, seed_demo

    if database_has_accounts():
        if if_empty:
            kept = Path(current_app.instance_path) / DEMO_LOGINS_FILE
            if kept.exists():
                click.echo(kept.read_text().rstrip())
            else:
                click.echo("The database already has accounts: no demo data added.")
            return
        raise click.ClickException(
            "The database already has accounts: demo data goes only into an empty database."
        )
    password = password or secrets.token_urlsafe(12)
    with acting_as(_cli_actor("seed-demo")), writing():
        try:
            accounts = _seed_synthetic(cases, seed, password) if cases else seed_demo(password)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error.message)) from None
        db.session.commit()
    lines = [f"Demo logins (password for all: {password})"]
    lines += [
        f"  {account.email:<28} {', '.join(sorted(r.value for r in account.roles))}"
        for account in accounts
    ]
    _keep_demo_logins(Path(current_app.instance_path), "\n".join(lines) + "\n")
    click.echo("\n".join(lines))


def _seed_synthetic(cases: int, seed: int, password: str) -> Any:
    import time as clock

    from tracker.demo.synthetic import seed_synthetic
    from tracker.demo.team import DEMO_ACCOUNTS

    started = clock.perf_counter()
    with click.progressbar(length=cases, label=f"Generating {cases} cases", width=30) as bar:
        summary = seed_synthetic(cases, seed, password, progress=bar.update)
    click.echo(
        f"{summary.cases} cases of {summary.patients} patients, {summary.meetings} meetings, "
        f"{summary.procedures} procedures, {summary.assessments} assessments "
        f"({summary.rows} rows) in {clock.perf_counter() - started:.0f} s."
    )
    return list(DEMO_ACCOUNTS)


def _keep_demo_logins(instance: Path, text: str) -> None:
    """Kept so that ``make run`` can show the logins again on later starts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / DEMO_LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


@click.group("scheduler")
def scheduler_group() -> None:
    """The background jobs (reminders, digests, roll-over, backups)."""


@scheduler_group.command("run")
@with_appcontext
def scheduler_run() -> None:
    """Run the scheduler in the foreground: one such process per installation."""
    from tracker.core.scheduler import build_scheduler, jobs, next_run

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = build_scheduler(app)
    for spec in jobs():
        click.echo(f"  {spec.id:<12} next run {next_run(spec):%Y-%m-%d %H:%M %Z}")
    click.echo("Scheduler running (Ctrl-C to stop).")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


@scheduler_group.command("run-once")
@click.argument("job_id")
@with_appcontext
def scheduler_run_once(job_id: str) -> None:
    """Run one job now (for cron users and for checking a job by hand)."""
    from tracker.core.scheduler import RunOutcome, get_job, jobs, run_job

    if get_job(job_id) is None:
        known = ", ".join(spec.id for spec in jobs())
        raise click.BadParameter(f"unknown job {job_id!r}; jobs: {known}", param_hint="JOB")
    run = run_job(job_id)
    click.echo(f"{job_id}: {run.outcome.name} {run.counts}")
    if run.outcome is not RunOutcome.OK:
        raise click.ClickException(run.error or "the job failed")


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


#: Rows edited behind the application's back listed by ``audit verify``; more are counted.
ROW_PROBLEMS_SHOWN = 50


@audit_group.command("verify")
@click.option(
    "--checkpoints",
    "checkpoints",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of the audit checkpoints (the backup folder): check that the trail "
    "still holds every entry they recorded, with the same MAC.",
)
@with_appcontext
def audit_verify(checkpoints: Path | None) -> None:
    """Check that no audit entry was altered, removed, forged or inserted behind
    the application's back, and that every clinical row still has the values its
    last audit entry recorded (exit status 1 if not)."""
    from tracker.core.audit import verify_anchors, verify_chain
    from tracker.core.checkpoints import verify_checkpoints

    connection = db.session.connection()
    problems: list[str] = []
    chain = verify_chain(connection)
    if chain.intact:
        keyed = (
            f"{chain.unkeyed} written before the audit key, keyed from entry {chain.keyed_since} on"
            if chain.unkeyed
            else "all keyed"
        )
        click.echo(
            f"Audit trail intact: {chain.checked} entries ({keyed}); "
            f"last entry {chain.head_id}, MAC {chain.head}"
        )
    else:
        problems.append(
            f"audit trail broken at entry {chain.broken_at}: {chain.problem} "
            f"({chain.checked} entries before it verify)"
        )
    rows = verify_anchors(connection, limit=ROW_PROBLEMS_SHOWN) if chain.intact else None
    if rows is None:
        problems.append("clinical rows not checked: the audit trail they are sealed by is broken")
    elif rows.intact:
        click.echo(
            f"Clinical rows: {rows.checked} match the audit entry of their last change"
            + (
                f" ({rows.not_anchored} not yet anchored: unchanged since the audit key)"
                if rows.not_anchored
                else ""
            )
        )
    else:
        problems += [f"{p.entity_type} {p.entity_id}: {p.problem}" for p in rows.problems]
        if rows.failed > len(rows.problems):
            problems.append(f"... {rows.failed} clinical rows in all")
    if checkpoints is not None:
        found = verify_checkpoints(connection, checkpoints, chain.keyed_since)
        problems += found.problems
        if found.intact and found.newest is not None:
            click.echo(
                f"Checkpoints: {found.checked} in {checkpoints} match the trail; the newest, "
                f"of {found.newest.written_at}, names entry {found.newest.entry_id}"
            )
    db.session.rollback()
    if problems:
        raise click.ClickException("\n".join(problems))


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(scheduler_group)
    app.cli.add_command(audit_group)
