"""The clinician's day: her home and her worklist agree, she phones the patient
from the worklist row and records the month-3 reading with the keyboard on the
NRS button row (a language switch on the way loses nothing), the time points whose
window closed show as missed, not overdue; then a relapse makes the case eligible
for re-discussion (it was not before), and the case is presented again."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.story import STORY
from tracker.demo.phones import FICTIONAL_BLOCKS, fictional_phone


def tab_to(page, name: str, limit: int = 60) -> None:
    """Move the focus with the Tab key, as a keyboard user does, to a field."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def worklist_row(page, case_number: str, timepoint: str):
    return page.locator("li.worklist-row").filter(has_text=case_number).filter(has_text=timepoint)


def counts(badges) -> list[str]:
    """Overdue, due today, due this week: the three numbers as shown."""
    expect(badges).to_have_count(3)
    return [badge.inner_text() for badge in badges.all()]


def home_counts(page) -> list[str]:
    return counts(page.locator("section:has(#home-followups) p .badge"))


def worklist_counts(page) -> list[str]:
    return counts(page.locator("#overdue-title .badge, #today-title .badge, #week-title .badge"))


def pick(page, name: str, value: int) -> None:
    """Tap a score on a button row (the radio itself is visually hidden)."""
    page.locator(f"label[for={name}-{value}]").click()
    expect(page.locator(f"#{name}-{value}")).to_be_checked()


def open_case(page, site, case_number: str) -> None:
    page.goto(f"{site.url}/cases?q={case_number}")
    page.get_by_role("link", name=case_number).first.click()
    expect(page.locator("h1")).to_contain_text(case_number)


def test_the_clinicians_day(site):
    t = site.t
    case = site.server.story_case  # treated 95 days ago, nothing logged yet
    month_3, week_1 = t("Month 3", "Mois 3"), t("Week 1", "Semaine 1")
    page = site.page_as("clinician@example.org")

    # Her home and her worklist count the same follow-ups: hers.
    on_home = home_counts(page)
    assert on_home[0] != "0", on_home  # at least the story's month 3
    site.check(page, "clinician-home")
    page.get_by_role("link", name=t("All my follow-ups", "Tous mes suivis")).click()
    page.wait_for_url(re.compile(r"/followups(\?|$)"))
    # It opens on her own follow-ups, as her home counts them.
    owner = page.locator("select[name=responsible_id] option:checked")
    expect(owner).to_have_text(page.locator(".account-menu").inner_text())
    assert worklist_counts(page) == on_home
    site.check(page, "clinician-worklist")

    # The row says whom to call, with a number one tap dials; week 1's window has
    # closed, so only month 3 waits.
    row = worklist_row(page, case, month_3)
    phone = fictional_phone(FICTIONAL_BLOCKS[0], STORY.identity[0][-4:])
    expect(row.locator("a[href^='tel:']")).to_have_attribute("href", f"tel:{phone}")
    expect(row).to_contain_text(t("day 95 after the procedure", "J95 après le geste"))
    expect(worklist_row(page, case, week_1)).to_have_count(0)

    # Month 3, from the row, with the keyboard: the focus starts on the first NRS
    # button, the arrow keys move along the row and pick.
    row.get_by_role("link", name=re.compile(t("Record", "Saisir"))).click()
    expect(page.locator("h1")).to_contain_text(case)
    expect(page.locator("main a[href^='tel:']")).to_have_attribute("href", f"tel:{phone}")
    first = page.locator("#nrs_average-0")
    expect(first).to_be_focused()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    picked = page.locator("#nrs_average-3")
    expect(picked).to_be_focused()
    expect(picked).to_be_checked()
    # The focus is visible on the button the hidden radio stands for.
    expect(page.locator("label[for=nrs_average-3]")).to_have_css("outline-style", "solid")
    site.check(page, "clinician-assessment")

    # Switching language keeps what was picked, both ways.
    other, back = ("fr", "en") if site.language == "en" else ("en", "fr")
    for language in (other, back):
        page.locator(f".language-switch button[value={language}]").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(picked).to_be_checked()

    # The way of assessing with Tab and Space, then Enter saves; back to the list.
    tab_to(page, "mode")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    recorded = (f"Assessment of {case} recorded.", f"Évaluation de {case} enregistrée.")
    site.flashed(page, *recorded)
    page.wait_for_url(re.compile(r"/followups(\?|$)"))
    expect(worklist_row(page, case, month_3)).to_have_count(0)
    assert worklist_counts(page) == [str(int(on_home[0]) - 1), *on_home[1:]]

    # On the case: month 3 done; week 1 and the regrowth check, whose windows
    # closed with nobody calling, missed (out of window), not overdue.
    open_case(page, site, case)
    planned = page.locator("#followup table").last.locator("tbody tr")
    missed = t("Missed (out of window)", "Non réalisé (hors fenêtre)")
    for timepoint in (week_1, t("Regrowth check", "Contrôle de repousse")):
        status = planned.filter(has_text=timepoint).locator("td").nth(3)
        expect(status).to_have_text(missed)
    expect(planned.filter(has_text=month_3).locator("td").nth(3)).to_contain_text(t("Done", "Fait"))
    expect(planned.filter(has_text=t("Overdue", "En retard"))).to_have_count(0)

    # The trajectory: a chart and the same values as a table; relieved, not eligible.
    chart = page.locator("#followup img")
    chart.scroll_into_view_if_needed()
    page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0", arg=chart.element_handle()
    )
    rows = page.locator("#followup table").first.locator("tbody tr")
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == [
        "7",
        "3",
    ]
    eligible = t("Eligible for re-discussion", "Éligible à une nouvelle discussion")
    verdict = page.locator("#followup [role=status]")
    assert eligible not in verdict.inner_text()
    site.check(page, "clinician-case")

    # The pain comes back: tapped on the button rows this time.
    unscheduled = t("Record an unscheduled assessment", "Saisir une évaluation non programmée")
    page.get_by_role("link", name=unscheduled).click()
    page.locator("input[name=mode]").first.check()
    pick(page, "nrs_average", 7)
    pick(page, "pgic", 4)
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
