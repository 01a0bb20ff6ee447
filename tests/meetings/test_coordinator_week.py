"""The coordinator's week: titles and defaults, a series' dates shown before it is
created, meetings entered after the fact, physicians in the chair, and the list and
month views that tell the series apart."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import make_decision, make_referral, make_user, radiologist
from tests.html import field_errors, field_value, soup, text
from tracker.core.audit import AuditEntry
from tracker.core.errors import DomainError
from tracker.core.scheduler import RunOutcome, run_job
from tracker.core.specialties import PHYSICIAN_SPECIALTIES, Specialty
from tracker.extensions import db
from tracker.meetings import services
from tracker.meetings.models import Meeting, MeetingSeries, MeetingStatus
from tracker.meetings.settings import ROLLOVER_HOURS
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def at(day: date, hour: int = 17, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def details(**overrides) -> services.MeetingDetails:
    values = {
        "starts_at": at(date(2026, 11, 24)),
        "duration_minutes": 90,
        "capacity": 12,
        "place": "Salle de staff",
    }
    values.update(overrides)
    return services.MeetingDetails(**values)


def meeting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Meeting))


@pytest.fixture
def coordinator(auth):
    user = make_user(
        roles={Role.COORDINATOR}, specialty=Specialty.OTHER, full_name="Sophie Bernard"
    )
    auth.login_as(user)
    return user


@pytest.fixture
def two_series(app):
    """The unit's Tuesday pain RCP (weekly) and Thursday spine RCP (every other week)."""
    chair = radiologist(full_name="Dr Julien Moreau")
    tuesday = services.create_series(
        details(
            title="RCP douleur",
            video_link="https://visio.chu.test/douleur",
            chair_id=chair.id,
        ),
        interval_weeks=1,
        count=3,
    )
    thursday = services.create_series(
        details(
            title="RCP rachis",
            starts_at=at(date(2026, 11, 26), 12, 30),
            duration_minutes=60,
            place="Salle 3",
        ),
        interval_weeks=2,
        count=2,
    )
    db.session.commit()
    return tuesday, thursday


# --- 1. titles and defaults ---------------------------------------------------------


def test_a_series_and_its_meetings_carry_the_title_and_video_link(two_series):
    tuesday, _thursday = two_series
    assert (tuesday.title, tuesday.video_link) == ("RCP douleur", "https://visio.chu.test/douleur")
    assert {meeting.title for meeting in tuesday.meetings} == {"RCP douleur"}
    assert {meeting.label for meeting in tuesday.meetings} == {"RCP douleur"}
    assert str(services.create_meeting(details()).label) == "RCP meeting"


def test_a_new_meeting_starts_from_the_last_meeting_of_its_series(two_series):
    tuesday, thursday = two_series
    defaults = services.meeting_defaults(tuesday.id)
    # The series' last meeting is Tuesday 8 December: the next one is the 15th.
    assert (defaults.day, defaults.starts, defaults.ends) == (
        date(2026, 12, 15),
        time(17, 0),
        time(18, 30),
    )
    assert defaults.title == "RCP douleur"
    assert defaults.place == "Salle de staff"
    assert defaults.video_link == "https://visio.chu.test/douleur"
    assert defaults.chair_id == tuesday.meetings[0].chair_id
    # Without a series, the latest meeting: the spine RCP of 10 December, every
    # other week, so 24 December.
    latest = services.meeting_defaults()
    assert (latest.day, latest.starts, latest.ends, latest.title) == (
        date(2026, 12, 24),
        time(12, 30),
        time(13, 30),
        "RCP rachis",
    )
    assert services.meeting_defaults(thursday.id) == latest


def test_without_a_series_the_latest_meeting_held_comes_first(app):
    services.create_meeting(
        details(
            title="RCP douleur",
            starts_at=at(date(2026, 11, 17)),
            retrospective_reason="Tenue sur papier",
        )
    )
    services.create_meeting(details(title="Staff exceptionnel", starts_at=at(date(2026, 12, 10))))
    defaults = services.meeting_defaults()
    assert (defaults.title, defaults.day) == ("RCP douleur", date(2026, 11, 24))


def test_no_defaults_without_a_meeting_and_cancelled_meetings_are_skipped(app):
    assert services.meeting_defaults() is None
    services.create_meeting(details(title="RCP douleur"))
    last = services.create_meeting(details(title="Annulée", starts_at=at(date(2026, 12, 1))))
    services.cancel_meeting(last, by=None)
    assert services.meeting_defaults().title == "RCP douleur"


