"""The quorum says the same in SQL as in Python, on generated attendance run
through the database."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from tests.factories import make_meeting
from tests.in_sql import SAME_IN_SQL
from tracker.core.specialties import Specialty as Sp
from tracker.extensions import db
from tracker.meetings.models import Attendance
from tracker.meetings.rules import quorum, quorum_met_sql

MEETINGS = 4

#: Few specialties, so that doctors of one specialty often meet; nursing and
#: "other", which do not count.
present = st.lists(
    st.sampled_from([Sp.INTERVENTIONAL_RADIOLOGY, Sp.ANAESTHESIOLOGY, Sp.PAIN_MEDICINE,
                     Sp.SURGERY, Sp.NURSING, Sp.OTHER]),
    max_size=7,
)  # fmt: skip


@pytest.fixture
def meetings(app):
    return [make_meeting().id for _ in range(MEETINGS)]


@SAME_IN_SQL
@given(
    minimum=st.integers(1, 5), attendance=st.lists(present, min_size=MEETINGS, max_size=MEETINGS)
)
# Three doctors of two specialties with a nurse and a secretary: 2, not 3 or 5.
@example(
    minimum=3,
    attendance=[
        [Sp.INTERVENTIONAL_RADIOLOGY, Sp.INTERVENTIONAL_RADIOLOGY, Sp.PAIN_MEDICINE,
         Sp.NURSING, Sp.OTHER],
        [Sp.INTERVENTIONAL_RADIOLOGY, Sp.ANAESTHESIOLOGY, Sp.PAIN_MEDICINE],
        [],
        [Sp.NURSING, Sp.OTHER, Sp.SURGERY],
    ],
)  # fmt: skip
def test_the_quorum_in_sql_is_the_rule(meetings, minimum, attendance):
    db.session.execute(delete(Attendance).where(Attendance.meeting_id.in_(meetings)))
    rows = [
        {"meeting_id": meeting_id, "guest_name": f"Guest {n}", "specialty": specialty}
        for meeting_id, specialties in zip(meetings, attendance, strict=True)
        for n, specialty in enumerate(specialties)
    ]
    if rows:
        db.session.execute(insert(Attendance), rows)
    in_sql = set(
        db.session.scalars(
            select(Attendance.meeting_id)
            .where(Attendance.meeting_id.in_(meetings))
            .group_by(Attendance.meeting_id)
            .having(quorum_met_sql(Attendance.specialty, minimum))
        )
    )
    assert in_sql == {
        meeting_id
        for meeting_id, specialties in zip(meetings, attendance, strict=True)
        if quorum(specialties, minimum).is_met
    }
