"""The patient application (``wsgi_patient.py``), as a hospital exposes it in a
DMZ: the patient pages end to end, and nothing of the staff application."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import TEST_CONFIG, IsolatedClient
from tests.html import soup, text
from tests.selfreport.invited import BORN, PERFORMED, at, born, link_in, mails, path_of, run
from tracker import create_app
from tracker.extensions import db
from tracker.followups.models import Assessment, AssessmentMode
from tracker.web.headers import PATIENT_POLICY


@pytest.fixture
def patient_app(app, db_session) -> Iterator[Any]:
    """The patient application on the suite's database, inside the test's
    transaction (as the ``db_session`` fixture does for the staff one)."""
    alone = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]},
        patient_only=True,
    )
    alone.test_client_class = IsolatedClient
    connection = db.engines[None]
    with alone.app_context():
        engine = db.engines[None]
        db.engines[None] = connection
    try:
        yield alone
    finally:
        with alone.app_context():
            db.engines[None] = engine
            engine.dispose()


def test_its_url_map_is_the_patient_pages_and_their_stylesheets(patient_app):
    assert {rule.endpoint for rule in patient_app.url_map.iter_rules()} == {
        "static",
        "patient.landing",
        "patient.answers",
        "patient.stop",
    }
    assert {rule.rule for rule in patient_app.url_map.iter_rules()} == {
        "/static/<path:filename>",
        "/p/<token>",
        "/p/<token>/answers",
        "/p/<token>/stop",
    }


def test_a_patient_answers_through_it_end_to_end(patient_app, clock, treated):
    procedure, _nurse = treated
    run(clock, at(PERFORMED + timedelta(days=5)))
    path = path_of(link_in(mails()[0]))
    client = patient_app.test_client()

    landing = client.get(path)
    assert landing.status_code == 200
    assert landing.headers["Content-Security-Policy"] == PATIENT_POLICY
    assert "date de naissance" in text(soup(landing))
    questions = client.post(path, data=born(BORN))
    assert questions.status_code == 200
    proof = soup(questions).find("input", attrs={"name": "proof"})["value"]
    thanks = client.post(path + "/answers", data={"proof": proof, "nrs_average": "4"})
    assert thanks.status_code == 200
    assert "Merci" in text(soup(thanks))
    assert "Set-Cookie" not in thanks.headers

    assessment = db.session.scalar(
        select(Assessment).where(Assessment.referral_id == procedure.referral_id)
    )
    assert (assessment.nrs_average, assessment.mode) == (4, AssessmentMode.SELF_REPORTED)
    assert client.post(path + "/answers", data={"proof": proof}).status_code == 410
    # The thanks page's address opened again later: the link's first page.
    again = client.get(path + "/answers?lang=fr", follow_redirects=True)
    assert again.status_code == 410
    assert "déjà été envoyées" in text(soup(again))
    assert client.get("/static/css/app.css").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/login",
        "/cases",
        "/followups",
        "/admin/audit",
        "/invitations/1/link",
        "/language",
        "/p",
        "/p/token/unknown",
    ],
)
def test_staff_pages_are_not_there(patient_app, url):
    client = patient_app.test_client()
    for method in ("GET", "POST"):
        response = client.open(url, method=method, headers={"Accept-Language": "fr"})
        assert response.status_code == 404, (method, url)
        page = soup(response)
        # The patient pages' own error page: plain words, no staff menu or link.
        assert "Cette page ne peut pas être affichée" in text(page)
        assert page.find("a") is None
        assert page.find("nav") is None
        assert response.headers["Content-Security-Policy"] == PATIENT_POLICY


def test_its_error_pages_speak_the_patients_language(patient_app):
    client = patient_app.test_client()
    wrong_method = client.put("/p/some-token", headers={"Accept-Language": "en"})
    assert wrong_method.status_code == 405
    assert "This page cannot be shown" in text(soup(wrong_method))
    assert wrong_method.headers["Content-Security-Policy"] == PATIENT_POLICY
    forged = client.get("/p/" + "A" * 43, headers={"Accept-Language": "fr"})
    assert forged.status_code == 404
    assert "Ce lien ne peut pas être utilisé" in text(soup(forged))


def test_a_staff_cookie_sent_to_it_opens_nothing(patient_app, app, auth, clock, treated):
    """Same secret key, same database: a staff session cookie is still no key
    to anything here (there is nothing to open with it)."""
    _procedure, nurse = treated
    auth.login_as(nurse)
    cookie = auth.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    client = patient_app.test_client()
    client.set_cookie(cookie.key, cookie.value)
    assert client.get("/").status_code == 404
    assert client.get("/cases").status_code == 404
