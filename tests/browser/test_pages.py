"""Every main page, as the role that lives on it, in English and French: no
critical or serious accessibility violation, and it fits a phone's width."""

from __future__ import annotations

import re

import pytest

PAGES = {
    "coordinator@example.org": ["/", "/cases", "/cases/new", "/meetings", "/outcomes"],
    "radiologist@example.org": ["/", "/cases"],
    "clinician@example.org": ["/", "/followups"],
}


@pytest.mark.parametrize("email", sorted(PAGES))
def test_main_pages_are_accessible(site, email):
    page = site.page_as(email)
    for path in PAGES[email]:
        response = page.goto(site.url + path)
        assert response.status == 200, path
        name = email.split("@")[0] + (path.replace("/", "-").rstrip("-") or "-home")
        site.check(page, name)
    page.context.close()


def test_the_worklist_and_the_assessment_form_work_on_a_phone(site):
    page = site.page_as("clinician@example.org", width=390, height=844)
    page.goto(site.url + "/followups")
    site.check(page, "phone-worklist")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("a[href*='/assessment']").first.click()
    page.wait_for_url(re.compile(r"/assessment(\?|$)"))
    site.check(page, "phone-assessment")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The case page's planned follow-ups: status and buttons on screen, no sideways page.
    case = site.server.story_case
    page.goto(f"{site.url}/cases?q={case}")
    page.get_by_role("link", name=case).first.click()
    record = page.locator("#followup table").last.locator("a[href*='/assessment']:visible").first
    # Where it sits without scrolling the table sideways (scrolling it into view would).
    assert record.evaluate("link => link.getBoundingClientRect().right") <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    site.check(page, "phone-case")
    page.context.close()


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["laptop", "phone"])
def test_a_treated_case_shows_its_verdict_and_next_action_in_the_first_screen(site, size):
    width, height = size
    page = site.page_as("clinician@example.org", width=width, height=height)
    case = site.server.story_case
    page.goto(f"{site.url}/cases?q={case}")
    page.get_by_role("link", name=case).first.click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    verdict = page.locator(".case-fact", has_text=site.t("Retreatment", "Retraitement"))
    action = page.locator("#next-action")
    for element in (verdict, action):
        assert element.is_visible()
        # Seen without scrolling: its bottom edge is above the fold.
        assert element.evaluate("e => e.getBoundingClientRect().bottom") <= height
    # Week 1 closed unrecorded: month 3 is the follow-up to phone for.
    assert action.inner_text() == site.t(
        "Record the follow-up: Month 3", "Saisir le suivi\u00a0: Mois 3"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    site.check(page, f"case-first-screen-{width}")
    page.context.close()
