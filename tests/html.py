"""Reading pages in tests as a browser would: by field, not by string."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def field_value(page: BeautifulSoup, name: str) -> str | None:
    """What a field shows: an input's value, a textarea's text, a select's choice."""
    element = page.find(attrs={"name": name})
    if element is None:
        raise AssertionError(f"no field named {name!r}")
    if element.name == "textarea":
        # As browsers do, one newline right after <textarea> is not content.
        value = element.get_text()
        return value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
    if element.name == "select":
        selected = element.find("option", selected=True)
        return selected["value"] if selected else None
    return element.get("value")


def checked_values(page: BeautifulSoup, name: str) -> set[str]:
    return {
        box["value"]
        for box in page.find_all("input", attrs={"name": name})
        if box.has_attr("checked")
    }


def field_errors(page: BeautifulSoup, field_id: str) -> str:
    block = page.find(id=f"{field_id}-error")
    return block.get_text(" ", strip=True) if block else ""


def text(page: BeautifulSoup) -> str:
    return page.get_text(" ", strip=True)
