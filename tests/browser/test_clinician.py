"""The clinician's day: the worklist, the week-1 assessment typed with the keyboard
only and the month-3 one, the trajectory, then a relapse that makes the case
eligible for re-discussion (it was not before), and the case presented again."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def tab_to(page, name: str, limit: int = 60) -> None:
    """Move the focus with the Tab key, as a keyboard user does, to a field."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def record_link(page, case_number: str, timepoint: str):
    row = page.locator("li").filter(has_text=case_number).filter(has_text=timepoint)
    return row.locator("a[href*='/assessment']")


def open_case(page, site, case_number: str) -> None:
    page.goto(f"{site.url}/cases?q={case_number}")
    page.get_by_role("link", name=case_number).first.click()


def test_the_clinicians_day(site):
    t = site.t
    case = site.server.story_case  # treated 95 days ago, nothing logged yet
    page = site.page_as("clinician@example.org")
    page.goto(site.url + "/followups")
    site.check(page, "clinician-worklist")

    # Week 1, with the keyboard only: Tab to the way of assessing, Space, Tab to the
    # average pain, type, Enter (the date is today's).
    record_link(page, case, t("Week 1", "Semaine 1")).click()
    expect(page.locator("h1")).to_contain_text(case)
    site.check(page, "clinician-assessment")
    tab_to(page, "mode")
    page.keyboard.press("Space")
    tab_to(page, "nrs_average")
    # The focus is visible: Bootstrap's focus ring (a box shadow) or an outline.
    ring = page.evaluate(
        """() => { const style = getComputedStyle(document.activeElement);
                   return [style.boxShadow, style.outlineStyle]; }"""
    )
    assert ring[0] != "none" or ring[1] != "none", ring
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    recorded = (f"Assessment of {case} recorded.", f"Évaluation de {case} enregistrée.")
    site.flashed(page, *recorded)

    # Month 3, back on the worklist (week 1 has left it).
    expect(record_link(page, case, t("Week 1", "Semaine 1"))).to_have_count(0)
    record_link(page, case, t("Month 3", "Mois 3")).click()
    page.locator("input[name=mode]").first.check()
    page.locator("input[name=nrs_average]").fill("3")
    page.locator("main form button[type=submit]").last.click()
    site.flashed(page, *recorded)

    # The trajectory: a chart and the same values as a table; relieved, not eligible.
    open_case(page, site, case)
    chart = page.locator("#followup img")
    chart.scroll_into_view_if_needed()
    page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=chart.element_handle()
    )
    rows = page.locator("#followup table").first.locator("tbody tr")
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == [
        "7",
        "2",
        "3",
    ]
    eligible = t("Eligible for re-discussion", "Éligible à une nouvelle discussion")
    verdict = page.locator("#followup [role=status]")
    assert eligible not in verdict.inner_text()
    site.check(page, "clinician-case")

    # The pain comes back.
    unscheduled = t("Record an unscheduled assessment", "Saisir une évaluation non programmée")
    page.get_by_role("link", name=unscheduled).click()
    page.locator("input[name=mode]").first.check()
    page.locator("input[name=nrs_average]").fill("7")
    page.locator("input[name=pain_is_back]").check()
    page.locator("main form button[type=submit]").last.click()
    site.flashed(page, *recorded)
    if case not in page.locator("h1").inner_text():
        open_case(page, site, case)
    expect(verdict).to_contain_text(eligible)
    assert verdict.locator("li").count() >= 2  # why, in words
    site.check(page, "clinician-eligible")

    # Presented again: a new episode, prefilled with what was measured and with
    # today's pain duration.
    present_again = t("Present again at the RCP", "Présenter de nouveau en RCP")
    page.get_by_role("link", name=present_again).click()
    page.wait_for_url(re.compile(r"/present-again(\?|$)"))
    expect(page.locator("input[name=pain_duration_months]")).not_to_have_value("")
    site.check(page, "clinician-present-again")
    page.locator("main form button[type=submit]").last.click()
    site.flashed(page, "is referred to the RCP again as", "est de nouveau présenté en RCP")
    new_number = re.search(r"RCP-\d{4}-\d{4}", page.locator("h1").inner_text()).group(0)
    assert new_number != case
    site.check(page, "clinician-presented-again")

    # The old case now says as what it was presented again, and offers it no more.
    page.locator("a", has_text=case).first.click()
    banner = page.locator("#presented-again")
    expect(banner).to_contain_text(new_number)
    expect(page.get_by_role("link", name=present_again)).to_have_count(0)
    banner.get_by_role("link", name=new_number).click()
    expect(page.locator("h1")).to_contain_text(new_number)
    page.context.close()