def test_a_chair_who_may_no_longer_chair_is_not_a_default(app):
    chair = radiologist()
    services.create_meeting(details(chair_id=chair.id))
    chair.is_active = False
    assert services.meeting_defaults().chair_id is None


def test_a_meeting_may_join_a_series(two_series):
    tuesday, _thursday = two_series
    extra = services.create_meeting(details(starts_at=at(date(2026, 12, 15))), series_id=tuesday.id)
    assert extra.series is tuesday
    with pytest.raises(DomainError) as refused:
        services.create_meeting(details(), series_id=999_999)
    assert refused.value.field == "series_id"


def test_the_new_meeting_form_starts_from_the_chosen_series(client, coordinator, two_series):
    tuesday, _thursday = two_series
    page = soup(client.get("/meetings/new", query_string={"series": tuesday.id}))
    assert field_value(page, "series_id") == str(tuesday.id)
    assert field_value(page, "title") == "RCP douleur"
    assert field_value(page, "day") == "2026-12-15"
    assert (field_value(page, "starts"), field_value(page, "ends")) == ("17:00", "18:30")
    assert field_value(page, "place") == "Salle de staff"
    assert field_value(page, "video_link") == "https://visio.chu.test/douleur"
    assert field_value(page, "chair_id") == str(tuesday.meetings[0].chair_id)
    assert field_value(page, "coordinator_id") == str(coordinator.id)
    # No series chosen: the latest meeting.
    page = soup(client.get("/meetings/new"))
    assert field_value(page, "title") == "RCP rachis"
    assert field_value(page, "day") == "2026-12-24"
    assert "RCP rachis" in text(page.find(attrs={"name": "series_id"}))


def test_a_new_series_starts_from_the_units_latest_meeting(client, coordinator, two_series):
    page = soup(client.get("/meetings/series/new"))
    assert field_value(page, "title") == "RCP rachis"
    assert (field_value(page, "starts"), field_value(page, "ends")) == ("12:30", "13:30")
    assert field_value(page, "place") == "Salle 3"
    assert field_value(page, "coordinator_id") == str(coordinator.id)


def test_starting_from_a_series_replaces_nothing_typed(client, coordinator, two_series):
    tuesday, _thursday = two_series
    response = client.post(
        "/meetings/new",
        data={
            "action": "defaults",
            "series_id": str(tuesday.id),
            "title": "RCP douleur exceptionnelle",
            "place": "Amphithéâtre",
            "day": "",
            "capacity": "8",
        },
    )
    assert response.status_code == 200
    page = soup(response)
    assert field_value(page, "title") == "RCP douleur exceptionnelle"
    assert field_value(page, "place") == "Amphithéâtre"
    assert field_value(page, "capacity") == "8"
    assert field_value(page, "day") == "2026-12-15"
    assert field_value(page, "video_link") == "https://visio.chu.test/douleur"
    assert not page.select(".invalid-feedback")
    assert meeting_count() == 5


def test_a_meeting_created_in_a_series_joins_it(client, coordinator, two_series):
    tuesday, _thursday = two_series
    response = client.post(
        "/meetings/new",
        data={
            "series_id": str(tuesday.id),
            "title": "RCP douleur",
            "day": "2026-12-15",
            "starts": "17:00",
            "ends": "18:30",
            "place": "Salle de staff",
            "capacity": "12",
        },
    )
    assert response.status_code == 302
    created = db.session.scalar(select(Meeting).order_by(Meeting.id.desc()).limit(1))
    assert (created.series_id, created.title) == (tuesday.id, "RCP douleur")


# --- 2. the series' dates before it is created ------------------------------------------


def test_the_preview_marks_public_holidays_and_creates_nothing(app):
    # Fridays 18 December, Christmas Day, New Year's Day.
    dates = services.preview_series(
        details(starts_at=at(date(2026, 12, 18))), interval_weeks=1, count=3
    )
    assert [item.starts_at.astimezone(PARIS).date() for item in dates] == [
        date(2026, 12, 18),
        date(2026, 12, 25),
        date(2027, 1, 1),
    ]
    assert [str(item.holiday) if item.holiday else None for item in dates] == [
        None,
        "Christmas Day",
        "New Year's Day",
    ]
    assert meeting_count() == 0


