"""The clinician's follow-up pages: worklist, assessment form, chart, presenting again."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import assess, give_contact, make_procedure, make_user
from tests.html import field_errors, field_value, soup, text
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.extensions import db
from tracker.followups.models import Assessment, FollowUp, FollowUpStatus
from tracker.web.permissions import Role

TODAY = date(2026, 11, 20)


@pytest.fixture
def clinician(auth):
    user = make_user(roles={Role.CLINICIAN}, full_name="Dr Amélie Laurent")
    auth.login_as(user)
    return user


def followup_due(procedure, due_on, **values):
    followup = FollowUp(
        procedure_id=procedure.id,
        referral_id=procedure.referral_id,
        offset_days=(due_on - procedure.performed_on).days,
        due_on=due_on,
        **values,
    )
    db.session.add(followup)
    db.session.commit()
    return followup


def section(page, title_id):
    return page.find(id=title_id).find_parent("section")


def test_the_worklist_sorts_follow_ups_into_overdue_today_and_this_week(client, clinician):
    procedure = make_procedure()  # its own schedule: week 1 (overdue) ... month 6 (due 16 Dec)
    overdue = followup_due(procedure, TODAY - timedelta(days=3))
    today = followup_due(procedure, TODAY)
    soon = followup_due(procedure, TODAY + timedelta(days=5))
    later = followup_due(procedure, TODAY + timedelta(days=8))
    page = soup(client.get("/followups?responsible_id="))  # everyone's
    links = lambda part: [a["href"] for a in section(page, part).select("a.btn-primary")]  # noqa: E731
    assert any(f"/followups/{overdue.id}/assessment" in href for href in links("overdue-title"))
    assert any(f"/followups/{today.id}/assessment" in href for href in links("today-title"))
    assert any(f"/followups/{soon.id}/assessment" in href for href in links("week-title"))
    assert not any(f"/followups/{later.id}/" in href for href in links("week-title"))
    assert "Cryoneurolysis" in text(section(page, "overdue-title"))


def test_worklist_filters_by_clinician_and_technique(client, clinician):
    mine = make_procedure()
    other = make_procedure(technique_code="radiofrequency", distance_mm=None)
    followup_due(mine, TODAY, responsible_id=clinician.id)
    followup_due(other, TODAY)
    page = soup(client.get("/followups", query_string={"responsible_id": clinician.id}))
    assert len(section(page, "today-title").select("a.btn-primary")) == 1
    rf = other.technique_id
    page = soup(client.get("/followups", query_string={"technique_id": rf, "responsible_id": ""}))
    today_part = text(section(page, "today-title"))
    assert other.referral.case_number in today_part
    assert mine.referral.case_number not in today_part


def test_one_click_from_the_list_to_the_form_and_back(client, clinician):
    procedure = make_procedure()
    followup = followup_due(procedure, TODAY)
    page = soup(client.get("/followups?responsible_id=&technique_id="))
    record = section(page, "today-title").find("a", class_="btn-primary")["href"]
    form = soup(client.get(record))
    assert field_value(form, "assessed_on") == "2026-11-20"
    response = client.post(
        record,
        data={
            "assessed_on": "2026-11-20",
            "mode": "PHONE",
            "nrs_average": "2",
            "nrs_now": "1",
            "side_effects": ["NUMBNESS"],
            "analgesic_use": "LESS",
            "pgic": "2",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/followups?responsible_id=&technique_id="
    db.session.expire_all()
    assert db.session.get(FollowUp, followup.id).status is FollowUpStatus.DONE


def test_the_entry_form_shows_the_numbers_to_call(client, clinician):
    procedure = make_procedure()
    give_contact(procedure.referral.patient, phone_2="+44 20 7946 0958")
    followup = followup_due(procedure, TODAY)
    page = soup(client.get(f"/followups/{followup.id}/assessment"))
    calls = [(a["href"], text(a)) for a in page.select("main a[href^='tel:']")]
    assert calls == [
        ("tel:+33612345678", "06 12 34 56 78"),
        ("tel:+442079460958", "+44 20 7946 0958"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nrs_average", "11", "between 0 and 10"),
        ("nrs_average", "4.5", "Not a valid integer value"),
        ("nrs_average", "", "This field is required."),
        ("relief_pct", "120", "between 0 and 100"),
        ("pgic", "9", "Not a valid choice"),
        ("assessed_on", "2026-06-01", "cannot come before the procedure"),
        ("assessed_on", "2026-11-21", "in the future"),
    ],
)
def test_bad_assessments_keep_the_input_and_save_nothing(client, clinician, field, value, message):
    procedure = make_procedure()
    data = {
        "assessed_on": "2026-11-20",
        "mode": "VISIT",
        "nrs_average": "3",
        "note": "Walks again",
        field: value,
    }
    response = client.post(f"/cases/{procedure.referral_id}/assessments/new", data=data)
    assert response.status_code == 422
    page = soup(response)
    assert message in field_errors(page, field)
    assert field_value(page, "note") == "Walks again"
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_missing_a_follow_up_from_the_list(client, clinician):
    followup = followup_due(make_procedure(), TODAY)
    assert client.post(f"/followups/{followup.id}/missed", data={"reason": ""}).status_code == 422
    response = client.post(
        f"/followups/{followup.id}/missed?next=/followups",
        data={"reason": "No answer, three calls"},
    )
    assert response.headers["Location"] == "/followups"


def test_the_case_page_shows_the_verdict_chart_and_table(client, clinician):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=5)
    page = soup(client.get(f"/cases/{procedure.referral_id}"))
    block = page.find(id="followup")
    assert "Eligible for re-discussion" in text(block)
    assert "Responded: 83% less pain on 23 Jun 2026" in text(block)
    assert "The pain has come back: only 17% less pain on 2 Nov 2026" in text(block)
    rows = (
        block.find("caption", string="Average pain over time")
        .find_parent("table")
        .select("tbody tr")
    )
    assert len(rows) == 3  # baseline and two assessments
    assert block.find("img")["src"] == f"/cases/{procedure.referral_id}/trajectory.svg"


def test_the_trajectory_chart_is_a_valid_svg_with_every_point(client, clinician):
    procedure = make_procedure()
    for day, nrs in ((date(2026, 6, 23), 1), (date(2026, 7, 16), 2), (date(2026, 11, 2), 5)):
        assess(procedure, assessed_on=day, nrs_average=nrs)
    response = client.get(f"/cases/{procedure.referral_id}/trajectory.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)  # noqa: S314 - our own SVG
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    body = response.get_data(as_text=True)
    assert "Average pain (NRS)" in body
    assert "Expected regrowth (estimate)" in body
    # The pain line is drawn through the baseline and the three assessments.
    svg = "{http://www.w3.org/2000/svg}"
    line = next(g for g in root.iter(f"{svg}g") if g.get("id") == "pain-line")
    assert len(list(line.iter(f"{svg}use"))) == 4


def test_the_chart_speaks_french(client, auth):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    auth.login_as(make_user(roles={Role.CLINICIAN}, locale="fr"))
    body = client.get(f"/cases/{procedure.referral_id}/trajectory.svg").get_data(as_text=True)
    assert "Douleur moyenne (EN)" in body


def test_presenting_again_in_one_step_puts_the_case_on_the_waiting_list(client, clinician):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_now=5, nrs_average=5, nrs_worst=7)
    form = soup(client.get(f"/cases/{procedure.referral_id}/present-again"))
    assert "The pain has come back" in field_value(form, "reason")
    # 18 months at the referral of 26 May 2026, and five whole months since.
    assert field_value(form, "pain_duration_months") == "23"
    fields = ("reason", "question", "pain_duration_months", "patient_agreed_on")
    data = {name: field_value(form, name) for name in fields}
    response = client.post(f"/cases/{procedure.referral_id}/present-again", data=data)
    assert response.status_code == 302
    again = db.session.scalar(
        select(Referral).where(Referral.previous_referral_id == procedure.referral_id)
    )
    assert again.status is CaseStatus.REFERRED
    assert again.pain_duration_months == 23
    page = text(soup(client.get(response.headers["Location"])))
    assert f"Presents again {procedure.referral.case_number}" in page


def test_a_case_presented_again_links_to_the_new_case_instead_of_offering_it_again(
    client, clinician
):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_now=5, nrs_average=5, nrs_worst=7)
    old_url = f"/cases/{procedure.referral_id}"
    page = soup(client.get(old_url))
    assert "Eligible" in text(page.find(id="followup"))
    # Offered once, beside the verdict in the case's header.
    assert len(page.find_all("a", href=f"{old_url}/present-again")) == 1

    form = soup(client.get(f"{old_url}/present-again"))
    fields = ("reason", "question", "pain_duration_months", "patient_agreed_on")
    client.post(f"{old_url}/present-again", data={n: field_value(form, n) for n in fields})
    again = db.session.scalar(
        select(Referral).where(Referral.previous_referral_id == procedure.referral_id)
    )

    page = soup(client.get(old_url))
    section = page.find(id="followup")
    banner = section.find(id="presented-again")
    assert text(banner).startswith(f"Presented again as {again.case_number}")
    assert banner.find("a", href=f"/cases/{again.id}") is not None
    assert "Eligible" not in text(page.find("main"))
    assert page.find("a", href=f"{old_url}/present-again") is None
    # The form is not offered again either: its page links to the new case.
    response = client.get(f"{old_url}/present-again")
    page = soup(response)
    assert response.status_code == 200
    assert page.find(attrs={"name": "reason"}) is None
    assert page.find(id="presented-again").find("a", href=f"/cases/{again.id}") is not None
    # Nor listed as eligible on the worklist.
    worklist = soup(client.get("/followups")).find(id="eligible-title").find_parent("section")
    assert procedure.referral.case_number not in text(worklist)


@pytest.mark.parametrize("duration", ["-3", "1201", "two years", "2.5"])
def test_an_impossible_pain_duration_is_refused_on_its_field(client, clinician, duration):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_now=5, nrs_average=5, nrs_worst=7)
    url = f"/cases/{procedure.referral_id}/present-again"
    form = soup(client.get(url))
    fields = ("reason", "question", "patient_agreed_on")
    data = {name: field_value(form, name) for name in fields}
    response = client.post(url, data={**data, "pain_duration_months": duration})
    assert response.status_code == 422
    page = soup(response)
    assert field_errors(page, "pain_duration_months")
    assert field_value(page, "pain_duration_months") == duration
    assert field_value(page, "reason") == data["reason"]
    later = select(func.count()).where(Referral.previous_referral_id == procedure.referral_id)
    assert db.session.scalar(later) == 0


def test_coordinators_see_follow_up_but_do_not_record_it(client, auth):
    followup = followup_due(make_procedure(), TODAY)
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    assert client.get("/followups").status_code == 200
    assert client.get(f"/followups/{followup.id}/assessment").status_code == 403


def test_the_clinicians_home_lists_their_follow_ups(client, clinician):
    procedure = make_procedure()
    followup_due(procedure, TODAY, responsible_id=clinician.id)
    panel = soup(client.get("/")).find(id="home-followups").find_parent("section")
    assert procedure.referral.case_number in text(panel)


def test_the_worklist_runs_the_same_queries_with_10_and_500_due_follow_ups(
    client, clinician, count_queries
):
    procedures = [
        make_procedure(),
        make_procedure(technique_code="radiofrequency", distance_mm=None),
    ]

    def add(count):
        for number in range(count):
            followup_due(procedures[number % 2], TODAY + timedelta(days=(number % 15) - 7))

    counts = []
    for total in (10, 490):
        add(total)
        with count_queries() as counter:
            assert client.get("/followups?responsible_id=").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]
    # 12, and the record of the read: the chain's head, then one insert.
    assert counts[1] <= 14


def test_a_treated_case_page_runs_the_same_queries_with_1_and_20_assessments(
    client, clinician, count_queries
):
    """The page users open most: its procedures (with operators), follow-ups,
    trajectory and verdict come in a fixed number of queries."""
    from tracker.decisions.models import Procedure

    def page_queries(procedure) -> int:
        url = f"/cases/{procedure.referral_id}"
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    short = make_procedure(performed_on=TODAY - timedelta(days=400))
    assess(short, assessed_on=TODAY - timedelta(days=390), nrs_average=3)
    long = make_procedure(performed_on=TODAY - timedelta(days=700))
    for month in range(20):
        assess(long, assessed_on=TODAY - timedelta(days=690 - 30 * month), nrs_average=2)
    second = db.session.get(Procedure, long.id)
    assert len(second.operators) >= 1
    assert page_queries(short) == page_queries(long)
    # 12, the clinicians who may own its follow-up, and its invitations to answer online.
    assert page_queries(long) <= 14


def test_a_long_worklist_shows_a_days_work_and_says_how_many_in_all(client, clinician):
    from tracker.followups.queries import WORKLIST_ROWS

    def overdue_section():
        page = soup(client.get("/followups?responsible_id="))
        return page.find(id="overdue-title").find_parent("section")

    procedure = make_procedure()
    already = int(text(overdue_section().find(class_="badge")))  # its own time points
    for number in range(WORKLIST_ROWS + 5):
        followup_due(procedure, TODAY - timedelta(days=1 + number % 20))
    overdue = overdue_section()
    total = already + WORKLIST_ROWS + 5
    assert text(overdue.find(class_="badge")) == str(total)
    assert len(overdue.find_all("li")) == WORKLIST_ROWS
    assert f"The first {WORKLIST_ROWS} of {total}" in text(overdue)


def test_the_eligible_count_stops_at_its_cap(client, clinician, monkeypatch):
    from tracker.followups import queries

    for _ in range(3):  # three relapses after a response: three eligible cases
        procedure = make_procedure()
        assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=1)
        assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=6)

    def eligible_section():
        page = soup(client.get("/followups"))
        return page.find(id="eligible-title").find_parent("section")

    assert text(eligible_section().find(class_="badge")) == "3"
    monkeypatch.setattr(queries, "ELIGIBLE_COUNT_CAP", 1)
    section = eligible_section()
    assert text(section.find(class_="badge")) == "1+"
    assert "more than 1" in text(section)


def counts_on_home(client) -> tuple[str, ...]:
    panel = soup(client.get("/")).find(id="home-followups").find_parent("section")
    return tuple(text(badge) for badge in panel.select("p .badge"))


def counts_on_worklist(client, query: str = "") -> tuple[str, ...]:
    page = soup(client.get("/followups" + query))
    return tuple(
        text(section(page, part).find(class_="badge"))
        for part in ("overdue-title", "today-title", "week-title")
    )


def test_the_home_and_the_worklist_count_the_same_follow_ups(client, clinician):
    """The home counted the nurse's follow-ups while the worklist showed the
    team's: both now open on hers, with one query."""
    mine = make_procedure(performed_on=TODAY - timedelta(days=95), followup_owner=clinician)
    theirs = make_procedure(performed_on=TODAY - timedelta(days=93))  # the team queue
    followup_due(mine, TODAY, responsible_id=clinician.id)
    followup_due(theirs, TODAY)
    followup_due(theirs, TODAY - timedelta(days=2), responsible_id=make_user().id)
    home = counts_on_home(client)
    assert home == counts_on_worklist(client)
    assert home == ("1", "1", "0")  # month 3 (day 91) overdue, the one due today
    assert counts_on_worklist(client, "?responsible_id=") == ("3", "2", "0")
    assert counts_on_worklist(client, "?responsible_id=0") == ("1", "1", "0")


