"""Synthetic data at network scale: years of referrals, meetings, decisions,
procedures and follow-ups, for trying the tool at size and for the benchmark.

Everything is drawn from one seed, so a given size and seed always give the
same data.  Rows are bulk-inserted (no service per case, no audit entry per
row): the audit trail gets one entry saying what was generated.  The data is
plausible, not real: indications and techniques in the proportions of a pain
unit, a weekly rhythm of meetings with attendance, decisions mostly proposing
a procedure, follow-ups on each technique's schedule with pain that falls
after treatment and comes back as the nerve regrows, patients presented again
for a second or third episode, a few adverse events.
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from tracker.auth import services as auth_services
from tracker.auth.models import User, UserRole
from tracker.cases.models import (
    Anticoagulation,
    CaseEvent,
    CaseEventKind,
    CaseNumberCounter,
    Mechanism,
    PainSide,
    Patient,
    Referral,
    Sex,
    TreatmentTried,
    Urgency,
    name_key,
)
from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Indication, Technique
from tracker.core.audit import AuditAction, record_access
from tracker.core.db import refresh_statistics
from tracker.core.mail import OutboxMessage
from tracker.core.permissions import Role
from tracker.core.specialties import Specialty
from tracker.core.time import local_today, site_timezone, utcnow
from tracker.decisions.models import (
    AdverseEvent,
    Anaesthesia,
    CareSetting,
    Decision,
    DecisionStatus,
    Guidance,
    Outcome,
    PatientAnswer,
    PlanPriority,
    Procedure,
    ProcedurePlan,
    procedure_operators,
)
from tracker.decisions.rules import TECHNIQUE_PARAMETERS
from tracker.demo.team import DEMO_ACCOUNTS
from tracker.extensions import db
from tracker.followups.models import (
    AnalgesicUse,
    Assessment,
    AssessmentMode,
    CaseVerdict,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.rules import Reading, Session, regrowth_window, retreatment_verdict
from tracker.followups.services import rule_settings
from tracker.meetings.models import AgendaItem, Attendance, ItemState, Meeting, MeetingStatus

logger = logging.getLogger(__name__)

#: Cases per meeting the network holds on average.
CASES_PER_MEETING = 24
#: Problems flushed to the database together.
BATCH = 1500

LAST_NAMES = tuple(
    (
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
        "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard Andre "
        "Mercier Dupont Lambert Bonnet Francois Martinez Legrand Garnier Faure Rousseau Blanc "
        "Guerin Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement Gauthier Dumont "
        "Lopez Fontaine Chevalier Robin Masson Sanchez Gerard Nguyen Boyer Denis Lemaire "
        "Duval Joly Gautier Roger"
    ).split()
)
FIRST_NAMES = {
    Sex.FEMALE: tuple(
        (
            "Marie Nathalie Isabelle Sylvie Catherine Sophie Christine Valerie Sandrine Anne "
            "Monique Francoise Julie Camille Aurelie Celine Emilie Laura Manon Chloe Ines"
        ).split()
    ),
    Sex.MALE: tuple(
        (
            "Jean Philippe Michel Alain Patrick Nicolas Christophe Pierre Daniel Bernard Eric "
            "Frederic Laurent Stephane David Julien Thomas Antoine Hugo Lucas Karim"
        ).split()
    ),
}

#: Indication code -> (share of referrals, techniques with their shares).
CASE_MIX: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "morton_neuroma": (0.10, (("cryoneurolysis", 0.8), ("infiltration", 0.2))),
    "peripheral_nerve": (0.05, (("cryoneurolysis", 0.8), ("radiofrequency", 0.2))),
    "intercostal_pain": (0.02, (("cryoneurolysis", 0.6), ("chemical_neurolysis", 0.4))),
    "levator_ani": (0.02, (("botulinum_toxin", 1.0),)),
    "headache_facial": (
        0.05,
        (("radiofrequency", 0.5), ("cryoneurolysis", 0.3), ("botulinum_toxin", 0.2)),
    ),
    "spinal_pain": (0.16, (("radiofrequency", 0.6), ("infiltration", 0.4))),
    "radicular_pain": (0.13, (("infiltration", 0.8), ("radiofrequency", 0.2))),
    "pelvic_neuralgia": (
        0.08,
        (("infiltration", 0.4), ("botulinum_toxin", 0.3), ("cryoneurolysis", 0.3)),
    ),
    "osteoporotic_fracture": (0.08, (("cementoplasty", 1.0),)),
    "bone_metastasis": (
        0.08,
        (("cementoplasty", 0.6), ("tumour_ablation", 0.3), ("osteosynthesis", 0.1)),
    ),
    "isthmic_lysis": (0.03, (("infiltration", 0.7), ("radiofrequency", 0.3))),
    "spinal_osteoarthritis": (0.10, (("radiofrequency", 0.7), ("infiltration", 0.3))),
    "limb_osteoarthritis": (
        0.07,
        (("radiofrequency", 0.5), ("infiltration", 0.3), ("embolisation", 0.2)),
    ),
    "capsulo_ligamentous": (0.06, (("infiltration", 0.7), ("embolisation", 0.3))),
}

#: Technique code -> (chance of a response, median relief in days or None when the
#: effect does not wear off, its spread).
RESPONSE: dict[str, tuple[float, int | None, float]] = {
    "cryoneurolysis": (0.75, 270, 0.5),
    "radiofrequency": (0.70, 400, 0.5),
    "chemical_neurolysis": (0.70, 500, 0.5),
    "botulinum_toxin": (0.65, 130, 0.35),
    "infiltration": (0.60, 70, 0.6),
    "cementoplasty": (0.88, None, 0.0),
    "osteosynthesis": (0.80, None, 0.0),
    "tumour_ablation": (0.75, 420, 0.6),
    "embolisation": (0.65, 360, 0.5),
}

NERVE_DISTANCES = {
    "cryoneurolysis": (20, 120),
    "radiofrequency": (15, 60),
    "chemical_neurolysis": (30, 150),
}


@dataclass
class Team:
    radiologists: list[int]
    referrers: list[int]
    coordinators: list[int]
    members: list[tuple[int, str, Specialty]]
    emails: dict[int, str]


@dataclass
class MeetingSlot:
    id: int
    starts_at: datetime
    day: date
    chair_id: int
    participants: list[dict[str, Any]]
    quorum_met: bool
    held: bool
    items: int = 0


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


@dataclass(frozen=True)
class Summary:
    cases: int
    patients: int
    meetings: int
    procedures: int
    assessments: int
    rows: int


def _weighted(rng: random.Random, choices: tuple[tuple[Any, float], ...]) -> Any:
    pick = rng.random() * sum(weight for _value, weight in choices)
    for value, weight in choices:
        pick -= weight
        if pick <= 0:
            return value
    return choices[-1][0]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=site_timezone()).astimezone(UTC)


def _team(cases: int, password: str) -> Team:
    """The demo accounts (logins printed) and as many more colleagues as the
    size calls for, sharing the demo password."""
    created = {
        account.email: auth_services.create_user(
            email=account.email,
            full_name=account.full_name,
            specialty=account.specialty,
            roles=account.roles,
            password=password,
        )
        for account in DEMO_ACCOUNTS
    }
    password_hash = created["radiologist@example.org"].password_hash
    wanted = (
        (Role.RADIOLOGIST, Specialty.INTERVENTIONAL_RADIOLOGY, max(2, cases // 4000)),
        (Role.CLINICIAN, Specialty.PAIN_MEDICINE, max(2, cases // 6000)),
        (Role.CLINICIAN, Specialty.ANAESTHESIOLOGY, max(1, cases // 12000)),
        (Role.CLINICIAN, Specialty.NEUROLOGY, max(1, cases // 25000)),
        (Role.CLINICIAN, Specialty.RHEUMATOLOGY, max(1, cases // 25000)),
        (Role.CLINICIAN, Specialty.ONCOLOGY, max(1, cases // 25000)),
        (Role.CLINICIAN, Specialty.SURGERY, max(1, cases // 25000)),
        (Role.COORDINATOR, Specialty.OTHER, max(1, cases // 25000)),
    )
    rng = random.Random(f"team:{cases}")
    users, roles = [], []
    next_id = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    for role, specialty, count in wanted:
        for _ in range(count):
            sex = rng.choice((Sex.FEMALE, Sex.MALE))
            first, last = rng.choice(FIRST_NAMES[sex]), rng.choice(LAST_NAMES)
            prefix = "" if role is Role.COORDINATOR else "Dr "
            users.append(
                {
                    "id": next_id,
                    "email": f"{name_key(first)}.{name_key(last)}.{next_id}@example.org",
                    "full_name": f"{prefix}{first} {last}",
                    "specialty": specialty,
                    "password_hash": password_hash,
                    "is_active": True,
                    "created_at": utcnow(),
                    "email_followup_digest": True,
                    "email_meeting_reminders": True,
                    "email_eligible_cases": True,
                    "email_draft_reminders": True,
                }
            )
            roles.append({"user_id": next_id, "role": role})
            next_id += 1
    db.session.flush()
    db.session.execute(User.__table__.insert(), users)
    db.session.execute(UserRole.__table__.insert(), roles)
    members = [(user.id, user.full_name, user.specialty) for user in created.values()] + [
        (row["id"], row["full_name"], row["specialty"]) for row in users
    ]
    by_role = defaultdict(list)
    for user in created.values():
        for role in user.roles:
            by_role[role].append(user.id)
    for row, link in zip(users, roles, strict=True):
        by_role[link["role"]].append(row["id"])
    return Team(
        radiologists=by_role[Role.RADIOLOGIST],
        referrers=by_role[Role.RADIOLOGIST] + by_role[Role.CLINICIAN],
        coordinators=by_role[Role.COORDINATOR],
        members=members,
        emails={user.id: user.email for user in created.values()}
        | {row["id"]: row["email"] for row in users},
    )


def _meetings(
    rng: random.Random, team: Team, first: date, last: date, per_week: int, ids: Ids
) -> list[MeetingSlot]:
    """Every week, ``per_week`` meetings (on different days), up to ``last``."""
    radiologists = [m for m in team.members if m[2] is Specialty.INTERVENTIONAL_RADIOLOGY]
    others = [m for m in team.members if m[2] is not Specialty.INTERVENTIONAL_RADIOLOGY]
    today = local_today()
    slots, meeting_rows, attendance_rows = [], [], []
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        for index in range(per_week):
            day = monday + timedelta(days=(1 + index) % 5)
            if day < first or day > last:
                continue
            meeting_id = ids.next(Meeting)
            chair = rng.choice(radiologists)
            present = [chair, *rng.sample(others, min(len(others), rng.randint(2, 5)))]
            specialties = {member[2] for member in present} - {
                Specialty.NURSING,
                Specialty.OTHER,
            }
            held = day < today
            starts_at = _at(day, 17 if index % 2 == 0 else 13)
            slots.append(
                MeetingSlot(
                    meeting_id,
                    starts_at,
                    day,
                    chair[0],
                    [
                        {"name": name, "specialty": specialty.name, "roles": [], "guest": False}
                        for _id, name, specialty in present
                    ],
                    len(specialties) >= 3,
                    held,
                )
            )
            meeting_rows.append(
                {
                    "id": meeting_id,
                    "starts_at": starts_at,
                    "duration_minutes": 120,
                    "place": f"Staff room {index + 1}",
                    "chair_id": chair[0],
                    "coordinator_id": rng.choice(team.coordinators),
                    "capacity": 40,
                    "status": MeetingStatus.HELD if held else MeetingStatus.PLANNED,
                    "uid": f"synthetic-{meeting_id}@rcp-tracker",
                    "sequence": 0,
                    "attendance_validated_at": starts_at + timedelta(hours=2) if held else None,
                    "attendance_validated_by_id": chair[0] if held else None,
                    "created_at": starts_at - timedelta(days=30),
                }
            )
            if held:
                attendance_rows += [
                    {
                        "id": ids.next(Attendance),
                        "meeting_id": meeting_id,
                        "user_id": member[0],
                        "specialty": member[2],
                    }
                    for member in present
                ]
        monday += timedelta(days=7)
    db.session.execute(Meeting.__table__.insert(), meeting_rows)
    if attendance_rows:
        db.session.execute(Attendance.__table__.insert(), attendance_rows)
    return slots


class Generator:
    """Draws the cases, problem by problem, and queues their rows."""

    def __init__(self, seed: int, cases: int, team: Team, meetings: list[MeetingSlot]) -> None:
        self.rng = random.Random(seed)
        self.team = team
        self.meetings = meetings
        self.meeting_days = [slot.day for slot in meetings]
        self.today = local_today()
        self.first_day = meetings[0].day if meetings else self.today
        self.ids = Ids()
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
        self.settings = {code: rule_settings(row) for code, row in self.techniques.items()}
        self.mix = [
            (indications[code], share, techniques)
            for code, (share, techniques) in CASE_MIX.items()
            if code in indications
        ]
        self.mrn = 10_000_000

    # --- helpers -----------------------------------------------------------------

    def _meeting_after(self, day: date) -> MeetingSlot | None:
        from bisect import bisect_left

        index = bisect_left(self.meeting_days, day)
        while index < len(self.meetings):
            slot = self.meetings[index]
            # A full meeting passes the case on to the next one.
            if slot.items < 40:
                return slot
            index += 1
        return None

    def _case_number(self, day: date) -> str:
        self.numbers[day.year] += 1
        return f"RCP-{day.year}-{self.numbers[day.year]:04d}"

    # --- one problem, over its episodes --------------------------------------------

    def problem(self) -> None:
        rng = self.rng
        indication, _share, techniques = _weighted(
            rng, tuple((entry, entry[1]) for entry in self.mix)
        )
        patient_id = self._patient()
        span = (self.today - self.first_day).days
        referral_on = self.first_day + timedelta(days=rng.randrange(max(span, 1)))
        baseline = rng.choice((5, 6, 6, 7, 7, 7, 8, 8, 9))
        previous: int | None = None
        sessions: list[Session] = []
        technique_code = _weighted(rng, techniques)
        for _episode in range(4):
            if self.made >= self.limit or referral_on > self.today:
                return
            result = self._episode(
                patient_id, indication, technique_code, referral_on, baseline, previous, sessions
            )
            if result is None:
                return
            previous, referral_on, baseline = result

    def _patient(self) -> int:
        rng = self.rng
        sex = Sex.FEMALE if rng.random() < 0.58 else Sex.MALE
        last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES[sex])
        patient_id = self.ids.next(Patient)
        self.mrn += rng.randint(1, 40)
        self.rows.add(
            Patient.__table__,
            {
                "id": patient_id,
                "mrn": str(self.mrn),
                "last_name": last,
                "first_name": first,
                "birth_on": date(rng.randint(1930, 2000), rng.randint(1, 12), rng.randint(1, 28)),
                "sex": sex,
                "last_first_key": name_key(last, first),
                "first_last_key": name_key(first, last),
                "created_at": utcnow(),
            },
        )
        self.patients += 1
        return patient_id

    def _episode(
        self,
        patient_id: int,
        indication: Indication,
        technique_code: str,
        referral_on: date,
        baseline: int,
        previous: int | None,
        sessions: list[Session],
    ) -> tuple[int, date, int] | None:
        """One referral and what followed; the next episode's referral, if any."""
        rng = self.rng
        self.made += 1
        referral_id = self.ids.next(Referral)
        referrer = rng.choice(self.team.referrers)
        created_at = _at(referral_on, 9)
        referral = {
            "id": referral_id,
            "case_number": self._case_number(referral_on),
            "patient_id": patient_id,
            "status": CaseStatus.REFERRED,
            "version": 1,
            "referrer_id": referrer,
            "external_referrer": None,
            "referral_on": referral_on,
            "urgency": Urgency.URGENT if rng.random() < 0.06 else Urgency.ROUTINE,
            "indication_id": indication.id,
            "pain_site": indication.name_en[:200],
            "pain_side": rng.choice(list(PainSide)),
            "mechanism": rng.choice(list(Mechanism)),
            "pain_duration_months": rng.randint(3, 60),
            "nrs_now": min(10, baseline + rng.randint(-1, 1)),
            "nrs_average": baseline,
            "nrs_worst": min(10, baseline + rng.randint(1, 2)),
            "dn4": rng.randint(0, 10),
            "treatments_tried": [
                member.name for member in rng.sample(list(TreatmentTried), rng.randint(1, 3))
            ],
            "anticoagulation": _weighted(
                rng,
                (
                    (Anticoagulation.NONE, 0.8),
                    (Anticoagulation.ANTIPLATELET, 0.15),
                    (Anticoagulation.ANTICOAGULANT, 0.05),
                ),
            ),
            "allergies": "None known",
            "is_oncology": indication.code == "bone_metastasis",
            "has_bone_metastases": indication.code == "bone_metastasis",
            "question": f"{self.techniques[technique_code].name_en}?",
            "patient_agreed_on": referral_on,
            "previous_referral_id": previous,
            "recurrence_reason": "Pain back after regrowth" if previous else None,
            "created_at": created_at,
            "created_by_id": referrer,
        }
        self.rows.add(Referral.__table__, referral)
        self._event(referral_id, created_at, CaseEventKind.CREATED, None, CaseStatus.DRAFT)

        if referral_on > self.today - timedelta(days=3) and rng.random() < 0.3:
            return self._finish(referral, CaseStatus.DRAFT, created_at)
        if rng.random() < 0.01:
            referral["withdrawn_reason"] = "The patient declined the procedure."
            return self._finish(referral, CaseStatus.WITHDRAWN, created_at)
        slot = self._meeting_after(referral_on + timedelta(days=rng.randint(2, 20)))
        if slot is None:
            return self._finish(referral, CaseStatus.REFERRED, created_at)
        item_id = self.ids.next(AgendaItem)
        slot.items += 1
        presenter = rng.choice(self.team.radiologists)
        item = {
            "id": item_id,
            "meeting_id": slot.id,
            "referral_id": referral_id,
            "position": slot.items,
            "presenter_id": presenter,
            "minutes": 10,
            "state": ItemState.DISCUSSED if slot.held else ItemState.PENDING,
            "created_at": created_at,
            "state_changed_at": slot.starts_at if slot.held else None,
        }
        self.rows.add(AgendaItem.__table__, item)
        if not slot.held:
            return self._finish(referral, CaseStatus.SCHEDULED, created_at)

        outcome = _weighted(
            rng,
            (
                (Outcome.PROCEDURE_PROPOSED, 0.78),
                (Outcome.MEDICAL_TREATMENT, 0.09),
                (Outcome.FURTHER_INVESTIGATION, 0.05),
                (Outcome.NOT_INDICATED, 0.04),
                (Outcome.REFERRAL_ELSEWHERE, 0.04),
            ),
        )
        decided_at = slot.starts_at + timedelta(minutes=30)
        answer = None
        if outcome is Outcome.PROCEDURE_PROPOSED:
            answer = _weighted(
                rng,
                (
                    (PatientAnswer.ACCEPTS, 0.93),
                    (PatientAnswer.REFUSES, 0.05),
                    (PatientAnswer.WANTS_TIME, 0.02),
                ),
            )
        decision_id = self.ids.next(Decision)
        self.rows.add(
            Decision.__table__,
            {
                "id": decision_id,
                "referral_id": referral_id,
                "meeting_id": slot.id,
                "agenda_item_id": item_id,
                "status": DecisionStatus.VALIDATED,
                "outcome": outcome,
                "reasons": "Refractory pain despite the treatments tried.",
                "follows_guidelines": True,
                "clinical_trial_proposed": False,
                "participants": slot.participants,
                "quorum_met": slot.quorum_met,
                "validated_at": decided_at,
                "validated_by_id": slot.chair_id,
                "recorded_by_id": slot.chair_id,
                "created_at": decided_at,
                "informed_on": slot.day + timedelta(days=7) if answer else None,
                "informed_by_id": referrer if answer else None,
                "patient_answer": answer,
                "version": 2,
            },
        )
        if outcome is not Outcome.PROCEDURE_PROPOSED or answer is not PatientAnswer.ACCEPTS:
            return self._finish(referral, CaseStatus.CLOSED, decided_at)

        technique = self.techniques[technique_code]
        low_high = NERVE_DISTANCES.get(technique_code)
        distance = rng.randint(*low_high) if low_high else None
        plan_id = self.ids.next(ProcedurePlan)
        self.rows.add(
            ProcedurePlan.__table__,
            {
                "id": plan_id,
                "decision_id": decision_id,
                "referral_id": referral_id,
                "technique_id": technique.id,
                "side": referral["pain_side"],
                "guidance": [
                    rng.choice(
                        [Guidance.ULTRASOUND.name, Guidance.CT.name, Guidance.FLUOROSCOPY.name]
                    )
                ],
                "anaesthesia": Anaesthesia.LOCAL if rng.random() < 0.8 else Anaesthesia.SEDATION,
                "care_setting": CareSetting.AMBULATORY,
                "anaesthetist_needed": False,
                "priority": PlanPriority.ROUTINE,
                "distance_mm": distance,
                "consent_on": slot.day + timedelta(days=7),
            },
        )
        performed_on = slot.day + timedelta(days=rng.randint(7, 56))
        if performed_on > self.today:
            return self._finish(referral, CaseStatus.PLANNED, decided_at)
        used = technique
        deviation = None
        if rng.random() < 0.04:
            used = self.techniques[
                "infiltration" if technique_code != "infiltration" else "radiofrequency"
            ]
            deviation = "Anatomy seen on the day made the planned technique unsafe."
        return self._procedure(
            referral, plan_id, used, performed_on, distance, deviation, baseline, sessions
        )

    def _procedure(
        self,
        referral: dict[str, Any],
        plan_id: int,
        technique: Technique,
        performed_on: date,
        distance: int | None,
        deviation: str | None,
        baseline: int,
        sessions: list[Session],
    ) -> tuple[int, date, int] | None:
        rng = self.rng
        referral_id = referral["id"]
        procedure_id = self.ids.next(Procedure)
        operator = rng.choice(self.team.radiologists)
        params: dict[str, Any] = dict.fromkeys(TECHNIQUE_PARAMETERS)
        if technique.code == "cryoneurolysis":
            params |= {
                "cryo_cycles": 2,
                "cryo_freeze_minutes": 3.0,
                "cryo_probe_temperature_c": -70,
            }
        elif technique.code == "radiofrequency":
            params |= {"rf_temperature_c": 90, "rf_duration_seconds": 90}
        elif technique.code == "botulinum_toxin":
            params |= {"toxin_units": rng.choice((50, 100, 150))}
        elif technique.code == "cementoplasty":
            params |= {"cement_volume_ml": round(rng.uniform(2, 6), 1), "cement_levels": "L2"}
        self.rows.add(
            Procedure.__table__,
            {
                "id": procedure_id,
                "referral_id": referral_id,
                "plan_id": plan_id,
                "performed_on": performed_on,
                "technique_id": technique.id,
                "deviation_reason": deviation,
                "distance_mm": distance,
                "immediate_result": "Uneventful.",
                "recorded_by_id": operator,
                "created_at": _at(performed_on, 16),
                **params,
            },
        )
        self.rows.add(procedure_operators, {"procedure_id": procedure_id, "user_id": operator})
        self.procedures += 1
        worst = None
        if rng.random() < 0.06:
            worst = _weighted(rng, ((1, 0.65), (2, 0.28), (3, 0.06), (4, 0.01)))
            self.rows.add(
                AdverseEvent.__table__,
                {
                    "id": self.ids.next(AdverseEvent),
                    "procedure_id": procedure_id,
                    "cirse_grade": worst,
                    "description": "Haematoma at the puncture site.",
                    "recorded_at": _at(performed_on, 17),
                },
            )

        responds, median, spread = RESPONSE.get(technique.code, (0.6, 200, 0.5))
        responder = rng.random() < responds
        relief_level = max(0, round(baseline * rng.uniform(0.1, 0.5)))
        lasts = None
        if responder and median is not None:
            lasts = max(14, round(median * math.exp(rng.gauss(0, spread))))
        relapsed_on = performed_on + timedelta(days=lasts) if lasts else None

        def pain_on(day: date) -> int:
            if not responder:
                return max(0, baseline - rng.randint(0, 2))
            if relapsed_on is None or day < relapsed_on:
                return max(0, min(10, relief_level + rng.randint(-1, 1)))
            return min(10, max(0, round(baseline * rng.uniform(0.75, 1.05))))

        offsets = [(FollowUpKind.SCHEDULED, days, None) for days in technique.followup_days or []]
        window = (
            regrowth_window(performed_on, distance, 3.0, 1.0) if technique.acts_on_nerve else None
        )
        if window is not None:
            middle = window[0] + (window[1] - window[0]) / 2
            offsets.append((FollowUpKind.REGROWTH, (middle - performed_on).days, window))
        readings: list[Reading] = []
        planned_left = False
        noticed: tuple[date, int] | None = None
        for kind, days, window in sorted(offsets, key=lambda entry: entry[1]):
            due_on = performed_on + timedelta(days=days)
            followup_id = self.ids.next(FollowUp)
            status = FollowUpStatus.PLANNED
            if due_on <= self.today:
                done_chance = 0.95 - min(days, 365) / 365 * 0.2
                if rng.random() < done_chance:
                    status = FollowUpStatus.DONE
                elif due_on < self.today - timedelta(days=21):
                    status = FollowUpStatus.MISSED
            planned_left = planned_left or status is FollowUpStatus.PLANNED
            self.rows.add(
                FollowUp.__table__,
                {
                    "id": followup_id,
                    "procedure_id": procedure_id,
                    "referral_id": referral_id,
                    "kind": kind,
                    "offset_days": days,
                    "due_on": due_on,
                    "window_start_on": window[0] if window else None,
                    "window_end_on": window[1] if window else None,
                    "status": status,
                    "responsible_id": referral["referrer_id"],
                    "missed_reason": "Could not be reached."
                    if status is FollowUpStatus.MISSED
                    else None,
                    "created_at": _at(performed_on, 16),
                },
            )
            if status is not FollowUpStatus.DONE:
                continue
            assessed_on = min(self.today, due_on + timedelta(days=rng.randint(-2, 7)))
            nrs = pain_on(assessed_on)
            back = bool(relapsed_on and assessed_on >= relapsed_on and rng.random() < 0.6)
            readings.append(Reading(assessed_on, nrs, back))
            if relapsed_on and assessed_on >= relapsed_on and noticed is None:
                noticed = (assessed_on, nrs)
            self._assessment(referral, procedure_id, followup_id, assessed_on, nrs, back, baseline)
        # About one patient in a hundred is seen every month between the time points
        # (a trial, a worried team): the long case pages that users open too.
        if performed_on <= self.today - timedelta(days=700) and (
            not self.closely_followed or rng.random() < 0.01
        ):
            self.closely_followed += 1
            for month in range(1, 24):
                if len(readings) >= 20:
                    break
                assessed_on = performed_on + timedelta(days=30 * month + 15)
                nrs = pain_on(assessed_on)
                back = bool(relapsed_on and assessed_on >= relapsed_on)
                readings.append(Reading(assessed_on, nrs, back))
                self._assessment(referral, procedure_id, None, assessed_on, nrs, back, baseline)
            readings.sort(key=lambda reading: reading.on)
        sessions.append(
            Session(
                performed_on=performed_on,
                baseline=baseline,
                readings=tuple(readings),
                worst_cirse_grade=worst,
                settings=self.settings[technique.code],
                technique=technique.name_en,
            )
        )
        again = None
        if noticed is not None and rng.random() < 0.55:
            next_on = noticed[0] + timedelta(days=rng.randint(14, 60))
            if next_on <= self.today:
                again = (referral_id, next_on, max(4, noticed[1]))
        status = (
            CaseStatus.FOLLOW_UP
            if planned_left or (noticed is not None and again is None)
            else CaseStatus.CLOSED
        )
        self._finish(referral, status, _at(performed_on, 16))
        # Every treated case keeps its verdict, as when assessments are recorded.
        self._verdict(referral, sessions)
        return again

    def _assessment(
        self,
        referral: dict[str, Any],
        procedure_id: int,
        followup_id: int | None,
        assessed_on: date,
        nrs: int,
        back: bool,
        baseline: int,
    ) -> None:
        rng = self.rng
        self.rows.add(
            Assessment.__table__,
            {
                "id": self.ids.next(Assessment),
                "referral_id": referral["id"],
                "procedure_id": procedure_id,
                "followup_id": followup_id,
                "assessed_on": assessed_on,
                "mode": AssessmentMode.PHONE if rng.random() < 0.6 else AssessmentMode.VISIT,
                "nrs_now": nrs,
                "nrs_average": nrs,
                "nrs_worst": min(10, nrs + 2),
                "relief_pct": max(0, round((baseline - nrs) * 100 / baseline))
                if baseline
                else None,
                "pgic": 2 if nrs < baseline * 0.7 else 4,
                "side_effects": [],
                "analgesic_use": AnalgesicUse.LESS if nrs < baseline * 0.7 else AnalgesicUse.SAME,
                "pain_is_back": back,
                "recorded_by_id": referral["referrer_id"],
                "created_at": _at(assessed_on, 11),
            },
        )
        self.assessments += 1

    def _finish(self, referral: dict[str, Any], status: CaseStatus, at: datetime) -> None:
        referral["status"] = status
        if status is not CaseStatus.DRAFT:
            self._event(referral["id"], at, CaseEventKind.STATUS_CHANGED, CaseStatus.DRAFT, status)
        return None

    def _event(
        self,
        referral_id: int,
        at: datetime,
        kind: CaseEventKind,
        before: CaseStatus | None,
        after: CaseStatus,
    ) -> None:
        self.rows.add(
            CaseEvent.__table__,
            {
                "id": self.ids.next(CaseEvent),
                "referral_id": referral_id,
                "occurred_at": at,
                "kind": kind,
                "from_status": before,
                "to_status": after,
                "actor_id": None,
            },
        )

    def _verdict(self, referral: dict[str, Any], sessions: list[Session]) -> None:
        verdict = retreatment_verdict(sessions, self.today)
        self.rows.add(
            CaseVerdict.__table__,
            {
                "referral_id": referral["id"],
                "kind": verdict.kind,
                "eligible_from": verdict.eligible_from,
                "recurrence": verdict.recurrence,
                "partial": verdict.partial,
                "reasons": [
                    {"code": reason.code, "values": _plain_values(reason.values)}
                    for reason in verdict.reasons
                ],
                "computed_at": utcnow(),
            },
        )
        eligible = verdict.recurrence and (
            verdict.eligible_from is None or verdict.eligible_from <= self.today
        )
        if eligible and verdict.kind.name in ("ELIGIBLE", "NOT_YET"):
            # The referrer was told on the day (the daily job did it then).
            self.rows.add(
                OutboxMessage.__table__,
                {
                    "id": self.ids.next(OutboxMessage),
                    "dedup_key": f"eligible:{referral['id']}",
                    "recipient_id": referral["referrer_id"],
                    "recipient_email": self.team.emails[referral["referrer_id"]],
                    "subject": f"RCP Tracker: {referral['case_number']} may be eligible",
                    "body": "Sent when the case became eligible for re-discussion.",
                    "created_at": utcnow(),
                    "sent_at": utcnow(),
                    "attempts": 1,
                    "next_attempt_at": utcnow(),
                },
            )

    def flush(self) -> None:
        self.written += self.rows.flush()


