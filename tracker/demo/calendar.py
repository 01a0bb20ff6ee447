"""The meetings: a weekly rhythm over the years generated, who attended each
one, whether that made a quorum, and the agendas."""

from __future__ import annotations

import random
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.cases.rules import CaseStatus
from tracker.core.specialties import Specialty
from tracker.demo.bulk import Ids, at
from tracker.demo.people import Member, Team
from tracker.demo.referrals import move
from tracker.extensions import db
from tracker.meetings.models import AgendaItem, Attendance, ItemState, Meeting, MeetingStatus
from tracker.meetings.rules import AgendaLoad, Quorum, quorum

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator

#: Cases a meeting's agenda holds, and minutes each case is given.
CAPACITY = 40
CASE_MINUTES = 10
DURATION_MINUTES = 120


@dataclass
class MeetingSlot:
    #: Rank among the meetings, in time order.
    index: int
    id: int
    starts_at: datetime
    day: date
    chair_id: int
    participants: list[dict[str, Any]]
    quorum: Quorum
    held: bool
    items: int = 0

    @property
    def has_room(self) -> bool:
        load = AgendaLoad(self.items, CAPACITY, self.items * CASE_MINUTES, DURATION_MINUTES)
        return not load.is_full


def _participant(member: Member) -> dict[str, Any]:
    """As the decision records who took part (``decisions.services._participants``)."""
    return {
        "user_id": member.id,
        "name": member.name,
        "specialty": member.specialty.name,
        "roles": sorted(role.name for role in member.roles),
        "guest": False,
    }


def plan_meetings(
    rng: random.Random,
    team: Team,
    first: date,
    last: date,
    per_week: int,
    ids: Ids,
    *,
    today: date,
    quorum_minimum: int,
) -> list[MeetingSlot]:
    """Every week, ``per_week`` meetings (on different days), up to ``last``:
    those before today held, with who attended; the quorum is what the
    attendance gives under the site's minimum."""
    radiologists = [m for m in team.members if m.specialty is Specialty.INTERVENTIONAL_RADIOLOGY]
    others = [m for m in team.members if m.specialty is not Specialty.INTERVENTIONAL_RADIOLOGY]
    slots, meeting_rows, attendance_rows = [], [], []
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        for index in range(per_week):
            day = monday + timedelta(days=(1 + index) % 5)
            if day < first or day > last:
                continue
            meeting_id = ids.next(Meeting)
            chair = rng.choice(radiologists)
            present = [chair, *rng.sample(others, min(len(others), rng.randint(3, 6)))]
            held = day < today
            starts_at = at(day, 17 if index % 2 == 0 else 13)
            slots.append(
                MeetingSlot(
                    index=0,
                    id=meeting_id,
                    starts_at=starts_at,
                    day=day,
                    chair_id=chair.id,
                    participants=sorted(map(_participant, present), key=lambda p: p["name"]),
                    quorum=quorum((member.specialty for member in present), quorum_minimum),
                    held=held,
                )
            )
            meeting_rows.append(
                {
                    "id": meeting_id,
                    "starts_at": starts_at,
                    "duration_minutes": DURATION_MINUTES,
                    "place": f"Staff room {index + 1}",
                    "chair_id": chair.id,
                    "coordinator_id": rng.choice(team.coordinators),
                    "capacity": CAPACITY,
                    "status": MeetingStatus.HELD if held else MeetingStatus.PLANNED,
                    "uid": f"synthetic-{meeting_id}@rcp-tracker",
                    "sequence": 0,
                    "attendance_validated_at": starts_at + timedelta(hours=2) if held else None,
                    "attendance_validated_by_id": chair.id if held else None,
                    "created_at": starts_at - timedelta(days=30),
                }
            )
            if held:
                attendance_rows += [
                    {
                        "id": ids.next(Attendance),
                        "meeting_id": meeting_id,
                        "user_id": member.id,
                        "specialty": member.specialty,
                    }
                    for member in present
                ]
        monday += timedelta(days=7)
    db.session.execute(Meeting.__table__.insert(), meeting_rows)
    if attendance_rows:
        db.session.execute(Attendance.__table__.insert(), attendance_rows)
    slots.sort(key=lambda slot: (slot.starts_at, slot.id))
    for index, slot in enumerate(slots):
        slot.index = index
    return slots


def meeting_after(gen: Generator, day: date) -> MeetingSlot | None:
    """The first meeting from ``day`` on whose agenda has room."""
    return _first_with_room(gen.meetings, bisect_left(gen.meeting_days, day))


def next_meeting_with_room(gen: Generator, after: MeetingSlot) -> MeetingSlot | None:
    """As ``meetings.services.next_meeting_with_room``: the earliest later
    meeting whose agenda has room."""
    index = after.index + 1
    while index < len(gen.meetings) and gen.meetings[index].starts_at <= after.starts_at:
        index += 1
    return _first_with_room(gen.meetings, index)


def _first_with_room(slots: list[MeetingSlot], index: int) -> MeetingSlot | None:
    while index < len(slots):
        if slots[index].has_room:
            return slots[index]
        index += 1
    return None


def place_on_agenda(
    gen: Generator, referral: dict[str, Any], slot: MeetingSlot, when: datetime
) -> int:
    """The case on the meeting's agenda (``add_to_agenda``): "scheduled", then,
    once the meeting is held, discussed (``mark_discussed``)."""
    item_id = gen.ids.next(AgendaItem)
    slot.items += 1
    gen.rows.add(
        AgendaItem.__table__,
        {
            "id": item_id,
            "meeting_id": slot.id,
            "referral_id": referral["id"],
            "position": slot.items,
            "presenter_id": gen.rng.choice(gen.team.radiologists),
            "minutes": CASE_MINUTES,
            "state": ItemState.DISCUSSED if slot.held else ItemState.PENDING,
            "created_at": when,
            "state_changed_at": slot.starts_at if slot.held else None,
        },
    )
    move(gen, referral, CaseStatus.SCHEDULED, when)
    if slot.held:
        move(gen, referral, CaseStatus.DISCUSSED, slot.starts_at)
    return item_id
