"""Meetings, agendas, roll-over and attendance through the services."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.factories import EARLY, make_meeting, make_referral, make_user, radiologist
from tracker.cases import services as case_services
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.cases.timeline import timeline_for
from tracker.core.errors import DomainError, Forbidden
from tracker.core.settings import set_setting
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.meetings import services
from tracker.meetings.models import AgendaItem, ItemState, MeetingStatus
from tracker.meetings.settings import QUORUM_MINIMUM
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def at(day: int, month: int = 11, hour: int = 17) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=PARIS)


def details(**overrides) -> services.MeetingDetails:
    values = {"starts_at": at(24), "duration_minutes": 90, "capacity": 12, "place": "Staff room"}
    values.update(overrides)
    return services.MeetingDetails(**values)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        # Entered after the fact: only with the reason why.
        ({"starts_at": at(19)}, "retrospective_reason"),
        ({"starts_at": at(19), "retrospective_reason": "  "}, "retrospective_reason"),
        ({"duration_minutes": 0}, "ends"),
        ({"duration_minutes": -30}, "ends"),
        ({"capacity": 0}, "capacity"),
        ({"place": None, "video_link": None}, "place"),
    ],
)
def test_bad_meetings_are_refused(app, overrides, field):
    with pytest.raises(DomainError) as refused:
        services.create_meeting(details(**overrides))
    assert refused.value.field == field


def test_a_video_only_meeting_is_fine(app):
    meeting = services.create_meeting(details(place=None, video_link="https://visio.chu.test/rcp"))
    assert meeting.uid.endswith("@rcp-tracker")


def test_a_series_creates_its_meetings_each_movable_alone(app):
    series = services.create_series(details(), interval_weeks=1, count=12)
    db.session.commit()
    assert len(series.meetings) == 12
    second = series.meetings[1]
    services.update_meeting(second, details(starts_at=at(2, 12, 18)), by=None)
    db.session.commit()
    assert second.sequence == 1
    by_creation = sorted(series.meetings, key=lambda m: m.id)
    assert [m.starts_at.astimezone(PARIS).hour for m in by_creation] == [17, 18] + [17] * 10
    services.cancel_meeting(series.meetings[2], by=None)
    assert [m.status for m in series.meetings].count(MeetingStatus.CANCELLED) == 1


def test_adding_a_case_schedules_it_with_the_referring_radiologist_presenting(app):
    meeting = make_meeting()
    doctor = radiologist()
    referral = make_referral(referrer_id=doctor.id)
    item = services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    assert referral.status is CaseStatus.SCHEDULED
    assert item.presenter_id == doctor.id
    assert item.minutes == 10
    assert item.position == 1


def rows(*lines) -> list[services.AgendaRow]:
    return [
        services.AgendaRow(item.id, presenter_id, minutes) for item, presenter_id, minutes in lines
    ]


def save(meeting, *lines, by=None) -> None:
    stamp = services.agenda_stamp(meeting.agenda)
    services.save_agenda(meeting, rows(*lines), stamp=stamp, by=by)


def test_a_clinicians_referral_has_no_presenter_until_one_is_chosen(app):
    meeting = make_meeting()
    referral = make_referral(referrer_id=make_user(roles={Role.CLINICIAN}).id)
    item = services.add_to_agenda(meeting, referral, by=None)
    assert item.presenter_id is None
    with pytest.raises(services.AgendaRowErrors):
        save(meeting, (item, make_user(roles={Role.CLINICIAN}).id, 15))
    save(meeting, (item, radiologist().id, 15))
    assert item.minutes == 15


def test_incomplete_referrals_cannot_be_scheduled(app):
    with pytest.raises(DomainError, match="incomplete"):
        services.add_to_agenda(make_meeting(), make_referral(question=None), by=None)


def test_a_case_sits_on_one_open_agenda_only(app):
    referral = make_referral()
    services.add_to_agenda(make_meeting(), referral, by=None)
    with pytest.raises(DomainError, match="already on the agenda"):
        services.add_to_agenda(make_meeting(starts_at=at(1, 12)), referral, by=None)


def test_the_database_refuses_a_second_pending_item_for_a_case(app):
    referral = make_referral()
    first = make_meeting()
    second = make_meeting(starts_at=at(1, 12))
    services.add_to_agenda(first, referral, by=None)
    db.session.commit()
    db.session.add(AgendaItem(meeting=second, referral=referral, position=1, minutes=10))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_full_agenda_refuses_more_cases(app):
    meeting = make_meeting(capacity=2)
    services.add_to_agenda(meeting, make_referral(), by=None)
    services.add_to_agenda(meeting, make_referral(), by=None)
    with pytest.raises(DomainError, match="agenda is full"):
        services.add_to_agenda(meeting, make_referral(), by=None)


def test_closed_meetings_take_no_cases(app):
    meeting = make_meeting()
    services.cancel_meeting(meeting, by=None)
    with pytest.raises(DomainError, match="can no longer change"):
        services.add_to_agenda(meeting, make_referral(), by=None)


def test_removing_a_case_puts_it_back_on_the_waiting_list(app):
    meeting = make_meeting()
    referral = make_referral()
    item = services.add_to_agenda(meeting, referral, by=None)
    services.remove_from_agenda(item, by=None)
    assert referral.status is CaseStatus.REFERRED
    assert item.state is ItemState.REMOVED
    assert meeting.agenda == []
    # It can go on an agenda again.
    services.add_to_agenda(meeting, referral, by=None)


def test_the_whole_agenda_is_saved_at_once(app):
    meeting = make_meeting()
    a, b, c = (services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(3))
    doctor = radiologist()
    save(meeting, (c, doctor.id, 20), (a, None, 5), (b, doctor.id, 30))
    db.session.commit()
    db.session.refresh(meeting)
    assert [(i.id, i.presenter_id, i.minutes) for i in meeting.agenda] == [
        (c.id, doctor.id, 20),
        (a.id, None, 5),
        (b.id, doctor.id, 30),
    ]


def test_one_wrong_line_and_nothing_changes(app):
    meeting = make_meeting()
    a, b = (services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(2))
    db.session.commit()
    clinician = make_user(roles={Role.CLINICIAN})
    before = [(i.id, i.presenter_id, i.minutes) for i in meeting.agenda]
    with pytest.raises(services.AgendaRowErrors) as refused:
        save(meeting, (b, None, 20), (a, clinician.id, 0))
    # Each line's faults, by field: both of the second line's.
    assert set(refused.value.errors) == {a.id}
    assert set(refused.value.errors[a.id]) == {"presenter_id", "minutes"}
    db.session.rollback()
    db.session.refresh(meeting)
    assert [(i.id, i.presenter_id, i.minutes) for i in meeting.agenda] == before


def test_an_agenda_changed_since_the_form_was_made_is_not_overwritten(app):
    meeting = make_meeting()
    a, b = (services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(2))
    stamp = services.agenda_stamp(meeting.agenda)
    # Someone else gives the first case more time, then the form comes back.
    save(meeting, (a, None, 25), (b, None, b.minutes))
    with pytest.raises(services.AgendaChanged):
        services.save_agenda(meeting, rows((b, None, 10), (a, None, 10)), stamp=stamp, by=None)
    # A case added meanwhile, or one of another meeting: refused the same way.
    fresh = services.agenda_stamp(meeting.agenda)
    other = services.add_to_agenda(make_meeting(starts_at=at(1, 12)), make_referral(), by=None)
    with pytest.raises(services.AgendaChanged):
        services.save_agenda(meeting, rows((b, None, 10), (other, None, 10)), stamp=fresh, by=None)
    with pytest.raises(services.AgendaChanged):
        services.save_agenda(meeting, rows((b, None, 10)), stamp=fresh, by=None)


def test_cases_already_discussed_keep_their_place(app):
    meeting = make_meeting()
    a, b, c = (services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(3))
    services.start_meeting(meeting, by=None, early_reason=EARLY)
    services.mark_discussed(b, by=None)
    save(meeting, (c, None, 10), (a, None, 10))
    db.session.flush()
    db.session.refresh(meeting)
    assert [item.id for item in meeting.agenda] == [c.id, b.id, a.id]


def test_only_an_organiser_saves_the_agenda(app):
    meeting = make_meeting()
    item = services.add_to_agenda(meeting, make_referral(), by=None)
    with pytest.raises(Forbidden):
        save(meeting, (item, None, 30), by=radiologist())
    assert item.minutes != 30


def test_moving_a_case_to_another_meeting(app):
    first, second = make_meeting(), make_meeting(starts_at=at(1, 12))
    referral = make_referral()
    item = services.add_to_agenda(first, referral, by=None)
    moved = services.move_to_meeting(item, second, by=None)
    assert moved.meeting is second
    assert referral.status is CaseStatus.SCHEDULED
    assert first.agenda == []


def test_holding_a_meeting_rolls_undiscussed_cases_to_the_top_of_the_next(app, clock):
    today = make_meeting()
    full = make_meeting(starts_at=at(1, 12), capacity=1)
    services.add_to_agenda(full, make_referral(), by=None)
    following = make_meeting(starts_at=at(8, 12))
    already = services.add_to_agenda(following, make_referral(), by=None)
    discussed = services.add_to_agenda(today, make_referral(), by=None)
    waiting = services.add_to_agenda(today, make_referral(), by=None)
    clock.set(at(24, hour=18))
    services.start_meeting(today, by=None)
    services.mark_discussed(discussed, by=None)
    moved = services.hold_meeting(today, by=None)
    db.session.commit()
    assert waiting.state is ItemState.NOT_DISCUSSED
    assert [item.meeting for item in moved] == [following]  # the full meeting is skipped
    db.session.refresh(following)
    assert [item.referral_id for item in following.agenda] == [
        waiting.referral_id,
        already.referral_id,
    ]
    assert waiting.referral.status is CaseStatus.SCHEDULED
    assert discussed.referral.status is CaseStatus.DISCUSSED
    with app.test_request_context():
        titles = [event.title for event in timeline_for(waiting.referral)]
    assert "Not discussed at the meeting of 24 Nov 2026" in titles
    assert "On the agenda of the meeting of 8 Dec 2026" in titles


def test_where_undiscussed_cases_go_is_shown_before_and_done_after(app, clock):
    today = make_meeting()
    skipped = make_meeting(starts_at=at(1, 12), capacity=1)
    services.add_to_agenda(skipped, make_referral(), by=None)
    one_place = make_meeting(starts_at=at(8, 12), capacity=2)
    services.add_to_agenda(one_place, make_referral(), by=None)
    two_places = make_meeting(starts_at=at(15, 12), capacity=2)
    items = [services.add_to_agenda(today, make_referral(), by=None) for _ in range(4)]
    clock.set(at(24, hour=18))
    services.start_meeting(today, by=None)
    planned = services.roll_over_plan(today)
    # In agenda order: the earliest meeting with room first, until it is full.
    assert [(move.item, move.meeting) for move in planned] == [
        (items[0], one_place),
        (items[1], two_places),
        (items[2], two_places),
        (items[3], None),
    ]
    assert all(item.state is ItemState.PENDING for item in items)  # only shown
    done = services.hold_meeting(today, by=None)
    assert [(move.referral, move.meeting) for move in done] == [
        (move.referral, move.meeting) for move in planned
    ]
    assert items[3].referral.status is CaseStatus.REFERRED
    db.session.refresh(two_places)
    assert {item.referral_id for item in two_places.agenda} == {
        items[1].referral_id,
        items[2].referral_id,
    }


def test_without_a_next_meeting_undiscussed_cases_go_back_to_waiting(app, clock):
    meeting = make_meeting()
    item = services.add_to_agenda(meeting, make_referral(), by=None)
    clock.set(at(24, hour=19))
    services.hold_meeting(meeting, by=None)
    assert item.referral.status is CaseStatus.REFERRED


def test_a_withdrawn_case_leaves_its_agenda(app):
    meeting = make_meeting()
    referral = make_referral()
    item = services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    case_services.withdraw(referral, reason="Pain resolved", by=make_user(roles={Role.COORDINATOR}))
    db.session.commit()
    db.session.refresh(item)
    assert item.state is ItemState.REMOVED


def test_quorum_from_attendance_members_and_guests(app):
    meeting = make_meeting()
    doctors = [
        radiologist(),
        radiologist(),
        make_user(specialty=Specialty.ANAESTHESIOLOGY),
        make_user(roles={Role.COORDINATOR}, specialty=Specialty.OTHER),
    ]
    services.set_members_present(meeting, {user.id for user in doctors}, by=None)
    assert services.meeting_quorum(meeting).count == 2
    services.add_guest(meeting, name="Dr Nadia Benali", specialty=Specialty.SURGERY, by=None)
    assert services.meeting_quorum(meeting).is_met
    set_setting(QUORUM_MINIMUM, 4)
    assert not services.meeting_quorum(meeting).is_met


def test_unticking_removes_members_but_keeps_guests(app):
    meeting = make_meeting()
    doctor = radiologist()
    services.set_members_present(meeting, {doctor.id}, by=None)
    guest = services.add_guest(meeting, name="Dr Paul Roche", specialty=Specialty.ONCOLOGY, by=None)
    services.set_members_present(meeting, set(), by=None)
    assert [row.id for row in meeting.attendance] == [guest.id]
    services.remove_guest(meeting, guest.id, by=None)
    assert meeting.attendance == []


def test_a_guest_already_on_the_sheet_is_refused_whatever_the_case_and_accents(app):
    meeting = make_meeting()
    services.add_guest(meeting, name="Dr Hélène Lefèvre", specialty=Specialty.SURGERY, by=None)
    with pytest.raises(DomainError, match="already on the attendance sheet") as refused:
        services.add_guest(
            meeting, name="  dr HELENE lefevre ", specialty=Specialty.SURGERY, by=None
        )
    assert refused.value.field == "guest_name"
    assert [row.name for row in meeting.attendance] == ["Dr Hélène Lefèvre"]
    services.add_guest(meeting, name="Dr Hélène Lefort", specialty=Specialty.SURGERY, by=None)
    assert len(meeting.attendance) == 2


def test_no_attendance_on_a_cancelled_meeting(app):
    meeting = make_meeting()
    services.cancel_meeting(meeting, by=None)
    with pytest.raises(DomainError, match="cancelled"):
        services.set_members_present(meeting, {radiologist().id}, by=None)
    with pytest.raises(DomainError, match="cancelled"):
        services.add_guest(meeting, name="Dr X", specialty=Specialty.SURGERY, by=None)


def test_only_the_chair_validates_and_a_change_needs_a_new_validation(app):
    chair = radiologist()
    meeting = make_meeting(chair_id=chair.id)
    services.set_members_present(meeting, {chair.id}, by=None)
    with pytest.raises(DomainError, match="Only the chair"):
        services.validate_attendance(meeting, by=make_user(roles={Role.COORDINATOR}))
    services.validate_attendance(meeting, by=chair)
    assert meeting.attendance_validated_by_id == chair.id
    services.add_guest(meeting, name="Dr Paul Roche", specialty=Specialty.ONCOLOGY, by=None)
    assert meeting.attendance_validated_at is None


def test_inactive_members_cannot_be_ticked(app):
    meeting = make_meeting()
    with pytest.raises(DomainError):
        services.set_members_present(meeting, {make_user(is_active=False).id}, by=None)


def test_calendar_feed_tokens(app):
    user = make_user()
    token = services.create_feed(user)
    assert services.feed_user(token) == user
    newer = services.create_feed(user)
    assert services.feed_user(token) is None
    assert services.feed_user(newer) == user
    services.revoke_feed(user)
    assert services.feed_user(newer) is None


def test_agenda_changes_are_audited(app):
    from tracker.core.audit import AuditEntry

    item = services.add_to_agenda(make_meeting(), make_referral(), by=None)
    db.session.commit()
    kinds = set(db.session.scalars(select(AuditEntry.entity_type)))
    assert {"Meeting", "AgendaItem", "Referral"} <= kinds
    assert db.session.get(Referral, item.referral_id).status is CaseStatus.SCHEDULED