def test_the_preview_marks_meetings_at_an_overlapping_time(app):
    existing = services.create_meeting(details(title="RCP rachis"))  # 24 Nov 17:00-18:30
    touching = services.create_meeting(details(starts_at=at(date(2026, 12, 1), 16)))  # -17:30
    services.create_meeting(details(starts_at=at(date(2026, 12, 8), 19)))  # after 18:30
    cancelled = services.create_meeting(details(starts_at=at(date(2026, 12, 15), 17)))
    services.cancel_meeting(cancelled, by=None)
    dates = services.preview_series(
        details(starts_at=at(date(2026, 11, 24), 18), duration_minutes=30),
        interval_weeks=1,
        count=4,
    )
    assert [item.clashes for item in dates] == [[existing], [], [], []]
    dates = services.preview_series(
        details(starts_at=at(date(2026, 11, 24), 17)), interval_weeks=1, count=2
    )
    assert [item.clashes for item in dates] == [[existing], [touching]]


def test_a_series_starts_in_the_future(app):
    with pytest.raises(DomainError) as refused:
        services.preview_series(
            details(starts_at=at(date(2026, 11, 19)), retrospective_reason="Sur papier"),
            interval_weeks=1,
            count=2,
        )
    assert refused.value.field == "day"


def series_form(**overrides):
    data = {
        "title": "RCP douleur",
        "day": "2026-12-18",
        "starts": "17:00",
        "ends": "18:30",
        "place": "Salle de staff",
        "capacity": "12",
        "interval_weeks": "1",
        "count": "3",
    }
    data.update(overrides)
    return data


def test_a_series_shows_its_dates_then_creates_them(client, coordinator):
    page = soup(client.get("/meetings/series/new"))
    assert [button.get("value") for button in page.select("button.btn[name=action]")] == ["preview"]
    services.create_meeting(details(title="RCP rachis", starts_at=at(date(2026, 12, 18))))
    db.session.commit()
    response = client.post("/meetings/series/new", data=series_form(action="preview"))
    assert response.status_code == 200
    page = soup(response)
    listed = page.find(id="series-dates")
    assert "3 meetings will be created" in text(listed)
    lines = [text(line) for line in listed.select("li")]
    assert lines[0].startswith("Fri 18 Dec 2026, 17:00\u201318:30")
    assert "Clashes with RCP rachis, 17:00\u201318:30" in lines[0]
    assert "Public holiday: Christmas Day" in lines[1]
    assert "Public holiday: New Year's Day" in lines[2]
    assert field_value(page, "title") == "RCP douleur"  # the form again, as typed
    assert meeting_count() == 1
    response = client.post("/meetings/series/new", data=series_form(action="create"))
    assert response.status_code == 302
    series = db.session.scalar(select(MeetingSeries))
    assert response.location.endswith(f"/meetings?series={series.id}")
    assert [meeting.title for meeting in series.meetings] == ["RCP douleur"] * 3


def test_the_preview_in_french(client, coordinator):
    response = client.post(
        "/meetings/series/new", data=series_form(action="preview"), headers=FRENCH
    )
    listed = text(soup(response).find(id="series-dates"))
    assert "3 réunions seront créées" in listed
    assert "Jour férié\xa0: Noël" in listed
    assert "Jour férié\xa0: Jour de l\u2019an" in listed


def test_a_preview_with_errors_shows_them(client, coordinator):
    response = client.post(
        "/meetings/series/new", data=series_form(action="preview", count="", until="")
    )
    assert response.status_code == 422
    page = soup(response)
    assert "how many meetings" in field_errors(page, "count")
    assert page.find(id="series-dates") is None


# --- 3. a meeting entered after the fact --------------------------------------------------


def test_a_meeting_that_began_minutes_ago_needs_the_reason(app, clock):
    started = clock() - timedelta(minutes=2)
    with pytest.raises(DomainError) as refused:
        services.create_meeting(details(starts_at=started))
    assert refused.value.field == "retrospective_reason"
    meeting = services.create_meeting(
        details(starts_at=started, retrospective_reason="  Saisie après le début  ")
    )
    db.session.commit()
    assert meeting.retrospective_reason == "Saisie après le début"
    assert meeting.status is MeetingStatus.PLANNED
    audited = db.session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.entity_type == "Meeting", AuditEntry.entity_id == str(meeting.id)
        )
    ).all()
    assert any("retrospective_reason" in str(changes) for changes in audited)


def test_a_meeting_entered_after_the_fact_keeps_its_reason_when_edited(app):
    meeting = services.create_meeting(
        details(starts_at=at(date(2026, 11, 19)), retrospective_reason="Sur papier")
    )
    with pytest.raises(DomainError) as refused:
        services.update_meeting(
            meeting, details(starts_at=at(date(2026, 11, 19)), place="Salle 2"), by=None
        )
    assert refused.value.field == "retrospective_reason"
    services.update_meeting(
        meeting,
        details(starts_at=at(date(2026, 11, 19)), place="Salle 2", retrospective_reason="Panne"),
        by=None,
    )
    assert (meeting.place, meeting.retrospective_reason) == ("Salle 2", "Panne")


