"""Finding cases: the case list's search and filters, and the worklists.

Every query here is one statement whatever the number of cases, and every
filter it applies is backed by an index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, or_, select
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.cases.models import Patient, Referral, Urgency, name_key
from tracker.cases.rules import CaseStatus
from tracker.core.memo import once_per_request
from tracker.extensions import db

#: A search lists its first matches only, in the list's order, and says when
#: there are more rather than counting them all.
SEARCH_CAP = 200

CASE_NUMBER = re.compile(r"^RCP-\d{4}(-\d*)?$", re.IGNORECASE)


def _prefix(column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``, as an index range scan.

    Keys hold only ``[a-z0-9 ]`` and sort byte by byte (see ``NameKey``), so
    every key with the prefix lies between the prefix and the prefix with its
    last character incremented.
    """
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def search_condition(text: str) -> Any:
    """Case number (or its beginning), hospital number, or patient name.
    Control characters are dropped (no name holds one; PostgreSQL refuses NUL)."""
    text = _CONTROL_CHARACTERS.sub("", text).strip()
    conditions = []
    if CASE_NUMBER.match(text):
        conditions.append(_prefix(Referral.case_number, text.upper()))
    key = name_key(text)
    patient_match = [Patient.mrn == text.upper()]
    if key:
        patient_match += [
            _prefix(Patient.last_first_key, key),
            _prefix(Patient.first_last_key, key),
        ]
    conditions.append(Referral.patient_id.in_(select(Patient.id).where(or_(*patient_match))))
    return or_(*conditions)


@dataclass
class CaseFilters:
    q: str | None = None
    status: CaseStatus | None = None
    indication_id: int | None = None
    urgency: Urgency | None = None
    referrer_id: int | None = None
    referred_from: date | None = None
    referred_to: date | None = None
    sort: str = "newest"


URGENT_FIRST = case((Referral.urgency == Urgency.URGENT, 0), else_=1)

ORDERINGS = {
    "newest": (Referral.referral_on.desc(), Referral.id.desc()),
    "oldest": (Referral.referral_on.asc(), Referral.id.asc()),
    "urgent": (URGENT_FIRST, Referral.referral_on.asc(), Referral.id.asc()),
    "case_number": (Referral.case_number.asc(),),
}


def case_list_query(filters: CaseFilters) -> Select[Any]:
    """The ids of the listed cases, in order.

    Only ids, from the referrals' own indexes: a deep page skips its rows in
    the index instead of reading (and joining) every case before it. The page's
    cases are then loaded by ``cases_by_id``.
    """
    query = select(Referral.id)
    if filters.q:
        query = query.where(search_condition(filters.q))
    if filters.status is not None:
        query = query.where(Referral.status == filters.status)
    if filters.indication_id is not None:
        query = query.where(Referral.indication_id == filters.indication_id)
    if filters.urgency is not None:
        query = query.where(Referral.urgency == filters.urgency)
    if filters.referrer_id is not None:
        query = query.where(Referral.referrer_id == filters.referrer_id)
    if filters.referred_from is not None:
        query = query.where(Referral.referral_on >= filters.referred_from)
    if filters.referred_to is not None:
        query = query.where(Referral.referral_on <= filters.referred_to)
    return query.order_by(*ORDERINGS.get(filters.sort, ORDERINGS["newest"]))


def cases_by_id(ids: list[int]) -> list[Referral]:
    """These cases, in this order, with patient, indication and referrer."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Referral)
        .where(Referral.id.in_(ids))
        .options(
            joinedload(Referral.patient),
            joinedload(Referral.indication),
            joinedload(Referral.referrer),
        )
    )
    by_id = {referral.id: referral for referral in rows}
    return [by_id[referral_id] for referral_id in ids if referral_id in by_id]


def worklist(status: CaseStatus, limit: int) -> list[Referral]:
    """Cases in ``status``, urgent first then oldest first."""
    return list(
        db.session.scalars(
            select(Referral)
            .where(Referral.status == status)
            .options(joinedload(Referral.patient), joinedload(Referral.indication))
            .order_by(*ORDERINGS["urgent"])
            .limit(limit)
        )
    )


def referred_by(user: User, limit: int) -> list[Referral]:
    return list(
        db.session.scalars(
            select(Referral)
            .where(Referral.referrer_id == user.id)
            .options(joinedload(Referral.patient), joinedload(Referral.indication))
            .order_by(Referral.created_at.desc(), Referral.id.desc())
            .limit(limit)
        )
    )


def other_episodes(referral: Referral) -> list[Referral]:
    """The patient's other cases (including earlier and later episodes of this one)."""
    return once_per_request(
        ("other_episodes", referral.id),
        lambda: list(
            db.session.scalars(
                select(Referral)
                .where(Referral.patient_id == referral.patient_id, Referral.id != referral.id)
                .options(joinedload(Referral.indication))
                .order_by(Referral.created_at.desc())
            )
        ),
    )


def next_episode(referral: Referral) -> Referral | None:
    """The case that presents this one again, if any (from ``other_episodes``:
    no query of its own on the case page)."""
    return next(
        (other for other in other_episodes(referral) if other.previous_referral_id == referral.id),
        None,
    )
