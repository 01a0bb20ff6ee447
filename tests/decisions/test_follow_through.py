"""Following a proposed procedure through: carried out as planned or with a
deviation (from the procedure recorded), not carried out with a reason (said
by the team), or pending (DOMAIN "Decision follow-through")."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, select
from sqlalchemy import Enum as SqlEnum

from tests.factories import all_done, make_decision, make_user, running_meeting, technique
from tests.html import field_errors, soup, text
from tests.in_sql import SAME_IN_SQL, fill, scratch_table
from tracker.core.audit import AuditEntry
from tracker.core.errors import DomainError, Forbidden
from tracker.decisions import queries, services
from tracker.decisions.models import NotCarriedOut, Outcome, ProcedurePlan
from tracker.decisions.rules import (
    Implementation,
    implementation,
    implementation_sql,
    pending_too_long,
)
from tracker.extensions import db
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")

# --- the rule, and the same in SQL --------------------------------------------------------


def test_the_first_procedure_says_whether_the_proposal_was_carried_out_as_planned():
    assert implementation(1, 1, None) is Implementation.AS_PLANNED
    assert implementation(1, 2, None) is Implementation.WITH_DEVIATION
    # A procedure recorded after "not carried out": it was carried out after all.
    assert implementation(1, 1, NotCarriedOut.DIED) is Implementation.AS_PLANNED
    assert implementation(1, None, NotCarriedOut.DIED) is Implementation.NOT_CARRIED_OUT
    assert implementation(1, None, None) is Implementation.PENDING
    # A plan without a technique has none to deviate from.
    assert implementation(None, 3, None) is Implementation.AS_PLANNED


def test_a_proposal_is_pending_too_long_from_the_day_the_days_have_passed():
    assert not pending_too_long(date(2026, 8, 3), date(2026, 10, 1), 60)
    assert pending_too_long(date(2026, 8, 3), date(2026, 10, 2), 60)


@pytest.fixture
def plans_table(app):
    return scratch_table(
        "follow_through",
        Column("id", Integer, primary_key=True),
        Column("planned", Integer),
        Column("first", Integer),
        Column("reason", SqlEnum(NotCarriedOut, native_enum=False, length=40)),
    )


techniques = st.none() | st.integers(1, 3)


@SAME_IN_SQL
@given(
    rows=st.lists(
        st.tuples(techniques, techniques, st.none() | st.sampled_from(list(NotCarriedOut))),
        min_size=1,
        max_size=20,
    )
)
@example(rows=[(1, 1, None), (1, 2, None), (None, 2, None), (1, None, NotCarriedOut.OTHER)])
@example(rows=[(1, None, None), (2, 2, NotCarriedOut.DIED), (None, None, None)])
def test_the_implementation_in_sql_is_the_rule(plans_table, rows):
    fill(
        plans_table,
        [{"id": i, "planned": p, "first": f, "reason": r} for i, (p, f, r) in enumerate(rows)],
    )
    t = plans_table.c
    in_sql = dict(
        db.session.execute(select(t.id, implementation_sql(t.planned, t.first, t.reason))).all()
    )
    assert in_sql == {i: implementation(p, f, r) for i, (p, f, r) in enumerate(rows)}


# --- recorded by the team -------------------------------------------------------------------


@pytest.fixture
def decided(clock):
    """A proposal validated at the meeting of 24 Nov; then the clock moves to 2 Dec."""

    def decide(**kwargs):
        meeting = running_meeting()
        clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=PARIS))
        decision = make_decision(meeting.agenda[0], **kwargs)
        clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=PARIS))
        return decision

    return decide


def status_in_sql(plan: ProcedurePlan) -> Implementation:
    return db.session.scalar(
        select(queries.plan_implementation()).where(ProcedurePlan.id == plan.id)
    )


def test_the_team_records_that_a_proposal_is_not_carried_out_and_it_is_audited(app, decided):
    plan = decided().plan
    assert plan.implementation is status_in_sql(plan) is Implementation.PENDING
    nurse = make_user(roles={Role.CLINICIAN})
    services.record_not_carried_out(
        plan, reason=NotCarriedOut.PATIENT_CHOICE, note=" ", on=date(2026, 12, 1), by=nurse
    )
    db.session.commit()
    assert plan.implementation is status_in_sql(plan) is Implementation.NOT_CARRIED_OUT
    assert (plan.not_carried_out_note, plan.not_carried_out_by_id) == (None, nurse.id)
    entries = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "ProcedurePlan", AuditEntry.entity_id == str(plan.id)
        )
    ).all()
    assert [None, "PATIENT_CHOICE"] in [
        entry.changes.get("not_carried_out_reason") for entry in entries
    ]


@pytest.mark.parametrize(
    ("reason", "note", "on", "field"),
    [
        (None, None, date(2026, 12, 1), "reason"),
        (NotCarriedOut.OTHER, "  ", date(2026, 12, 1), "note"),
        (NotCarriedOut.DIED, None, None, "on"),
        (NotCarriedOut.DIED, None, date(2026, 12, 3), "on"),  # in the future
        (NotCarriedOut.DIED, None, date(2026, 11, 23), "on"),  # before the decision
    ],
)
def test_not_carried_out_needs_its_reason_and_a_sensible_date(
    app, decided, reason, note, on, field
):
    plan = decided().plan
    with pytest.raises(DomainError) as refused:
        services.record_not_carried_out(
            plan, reason=reason, note=note, on=on, by=plan.decision.meeting.chair
        )
    assert refused.value.field == field
    assert plan.not_carried_out_reason is None


def test_a_proposal_carried_out_cannot_be_recorded_as_not_carried_out(app, decided):
    plan = decided().plan
    chair = plan.decision.meeting.chair
    other = technique("radiofrequency")
    services.record_procedure(
        plan,
        {
            "performed_on": date(2026, 12, 1),
            "technique_id": other.id,
            "deviation_reason": "Neuroma larger than expected",
        },
        operator_ids=[chair.id],
        prerequisites=all_done(date(2026, 12, 1)),
        by=chair,
    )
    db.session.commit()
    assert plan.implementation is status_in_sql(plan) is Implementation.WITH_DEVIATION
    with pytest.raises(DomainError):
        services.record_not_carried_out(
            plan, reason=NotCarriedOut.DIED, note=None, on=date(2026, 12, 1), by=chair
        )


def test_only_the_team_records_it(app, decided):
    plan = decided().plan
    with pytest.raises(Forbidden):
        services.record_not_carried_out(
            plan,
            reason=NotCarriedOut.DIED,
            note=None,
            on=date(2026, 12, 1),
            by=make_user(roles={Role.ADMIN}),
        )


def test_the_case_page_shows_the_follow_through_and_records_not_carried_out(client, auth, decided):
    decision = decided()
    plan = decision.plan
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    page = soup(client.get(f"/cases/{decision.referral_id}"))
    assert "Follow-through: Pending" in text(page.find(id="follow-through"))
    url = f"/plans/{plan.id}/not-carried-out"
    assert page.find("form", action=url) is not None
    # No reason: said on the field, nothing saved.
    refused = client.post(url, data={"reason": "", "on": "2026-12-01"})
    assert refused.status_code == 422
    assert "Choose why" in field_errors(soup(refused), "reason")
    db.session.refresh(plan)
    assert plan.not_carried_out_reason is None
    done = client.post(url, data={"reason": "DID_NOT_ATTEND", "on": "2026-12-01", "note": ""})
    assert done.status_code == 302
    page = soup(client.get(f"/cases/{decision.referral_id}"))
    assert "Not carried out (Patient did not attend, 1 Dec 2026)" in text(
        page.find(id="follow-through")
    )


def test_a_decision_without_a_procedure_has_no_follow_through(client, auth, decided):
    decision = decided(outcome=Outcome.MEDICAL_TREATMENT)
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    page = soup(client.get(f"/cases/{decision.referral_id}"))
    assert page.find(id="follow-through") is None
