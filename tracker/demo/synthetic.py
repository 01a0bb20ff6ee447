"""Synthetic data at network scale: years of referrals, meetings, decisions,
procedures and follow-ups, for trying the tool at size and for the benchmark.

Everything is drawn from one seed, so a given size and seed always give the
same data.  Rows are bulk-inserted (no service per case, no audit entry per
row): the audit trail gets one entry saying what was generated.  But every
value goes through the product's rules, as the services would have written
it: the quorum of each meeting (a decision without quorum postpones the case
to the next meeting), the decision's validation, the transition table for
each move of a case (each one on the case's timeline), the procedure's checks,
the follow-ups its technique plans, and the retreatment verdict with the
technique's thresholds.  ``tests/demo`` holds the data to the product's checks.

The data is plausible, not real: indications and techniques in the proportions
of a pain unit, a weekly rhythm of meetings with attendance, decisions mostly
proposing a procedure, follow-ups with pain that falls after treatment and
comes back as the nerve regrows, patients presented again for a second or
third episode, a few adverse events.
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from tracker.cases.models import CaseNumberCounter
from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Indication, Technique
from tracker.core.audit import AuditAction, record_access
from tracker.core.db import refresh_statistics
from tracker.core.time import local_today, site_timezone, utcnow
from tracker.demo.bulk import Ids, Rows, at, weighted
from tracker.demo.calendar import MeetingSlot, place_on_agenda, plan_meetings
from tracker.demo.decisions import discuss, record_procedure
from tracker.demo.followups import Again, follow_up
from tracker.demo.mix import CASE_MIX
from tracker.demo.people import Team, draw_contact, draw_patient, make_team
from tracker.demo.referrals import draw_referral, withdraw
from tracker.extensions import db
from tracker.followups.rules import Session
from tracker.followups.services import rule_settings
from tracker.followups.settings import REGROWTH_FAST, REGROWTH_SLOW
from tracker.meetings.settings import QUORUM_MINIMUM
from tracker.outcomes.evidence import refresh as refresh_evidence

logger = logging.getLogger(__name__)

#: Cases per meeting the network holds on average.
CASES_PER_MEETING = 24
#: Problems flushed to the database together.
BATCH = 1500


@dataclass(frozen=True)
class Summary:
    cases: int
    patients: int
    meetings: int
    procedures: int
    assessments: int
    rows: int


class Generator:
    """Draws the cases, problem by problem, and queues their rows: the state
    the steps of each case (``referrals``, ``decisions``, ``followups``) share."""

    def __init__(
        self, seed: int, cases: int, team: Team, meetings: list[MeetingSlot], ids: Ids
    ) -> None:
        self.rng = random.Random(seed)
        #: The patients' contact details, drawn apart (see ``draw_contact``).
        self.contact_rng = random.Random(f"contact:{seed}")
        self.team = team
        self.meetings = meetings
        self.meeting_days = [slot.day for slot in meetings]
        self.now = utcnow()
        self.zone = site_timezone()
        self.today = local_today()
        self.first_day = meetings[0].day if meetings else self.today
        self.ids = ids
        self.rows = Rows()
        self.numbers: dict[int, int] = defaultdict(int)
        self.made = 0
        #: The problem being drawn stops at this many cases in all.
        self.limit = cases
        self.patients = 0
        self.procedures = 0
        self.assessments = 0
        self.closely_followed = 0
        self.written = 0
        indications = {row.code: row for row in db.session.scalars(select(Indication))}
        self.techniques = {row.code: row for row in db.session.scalars(select(Technique))}
        # The thresholds of each technique, and the site's settings, as the product reads them.
        self.settings = {code: rule_settings(row) for code, row in self.techniques.items()}
        self.regrowth_rates = (REGROWTH_FAST.value, REGROWTH_SLOW.value)
        self.mix = [
            (indications[code], share, techniques)
            for code, (share, techniques) in CASE_MIX.items()
            if code in indications
        ]
        self.mrn = 10_000_000

    def at(self, day: date, hour: int) -> datetime:
        """A moment of that day (site time), never later than now."""
        return min(at(day, hour, self.zone), self.now)

    def problem(self) -> None:
        """One patient's problem, over up to four episodes."""
        rng = self.rng
        indication, _share, techniques = weighted(
            rng, tuple((entry, entry[1]) for entry in self.mix)
        )
        patient = draw_patient(self)
        patient_id = patient["id"]
        span = (self.today - self.first_day).days
        referral_on = self.first_day + timedelta(days=rng.randrange(max(span, 1)))
        draw_contact(self, patient, referral_on)
        baseline = rng.choice((5, 6, 6, 7, 7, 7, 8, 8, 9))
        previous: int | None = None
        sessions: list[Session] = []
        technique_code = weighted(rng, techniques)
        for _episode in range(4):
            if self.made >= self.limit or referral_on > self.today:
                return
            again = self._episode(
                patient_id, indication, technique_code, referral_on, baseline, previous, sessions
            )
            if again is None:
                return
            previous, referral_on, baseline = again.previous_id, again.referral_on, again.baseline

    def _episode(
        self,
        patient_id: int,
        indication: Indication,
        technique_code: str,
        referral_on: date,
        baseline: int,
        previous: int | None,
        sessions: list[Session],
    ) -> Again | None:
        """One referral and what followed; the next episode, if any."""
        rng = self.rng
        self.made += 1
        # Some recent sheets still wait for the patient's agreement: drafts.
        complete = not (referral_on > self.today - timedelta(days=10) and rng.random() < 0.4)
        referral = draw_referral(
            self,
            patient_id,
            indication,
            technique_code,
            referral_on,
            baseline,
            previous,
            complete=complete,
        )
        if referral["status"] is CaseStatus.DRAFT:
            return None
        if rng.random() < 0.01:
            reason = "The patient declined the procedure."
            withdraw(self, referral, reason, referral["created_at"])
            return None
        if referral_on > self.today - timedelta(days=14) and rng.random() < 0.4:
            return None  # waiting for the coordinator to put it on an agenda
        proposal = discuss(self, referral, technique_code)
        if proposal is None:
            return None
        performed = record_procedure(self, referral, proposal)
        if performed is None:
            return None
        return follow_up(self, referral, performed, baseline, sessions)

    def fill_next_meeting(self, cases: int) -> None:
        """The next meeting gets up to 30 cases: a full agenda to try the meeting page on."""
        upcoming = next((slot for slot in self.meetings if not slot.held), None)
        if upcoming is None:
            return
        indication, _share, techniques = self.mix[0]
        technique_code = techniques[0][0]
        while upcoming.items < 30 and upcoming.has_room and self.made < cases:
            patient = draw_patient(self)
            referral_on = self.today - timedelta(days=self.rng.randint(3, 20))
            draw_contact(self, patient, referral_on)
            patient_id = patient["id"]
            self.made += 1
            referral = draw_referral(
                self, patient_id, indication, technique_code, referral_on, 7, None
            )
            place_on_agenda(self, referral, upcoming, referral["created_at"])

    def flush(self) -> None:
        self.written += self.rows.flush()


