"""The synthetic data (``seed-demo --cases N``) passes the product's own rule
checks, as real data written through the services would.

A few hundred cases over a year of weekly meetings, drawn from a fixed seed
on the test clock's day, are enough to meet every path: drafts, postponed
cases, procedures, follow-ups, recurrences, second episodes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.conftest import NOW, FakeClock
from tests.demo import checks
from tests.factories import make_patient, referral_details
from tracker.auth.models import User
from tracker.auth.services import authenticate
from tracker.cases import services as case_services
from tracker.cases.models import CaseEvent, Patient, Referral
from tracker.cases.rules import CaseStatus, case_number
from tracker.catalogue.models import Technique
from tracker.core.audit import acting_as
from tracker.core.settings import set_setting
from tracker.core.time import local_today, use_clock
from tracker.decisions.models import Decision, Outcome, Procedure
from tracker.demo.synthetic import seed_synthetic
from tracker.demo.team import DEMO_ACCOUNTS
from tracker.extensions import db
from tracker.followups.models import Assessment, CaseVerdict, FollowUp, FollowUpKind
from tracker.followups.rules import Kind
from tracker.followups.settings import REGROWTH_FAST, REGROWTH_SLOW
from tracker.meetings import services as meeting_services
from tracker.meetings.models import AgendaItem
from tracker.meetings.settings import QUORUM_MINIMUM

CASES = 300
SEED = 7
PASSWORD = "demo password for the tests"


def generate(cases: int = CASES, seed: int = SEED) -> None:
    with acting_as("seed-demo"):
        seed_synthetic(cases, seed, PASSWORD)


def _count(*columns: Any) -> Counter:
    rows = db.session.execute(select(*columns, func.count()).group_by(*columns))
    return Counter({tuple(key) if len(key) > 1 else key[0]: n for *key, n in rows})


@dataclass(frozen=True)
class Findings:
    #: What breaks each rule, by check.
    problems: dict[str, list[str]]
    #: What the data set holds, to show that the checks have something to check.
    statuses: Counter
    outcomes: Counter
    verdicts: Counter
    followups: Counter
    counts: dict[str, int]


def _away_from_the_defaults() -> None:
    """The site's settings and a technique's thresholds moved off their
    defaults: a generator that spelled the defaults instead of reading them
    would fail the checks."""
    set_setting(QUORUM_MINIMUM, 4)
    set_setting(REGROWTH_FAST, 2.5)
    set_setting(REGROWTH_SLOW, 0.8)
    db.session.execute(
        update(Technique)
        .where(Technique.code == "cryoneurolysis")
        .values(min_retreat_days=60, recurrence_pct=40, followup_days=[7, 30, 91, 150, 365])
    )
    # A short schedule: within the year generated, some follow-ups end and cases close.
    db.session.execute(
        update(Technique).where(Technique.code == "infiltration").values(followup_days=[7, 30, 91])
    )


@pytest.fixture(scope="module")
def findings(app: Any) -> Findings:
    """One data set for the module's checks (generating it is the slow part),
    in a transaction of its own that is rolled back, as the suite's fixture does."""
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        try:
            with use_clock(FakeClock(NOW)):
                _away_from_the_defaults()
                generate()
                today = local_today()
                return Findings(
                    problems=checks.everything(today),
                    statuses=_count(Referral.status),
                    outcomes=_count(Decision.outcome, Decision.quorum_met),
                    verdicts=_count(CaseVerdict.kind),
                    followups=_count(FollowUp.kind),
                    counts={
                        name: db.session.scalar(select(func.count()).select_from(model))
                        for name, model in (("referrals", Referral), ("assessments", Assessment))
                    }
                    | {
                        name: db.session.scalar(select(func.count()).where(condition))
                        for name, condition in (
                            ("with a phone", Patient.phone_1.is_not(None)),
                            ("with two phones", Patient.phone_2.is_not(None)),
                            ("with an e-mail", Patient.email.is_not(None)),
                            ("consenting", Patient.contact_consent_on.is_not(None)),
                            ("without contact", Patient.phone_1.is_(None)),
                            ("again", Referral.previous_referral_id.is_not(None)),
                            ("deviations", Procedure.deviation_reason.is_not(None)),
                            (
                                "closed after follow-up",
                                (Referral.status == CaseStatus.CLOSED)
                                & Referral.id.in_(select(Procedure.referral_id)),
                            ),
                        )
                    },
                )
        finally:
            db.session.remove()
            transaction.rollback()
            connection.close()
            engines[None] = engine


