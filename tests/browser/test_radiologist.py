"""The radiologist's day: refers a case (the form catches a mistake, which is
fixed), presents it in meeting mode, records the decision and the procedure plan,
downloads the decision sheet, and later records the procedure."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import (
    ROOT,
    SHOTS,
    TIMEOUT_MS,
    site_today,
    tick_one_of_each_specialty,
)

#: Meeting mode on a projector: written with the other screenshots of the run
#: (build/, never the checkout's files); docs/screenshots keeps a copy by hand.
ROOM_SHOTS = ROOT / "build" / "screenshots"


def choose(page, name: str, text: str) -> None:
    """Select the option of ``name`` whose label contains ``text``."""
    options = page.locator(f"select[name={name}] option")
    for index in range(options.count()):
        if text.lower() in options.nth(index).inner_text().lower():
            page.locator(f"select[name={name}]").select_option(index=index)
            return
    raise AssertionError(f"no option {text!r} in {name}")


def first_choice(page, name: str) -> None:
    page.locator(f"select[name={name}]").select_option(index=1)


def test_the_radiologists_day(site):
    t = site.t
    today = site_today().isoformat()
    radiologist = site.page_as("radiologist@example.org")

    # The referral, with NRS 12: refused with a message, and nothing typed is lost.
    radiologist.goto(site.url + "/cases/new")
    form = radiologist.locator("main form")
    form.locator("input[name=mrn]").fill("81234567")
    form.locator("input[name=last_name]").fill("Lefèvre")
    form.locator("input[name=first_name]").fill("Anaïs")
    form.locator("input[name=birth_on]").fill("1970-05-14")
    first_choice(radiologist, "sex")
    choose(radiologist, "indication_id", t("Morton", "Morton"))
    form.locator("input[name=pain_site]").fill("Left foot, third web space")
    first_choice(radiologist, "pain_side")
    first_choice(radiologist, "mechanism")
    form.locator("input[name=pain_duration_months]").fill("18")
    form.locator("input[name=nrs_now]").fill("12")
    form.locator("input[name=nrs_average]").fill("7")
    form.locator("input[name=nrs_worst]").fill("9")
    form.locator("input[name=treatments_tried]").first.check()
    radiologist.locator("select[name=anticoagulation]").select_option("ANTICOAGULANT")
    form.locator("input[name=anticoagulation_details]").fill("Apixaban 5 mg twice daily")
    form.locator("input[name=allergies]").fill("None known")
    form.locator("textarea[name=question]").fill("Cryoneurolysis of the neuroma?")
    form.locator("input[name=patient_agreed_on]").fill(today)
    form.locator("button[type=submit]").last.click()
    # Refused: the same address, the form again with the mistake marked.
    nrs_now = radiologist.locator("input[name=nrs_now]")
    expect(nrs_now).to_have_class(re.compile(r"\bis-invalid\b"))
    # The page opens on the summary of what is wrong, which leads to the field.
    summary = radiologist.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    assert radiologist.evaluate("document.activeElement.dataset.errorSummary") is not None
    expect(summary.get_by_role("heading")).to_have_text(
        t("There is a problem", "Il y a un problème")
    )
    summary.locator("a[href='#nrs_now']").click()
    expect(nrs_now).to_be_focused()
    assert (
        radiologist.locator("input[name=pain_site]").input_value() == "Left foot, third web space"
    )
    site.check(radiologist, "radiologist-referral-mistake")
    nrs_now.fill("6")
    radiologist.locator("main form button[type=submit]").last.click()
    radiologist.wait_for_url(re.compile(r"/cases/\d+$"))
    case_number = re.search(r"RCP-\d{4}-\d{4}", radiologist.locator("h1").inner_text()).group(0)
    case_url = radiologist.url
    site.check(radiologist, "radiologist-case-referred")

    # The coordinator puts it on today's meeting, chaired by the radiologist.
    coordinator = site.page_as("coordinator@example.org")
    coordinator.goto(site.url + "/meetings/new")
    coordinator.locator("input[name=day]").fill(today)
    coordinator.locator("input[name=starts]").fill("14:00")
    coordinator.locator("input[name=ends]").fill("16:00")
    coordinator.locator("input[name=place]").fill("Salle 4")
    choose(coordinator, "chair_id", "Moreau")
    coordinator.locator("main form button[type=submit]").last.click()
    site.flashed(coordinator, "Meeting created.", "Réunion créée.")
    meeting_url = coordinator.url.split("?")[0].split("#")[0]
    assert re.search(r"/meetings/\d+$", meeting_url), meeting_url
    coordinator.goto(f"{meeting_url}?q={case_number}#add-cases")
    coordinator.locator("#add-cases form[method=post] button").first.click()
    site.flashed(
        coordinator,
        f"{case_number} added to the agenda.",
        f"{case_number} ajouté à l\u2019ordre du jour.",
    )
    tick_one_of_each_specialty(coordinator)
    coordinator.locator("#attendance-form button").click()
    site.flashed(coordinator, "Attendance saved.", "Présences enregistrées.")
    coordinator.get_by_role("button", name=t("Start the meeting", "Commencer la réunion")).click()
    # Closing the window before the answer could cancel the request.
    site.flashed(coordinator, "The meeting has started.", "La réunion a commencé.")
    # Started: straight into meeting mode.
    assert coordinator.url.split("?")[0] == meeting_url + "/mode"
    coordinator.context.close()

    # Meeting mode: the radiologist chairs; the attendance sheet is signed first, in one click.
    radiologist.goto(meeting_url + "/mode")
    assert case_number in radiologist.locator("main").inner_text()
    site.check(radiologist, "radiologist-meeting-mode")
    radiologist.locator("#attendance-sheet button").click()
    site.flashed(radiologist, "Attendance sheet validated.", "Feuille de présence validée.")
    # The team's decision and plan.
    radiologist.locator("input[name=outcome][value=PROCEDURE_PROPOSED]").check()
    radiologist.locator("textarea[name=reasons]").fill("Refractory neuroma pain.")
    choose(radiologist, "technique_id", t("Cryo", "Cryo"))
    radiologist.locator("input[name=target]").fill("Third common digital nerve")
    first_choice(radiologist, "side")
    radiologist.locator("input[name=distance_mm]").fill("40")
    # From the keyboard, while still in a field: Alt+S saves the draft, Alt+V validates.
    radiologist.keyboard.press("Alt+S")
    site.flashed(radiologist, "Draft saved.", "Brouillon enregistré.")
    assert radiologist.locator("input[name=distance_mm]").input_value() == "40"
    the_room(site, radiologist)
    # The shortcuts' script runs once the page has loaded, not when the message shows.
    radiologist.wait_for_load_state("load")
    radiologist.locator("textarea[name=reasons]").focus()
    radiologist.keyboard.press("Alt+V")
    # Validating is confirmed on a page of its own, saying what follows.
    radiologist.wait_for_url(re.compile(r"/decisions/\d+/validate$"))
    expect(radiologist.locator("#what-follows")).to_contain_text(
        t("This cannot be undone.", "Ce n\u2019est pas réversible.")
    )
    site.check(radiologist, "radiologist-validate-confirm")
    radiologist.locator("main form button[type=submit]").click()
    site.flashed(
        radiologist,
        f"Decision for {case_number} validated.",
        f"Décision pour {case_number} validée.",
    )

    # The decision sheet, as a PDF.
    radiologist.goto(case_url)
    pdf = radiologist.locator("a[href$='.pdf']").first.get_attribute("href")
    response = radiologist.context.request.get(site.url + pdf, timeout=TIMEOUT_MS)
    assert response.ok
    assert response.body().startswith(b"%PDF")
    site.check(radiologist, "radiologist-case-planned")

    # Later: the procedure performed.
    radiologist.get_by_role("link", name=t("Record the procedure", "Enregistrer le geste")).click()
    radiologist.locator("input[name=performed_on]").fill(today)
    # Prefilled from the plan; the radiologist recording it is the operator.
    assert radiologist.locator("input[name=operator_ids]:checked").count() == 1
    assert radiologist.locator("input[name=target]").input_value() == "Third common digital nerve"
    site.check(radiologist, "radiologist-procedure")
    # Nothing ticked on the plan: without the patient's consent, refused on its field.
    radiologist.locator("textarea[name=consent_on_why_not]").fill("Agreed on the phone")
    radiologist.locator("input[name=blood_tests_on]").fill(today)
    radiologist.locator("input[name=anticoagulation_managed_on]").fill(today)
    radiologist.locator("textarea[name=fasting_on_why_not]").fill("Local anaesthesia")
    radiologist.locator("main form button[type=submit]").last.click()
    expect(radiologist.locator("#consent_on-error")).to_contain_text(
        t("consent must be recorded", "consentement du patient doit être enregistré")
    )
    radiologist.locator("input[name=consent_on]").fill(today)
    radiologist.locator("main form button[type=submit]").last.click()
    site.flashed(radiologist, "Procedure recorded.", "Geste enregistré.")
    radiologist.context.close()


def the_room(site, page) -> None:
    """Meeting mode on a 1920x1080 projector: the case's summary and the
    decision's buttons both in view without scrolling; the timer counting
    against the minutes allotted; on a laptop and a phone, what it looks like."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    summary = page.locator("#case-summary")
    validate = page.locator("#decision-form button[name=action][value=validate]")
    expect(validate).to_be_visible()
    # The safety facts as a badge; the plan prefilled from the referral and from
    # the technique's usual way; the unit's results with it beside the plan.
    expect(page.locator("#safety-facts")).to_contain_text("Apixaban 5 mg twice daily")
    expect(page.locator("select[name=anaesthesia]")).to_have_value("LOCAL")
    expect(page.locator("select[name=care_setting]")).to_have_value("AMBULATORY")
    expect(page.locator("input[name=guidance][value=ULTRASOUND]")).to_be_checked()
    evidence = page.locator("#evidence-title")
    expect(evidence).to_contain_text(site.t("The unit's results", "Résultats de l\u2019unité"))
    for element in (summary, validate, evidence):
        box = element.bounding_box()
        assert box is not None
        assert box["y"] >= 0, box
        assert box["y"] + box["height"] <= 1080, box
    # Side by side, and the page itself does not scroll.
    assert (
        summary.bounding_box()["x"] + summary.bounding_box()["width"]
        <= (page.locator("#decision-pane").bounding_box()["x"])
    )
    assert page.evaluate("document.scrollingElement.scrollHeight") <= 1080
    # The script counts the time on the case (m:ss) beside the minutes allotted.
    expect(page.locator("#case-timer .case-timer-elapsed")).to_have_text(re.compile(r"^\d+:\d\d$"))
    site.check(page)
    ROOM_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOM_SHOTS / f"meeting-mode-{site.language}-1920.png"))

    # A phone: one column, the decision under the case.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator("#decision-pane").bounding_box()["y"] > summary.bounding_box()["y"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"meeting-mode-{site.language}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=str(SHOTS / f"meeting-mode-{site.language}-1366.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
