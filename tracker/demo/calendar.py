"""The meetings: a weekly rhythm over the years generated, with who attended."""

from __future__ import annotations

import random
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.core.specialties import Specialty
from tracker.core.time import local_today
from tracker.demo.bulk import Ids, at
from tracker.demo.people import Team
from tracker.extensions import db
from tracker.meetings.models import Attendance, Meeting, MeetingStatus

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator


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


def plan_meetings(
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
            starts_at = at(day, 17 if index % 2 == 0 else 13)
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


def meeting_after(gen: Generator, day: date) -> MeetingSlot | None:
    index = bisect_left(gen.meeting_days, day)
    while index < len(gen.meetings):
        slot = gen.meetings[index]
        # A full meeting passes the case on to the next one.
        if slot.items < 40:
            return slot
        index += 1
    return None
