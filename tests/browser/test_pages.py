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
