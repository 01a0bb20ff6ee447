"""Every form the application shows, found as a person would: by opening pages.

The crawler starts from a few pages of an account holding every role, follows
links within the site, and keeps each form it meets with its fields (name,
kind, the value shown, the choices offered).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from werkzeug.exceptions import HTTPException

#: Links not followed while crawling: they end the login or download files.
SKIPPED_ENDPOINTS = {"auth.logout", "audit.export", "static"}


@dataclass
class FormField:
    name: str
    #: "text", "textarea", "number", "date", "time", "email", "password",
    #: "hidden", "checkbox", "radio", "select".
    kind: str
    value: str | None = None
    choices: list[str] = field(default_factory=list)
    multiple: bool = False
    maxlength: int | None = None


@dataclass
class FoundForm:
    endpoint: str
    #: "GET" (searches and filters) or "POST" (everything that changes data).
    method: str
    action: str
    page: str
    fields: dict[str, FormField]


def _endpoint(app: Any, path: str, method: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(urlsplit(path).path, method=method)
    except HTTPException:
        return None
    return endpoint


def _fields(form: Any) -> dict[str, FormField]:
    fields: dict[str, FormField] = {}
    for element in form.find_all(["input", "select", "textarea"]):
        name = element.get("name")
        if not name or name == "csrf_token" or element.get("type") in ("submit", "button"):
            continue
        if element.name == "select":
            options = [
                option.get("value", option.get_text()) for option in element.find_all("option")
            ]
            selected = element.find("option", selected=True)
            fields[name] = FormField(
                name,
                "select",
                value=(selected.get("value") if selected else (options[0] if options else None)),
                choices=options,
                multiple=element.has_attr("multiple"),
            )
            continue
        kind = "textarea" if element.name == "textarea" else element.get("type", "text")
        maxlength = element.get("maxlength")
        existing = fields.get(name)
        if kind in ("checkbox", "radio"):
            entry = existing or FormField(name, kind, multiple=kind == "checkbox")
            entry.choices.append(element.get("value", "on"))
            if element.has_attr("checked"):
                entry.value = element.get("value", "on")
            fields[name] = entry
            continue
        value = element.get_text() if element.name == "textarea" else element.get("value")
        fields[name] = FormField(
            name,
            kind,
            value=value,
            maxlength=int(maxlength) if maxlength and maxlength.isdigit() else None,
        )
    return fields


def find_forms(app: Any, client: Any, start: list[str], limit: int = 250) -> list[FoundForm]:
    """Open pages from ``start``, following links (at most three pages per
    endpoint), and return the POST forms met, one per action endpoint and page."""
    queue = deque(start)
    seen_urls: set[str] = set()
    visits: dict[str, int] = {}
    forms: dict[tuple[str, str], FoundForm] = {}
    while queue and len(seen_urls) < limit:
        url = queue.popleft()
        if url in seen_urls:
            continue
        endpoint = _endpoint(app, url, "GET")
        if endpoint is None or endpoint in SKIPPED_ENDPOINTS or visits.get(endpoint, 0) >= 3:
            continue
        seen_urls.add(url)
        visits[endpoint] = visits.get(endpoint, 0) + 1
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        for form in page.find_all("form"):
            method = (form.get("method") or "get").upper()
            action = form.get("action") or url
            target = _endpoint(app, action, method)
            if target is not None and (target, endpoint) not in forms:
                forms[(target, endpoint)] = FoundForm(target, method, action, url, _fields(form))
        for link in page.find_all("a", href=True):
            href = link["href"]
            if href.startswith("/") and not href.startswith("//"):
                queue.append(href.split("#")[0])
    return list(forms.values())