@pytest.mark.parametrize("rule", [check.__name__ for check in checks.CHECKS])
def test_the_generated_data_passes_the_product_rule_check(findings, rule):
    assert findings.problems[rule] == []


def test_the_data_set_meets_every_path_the_checks_guard(findings):
    """Without this, the checks could pass on data that never postpones a
    case, never treats one or never sees the pain come back."""
    assert findings.counts["referrals"] == CASES
    assert set(findings.statuses) == set(CaseStatus), findings.statuses
    assert findings.outcomes[(Outcome.POSTPONED, False)] > 0, findings.outcomes
    assert findings.outcomes[(Outcome.PROCEDURE_PROPOSED, True)] > 0, findings.outcomes
    assert set(findings.verdicts) == set(Kind), findings.verdicts
    assert findings.followups[FollowUpKind.REGROWTH] > 0
    assert findings.counts["assessments"] > CASES
    assert findings.counts["again"] > 0
    assert findings.counts["deviations"] > 0
    assert findings.counts["closed after follow-up"] > 0
    # Most patients can be phoned and agreed to it; some have nothing recorded yet.
    patients = findings.counts["with a phone"] + findings.counts["without contact"]
    assert findings.counts["with a phone"] > 0.8 * patients
    assert findings.counts["consenting"] > 0.6 * patients
    assert findings.counts["without contact"] > 0
    assert findings.counts["with two phones"] > 0
    assert findings.counts["with an e-mail"] > 0


def _snapshot() -> list[tuple]:
    return [
        *db.session.execute(
            select(Referral.case_number, Referral.status, Referral.nrs_average).order_by(
                Referral.id
            )
        ),
        *db.session.execute(
            select(CaseEvent.referral_id, CaseEvent.to_status).order_by(CaseEvent.id)
        ),
        *db.session.execute(
            select(Assessment.assessed_on, Assessment.nrs_average).order_by(Assessment.id)
        ),
        *db.session.execute(
            select(Patient.phone_1, Patient.email, Patient.contact_consent_on).order_by(Patient.id)
        ),
    ]


def test_the_same_seed_gives_the_same_data(app):
    """The benchmark keeps its databases by size and seed."""
    attempt = db.session.begin_nested()
    generate(120, 3)
    first = _snapshot()
    attempt.rollback()
    generate(120, 3)
    assert _snapshot() == first


@pytest.fixture
def generated(app: Any) -> None:
    generate()


def test_the_demo_logins_work(generated):
    for account in DEMO_ACCOUNTS:
        assert authenticate(account.email, PASSWORD) is not None, account.email


def test_the_services_carry_on_after_the_bulk_rows(generated):
    """Ids and case numbers continue where the generator stopped (on
    PostgreSQL too, whose sequences the bulk rows do not move on)."""
    radiologist = db.session.scalar(select(User).where(User.email == "radiologist@example.org"))
    patient = make_patient()
    details = referral_details(referrer_id=radiologist.id)
    referral = case_services.refer_case(patient, details, by=radiologist)
    year = details["referral_on"].year
    given = select(func.count()).where(Referral.case_number.like(f"RCP-{year}-%"))
    assert referral.case_number == case_number(year, db.session.scalar(given))
    meeting = meeting_services.create_meeting(
        meeting_services.MeetingDetails(
            starts_at=meeting_services.local_start(date(2026, 12, 1), time(17)),
            duration_minutes=60,
            capacity=10,
            place="Staff room",
        )
    )
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@example.org"))
    item = meeting_services.add_to_agenda(meeting, referral, by=coordinator)
    assert referral.status is CaseStatus.SCHEDULED
    assert item.id > db.session.scalar(select(func.min(AgendaItem.id)))
