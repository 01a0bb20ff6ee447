"""Schedules, assessments, verdicts, closing and presenting a case again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import assess, make_procedure, make_referral, make_user
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.core.errors import DomainError
from tracker.core.settings import set_setting
from tracker.extensions import db
from tracker.followups import services
from tracker.followups.models import (
    CaseVerdict,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.rules import Kind
from tracker.followups.settings import REGROWTH_FAST, REGROWTH_SLOW
from tracker.web.permissions import Role

JUNE_16 = date(2026, 6, 16)


def followups_of(procedure):
    return db.session.scalars(
        select(FollowUp).where(FollowUp.procedure_id == procedure.id).order_by(FollowUp.due_on)
    ).all()


def test_a_procedure_gets_its_schedule_and_a_regrowth_check(app):
    procedure = make_procedure(distance_mm=60)
    planned = followups_of(procedure)
    scheduled = [f for f in planned if f.kind is FollowUpKind.SCHEDULED]
    assert [f.due_on - JUNE_16 for f in scheduled] == [
        timedelta(days=d) for d in (7, 30, 91, 183, 365)
    ]
    [regrowth] = [f for f in planned if f.kind is FollowUpKind.REGROWTH]
    # 60 mm at 3 then 1 mm a day: from day 20 to day 60, checked in the middle.
    assert (regrowth.window_start_on, regrowth.window_end_on) == (
        JUNE_16 + timedelta(days=20),
        JUNE_16 + timedelta(days=60),
    )
    assert regrowth.due_on == JUNE_16 + timedelta(days=40)
    # Its referrer is a radiologist, who makes no calls: the team queue owns it.
    assert all(f.responsible_id is None for f in planned)
    # Each time point has its window around its due date.
    assert all(f.window_start_on <= f.due_on <= f.window_end_on for f in planned)
    assert db.session.get(CaseVerdict, procedure.referral_id).kind is Kind.NOT_YET


def test_the_owner_chosen_with_the_procedure_owns_every_time_point(app):
    nurse = make_user(roles={Role.CLINICIAN})
    planned = followups_of(make_procedure(followup_owner=nurse))
    assert {f.responsible_id for f in planned} == {nurse.id}


def test_a_clinician_referrer_owns_the_follow_up_when_nobody_is_chosen(app):
    pain_physician = make_user(roles={Role.CLINICIAN})
    referred = date(2026, 5, 26)
    referral = make_referral(
        referrer_id=pain_physician.id, referral_on=referred, patient_agreed_on=referred
    )
    procedure = make_procedure(referral=referral)
    assert {f.responsible_id for f in followups_of(procedure)} == {pain_physician.id}


def test_only_a_clinician_may_own_a_follow_up(app):
    procedure = make_procedure()
    coordinator = make_user(roles={Role.COORDINATOR})
    radiologist = make_user(roles={Role.RADIOLOGIST})
    before = [f.responsible_id for f in followups_of(procedure)]
    for wrong in (coordinator.id, radiologist.id, 999_999):
        with pytest.raises(DomainError) as raised:
            services.change_owner(procedure.referral, wrong, by=coordinator)
        assert raised.value.field == "followup_owner_id"
    assert [f.responsible_id for f in followups_of(procedure)] == before


def test_changing_the_owner_moves_the_planned_time_points_only(app):
    nurse, other = make_user(roles={Role.CLINICIAN}), make_user(roles={Role.CLINICIAN})
    procedure = make_procedure(followup_owner=nurse)
    first = followups_of(procedure)[0]
    assess(procedure, followup=first, assessed_on=first.due_on)
    moved = services.change_owner(procedure.referral, other.id, by=nurse)
    db.session.commit()
    planned = followups_of(procedure)
    assert moved == len(planned) - 1
    assert planned[0].responsible_id == nurse.id  # done: stays with who did it
    assert {f.responsible_id for f in planned[1:]} == {other.id}
    assert services.case_owner(procedure.referral).id == other.id
    services.change_owner(procedure.referral, None, by=nurse)
    assert services.case_owner(procedure.referral) is None  # the team queue


def test_the_regrowth_rates_are_settings(app):
    set_setting(REGROWTH_FAST, 2.0)
    set_setting(REGROWTH_SLOW, 0.5)
    procedure = make_procedure(distance_mm=60)
    [regrowth] = [f for f in followups_of(procedure) if f.kind is FollowUpKind.REGROWTH]
    assert regrowth.window_start_on == JUNE_16 + timedelta(days=30)
    assert regrowth.window_end_on == JUNE_16 + timedelta(days=120)


def test_no_regrowth_check_without_a_distance_or_for_other_techniques(app):
    assert all(
        f.kind is FollowUpKind.SCHEDULED for f in followups_of(make_procedure(distance_mm=None))
    )
    cement = make_procedure(technique_code="cementoplasty", distance_mm=40)
    assert all(f.kind is FollowUpKind.SCHEDULED for f in followups_of(cement))


def test_an_assessment_fulfils_its_follow_up_and_moves_the_case_to_follow_up(app):
    procedure = make_procedure()
    week_1 = followups_of(procedure)[0]
    assessment = assess(procedure, followup=week_1, nrs_average=2)
    assert week_1.status is FollowUpStatus.DONE
    assert assessment.procedure_id == procedure.id
    referral = db.session.get(Referral, procedure.referral_id)
    assert referral.status is CaseStatus.FOLLOW_UP
    assert db.session.get(CaseVerdict, referral.id).kind is Kind.RESPONDING


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nrs_average": 11}, "nrs_average"),
        ({"nrs_average": None}, "nrs_average"),
        ({"nrs_now": -1}, "nrs_now"),
        ({"relief_pct": 101}, "relief_pct"),
        ({"pgic": 0}, "pgic"),
        ({"pgic": 8}, "pgic"),
        ({"dn4": 11}, "dn4"),
        ({"assessed_on": date(2026, 6, 15)}, "assessed_on"),
        ({"assessed_on": date(2026, 11, 21)}, "assessed_on"),
        ({"mode": None}, "mode"),
    ],
)
def test_bad_assessments_are_refused_and_change_nothing(app, overrides, field):
    procedure = make_procedure()
    with pytest.raises(DomainError) as refused:
        assess(procedure, **overrides)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.get(Referral, procedure.referral_id).status is CaseStatus.TREATED


def test_no_assessment_before_the_procedure(app):
    from tests.factories import make_referral

    referral = make_referral()
    with pytest.raises(DomainError, match="once the procedure is recorded"):
        services.log_assessment(referral, {"assessed_on": date(2026, 11, 1)}, by=make_user())


def test_a_follow_up_is_done_once(app):
    procedure = make_procedure()
    week_1 = followups_of(procedure)[0]
    assess(procedure, followup=week_1)
    with pytest.raises(DomainError, match="already been done"):
        assess(procedure, followup=week_1, assessed_on=date(2026, 6, 24))


def test_missing_a_follow_up_needs_a_reason(app):
    followup = followups_of(make_procedure())[0]
    with pytest.raises(DomainError):
        services.mark_missed(followup, reason=" ", by=make_user())
    services.mark_missed(followup, reason="Three calls unanswered", by=make_user())
    assert followup.status is FollowUpStatus.MISSED


def test_a_relapse_after_regrowth_makes_the_case_eligible(app):
    procedure = make_procedure()  # baseline average pain 6
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 9, 15), nrs_average=2)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    row = db.session.get(CaseVerdict, procedure.referral_id)
    assert row.kind is Kind.ELIGIBLE
    assert [reason["code"] for reason in row.reasons] == [
        "responded",
        "recurrence",
        "interval_passed",
        "no_severe_adverse_event",
    ]


def test_a_severe_adverse_event_recorded_later_blocks_a_routine_repeat(app):
    from tracker.decisions.services import add_adverse_event

    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=6)
    add_adverse_event(
        procedure,
        cirse_grade=3,
        description="Infection needing antibiotics",
        by=make_user(roles={Role.CLINICIAN}),
    )
    db.session.commit()
    assert db.session.get(CaseVerdict, procedure.referral_id).kind is Kind.NOT_ELIGIBLE


def test_closing_needs_every_follow_up_dealt_with_and_no_recurrence(app):
    procedure = make_procedure(distance_mm=None)
    referral = db.session.get(Referral, procedure.referral_id)
    clinician = make_user(roles={Role.CLINICIAN})
    planned = followups_of(procedure)
    assess(procedure, followup=planned[0], nrs_average=2)
    with pytest.raises(DomainError, match="still planned"):
        services.close_case(referral, by=clinician)
    for followup in planned[1:]:
        services.mark_missed(followup, reason="Lost to follow-up", by=clinician)
    services.close_case(referral, by=clinician)
    assert referral.status is CaseStatus.CLOSED

    # A new assessment reporting recurrence reopens the closed case.
    assess(procedure, assessed_on=date(2026, 11, 10), nrs_average=2, pain_is_back=True)
    assert referral.status is CaseStatus.FOLLOW_UP
    with pytest.raises(DomainError, match="present the case again"):
        services.close_case(referral, by=clinician)


def test_presenting_again_links_a_prefilled_new_episode(app):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5, nrs_now=6, nrs_worst=8, dn4=5)
    old = db.session.get(Referral, procedure.referral_id)
    clinician = make_user(roles={Role.CLINICIAN})
    again = services.present_again(
        old,
        reason="Pain back five months after cryoneurolysis",
        question="Repeat cryoneurolysis?",
        patient_agreed_on=date(2026, 11, 20),
        pain_duration_months=24,
        by=clinician,
    )
    db.session.commit()
    assert again.previous_referral_id == old.id
    assert again.patient_id == old.patient_id
    assert again.status is CaseStatus.REFERRED  # complete: on the waiting list at once
    assert (again.nrs_now, again.nrs_average, again.nrs_worst, again.dn4) == (6, 5, 8, 5)
    assert again.indication_id == old.indication_id
    assert again.treatments_tried == [*old.treatments_tried, "PREVIOUS_PROCEDURE"]
    assert old.treatments_tried == ["NON_OPIOID_ANALGESICS", "INFILTRATIONS"]
    assert again.recurrence_reason == "Pain back five months after cryoneurolysis"
    assert services.episode_chain(again) == [old.id, again.id]
    with pytest.raises(DomainError, match="already been presented again"):
        services.present_again(
            old,
            reason="x",
            question="y",
            patient_agreed_on=None,
            pain_duration_months=None,
            by=clinician,
        )


def again_of(old, **values):
    return services.present_again(
        old,
        reason=values.pop("reason", "Pain back"),
        question=values.pop("question", "Repeat?"),
        patient_agreed_on=values.pop("patient_agreed_on", date(2026, 11, 20)),
        pain_duration_months=values.pop("pain_duration_months", 24),
        by=values.pop("by", None) or make_user(roles={Role.CLINICIAN}),
    )


def test_presenting_again_copies_only_what_the_latest_reading_measured(app):
    procedure = make_procedure()
    # The same day, typed second: the latest reading, with the average pain only.
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5, nrs_now=6, nrs_worst=8, dn4=5)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=6)
    old = db.session.get(Referral, procedure.referral_id)
    again = again_of(old)
    db.session.commit()
    # Neither the average nor an earlier reading fills what was not measured.
    assert (again.nrs_now, again.nrs_average, again.nrs_worst, again.dn4) == (None, 6, None, None)
    assert again.status is CaseStatus.DRAFT
    assert {"nrs_now", "nrs_worst"} <= set(again.missing)


def test_presenting_again_adds_each_procedure_to_the_treatments_tried_once(app):
    first = make_procedure(performed_on=date(2026, 3, 10))
    assess(first, assessed_on=date(2026, 4, 10), nrs_now=6, nrs_average=6, nrs_worst=8)
    old = db.session.get(Referral, first.referral_id)
    technique = first.technique.name
    first_line = f"{technique} on 10 Mar 2026 ({old.case_number})"
    again = again_of(old)
    assert again.treatments_tried == [
        "NON_OPIOID_ANALGESICS",
        "INFILTRATIONS",
        "PREVIOUS_PROCEDURE",
    ]
    assert again.treatments_other.splitlines() == [
        "Two steroid injections, relief for three weeks each.",
        first_line,
    ]
    again.referral_on = date(2026, 5, 1)
    db.session.commit()
    # The next episode, treated and presented again: its sheet keeps the first
    # procedure once and gains the second.
    second = make_procedure(referral=again, performed_on=date(2026, 7, 7))
    assess(second, assessed_on=date(2026, 8, 7), nrs_average=6)
    third = again_of(again)
    db.session.commit()
    assert third.treatments_tried.count("PREVIOUS_PROCEDURE") == 1
    assert third.treatments_other.splitlines() == [
        "Two steroid injections, relief for three weeks each.",
        first_line,
        f"{technique} on 7 Jul 2026 ({again.case_number})",
    ]


def test_presenting_again_stores_todays_pain_duration(app):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=6)
    old = db.session.get(Referral, procedure.referral_id)
    with pytest.raises(DomainError) as refused:
        again_of(old, pain_duration_months=-1)
    assert refused.value.field == "pain_duration_months"
    db.session.rollback()
    later = select(Referral).where(Referral.previous_referral_id == old.id)
    assert db.session.scalar(later) is None
    again = again_of(old, pain_duration_months=23)
    db.session.commit()
    assert (again.pain_duration_months, old.pain_duration_months) == (23, 18)


def test_two_failed_sessions_across_episodes_are_not_eligible(app):
    first = make_procedure(performed_on=date(2026, 3, 10))
    assess(first, assessed_on=date(2026, 4, 10), nrs_now=6, nrs_average=6, nrs_worst=8)
    old = db.session.get(Referral, first.referral_id)
    again = services.present_again(
        old,
        reason="No effect",
        question="Second session?",
        patient_agreed_on=date(2026, 5, 1),
        pain_duration_months=30,
        by=make_user(roles={Role.CLINICIAN}),
    )
    again.referral_on = date(2026, 5, 1)
    db.session.commit()
    second = make_procedure(referral=again, performed_on=date(2026, 7, 7))
    assess(second, assessed_on=date(2026, 8, 7), nrs_average=6)
    verdict = services.compute_verdict(again)
    assert verdict.kind is Kind.NOT_ELIGIBLE
    assert verdict.reasons[0].code == "failed_sessions"


def test_only_treated_cases_are_presented_again(app):
    from tests.factories import make_referral

    with pytest.raises(DomainError):
        services.present_again(
            make_referral(),
            reason="x",
            question="y",
            patient_agreed_on=None,
            pain_duration_months=None,
            by=make_user(),
        )


def by_offset(procedure):
    return {f.offset_days: f for f in followups_of(procedure) if f.kind is FollowUpKind.SCHEDULED}


def test_an_assessment_fulfils_the_time_point_whose_window_holds_its_date(app):
    procedure = make_procedure(distance_mm=None)
    planned = by_offset(procedure)
    # Recorded from month 3's row, but dated on day 35: month 1's window (23-44).
    assessment = assess(procedure, followup=planned[91], assessed_on=JUNE_16 + timedelta(days=35))
    assert assessment.followup_id == planned[30].id
    db.session.expire_all()
    assert planned[30].status is FollowUpStatus.DONE
    assert planned[91].status is FollowUpStatus.PLANNED


def test_a_month_3_assessment_on_the_day_of_the_procedure_is_unscheduled(app):
    procedure = make_procedure(distance_mm=None)
    planned = by_offset(procedure)
    assessment = assess(procedure, followup=planned[91], assessed_on=JUNE_16)
    assert assessment.followup_id is None
    db.session.expire_all()
    assert planned[91].status is FollowUpStatus.PLANNED


def test_an_assessment_typed_late_still_fulfils_the_closed_window_it_was_made_in(app):
    from tracker.followups.tasks import close_windows

    procedure = make_procedure(distance_mm=None)
    close_windows(utcnow_at(date(2026, 11, 20)))
    week1 = by_offset(procedure)[7]
    assert week1.status is FollowUpStatus.OUT_OF_WINDOW
    assessment = assess(procedure, assessed_on=JUNE_16 + timedelta(days=8))
    assert assessment.followup_id == week1.id
    db.session.expire_all()
    assert week1.status is FollowUpStatus.DONE


def utcnow_at(day):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(6, 15), tzinfo=ZoneInfo("Europe/Paris"))
