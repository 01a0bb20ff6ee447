"""The coordinator's day: a weekly series started from the unit's usual meeting
(its dates shown first), yesterday's meeting held on paper entered with its
reason, the next meeting's agenda filled with complete referrals, attendance
with the quorum shown as it changes, the printed agenda, the .ics."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import site_today, tick_one_of_each_specialty


def test_the_coordinators_day(site):
    t = site.t
    page = site.page_as("coordinator@example.org")

    # A weekly series of four meetings, starting in ten days, from the unit's
    # usual meeting: title, time, place and chair are there already.
    page.goto(site.url + "/meetings/series/new")
    site.check(page, "coordinator-series")
    expect(page.locator("input[name=title]")).to_have_value("RCP douleur")
    expect(page.locator("input[name=starts]")).to_have_value("17:00")
    expect(page.locator("input[name=place]")).to_have_value(
        "Salle de staff, imagerie interventionnelle"
    )
    assert page.locator("select[name=chair_id]").input_value()
    first = site_today() + timedelta(days=10)
    page.locator("input[name=day]").fill(first.isoformat())
    page.locator("select[name=interval_weeks]").select_option("1")
    page.locator("input[name=count]").fill("4")
    # The dates first, then the series.
    page.get_by_role("button", name=t("Show the dates", "Afficher les dates"), exact=True).click()
    expect(page.locator("#series-dates li")).to_have_count(4)
    site.check(page, "coordinator-series-dates")
    page.get_by_role("button", name=t("Create the meetings", "Créer les réunions")).click()
    site.flashed(page, "4 meetings created.", "4 réunions créées.")

    # The series' first meeting (the newest ids are the series').
    ids = [
        int(match.group(1))
        for href in page.locator("a[href^='/meetings/']").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
        if (match := re.fullmatch(r"/meetings/(\d+)", href or ""))
    ]
    meeting_url = f"{site.url}/meetings/{min(sorted(ids)[-4:])}"
    page.goto(meeting_url)
    site.check(page, "coordinator-meeting-empty")

    # The agenda: complete referrals from the waiting list.
    added = []
    for _ in range(2):
        button = page.locator("#add-cases form[method=post] button").first
        if not button.count():
            break
        number = re.search(r"RCP-\d{4}-\d{4}", button.text_content()).group(0)
        button.click()
        site.flashed(
            page, f"{number} added to the agenda.", f"{number} ajouté à l\u2019ordre du jour."
        )
        added.append(number)
    assert added, "the demo team has complete referrals waiting"
    for number in added:
        expect(page.locator("#agenda")).to_contain_text(number)

    # Attendance: the quorum changes as people are ticked, before saving.
    quorum = page.locator("#quorum")
    expect(quorum.locator(".quorum-not-met")).to_be_visible()
    tick_one_of_each_specialty(page)
    expect(quorum.locator(".quorum-met")).to_be_visible()
    page.locator("#attendance-form button").click()
    site.flashed(page, "Attendance saved.", "Présences enregistrées.")
    expect(page.locator("#quorum .quorum-met")).to_be_visible()
    site.check(page, "coordinator-meeting")

    # The printed agenda: each case's time, and a Print button.
    page.get_by_role("link", name=t("Printable agenda", "Ordre du jour imprimable")).click()
    expect(page.locator("button[data-print]")).to_be_visible()
    for number in added:
        expect(page.locator("main")).to_contain_text(number)
    site.check(page, "coordinator-printed-agenda")
    page.go_back()

    # Yesterday's meeting, held on paper during an outage: entered with its reason.
    page.goto(site.url + "/meetings/new")
    yesterday = (site_today() - timedelta(days=1)).isoformat()
    page.locator("input[name=day]").fill(yesterday)
    page.locator("input[name=starts]").fill("17:00")
    page.locator("input[name=ends]").fill("18:30")
    page.locator("main form button[type=submit]").last.click()
    # Refused without the reason, on its field; what was typed is kept.
    expect(page.locator("textarea[name=retrospective_reason]")).to_have_class(
        re.compile(r"\bis-invalid\b")
    )
    assert page.locator("input[name=day]").input_value() == yesterday
    page.locator("textarea[name=retrospective_reason]").fill("Held on paper: network outage.")
    page.locator("main form button[type=submit]").last.click()
    site.flashed(page, "Meeting created.", "Réunion créée.")
    expect(page.locator("main")).to_contain_text("Held on paper: network outage.")
    page.goto(meeting_url)

    # The calendar file: case numbers only, never a patient's name.
    with page.expect_download() as download:
        page.get_by_role(
            "link", name=t("Add to my calendar (.ics)", "Ajouter à mon agenda (.ics)")
        ).click()
    calendar = download.value.path().read_text()
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert "DTSTART" in calendar
    page.context.close()
