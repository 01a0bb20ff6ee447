"""Meeting pages: the coordinator's work through the browser's eyes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.factories import make_meeting, make_referral, make_user, radiologist
from tests.html import field_errors, field_value, soup, text
from tracker.cases.rules import CaseStatus
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.meetings import services, views
from tracker.meetings.models import ItemState, Meeting
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def coordinator(auth):
    user = make_user(
        roles={Role.COORDINATOR}, specialty=Specialty.OTHER, full_name="Sophie Bernard"
    )
    auth.login_as(user)
    return user


def meeting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Meeting))


def series_data(**overrides):
    data = {
        "day": "2026-11-24",
        "starts": "17:00",
        "ends": "18:30",
        "place": "Salle de staff",
        "capacity": "12",
        "interval_weeks": "1",
        "count": "12",
    }
    data.update(overrides)
    return data


def test_a_coordinator_creates_a_weekly_series(client, coordinator):
    response = client.post("/meetings/series/new", data=series_data())
    assert response.status_code == 302
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    assert len(meetings) == 12
    assert {m.starts_at.astimezone(PARIS).strftime("%a %H:%M") for m in meetings} == {"Tue 17:00"}
    listing = text(soup(client.get("/meetings")))
    assert "24 Nov 2026, 17:00" in listing


def _issued_key(client, url: str) -> str:
    return soup(client.get(url)).find(attrs={"name": "once_key"})["value"]


def test_the_series_form_sent_twice_creates_the_series_once(client, coordinator):
    data = series_data(once_key=_issued_key(client, "/meetings/series/new"))
    first = client.post("/meetings/series/new", data=data)
    second = client.post("/meetings/series/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert meeting_count() == 12


def test_the_meeting_form_sent_twice_creates_one_meeting(client, coordinator):
    data = {
        key: value
        for key, value in series_data(once_key=_issued_key(client, "/meetings/new")).items()
        if key not in {"interval_weeks", "count"}
    }
    first = client.post("/meetings/new", data=data)
    second = client.post("/meetings/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert meeting_count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"day": "2026-11-19"}, "day", "starts in the future"),
        ({"ends": "16:00"}, "ends", "must end after it starts"),
        ({"capacity": "0"}, "capacity", "between 1 and 100"),
        ({"count": ""}, "count", "how many meetings"),
        ({"count": "", "until": "2029-06-01"}, "until", "two years at most"),
        ({"place": ""}, "place", "place, a video link"),
        ({"video_link": "javascript:alert(1)"}, "video_link", "https://"),
        ({"starts": "25:00"}, "starts", "Not a valid time"),
    ],
)
def test_bad_meetings_show_the_error_keep_the_input_and_save_nothing(
    client, coordinator, overrides, field, message
):
    response = client.post("/meetings/series/new", data=series_data(**overrides))
    assert response.status_code == 422
    page = soup(response)
    assert message in field_errors(page, field)
    assert field_value(page, "place") == overrides.get("place", "Salle de staff")
    assert meeting_count() == 0


def test_only_coordinators_plan_meetings(client, auth):
    meeting = make_meeting()
    auth.login_as(radiologist())
    assert client.get("/meetings").status_code == 200
    assert client.get(f"/meetings/{meeting.id}").status_code == 200
    for method, url in [
        ("get", "/meetings/new"),
        ("get", "/meetings/series/new"),
        ("get", f"/meetings/{meeting.id}/edit"),
        ("post", f"/meetings/{meeting.id}/cancel"),
        ("post", f"/meetings/{meeting.id}/agenda"),
        ("post", f"/meetings/{meeting.id}/attendance"),
        ("post", f"/meetings/{meeting.id}/guests"),
    ]:
        assert getattr(client, method)(url).status_code == 403, url
    # Only the chair or a coordinator runs the meeting.
    assert client.post(f"/meetings/{meeting.id}/start").status_code == 403


def test_admins_see_no_meetings(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    assert client.get("/meetings").status_code == 403


def test_the_coordinator_fills_the_agenda_from_the_waiting_list(client, coordinator):
    meeting = make_meeting()
    urgent = make_referral(
        urgency=__import__("tracker.cases.models", fromlist=["Urgency"]).Urgency.URGENT
    )
    routine = make_referral()
    draft = make_referral(question=None)
    page = soup(client.get(f"/meetings/{meeting.id}"))
    waiting = [a.get_text(strip=True) for a in page.select("#add-cases li a")]
    assert waiting == [urgent.case_number, routine.case_number]
    assert draft.case_number not in text(page)

    response = client.post(f"/meetings/{meeting.id}/agenda", data={"referral_id": routine.id})
    assert response.status_code == 302
    page = soup(client.get(f"/meetings/{meeting.id}"))
    assert routine.case_number in text(page.find(id="agenda"))
    assert "1 of 12 cases · 10 of 90 minutes" in text(page)
    db.session.expire_all()
    assert db.session.get(type(routine), routine.id).status is CaseStatus.SCHEDULED


def test_searching_the_cases_to_add(client, coordinator):
    meeting = make_meeting()
    wanted = make_referral()
    make_referral()
    page = soup(client.get(f"/meetings/{meeting.id}", query_string={"q": wanted.case_number}))
    assert [a.get_text(strip=True) for a in page.select("#add-cases li a")] == [wanted.case_number]


def test_adding_an_incomplete_referral_is_refused_with_a_message(client, coordinator):
    meeting = make_meeting()
    draft = make_referral(question=None)
    response = client.post(
        f"/meetings/{meeting.id}/agenda", data={"referral_id": draft.id}, follow_redirects=True
    )
    assert "is incomplete" in text(soup(response))
    assert meeting.agenda == []


def test_overrunning_the_meeting_is_announced(client, coordinator):
    meeting = make_meeting(duration_minutes=15)
    first, second = make_referral(), make_referral()
    client.post(f"/meetings/{meeting.id}/agenda", data={"referral_id": first.id})
    response = client.post(
        f"/meetings/{meeting.id}/agenda", data={"referral_id": second.id}, follow_redirects=True
    )
    assert "5 minutes beyond the meeting's planned end" in text(soup(response))


def agenda_data(page, **changes) -> dict[str, str]:
    """The agenda form as the page shows it, with ``changes`` by field name."""
    form = page.find("form", id="agenda-form")
    data = {}
    for element in form.find_all(["input", "select"]):
        name = element.get("name")
        if not name or element.get("type") == "submit" or element.get("form"):
            continue
        data[name] = field_value(page, name) or ""
    data.update(changes)
    return data


def line_names(page, item) -> dict[str, str]:
    """The form's field names of one agenda line (``lines-N-minutes``...)."""
    row = page.find("tr", id=f"item-{item.id}")
    return {
        element["name"].rsplit("-", 1)[1]: element["name"]
        for element in row.find_all(["input", "select"])
        if element.get("name", "").startswith("lines-")
    }


