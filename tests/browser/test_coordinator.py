"""The coordinator's day: a weekly series, the next meeting's agenda filled with
complete referrals, attendance with the quorum shown as it changes, the .ics."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import site_today, tick_one_of_each_specialty


def test_the_coordinators_day(site):
    t = site.t
    page = site.page_as("coordinator@example.org")

    # A weekly series of four meetings, starting in ten days.
    page.goto(site.url + "/meetings/series/new")
    site.check(page, "coordinator-series")
    first = site_today() + timedelta(days=10)
    page.locator("input[name=day]").fill(first.isoformat())
    page.locator("input[name=starts]").fill("17:00")
    page.locator("input[name=ends]").fill("19:00")
    page.locator("input[name=place]").fill("Salle 4")
    chair = page.locator("select[name=chair_id] option").nth(1).get_attribute("value")
    page.locator("select[name=chair_id]").select_option(chair)
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
    page.goto(f"{site.url}/meetings/{min(sorted(ids)[-4:])}")
    site.check(page, "coordinator-meeting-empty")

    # The agenda: complete referrals from the waiting list.
    added = []
    for _ in range(2):
        button = page.locator("#add-cases form[method=post] button").first
        if not button.count():
            break
        number = re.search(r"RCP-\d{4}-\d{4}", button.text_content()).group(0)
        button.click()
        site.flashed(page, f"{number} added to the agenda.", f"{number} ajouté à l'ordre du jour.")
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

    # The calendar file: case numbers only, never a patient's name.
    with page.expect_download() as download:
        page.get_by_role(
            "link", name=t("Add to my calendar (.ics)", "Ajouter à mon agenda (.ics)")
        ).click()
    calendar = download.value.path().read_text()
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert "DTSTART" in calendar
    page.context.close()
