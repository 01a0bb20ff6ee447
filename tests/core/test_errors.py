"""Error pages: clear text, the right status, and nothing half-saved."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select

from tests.factories import make_user
from tests.html import soup, text
from tracker.auth.models import User
from tracker.extensions import db


def test_unknown_page_is_a_readable_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in text(soup(response))


def test_404_page_is_french_for_a_french_browser(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "fr"})
    assert "Page introuvable" in text(soup(response))


def test_wrong_method_is_405(client):
    assert client.delete("/login").status_code == 405


def test_403_page_explains_the_refusal(client, auth):
    auth.login_as(make_user())
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Your account does not give access to this page." in text(soup(response))


def test_missing_csrf_token_is_a_clear_400(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": "a@b.c", "password": "x"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "The form has expired" in text(soup(response))


def test_forms_carry_a_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = soup(client.get("/login"))
        token = page.find("input", attrs={"name": "csrf_token"})["value"]
        user = make_user()
        response = client.post(
            "/login",
            data={
                "email": user.email,
                "password": "a long enough test password",
                "csrf_token": token,
            },
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 302


@pytest.fixture
def failing_app(database_url, instance_path):
    """An app with a page that changes data and then crashes."""
    from tracker import create_app
    from tracker.web.permissions import public

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    app.config["PROPAGATE_EXCEPTIONS"] = False
    crash = Blueprint("crash", __name__)

    @crash.route("/crash")
    @public
    def crash_view() -> str:
        user = db.session.scalar(select(User).where(User.email == "crash@hospital.test"))
        user.full_name = "Half-done change"
        db.session.flush()
        raise RuntimeError("unexpected")

    app.register_blueprint(crash)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_500_page_rolls_back_the_session(app, failing_app):
    user = make_user(email="crash@hospital.test", full_name="Unchanged")
    user_id = user.id
    test_connection = db.engines[None]
    with failing_app.app_context():
        engines = db.engines
        original = engines[None]
        engines[None] = test_connection
        try:
            # The request shares this app context, so its session can be inspected
            # before the context ends (which would discard it anyway).
            response = failing_app.test_client().get("/crash")
            assert db.session.get(User, user_id).full_name == "Unchanged"
        finally:
            engines[None] = original
    assert response.status_code == 500
    assert "Something went wrong" in text(soup(response))


def test_a_refused_permission_is_a_403_and_keeps_nothing(app):
    from werkzeug.exceptions import HTTPException

    from tracker.core.errors import Forbidden
    from tracker.web.handlers import saving

    user = make_user(full_name="Unchanged")

    def refused_half_way() -> None:
        with saving():
            user.full_name = "Half-done change"
            db.session.flush()
            raise Forbidden()

    with app.test_request_context(), pytest.raises(HTTPException) as refused:
        refused_half_way()
    assert refused.value.code == 403
    assert db.session.get(User, user.id).full_name == "Unchanged"