def shown_order(page) -> list[str]:
    return [row["data-item"] for row in page.select("#agenda-lines tbody tr")]


def test_one_save_keeps_the_order_presenters_and_minutes_of_every_line(client, coordinator):
    meeting = make_meeting()
    items = [services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(3)]
    db.session.commit()
    doctor = radiologist(full_name="Dr Julien Moreau")
    page = soup(client.get(f"/meetings/{meeting.id}"))
    first, second, third = (line_names(page, item) for item in items)
    # The third case first, the first last; two presenters and minutes changed.
    data = agenda_data(
        page,
        **{
            third["position"]: "1",
            second["position"]: "2",
            first["position"]: "3",
            first["presenter_id"]: str(doctor.id),
            first["minutes"]: "25",
            third["minutes"]: "20",
            third["presenter_id"]: "",
            second["presenter_id"]: str(doctor.id),
        },
    )
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    agenda = db.session.get(Meeting, meeting.id).agenda
    assert [(i.id, i.presenter_id, i.minutes) for i in agenda] == [
        (items[2].id, None, 20),
        (items[1].id, doctor.id, 10),
        (items[0].id, doctor.id, 25),
    ]
    # The page shows when each case starts: 17:00, then after 20 and 10 minutes.
    page = soup(client.get(f"/meetings/{meeting.id}"))
    starts = [cell.get_text(strip=True) for cell in page.select("#agenda-lines .line-start")]
    assert starts == ["17:00", "17:20", "17:30"]


