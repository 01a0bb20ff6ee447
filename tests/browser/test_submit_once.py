"""A form that is sending cannot be sent again from the page."""

from __future__ import annotations


def test_submit_buttons_are_disabled_while_the_form_is_sent(site):
    page = site.page_as("coordinator@example.org")
    page.goto(site.url + "/cases/new")
    # Stand in for a slow server: the form is sent but the page stays.
    page.evaluate("document.addEventListener('submit', (event) => event.preventDefault())")
    form = page.locator("main form[method=post]").first
    button = form.locator("button[type=submit]").last
    button.evaluate("button => { button.name = 'action'; button.value = 'save'; }")
    button.click()
    assert button.is_disabled()
    sent = form.evaluate("form => Object.fromEntries(new FormData(form))")
    assert sent["action"] == "save"
    assert sent["once_key"]
    page.context.close()
