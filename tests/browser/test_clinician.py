"""The clinician's day: the worklist, an assessment typed with the keyboard only,
the trajectory, then a relapse that makes the case eligible for re-discussion, and
the case presented again."""

from __future__ import annotations

import re


def tab_to(page, name: str, limit: int = 60) -> None:
    """Move the focus with the Tab key, as a keyboard user does, to a field."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def test_the_clinicians_day(site):
    t = site.t
    page = site.page_as("clinician@example.org")
    page.goto(site.url + "/followups")
    site.check(page, "clinician-worklist")
    page.locator("a[href*='/assessment']").first.click()
    heading = page.locator("h1").inner_text()
    case_number = re.search(r"RCP-\d{4}-\d{4}", heading).group(0)
    site.check(page, "clinician-assessment")

    # Keyboard only: the date is today's, the first way of assessing, NRS 2, Enter.
    tab_to(page, "mode")
    page.keyboard.press("Space")
    tab_to(page, "nrs_average")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    recorded = t("Assessment of {} recorded.", "Évaluation de {} enregistrée.").format(case_number)
    assert recorded in page.locator(".alert-success").first.inner_text()

    # The case: the trajectory (a chart and the same values as a table).
    page.goto(f"{site.url}/cases?q={case_number}")
    page.get_by_role("link", name=case_number).first.click()
    chart = page.locator("#followup img")
    assert chart.count() == 1
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")
    table = page.locator("#followup table").first
    assert "2" in table.inner_text()
    site.check(page, "clinician-case")

    # The pain comes back.
    page.get_by_role(
        "link", name=t("Record an unscheduled assessment", "Saisir une évaluation non programmée")
    ).click()
    page.locator("input[name=mode]").first.check()
    page.locator("input[name=nrs_average]").fill("8")
    page.locator("input[name=pain_is_back]").check()
    page.locator("form:has(input[name=nrs_average]) button[type=submit]").click()
    page.wait_for_load_state()
    if case_number not in page.locator("h1").inner_text():
        page.goto(f"{site.url}/cases?q={case_number}")
        page.get_by_role("link", name=case_number).first.click()
    verdict = page.locator("#followup [role=status]")
    assert (
        t("Eligible for re-discussion", "Éligible à une nouvelle discussion")
        in verdict.inner_text()
    )
    assert verdict.locator("li").count() >= 1
    site.check(page, "clinician-eligible")

    # Presented again: a new episode, prefilled, straight onto the waiting list.
    page.get_by_role(
        "link", name=t("Present again at the RCP", "Présenter de nouveau en RCP")
    ).click()
    site.check(page, "clinician-present-again")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()
    new_number = re.search(r"RCP-\d{4}-\d{4}", page.locator("h1").inner_text()).group(0)
    assert new_number != case_number
    page.context.close()