def test_a_wrong_line_saves_nothing_and_keeps_what_was_typed(client, coordinator):
    meeting = make_meeting()
    items = [services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(2)]
    db.session.commit()
    nurse = make_user(roles={Role.CLINICIAN}, full_name="Not A Radiologist")
    page = soup(client.get(f"/meetings/{meeting.id}"))
    first, second = (line_names(page, item) for item in items)
    data = agenda_data(
        page,
        **{
            first["position"]: "2",
            second["position"]: "1",
            first["minutes"]: "abc",
            second["minutes"]: "35",
        },
    )
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert field_errors(page, first["minutes"]) != ""
    assert field_value(page, first["minutes"]) == "abc"
    assert field_value(page, second["minutes"]) == "35"
    # Shown in the order sent, not saved.
    assert shown_order(page) == [str(items[1].id), str(items[0].id)]
    # Refused by the service (a presenter who is not a radiologist): the same.
    data[first["minutes"]] = "15"
    data[second["presenter_id"]] = str(nurse.id)
    # Not offered by the page: the form refuses it as a choice it did not make.
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=data)
    assert response.status_code == 422
    assert field_errors(soup(response), second["presenter_id"]) != ""
    db.session.expire_all()
    agenda = db.session.get(Meeting, meeting.id).agenda
    assert [(i.id, i.minutes) for i in agenda] == [(items[0].id, 10), (items[1].id, 10)]


def test_the_service_refusal_of_a_line_is_shown_on_that_line(client, coordinator, monkeypatch):
    meeting = make_meeting()
    items = [services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(2)]
    db.session.commit()
    doctor = radiologist(full_name="Dr Left Since")
    page = soup(client.get(f"/meetings/{meeting.id}"))
    first, second = (line_names(page, item) for item in items)
    data = agenda_data(page, **{second["presenter_id"]: str(doctor.id), first["minutes"]: "12"})
    # The radiologist leaves between the page and the save: offered, but refused.
    doctor.is_active = False
    db.session.commit()
    offered = views.active_users_with
    monkeypatch.setattr(views, "active_users_with", lambda *roles: [doctor, *offered(*roles)])
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert "active radiologist" in field_errors(page, second["presenter_id"])
    assert field_value(page, first["minutes"]) == "12"
    db.session.expire_all()
    assert [i.minutes for i in db.session.get(Meeting, meeting.id).agenda] == [10, 10]


def test_a_move_button_reorders_without_saving(client, coordinator):
    meeting = make_meeting()
    items = [services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(3)]
    db.session.commit()
    page = soup(client.get(f"/meetings/{meeting.id}"))
    second = line_names(page, items[1])
    data = agenda_data(page, move=f"{items[1].id}:up", **{second["minutes"]: "30"})
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=data)
    assert response.status_code == 200
    page = soup(response)
    assert shown_order(page) == [str(i.id) for i in (items[1], items[0], items[2])]
    assert field_value(page, second["minutes"]) == "30"
    assert "not saved yet" in text(page)
    starts = [cell.get_text(strip=True) for cell in page.select("#agenda-lines .line-start")]
    assert starts == ["17:00", "17:30", "17:40"]
    db.session.expire_all()
    assert [i.id for i in db.session.get(Meeting, meeting.id).agenda] == [i.id for i in items]
    # Then one Save keeps it.
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=agenda_data(page))
    assert response.status_code == 302
    db.session.expire_all()
    agenda = db.session.get(Meeting, meeting.id).agenda
    assert [(i.id, i.minutes) for i in agenda] == [
        (items[1].id, 30),
        (items[0].id, 10),
        (items[2].id, 10),
    ]