def test_the_home_runs_the_same_queries_with_10_and_500_due_follow_ups(
    client, clinician, count_queries
):
    procedure = make_procedure(followup_owner=clinician)
    counts = []
    for total in (10, 490):
        for number in range(total):
            followup_due(
                procedure, TODAY + timedelta(days=(number % 15) - 7), responsible_id=clinician.id
            )
        with count_queries() as counter:
            assert client.get("/").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_a_worklist_row_says_how_late_how_long_the_window_stays_open_and_the_last_reading(
    client, clinician
):
    procedure = make_procedure(performed_on=TODAY - timedelta(days=95), followup_owner=clinician)
    week1 = db.session.scalar(
        select(FollowUp).where(FollowUp.procedure_id == procedure.id).order_by(FollowUp.due_on)
    )
    assess(procedure, followup=week1, assessed_on=week1.due_on, nrs_average=2)
    row = text(section(soup(client.get("/followups")), "overdue-title").find("li"))
    # Month 3 was due on day 91, its window closes on day 121.
    assert "Month 3" in row
    assert "4 days overdue" in row
    assert "window closes in 26 days" in row
    assert "day 95 after the procedure" in row
    assert "Last reading: NRS 2/10" in row
    assert clinician.full_name in row


def test_a_time_point_whose_window_closed_shows_as_missed_out_of_window(client, clinician):
    procedure = make_procedure(performed_on=TODAY - timedelta(days=95), followup_owner=clinician)
    block = soup(client.get(f"/cases/{procedure.referral_id}")).find(id="followup")
    rows = {
        text(tr.find("td")): text(tr.find_all("td")[3])
        for tr in block.select("table")[-1].select("tbody tr")
    }
    # Week 1 and month 1 closed with nothing recorded; the regrowth check's window
    # (days 20 to 60) too; month 3 is overdue, its window still open.
    assert rows["Week 1"] == "Missed (out of window)"
    assert rows["Month 1"] == "Missed (out of window)"
    assert rows["Regrowth check"] == "Missed (out of window)"
    assert rows["Month 3"] == "Overdue"
    worklist = text(soup(client.get("/followups")))
    assert "Regrowth check" not in worklist
    assert "Week 1" not in worklist


