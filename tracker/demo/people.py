"""People: the team (the demo accounts and as many colleagues as the size calls
for) and the patients."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from tracker.auth import services as auth_services
from tracker.auth.models import User, UserRole
from tracker.cases.contact import ContactChannel, ContactLanguage, read_email
from tracker.cases.models import Patient, Sex, name_key
from tracker.core.address import FormOfAddress
from tracker.core.specialties import Specialty
from tracker.core.time import utcnow
from tracker.demo.bulk import Ids
from tracker.demo.phones import draw_fictional_phone
from tracker.demo.team import DEMO_ACCOUNTS
from tracker.extensions import db
from tracker.web.permissions import Role

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator

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


#: The colleagues' form of address, as their first names would have them state it.
FORM_OF_ADDRESS = {Sex.FEMALE: FormOfAddress.FEMININE, Sex.MALE: FormOfAddress.MASCULINE}


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    specialty: Specialty
    roles: tuple[Role, ...]


@dataclass
class Team:
    radiologists: list[int]
    referrers: list[int]
    coordinators: list[int]
    members: list[Member]
    emails: dict[int, str]
    #: Who may own follow-ups (the clinicians), the demo clinician first.
    clinicians: list[int]


def make_team(cases: int, password: str, ids: Ids) -> Team:
    """The demo accounts (logins printed) and as many more colleagues as the
    size calls for, sharing the demo password."""
    created = {
        account.email: auth_services.create_user(
            email=account.email,
            full_name=account.full_name,
            specialty=account.specialty,
            roles=account.roles,
            password=password,
            form_of_address=account.form_of_address,
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
    db.session.flush()
    for role, specialty, count in wanted:
        for _ in range(count):
            next_id = ids.next(User)
            sex = rng.choice((Sex.FEMALE, Sex.MALE))
            first, last = rng.choice(FIRST_NAMES[sex]), rng.choice(LAST_NAMES)
            prefix = "" if role is Role.COORDINATOR else "Dr "
            users.append(
                {
                    "id": next_id,
                    "email": f"{name_key(first)}.{name_key(last)}.{next_id}@example.org",
                    "full_name": f"{prefix}{first} {last}",
                    "specialty": specialty,
                    "form_of_address": FORM_OF_ADDRESS[sex],
                    "password_hash": password_hash,
                    "is_active": True,
                    "created_at": utcnow(),
                    "email_followup_digest": True,
                    "email_meeting_reminders": True,
                    "email_eligible_cases": True,
                    "email_draft_reminders": True,
                    "email_meeting_minutes": True,
                }
            )
            roles.append({"user_id": next_id, "role": role})
    db.session.execute(User.__table__.insert(), users)
    db.session.execute(UserRole.__table__.insert(), roles)
    members = [
        Member(user.id, user.full_name, user.specialty, tuple(user.roles))
        for user in created.values()
    ] + [
        Member(row["id"], row["full_name"], row["specialty"], (link["role"],))
        for row, link in zip(users, roles, strict=True)
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
        clinicians=by_role[Role.CLINICIAN],
        members=members,
        emails={user.id: user.email for user in created.values()}
        | {row["id"]: row["email"] for row in users},
    )


def draw_patient(gen: Generator) -> dict[str, Any]:
    """A patient's row (their contact details are drawn once their first
    referral's date is known: ``draw_contact``)."""
    rng = gen.rng
    sex = Sex.FEMALE if rng.random() < 0.58 else Sex.MALE
    last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES[sex])
    patient_id = gen.ids.next(Patient)
    gen.mrn += rng.randint(1, 40)
    row = {
        "id": patient_id,
        "mrn": str(gen.mrn),
        "last_name": last,
        "first_name": first,
        "birth_on": date(rng.randint(1930, 2000), rng.randint(1, 12), rng.randint(1, 28)),
        "sex": sex,
        "last_first_key": name_key(last, first),
        "first_last_key": name_key(first, last),
        "created_at": utcnow(),
    }
    gen.rows.add(Patient.__table__, row)
    gen.patients += 1
    return row


def draw_contact(gen: Generator, patient: dict[str, Any], first_seen_on: date) -> None:
    """Contact details for most patients and their consent to be contacted,
    given on their first referral and recorded by one of the team.

    Drawn from a stream of their own (``gen.contact_rng``, from the same seed),
    so that the rest of the data of a seed is what it was before patients had
    contact details."""
    rng = gen.contact_rng
    if rng.random() < 0.05:
        return  # nothing recorded yet
    phones = [draw_fictional_phone(rng)]
    if rng.random() < 0.25:
        second = draw_fictional_phone(rng)
        if second != phones[0]:
            phones.append(second)
    email = None
    if rng.random() < 0.3:
        name = f"{name_key(patient['first_name'])}.{name_key(patient['last_name'])}"
        email = read_email(f"{name.replace(' ', '-')}.{patient['id']}@example.org")
    channel = ContactChannel.EMAIL if email and rng.random() < 0.4 else ContactChannel.PHONE
    if rng.random() < 0.1:
        channel = None
    patient.update(
        phone_1=phones[0],
        phone_2=phones[1] if len(phones) > 1 else None,
        email=email,
        preferred_language=ContactLanguage.EN if rng.random() < 0.05 else ContactLanguage.FR,
        preferred_channel=channel,
    )
    if rng.random() < 0.85:
        patient.update(
            contact_consent_on=first_seen_on,
            contact_consent_by_id=rng.choice(gen.team.referrers),
        )