def test_a_save_over_someone_elses_changes_is_refused_and_nothing_is_lost(client, coordinator):
    meeting = make_meeting()
    items = [services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(2)]
    db.session.commit()
    page = soup(client.get(f"/meetings/{meeting.id}"))
    first, second = (line_names(page, item) for item in items)
    data = agenda_data(
        page, **{first["position"]: "2", second["position"]: "1", first["minutes"]: "40"}
    )
    # Meanwhile another coordinator adds a case.
    added = services.add_to_agenda(meeting, make_referral(), by=None)
    db.session.commit()
    response = client.post(f"/meetings/{meeting.id}/agenda/lines", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert "Someone changed this agenda" in text(page)
    # The current agenda, with this coordinator's order and minutes.
    assert shown_order(page) == [str(items[1].id), str(items[0].id), str(added.id)]
    assert field_value(page, line_names(page, items[0])["minutes"]) == "40"
    db.session.expire_all()
    assert [i.minutes for i in db.session.get(Meeting, meeting.id).agenda] == [10, 10, 10]
    # Saving again, knowingly, goes through.
    assert (
        client.post(f"/meetings/{meeting.id}/agenda/lines", data=agenda_data(page)).status_code
        == 302
    )
    db.session.expire_all()
    agenda = db.session.get(Meeting, meeting.id).agenda
    assert [(i.id, i.minutes) for i in agenda] == [
        (items[1].id, 10),
        (items[0].id, 40),
        (added.id, 10),
    ]


def test_clashes_are_said_in_words_beside_the_line(client, coordinator):
    meeting = make_meeting(duration_minutes=20)
    doctor = radiologist(full_name="Dr Absent")
    here = radiologist(full_name="Dr Here")
    services.add_to_agenda(meeting, make_referral(), by=None, presenter_id=here.id)
    late = services.add_to_agenda(
        meeting, make_referral(), by=None, presenter_id=doctor.id, minutes=15
    )
    services.set_members_present(meeting, {here.id}, by=None)
    db.session.commit()
    page = soup(client.get(f"/meetings/{meeting.id}"))
    rows = page.select("#agenda-lines tbody tr")
    shown = [
        [
            w.get_text(" ", strip=True)
            for w in row.select(".agenda-warning")
            if not w.has_attr("hidden")
        ]
        for row in rows
    ]
    assert shown[0] == []
    assert rows[1]["id"] == f"item-{late.id}"
    assert shown[1] == [
        "⚠ Presenter not marked present",
        "⚠ Runs past the meeting's end (17:20)",
    ]


def test_removing_a_case_from_the_page(client, coordinator):
    meeting = make_meeting()
    items = [services.add_to_agenda(meeting, make_referral(), by=None) for _ in range(2)]
    db.session.commit()
    client.post(f"/meetings/{meeting.id}/agenda/{items[0].id}/remove")
    db.session.expire_all()
    assert [i.id for i in db.session.get(Meeting, meeting.id).agenda] == [items[1].id]
    assert db.session.get(type(items[0]), items[0].id).state is ItemState.REMOVED


def test_attendance_guests_and_quorum_on_the_page(client, coordinator):
    chair = radiologist(full_name="Dr Julien Moreau")
    anaesthetist = make_user(specialty=Specialty.ANAESTHESIOLOGY, full_name="Dr Karim Haddad")
    meeting = make_meeting(chair_id=chair.id)
    response = client.post(
        f"/meetings/{meeting.id}/attendance", data={"present": [chair.id, anaesthetist.id]}
    )
    assert response.status_code == 302
    page = soup(client.get(f"/meetings/{meeting.id}"))
    assert "Quorum not met" in text(page.find(id="quorum").find(class_="quorum-not-met"))
    assert page.find(id="quorum").find(class_="quorum-count").get_text() == "2"
    client.post(
        f"/meetings/{meeting.id}/guests",
        data={"guest_name": "Dr Nadia Benali", "specialty": "SURGERY"},
    )
    page = soup(client.get(f"/meetings/{meeting.id}"))
    assert page.find(class_="quorum-met").get("hidden") is None
    assert "Dr Nadia Benali · Surgery" in text(page.find(id="guest-list"))
    french = soup(client.get(f"/meetings/{meeting.id}", headers={"Accept-Language": "fr"}))
    # "Quorum atteint :" with a space that never breaks, as French writes it.
    assert french.find(class_="quorum-not-met").next_sibling.startswith("\xa0:")

    bad_guest = client.post(
        f"/meetings/{meeting.id}/guests", data={"guest_name": "", "specialty": "SURGERY"}
    )
    assert bad_guest.status_code == 422
    assert "This field is required." in field_errors(soup(bad_guest), "guest_name")


def _guests(meeting_id: int) -> list[str]:
    return [row.name for row in db.session.get(Meeting, meeting_id).attendance]


def test_the_add_guest_form_sent_twice_adds_the_guest_once(client, coordinator):
    meeting = make_meeting()
    page = soup(client.get(f"/meetings/{meeting.id}"))
    key = page.find("form", action=f"/meetings/{meeting.id}/guests").find(
        attrs={"name": "once_key"}
    )["value"]
    data = {"guest_name": "Dr Nadia Benali", "specialty": "SURGERY", "once_key": key}

    first = client.post(f"/meetings/{meeting.id}/guests", data=data)
    second = client.post(f"/meetings/{meeting.id}/guests", data=data)

    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert "This was already saved." in text(soup(client.get(second.headers["Location"])))
    db.session.expire_all()
    assert _guests(meeting.id) == ["Dr Nadia Benali"]


def test_a_guest_already_on_the_sheet_is_refused_on_the_field(client, coordinator):
    meeting = make_meeting()
    services.add_guest(meeting, name="Dr Nadia Benali", specialty=Specialty.SURGERY, by=None)
    db.session.commit()

    response = client.post(
        f"/meetings/{meeting.id}/guests",
        data={"guest_name": "dr nadia bénali", "specialty": "SURGERY"},
    )

    assert response.status_code == 422
    assert "dr nadia bénali is already on the attendance sheet." in field_errors(
        soup(response), "guest_name"
    )
    db.session.expire_all()
    assert _guests(meeting.id) == ["Dr Nadia Benali"]


def test_the_chair_validates_the_attendance_sheet(app, client, coordinator):
    chair = radiologist()
    meeting = make_meeting(chair_id=chair.id)
    services.set_members_present(meeting, {chair.id}, by=None)
    db.session.commit()
    assert client.post(f"/meetings/{meeting.id}/attendance/validate").status_code == 403
    chair_browser = app.test_client()
    chair_browser.post(
        "/login", data={"email": chair.email, "password": "a long enough test password"}
    )
    signed = chair_browser.post(
        f"/meetings/{meeting.id}/attendance/validate",
        data={"next": f"/meetings/{meeting.id}/mode"},
    )
    assert signed.headers["Location"] == f"/meetings/{meeting.id}/mode"  # back where they were
    elsewhere = chair_browser.post(
        f"/meetings/{meeting.id}/attendance/validate", data={"next": "https://example.com/"}
    )
    assert elsewhere.headers["Location"] == f"/meetings/{meeting.id}#attendance"
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).attendance_validated_by_id == chair.id


