"""Security headers, no inline script or style, CSRF on every state-changing request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_decision, make_referral, make_user
from tracker import create_app
from tracker.core.audit import AuditEntry
from tracker.extensions import db
from tracker.web.headers import PAGE_POLICY
from tracker.web.permissions import RULE_ATTRIBUTE, AccessRule, Role

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

#: What a strict Content-Security-Policy refuses to run or apply.
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: link": re.compile(r"javascript:", re.I),
}


def test_no_template_uses_inline_script_or_style():
    found = [
        f"{path.relative_to(TEMPLATES)}: {name}"
        for path in TEMPLATES.rglob("*.html")
        for name, pattern in INLINE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []


def test_pages_have_a_strict_policy_and_the_other_headers(client, auth):
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    for url in ("/", "/cases", "/login", "/no-such-page"):
        headers = client.get(url).headers
        policy = headers["Content-Security-Policy"]
        assert policy == PAGE_POLICY, url
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers  # not outside production


def test_pdf_svg_and_downloads_get_the_policy_their_kind_needs(client, auth):
    decision = make_decision()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    pdf = client.get(f"/decisions/{decision.id}.pdf")
    assert pdf.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    svg = client.get(f"/cases/{decision.referral_id}/trajectory.svg")
    assert "script" not in svg.headers["Content-Security-Policy"]
    assert svg.headers["Content-Security-Policy"].startswith("default-src 'none'")
    ics = client.get(f"/meetings/{decision.meeting.id}.ics")
    assert "sandbox" in ics.headers["Content-Security-Policy"]


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_sends_hsts_and_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("TRACKER_SECRET_KEY", "x" * 64)
    monkeypatch.setenv("TRACKER_AUDIT_KEY", "y" * 64)
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"]
    assert app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/static/css/app.css")
    response.close()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.fixture
def csrf_on(app):
    """Turns the CSRF check on (the suite runs without it) once called."""

    def turn_on():
        app.config["WTF_CSRF_ENABLED"] = True

    yield turn_on
    app.config["WTF_CSRF_ENABLED"] = False


def rule_for_endpoint(app, endpoint):
    return getattr(app.view_functions[endpoint], RULE_ATTRIBUTE, None) or AccessRule()


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR, Role.RADIOLOGIST])
def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(
    app, client, auth, csrf_on, role
):
    referral = make_referral()
    auth.login_as(make_user(roles={role}))
    csrf_on()
    before = audit_count()
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "auth.login":
            continue
        if rule_for_endpoint(app, rule.endpoint).sessionless:
            continue  # no session to forge a request in: the link is the key (tests/selfreport)
        url = rule.build(dict.fromkeys(rule.arguments, referral.id), append_unknown=False)[1]
        response = client.post(url, data={"anything": "1"})
        assert response.status_code in (400, 403), url
    assert audit_count() == before
    assert client.get("/").status_code == 200  # still logged in


def test_a_login_without_the_csrf_token_is_refused(client, csrf_on):
    user = make_user()
    csrf_on()
    response = client.post("/login", data={"email": user.email, "password": "whatever"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True).lower()
