"""The coordinator puts a meeting's agenda in order on a phone: lines dragged
and moved from the keyboard, presenters and minutes changed, the start times
following at once, and everything kept by one Save."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

PHONE = 390


def agenda_ids(page: Any) -> list[str]:
    return page.locator("#agenda-lines tbody tr").evaluate_all(
        "rows => rows.map(row => row.getAttribute('data-item'))"
    )


def starts(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("#agenda-lines .line-start").all_inner_texts()]


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE, f"the page is {width} px wide on a {PHONE} px phone"


def open_agenda(site: Any, page: Any) -> None:
    """An upcoming meeting whose agenda can still change, with three cases or more."""
    page.goto(site.url + "/meetings")
    links = page.locator("main a[href^='/meetings/']").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    for href in links:
        if re.fullmatch(r"/meetings/\d+", href or ""):
            page.goto(site.url + href)
            if page.locator("#add-cases").count():
                break
    else:
        raise AssertionError("no upcoming meeting to organise in the demo")
    while page.locator("#agenda-lines tr.agenda-line").count() < 3:
        page.locator("#add-cases form[method=post] button").first.click()
        page.wait_for_load_state()
        expect(page.locator(".flash-messages")).to_be_visible()


def test_the_agenda_is_put_in_order_on_a_phone_and_saved_once(site):
    t = site.t
    page = site.page_as("coordinator@example.org", width=PHONE, height=844)
    open_agenda(site, page)
    no_sideways_scroll(page)
    lines = page.locator("#agenda-lines tr.agenda-line")
    first, second, third = (lines.nth(n).get_attribute("data-item") for n in range(3))
    fixed = [row for row in agenda_ids(page) if row not in (first, second, third)]

    # Dragged: the first line below the second (both in view: a card is tall).
    page.locator(f"#item-{first}").evaluate("row => row.scrollIntoView({block: 'start'})")
    handle = page.locator(f"#item-{first} .drag-handle")
    expect(handle).to_be_visible()
    target = page.locator(f"#item-{second}")
    box = target.bounding_box()
    # The drag's events, sent to the page as a browser sends them: Chromium's own
    # drag, driven by the mouse, starts only after timing heuristics a busy
    # machine does not always meet, and a test must not depend on time.
    data = page.evaluate_handle("() => new DataTransfer()")
    handle.dispatch_event("dragstart", {"dataTransfer": data})
    past_the_middle = {"clientX": box["x"] + 20, "clientY": box["y"] + box["height"] - 4}
    target.dispatch_event("dragover", {"dataTransfer": data, **past_the_middle})
    target.dispatch_event("drop", {"dataTransfer": data, **past_the_middle})
    handle.dispatch_event("dragend", {"dataTransfer": data})
    moved = [row for row in agenda_ids(page) if row in (first, second, third)]
    assert moved == [second, first, third]
    # The hidden positions the form sends follow the lines.
    positions = page.locator("#agenda-lines .line-position").evaluate_all(
        "inputs => inputs.map(input => input.value)"
    )
    assert positions == [str(n) for n in range(1, len(positions) + 1)]

    # From the keyboard: the same case's "down" button, Enter; focus stays on it.
    down = page.locator(f"#item-{first} .move-down")
    down.focus()
    page.keyboard.press("Enter")
    moved = [row for row in agenda_ids(page) if row in (first, second, third)]
    assert moved == [second, third, first]
    assert page.evaluate("document.activeElement.value") == f"{first}:down"
    case = page.locator(f"#item-{first}").get_attribute("data-case")
    expect(page.locator("#agenda-announce")).to_contain_text(case)

    # Presenter and minutes of two lines; the times that follow change at once.
    before = starts(page)
    presenter = page.locator(f"#item-{second} .line-presenter")
    chosen = presenter.locator("option").nth(1).get_attribute("value")
    presenter.select_option(chosen)
    minutes = page.locator(f"#item-{second} .line-minutes")
    old = int(minutes.input_value())
    minutes.fill(str(old + 15))
    row = agenda_ids(page).index(first)
    assert starts(page)[row] != before[row]
    page.locator(f"#item-{third} .line-minutes").fill("7")
    shown = starts(page)
    no_sideways_scroll(page)
    site.check(page, "agenda-phone-unsaved")

    # One Save keeps all of it.
    page.get_by_role(
        "button", name=t("Save the agenda", "Enregistrer l\u2019ordre du jour")
    ).click()
    site.flashed(page, "Agenda saved.", "Ordre du jour enregistré.")
    order = agenda_ids(page)
    assert [row for row in order if row not in fixed][:3] == [second, third, first]
    assert page.locator(f"#item-{second} .line-presenter").input_value() == chosen
    assert page.locator(f"#item-{second} .line-minutes").input_value() == str(old + 15)
    assert page.locator(f"#item-{third} .line-minutes").input_value() == "7"
    # The times the server computes are those the page showed before saving.
    assert starts(page) == shown
    no_sideways_scroll(page)
    site.check(page, "agenda-phone-saved")
    page.context.close()