def test_holding_the_meeting_carries_cases_over(client, auth, coordinator, clock):
    today = make_meeting()
    following = make_meeting(starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    referral = make_referral()
    services.add_to_agenda(today, referral, by=None)
    db.session.commit()
    clock.set(datetime(2026, 11, 24, 18, 45, tzinfo=PARIS))
    auth.login_as(coordinator)  # days later: a new login
    client.post(f"/meetings/{today.id}/start")
    # First the confirmation, saying where each case will go; nothing changes yet.
    meeting_page = soup(client.get(f"/meetings/{today.id}"))
    assert meeting_page.find("a", href=f"/meetings/{today.id}/hold") is not None
    confirm = soup(client.get(f"/meetings/{today.id}/hold"))
    assert f"{referral.case_number} the meeting of 1 Dec 2026, 17:00, at the top of its agenda" in (
        text(confirm.find(id="carry-over"))
    )
    db.session.expire_all()
    assert db.session.get(Meeting, today.id).status.name == "IN_PROGRESS"
    response = client.post(f"/meetings/{today.id}/hold", follow_redirects=True)
    flashed = text(soup(response).find(class_="flash-messages"))
    assert "The meeting is marked held." in flashed
    assert (
        f"Not discussed, and so carried over: {referral.case_number}: the meeting of 1 Dec 2026"
        in (flashed)
    )
    # Held: the confirmation is not offered again.
    again = client.get(f"/meetings/{today.id}/hold", follow_redirects=True)
    assert "This meeting is already closed." in text(soup(again))
    case_page = text(soup(client.get(f"/cases/{referral.id}")))
    assert "Not discussed at the meeting of 24 Nov 2026" in case_page
    assert "On the agenda of the meeting of 1 Dec 2026" in case_page
    db.session.expire_all()
    assert [item.referral_id for item in db.session.get(Meeting, following.id).agenda] == [
        referral.id
    ]


def test_cancelling_asks_for_confirmation(client, coordinator):
    meeting = make_meeting()
    assert "Cancel the meeting of" in text(soup(client.get(f"/meetings/{meeting.id}/cancel")))
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status.name == "PLANNED"
    client.post(f"/meetings/{meeting.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status.name == "CANCELLED"


def test_the_printable_agenda_lists_cases_presenters_and_questions(client, coordinator):
    meeting = make_meeting()
    doctor = radiologist(full_name="Dr Julien Moreau")
    referral = make_referral(referrer_id=doctor.id, question="Cryoneurolysis of the neuroma?")
    services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    page = text(soup(client.get(f"/meetings/{meeting.id}/print")))
    for expected in (referral.case_number, "Dr Julien Moreau", "Cryoneurolysis of the neuroma?"):
        assert expected in page


def test_the_radiologist_sees_their_cases_on_coming_agendas(client, auth):
    doctor = radiologist()
    meeting = make_meeting()
    referral = make_referral(referrer_id=doctor.id)
    services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    auth.login_as(doctor)
    panel = soup(client.get("/")).find(id="home-agendas").find_parent("section")
    assert referral.case_number in text(panel)
    assert "you present" in text(panel)


def test_the_month_view(client, coordinator):
    make_meeting()
    page = soup(client.get("/meetings", query_string={"view": "month", "month": "2026-11"}))
    assert "November 2026" in text(page)
    assert page.select_one(".month-grid a").get_text(" ", strip=True).startswith("17:00")
    assert (
        client.get("/meetings", query_string={"view": "month", "month": "garbage"}).status_code
        == 200
    )


def test_the_meeting_page_is_french_for_a_french_user(client, auth):
    meeting = make_meeting()
    auth.login_as(make_user(roles={Role.COORDINATOR}, locale="fr"))
    page = text(soup(client.get(f"/meetings/{meeting.id}")))
    assert "Ordre du jour" in page
    assert "Quorum non atteint" in page


def fill(meeting: Meeting, cases: int) -> None:
    doctor = radiologist()
    for _ in range(cases):
        services.add_to_agenda(meeting, make_referral(referrer_id=doctor.id), by=None)
    members = [make_user(specialty=specialty) for specialty in list(Specialty)[: cases % 7 + 3]]
    services.set_members_present(meeting, {user.id for user in members}, by=None)
    services.add_guest(meeting, name="Dr Guest", specialty=Specialty.ONCOLOGY, by=None)
    db.session.commit()


def test_the_meeting_page_runs_the_same_queries_with_5_and_40_cases(
    client, coordinator, count_queries
):
    small = make_meeting(capacity=50)
    large = make_meeting(capacity=50, starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    fill(small, 5)
    fill(large, 40)
    counts = []
    for meeting in (small, large):
        with count_queries() as counter:
            assert client.get(f"/meetings/{meeting.id}").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    assert counts[1] <= 12


def test_starting_the_meeting_opens_meeting_mode(client, coordinator):
    meeting = make_meeting()
    services.add_to_agenda(meeting, make_referral(), by=None)
    db.session.commit()
    # Made for next Tuesday, so started ahead of its day, with the reason why.
    started = client.post(f"/meetings/{meeting.id}/start", data={"early_reason": "Test"})
    # In the room, the next thing is the first case and its decision.
    assert started.headers["Location"] == f"/meetings/{meeting.id}/mode"
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status.name == "IN_PROGRESS"
    # Started already: refused, and back on the meeting's page to say why.
    again = client.post(f"/meetings/{meeting.id}/start")
    assert again.headers["Location"] == f"/meetings/{meeting.id}"


def test_a_feminine_coordinator_is_coordinatrice_in_french(client, auth):
    from tracker.core.address import FormOfAddress

    she = make_user(
        roles={Role.COORDINATOR},
        full_name="Sophie Bernard",
        form_of_address=FormOfAddress.FEMININE,
    )
    he = radiologist(full_name="Dr Julien Moreau", form_of_address=FormOfAddress.MASCULINE)
    meeting = make_meeting(chair_id=he.id, coordinator_id=she.id)

    def spaced(path: str) -> str:
        # French puts a non-breaking space before a colon.
        return text(soup(client.get(path))).replace("\u00a0", " ").replace("\u202f", " ")

    auth.login_as(make_user(roles={Role.COORDINATOR}, locale="fr"))
    page = spaced(f"/meetings/{meeting.id}")
    assert "Coordinatrice : Sophie Bernard" in page
    assert "Président de séance : Dr Julien Moreau" in page
    assert "Coordinatrice : Sophie Bernard" in spaced(f"/meetings/{meeting.id}/print")
    # In English, nothing changes.
    auth.logout()
    auth.login_as(make_user(roles={Role.COORDINATOR}, locale="en"))
    assert "Coordinator: Sophie Bernard" in spaced(f"/meetings/{meeting.id}")