def test_a_meeting_ahead_keeps_no_reason(app):
    meeting = services.create_meeting(details(retrospective_reason="Typed by mistake"))
    assert meeting.retrospective_reason is None


def test_a_meeting_held_on_paper_yesterday_is_run_and_dated_at_the_meeting(client, auth, clock):
    chair = radiologist(full_name="Dr Julien Moreau")
    yesterday = at(date(2026, 11, 19), 17)
    meeting = services.create_meeting(
        details(
            starts_at=yesterday,
            chair_id=chair.id,
            retrospective_reason="Tenue sur papier pendant la panne du réseau",
        )
    )
    present = [
        chair,
        make_user(specialty=Specialty.ANAESTHESIOLOGY),
        make_user(specialty=Specialty.PAIN_MEDICINE),
    ]
    services.set_members_present(meeting, {user.id for user in present}, by=None)
    item = services.add_to_agenda(meeting, make_referral(referrer_id=chair.id), by=None)
    services.start_meeting(meeting, by=chair)
    services.validate_attendance(meeting, by=chair)
    db.session.commit()
    decision = make_decision(item)
    services.hold_meeting(meeting, by=chair)
    db.session.commit()
    assert meeting.status is MeetingStatus.HELD
    # Validated now, not back-dated: the sheet dates the meeting itself.
    assert decision.validated_at == clock()
    auth.login_as(chair)
    sheet = text(soup(client.get(f"/decisions/{decision.id}")))
    assert "19 Nov 2026, 17:00" in sheet
    page = text(soup(client.get(f"/meetings/{meeting.id}")))
    assert "Entered after the fact: Tenue sur papier pendant la panne du réseau" in page


def test_the_scheduler_leaves_a_meeting_just_entered_after_the_fact_open(app, clock):
    meeting = services.create_meeting(
        details(starts_at=at(date(2026, 11, 19), 17), retrospective_reason="Sur papier")
    )
    db.session.commit()
    assert run_job("meetings", clock()).outcome is RunOutcome.OK
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.PLANNED
    clock.advance(hours=ROLLOVER_HOURS.value, minutes=1)
    assert run_job("meetings", clock()).counts["meetings_closed"] == 1
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.HELD


def retro_form(**overrides):
    data = {
        "title": "RCP douleur",
        "day": "2026-11-19",
        "starts": "17:00",
        "ends": "18:30",
        "place": "Salle de staff",
        "capacity": "12",
    }
    data.update(overrides)
    return data


def test_the_form_asks_why_a_past_meeting_is_entered(client, coordinator):
    response = client.post("/meetings/new", data=retro_form())
    assert response.status_code == 422
    assert "say why it is entered after the fact" in field_errors(
        soup(response), "retrospective_reason"
    )
    response = client.post("/meetings/new", data=retro_form(), headers=FRENCH)
    assert "indiquez pourquoi elle est saisie a posteriori" in field_errors(
        soup(response), "retrospective_reason"
    )
    assert meeting_count() == 0
    response = client.post(
        "/meetings/new", data=retro_form(retrospective_reason="Tenue sur papier")
    )
    assert response.status_code == 302
    meeting = db.session.scalar(select(Meeting))
    assert meeting.retrospective_reason == "Tenue sur papier"
    page = soup(client.get(f"/meetings/{meeting.id}"))
    assert page.find("button", string="Start the meeting") is not None


# --- 4. physicians in the chair -------------------------------------------------------------


def test_physicians_are_every_specialty_but_nursing_and_other():
    assert Specialty.NURSING not in PHYSICIAN_SPECIALTIES
    assert Specialty.OTHER not in PHYSICIAN_SPECIALTIES
    assert set(Specialty) - {Specialty.NURSING, Specialty.OTHER} == PHYSICIAN_SPECIALTIES
    for specialty in (
        Specialty.INTERVENTIONAL_RADIOLOGY,
        Specialty.ANAESTHESIOLOGY,
        Specialty.PAIN_MEDICINE,
        Specialty.SURGERY,
        Specialty.ONCOLOGY,
    ):
        assert specialty in PHYSICIAN_SPECIALTIES


@pytest.mark.parametrize("specialty", [Specialty.NURSING, Specialty.OTHER])
def test_the_service_refuses_a_chair_who_is_no_physician(app, specialty):
    someone = make_user(specialty=specialty)
    with pytest.raises(DomainError) as refused:
        services.create_meeting(details(chair_id=someone.id))
    assert refused.value.field == "chair_id"
    meeting = services.create_meeting(details())
    with pytest.raises(DomainError) as refused:
        services.update_meeting(meeting, details(chair_id=someone.id), by=None)
    assert refused.value.field == "chair_id"