def _plain_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in values.items()
    }


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
    team = _team(cases, password)
    rng = random.Random(seed)
    ids = Ids()
    meetings = _meetings(rng, team, first, today + timedelta(days=28), per_week, ids)
    generator = Generator(seed, cases, team, meetings)
    generator.ids = ids
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
    _fill_next_meeting(generator, cases)
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
    # As after the first night's backup job: the planner knows the data.
    refresh_statistics(db.session.connection())
    return Summary(
        cases=generator.made,
        patients=generator.patients,
        meetings=len(meetings),
        procedures=generator.procedures,
        assessments=generator.assessments,
        rows=generator.written,
    )


def _fill_next_meeting(generator: Generator, cases: int) -> None:
    """The next meeting gets up to 30 cases: a full agenda to try the meeting page on."""
    upcoming = next((slot for slot in generator.meetings if not slot.held), None)
    if upcoming is None:
        return
    team = generator.team
    rng = generator.rng
    while upcoming.items < 30 and generator.made < cases:
        patient_id = generator._patient()
        referral_on = generator.today - timedelta(days=rng.randint(3, 20))
        generator.made += 1
        referral_id = generator.ids.next(Referral)
        referrer = rng.choice(team.referrers)
        created_at = _at(referral_on, 9)
        indication = generator.mix[0][0]
        generator.rows.add(
            Referral.__table__,
            {
                "id": referral_id,
                "case_number": generator._case_number(referral_on),
                "patient_id": patient_id,
                "status": CaseStatus.SCHEDULED,
                "version": 1,
                "referrer_id": referrer,
                "referral_on": referral_on,
                "urgency": Urgency.ROUTINE,
                "indication_id": indication.id,
                "pain_site": indication.name_en[:200],
                "pain_side": PainSide.LEFT,
                "mechanism": Mechanism.NEUROPATHIC,
                "pain_duration_months": 12,
                "nrs_now": 7,
                "nrs_average": 7,
                "nrs_worst": 9,
                "dn4": 5,
                "treatments_tried": [TreatmentTried.NON_OPIOID_ANALGESICS.name],
                "anticoagulation": Anticoagulation.NONE,
                "allergies": "None known",
                "is_oncology": False,
                "has_bone_metastases": False,
                "question": "Cryoneurolysis?",
                "patient_agreed_on": referral_on,
                "created_at": created_at,
                "created_by_id": referrer,
            },
        )
        upcoming.items += 1
        generator.rows.add(
            AgendaItem.__table__,
            {
                "id": generator.ids.next(AgendaItem),
                "meeting_id": upcoming.id,
                "referral_id": referral_id,
                "position": upcoming.items,
                "presenter_id": rng.choice(team.radiologists),
                "minutes": 4,
                "state": ItemState.PENDING,
                "created_at": created_at,
            },
        )