def seed_synthetic(
    cases: int,
    seed: int,
    password: str,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Generate ``cases`` referrals and everything around them (the caller commits)."""
    if cases < 1:
        raise ValueError("at least one case")
    today = local_today()
    years = min(10, max(1, round(cases / 10_000)))
    first = today - timedelta(days=365 * years)
    per_week = max(1, math.ceil(cases / (years * 52 * CASES_PER_MEETING)))
    ids = Ids()
    team = make_team(cases, password, ids)
    meetings = plan_meetings(
        random.Random(seed),
        team,
        first,
        today + timedelta(days=28),
        per_week,
        ids,
        today=today,
        quorum_minimum=QUORUM_MINIMUM.value,
    )
    generator = Generator(seed, cases, team, meetings, ids)
    done = 0

    def generate(until: int) -> None:
        nonlocal done
        generator.limit = until
        while generator.made < until:
            for _ in range(BATCH):
                if generator.made >= until:
                    break
                generator.problem()
            generator.flush()
            if progress is not None:
                progress(generator.made - done)
            done = generator.made

    # The next meeting gets a full agenda of 30 cases, from within the total.
    generate(cases - min(30, cases // 10))
    generator.fill_next_meeting(cases)
    generator.flush()
    generate(cases)
    for year, number in generator.numbers.items():
        db.session.merge(CaseNumberCounter(year=year, last_number=number))
    record_access(
        AuditAction.INSERT,
        "SyntheticData",
        seed,
        details={"cases": cases, "seed": seed, "patients": generator.patients},
    )
    db.session.flush()
    ids.catch_up()
    # As after the first night's backup job: the planner knows the data; and
    # as after the first morning's job: meeting mode shows the unit's results.
    refresh_statistics(db.session.connection())
    refresh_evidence(utcnow())
    return Summary(
        cases=generator.made,
        patients=generator.patients,
        meetings=len(meetings),
        procedures=generator.procedures,
        assessments=generator.assessments,
        rows=generator.written,
    )
