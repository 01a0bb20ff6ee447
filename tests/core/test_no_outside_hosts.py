"""The application must work on a closed hospital network: nothing is loaded
from another host, in templates, stylesheets or scripts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Anything that makes a browser fetch: src/href/action attributes, CSS url() and
# @import, and script-side fetches.
LOADERS = re.compile(
    r"""(?:\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?"""
    r"""|url\(\s*["']?|@import\s+["']?|\bfetch\(\s*["']|\bimportScripts\(\s*["'])"""
    r"""\s*((?:[a-z][a-z0-9+.-]*:)?//[^\s"')>]+)""",
    re.IGNORECASE,
)
ALLOWED_HOSTS = {"localhost", "127.0.0.1"}


def site_files() -> list[Path]:
    return [
        path
        for folder in ("templates", "static")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in {".html", ".css", ".js", ".svg", ".txt", ".json"}
    ]


def outside_references(content: str) -> list[str]:
    found = []
    for match in LOADERS.finditer(content):
        host = re.sub(r"^(?:[a-z][a-z0-9+.-]*:)?//", "", match.group(1)).split("/")[0]
        if host.split(":")[0] not in ALLOWED_HOSTS:
            found.append(match.group(1))
    return found


def test_there_are_site_files_to_check():
    names = {path.name for path in site_files()}
    assert {"base.html", "bootstrap.min.css", "bootstrap.bundle.min.js"} <= names


@pytest.mark.parametrize("path", site_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_loads_anything_from_another_host(path):
    assert outside_references(path.read_text(encoding="utf-8", errors="replace")) == []


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.jsdelivr.net/npm/bootstrap.js"></script>',
        "<link href='//fonts.googleapis.com/css'>",
        "body { background: url(https://example.org/x.png) }",
        '@import "https://fonts.example/font.css";',
        "fetch('https://api.example/data')",
    ],
)
def test_the_check_catches_outside_references(snippet):
    assert outside_references(snippet) != []


def test_the_check_leaves_local_and_inline_references_alone():
    local = (
        '<link href="/static/app.css"><img src="data:image/svg+xml,%3csvg '
        'xmlns=\'http://www.w3.org/2000/svg\'%3e"><a href="http://localhost:5000/">'
    )
    assert outside_references(local) == []


def test_rendered_pages_load_only_local_assets(client):
    page = client.get("/login").get_data(as_text=True)
    assert outside_references(page) == []
