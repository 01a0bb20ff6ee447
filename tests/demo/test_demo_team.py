"""The demo team and its stories (``flask seed-demo``): written through the
services, they pass the same rule checks as the synthetic data; the logins
printed work; ``--if-empty`` leaves a seeded database as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.demo import checks
from tracker.auth.services import authenticate
from tracker.core.audit import acting_as
from tracker.core.time import local_today
from tracker.demo.team import DEMO_ACCOUNTS, seed_demo
from tracker.extensions import db

PASSWORD = "demo password for the tests"


def _rows() -> dict[str, int]:
    """How many rows each table holds."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_the_demo_data_passes_the_product_rule_checks(app):
    with acting_as("seed-demo"):
        seed_demo(PASSWORD)
    problems = checks.everything(local_today())
    assert {rule: found for rule, found in problems.items() if found} == {}


@pytest.mark.parametrize("size", [[], ["--cases", "40", "--seed", "2"]], ids=["team", "cases"])
def test_the_printed_logins_work_and_seeding_again_if_empty_changes_nothing(
    runner, instance_path, size
):
    kept = Path(instance_path, "demo-logins.txt")
    try:
        first = runner.invoke(args=["seed-demo", "--password", PASSWORD, *size])
        assert first.exit_code == 0, first.output
        for account in DEMO_ACCOUNTS:
            assert account.email in first.output
            assert authenticate(account.email, PASSWORD) is not None, account.email
        seeded = _rows()
        assert seeded["referrals"] >= 5
        for _ in range(2):
            again = runner.invoke(args=["seed-demo", "--if-empty", *size])
            assert again.exit_code == 0, again.output
            assert PASSWORD in again.output  # the logins kept, shown again
            assert _rows() == seeded
    finally:
        kept.unlink(missing_ok=True)