def test_any_physician_may_chair(app):
    anaesthetist = make_user(specialty=Specialty.ANAESTHESIOLOGY)
    assert services.create_meeting(details(chair_id=anaesthetist.id)).chair == anaesthetist


def test_the_chair_list_offers_physicians_only(client, coordinator):
    make_user(full_name="Dr Karim Haddad", specialty=Specialty.ANAESTHESIOLOGY)
    make_user(full_name="Claire Petit", specialty=Specialty.NURSING)
    for url in ("/meetings/new", "/meetings/series/new"):
        page = soup(client.get(url))
        offered = [option.get_text() for option in page.select("select[name=chair_id] option")]
        assert "Dr Karim Haddad" in offered
        assert "Claire Petit" not in offered
        assert "Sophie Bernard" not in offered  # the coordinator herself
        assert "A physician" in field_errors(page, "chair_id") or "A physician" in text(
            page.find(id="chair_id-help")
        )
    page = soup(client.get("/meetings/new", headers=FRENCH))
    assert "Un médecin" in text(page.find(id="chair_id-help"))


# --- 5. list and month views ----------------------------------------------------------------


def test_the_list_shows_title_cases_and_status_and_filters_by_series(
    client, coordinator, two_series
):
    tuesday, thursday = two_series
    services.add_to_agenda(tuesday.meetings[0], make_referral(), by=None)
    services.cancel_meeting(thursday.meetings[1], by=None)
    db.session.commit()
    rows = [text(row) for row in soup(client.get("/meetings")).select("tbody tr")]
    assert len(rows) == 5
    assert "RCP douleur" in rows[0]
    assert "1 of 12" in rows[0]
    assert "Planned" in rows[0]
    assert "RCP rachis" in rows[1]
    assert any("RCP rachis" in row and "Cancelled" in row for row in rows)
    page = soup(client.get("/meetings", query_string={"series": thursday.id}))
    rows = [text(row) for row in page.select("tbody tr")]
    assert len(rows) == 2
    assert all("RCP rachis" in row for row in rows)
    assert field_value(page, "series") == str(thursday.id)
    # The views keep the filter.
    month_link = page.find("a", string="Month")["href"]
    assert f"series={thursday.id}" in month_link


def test_the_month_shows_title_cases_and_status_and_filters_by_series(
    client, coordinator, two_series
):
    tuesday, _thursday = two_series
    services.add_to_agenda(tuesday.meetings[0], make_referral(), by=None)
    db.session.commit()
    query = {"view": "month", "month": "2026-11"}
    cells = [
        text(link)
        for link in soup(client.get("/meetings", query_string=query)).select(".month-grid a")
    ]
    assert cells == ["17:00 RCP douleur 1 case Planned", "12:30 RCP rachis 0 cases Planned"]
    page = soup(client.get("/meetings", query_string=query | {"series": tuesday.id}))
    assert [text(link) for link in page.select(".month-grid a")] == [
        "17:00 RCP douleur 1 case Planned"
    ]
    assert f"series={tuesday.id}" in page.find("a", string=lambda s: s and "December" in s)["href"]
    french = soup(client.get("/meetings", query_string=query, headers=FRENCH))
    assert "17:00 RCP douleur 1 dossier Prévue" in [text(a) for a in french.select(".month-grid a")]


def _many_meetings(count: int) -> None:
    series = services.create_series(
        details(title="RCP douleur", chair_id=radiologist().id), interval_weeks=1, count=count
    )
    for meeting in series.meetings[:3]:
        services.add_to_agenda(meeting, make_referral(), by=None)
    db.session.commit()


@pytest.mark.parametrize("view", ["upcoming", "month"])
def test_the_views_take_as_many_queries_for_3_or_20_meetings(
    client, coordinator, count_queries, view
):
    def queries_for(count: int) -> int:
        db.session.execute(Meeting.__table__.update().values(status=MeetingStatus.CANCELLED))
        _many_meetings(count)
        with count_queries() as counter:
            response = client.get("/meetings", query_string={"view": view, "month": "2026-12"})
        assert response.status_code == 200
        return counter.count

    assert queries_for(3) == queries_for(20)


def test_the_calendar_file_and_home_panel_name_the_meeting(client, coordinator, two_series):
    tuesday, _thursday = two_series
    response = client.get(f"/meetings/{tuesday.meetings[0].id}.ics")
    assert b"SUMMARY:RCP douleur" in response.data
    assert "RCP douleur" in text(soup(client.get("/")).find(id="home-meetings").parent)
