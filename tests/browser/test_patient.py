"""The patient's journey, on a 390 px phone, in French and in English: the link
from the invitation e-mail, the date of birth typed, the questionnaire answered
by keyboard and by touch (the language switched halfway, nothing lost), the
thanks page; then the nurse who owns the follow-up finds the answers on the
case page with the new verdict."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS
from tests.browser.patient_story import BORN

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def invited(site) -> tuple[str, str]:
    """The case number and the link of week 1's invitation (from the outbox)."""
    case, link = site.server.python("tests.browser.patient_story", site.language).split()
    return case, link


def phone(site, *, enforce_csp: bool = False) -> Any:
    """A phone with a touch screen and no login, set to the journey's language."""
    context = site.browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="fr-FR" if site.language == "fr" else "en-GB",
        # Injecting axe-core needs the policy lifted; one page keeps it to
        # show that the pages need nothing it forbids.
        bypass_csp=not enforce_csp,
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    return page


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Move the focus with the Tab key, as a keyboard user does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_pages_keep_their_strict_policy_and_still_look_right(site, invited):
    _case, link = invited
    page = phone(site, enforce_csp=True)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    response = page.goto(link)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script" not in policy
    # Bootstrap applies (the stylesheets are allowed): the big button is the
    # primary colour, and nothing was refused on the way.
    button = page.locator("main button[type=submit]")
    expect(button).to_be_visible()
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(13, 110, 253)"
    assert [text for text in refused if "Content Security Policy" in text] == []
    assert page.locator("script").count() == 0
    page.context.close()


def test_the_patient_answers_on_a_phone_and_the_nurse_sees_it(site, invited):
    t = site.t
    case, link = invited
    page = phone(site)

    # The link from the e-mail: the team's question and the date of birth.
    page.goto(link)
    expect(page.locator("h1")).to_have_text(
        t("How is your pain?", "Comment va votre douleur\u202f?")
    )
    site.check(page, "patient-landing")
    fits(page)

    # A slip of the finger first: told plainly, on the field.
    page.locator("#born_on-day").fill(str(BORN.day))
    page.locator("#born_on-month").fill(str(BORN.month))
    page.locator("#born_on-year").fill("1959")
    page.locator("main button[type=submit]").tap()
    expect(page.locator("#born_on-error")).to_contain_text(t("does not match", "ne correspond pas"))
    site.check(page, "patient-birth-date-wrong")

    # Then typed with the keyboard: day, month, year, Enter.
    page.locator("#born_on-day").fill("")
    page.locator("#born_on-day").focus()
    page.keyboard.type(str(BORN.day))
    page.keyboard.press("Tab")
    page.keyboard.type(str(BORN.month))
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(str(BORN.year))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(t("Your answers", "Vos réponses"))
    site.check(page, "patient-questionnaire")
    fits(page)

    # The average pain with the keyboard: Tab into the 0-10 row, arrows to 3.
    tab_to(page, "input[name=nrs_average]")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#nrs_average-3")).to_be_checked()
    # The focus shows on the button the arrows moved to.
    ring = page.evaluate(
        """() => { const label = document.activeElement.nextElementSibling;
                   const style = getComputedStyle(label);
                   return [style.boxShadow, style.outlineStyle]; }"""
    )
    assert ring[0] != "none" or ring[1] != "none", ring

    # The rest by touch: taps on the big buttons and on the choices' words.
    page.locator("label[for=nrs_now-2]").tap()
    page.locator("label[for=nrs_worst-5]").tap()
    page.get_by_label(t("1 - Very much improved", "1 - Très nettement amélioré")).tap()
    page.locator("label[for=side_effects-0]").tap()
    page.locator("textarea[name=note]").tap()
    page.keyboard.type(t("Much better <b>thanks</b>", "Beaucoup mieux <b>merci</b>"))
    expect(page.locator("#nrs_now-2")).to_be_checked()
    expect(page.locator("#pgic-0")).to_be_checked()

    # Halfway, the other language: the same page, the answers still there.
    other = "fr" if site.language == "en" else "en"
    page.locator(f"button[name=lang][value={other}]").tap()
    expect(page.locator("html")).to_have_attribute("lang", other)
    for chosen in ("#nrs_average-3", "#nrs_now-2", "#nrs_worst-5", "#pgic-0", "#side_effects-0"):
        expect(page.locator(chosen)).to_be_checked()
    expect(page.locator("textarea[name=note]")).to_have_value(re.compile("<b>"))
    page.locator(f"button[name=lang][value={site.language}]").tap()
    expect(page.locator("html")).to_have_attribute("lang", site.language)
    expect(page.locator("#nrs_average-3")).to_be_checked()

    # The relief typed, then Enter sends (it does not switch the language).
    page.locator("input[name=relief_pct]").tap()
    page.keyboard.type("80")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(t("Thank you", "Merci"))
    site.check(page, "patient-thanks")
    fits(page)

    # The same link again: already answered, said plainly.
    page.goto(link)
    expect(page.locator("h1")).to_have_text(
        t("Your answers have already been sent", "Vos réponses ont déjà été envoyées")
    )
    site.check(page, "patient-answered")
    page.context.close()

    # The nurse who owns the follow-up: week 1 done with the patient's score,
    # the verdict from it, the comment shown as text.
    nurse = site.page_as("clinician@example.org")
    nurse.goto(f"{site.url}/cases?q={case}")
    nurse.get_by_role("link", name=case).first.click()
    expect(nurse.locator("h1")).to_contain_text(case)
    week_1 = nurse.locator("#followup tr").filter(has_text=t("Week 1", "Semaine 1"))
    expect(week_1).to_contain_text("3/10")
    expect(week_1).to_contain_text(t("Done", "Fait"))
    verdict = nurse.locator("#followup [role=status]")
    expect(verdict).to_contain_text(t("Responding", "Répond"))
    rows = nurse.locator("#followup table").first.locator("tbody tr")
    expect(rows).to_have_count(2)  # the referral's baseline, then the patient's answer
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("3")
    site.check(nurse, "patient-nurse-case")
    nurse.context.close()