def test_the_case_page_rounds_a_half_percent_up_as_everywhere(client, clinician):
    procedure = make_procedure(referral_values={"nrs_average": 8})
    assess(procedure, assessed_on=date(2026, 6, 23), nrs_average=3)  # 62.5% less
    block = text(soup(client.get(f"/cases/{procedure.referral_id}")).find(id="followup"))
    assert "63% less" in block
    assert "62% less" not in block


def test_a_reading_for_no_time_point_says_whether_it_is_extra_or_outside_every_window(
    client, clinician
):
    procedure = make_procedure(distance_mm=None)  # 16 June: month 1's window is 9 July-30 July
    assess(procedure, assessed_on=date(2026, 7, 16), nrs_average=2)  # month 1
    assess(procedure, assessed_on=date(2026, 7, 20), nrs_average=2)  # month 1 again: extra
    assess(procedure, assessed_on=date(2026, 8, 10), nrs_average=2)  # between windows
    block = text(soup(client.get(f"/cases/{procedure.referral_id}")).find(id="followup"))
    assert "20 Jul 2026 (extra reading: its time point was already done)" in block
    assert "10 Aug 2026 (unscheduled: outside every follow-up window)" in block


def test_a_time_point_opened_from_the_worklist_defaults_to_a_phone_call(client, clinician):
    procedure = make_procedure(distance_mm=None)
    followup = followup_due(procedure, TODAY)
    form = soup(client.get(f"/followups/{followup.id}/assessment"))
    assert form.find("input", attrs={"name": "mode", "value": "PHONE"}).has_attr("checked")
    unscheduled = soup(client.get(f"/cases/{procedure.referral_id}/assessments/new"))
    assert not unscheduled.find("input", attrs={"name": "mode", "checked": True})


def test_the_assessment_form_sent_twice_records_one_assessment(client, clinician):
    procedure = make_procedure()
    url = f"/cases/{procedure.referral_id}/assessments/new"
    key = soup(client.get(url)).find(attrs={"name": "once_key"})["value"]
    data = {"assessed_on": "2026-11-20", "mode": "VISIT", "nrs_average": "3", "once_key": key}
    first = client.post(url, data=data)
    second = client.post(url, data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_the_question_names_the_technique_as_a_common_noun_in_french(client, clinician):
    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_now=5, nrs_average=5, nrs_worst=7)
    url = f"/cases/{procedure.referral_id}/present-again"
    question = field_value(soup(client.get(url, headers={"Accept-Language": "fr"})), "question")
    assert procedure.technique.name_fr == "Cryoneurolyse / cryoablation d'un nerf ou d'un névrome"
    assert question == (
        "Nouvelle séance de cryoneurolyse / cryoablation d\u2019un nerf ou d\u2019un névrome "
        "après récidive\u202f?"
    )
