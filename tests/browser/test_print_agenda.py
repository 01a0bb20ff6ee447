"""The printed agenda through Chromium's own printing: ten cases on the first A4
page, the attendance sheet on the next; on a phone, no sideways scrolling.

The page comes from the test client and is served to Chromium with the site's
stylesheets, so that no whole installation is needed."""

from __future__ import annotations

import io
import mimetypes
from typing import Any

import pypdf
import pytest

from tests.browser.conftest import ROOT, TIMEOUT_MS
from tests.factories import make_meeting, make_patient, make_referral, make_user, radiologist
from tracker.cases.models import Anticoagulation, Urgency
from tracker.extensions import db
from tracker.meetings import services
from tracker.web.permissions import Role

ORIGIN = "http://agenda.test"
QUESTIONS = [
    "Cryoneurolysis of the neuroma?",
    "Cementoplasty of the L3 metastasis, or radiotherapy first? On apixaban, with a pacemaker.",
    "Genicular nerve radiofrequency ablation after a failed knee replacement?",
    "Coeliac plexus neurolysis for pancreatic cancer pain, opioids no longer enough?",
]


def ten_cases() -> Any:
    chair = radiologist(full_name="Dr Julien Moreau")
    meeting = make_meeting(chair_id=chair.id, capacity=12, duration_minutes=120)
    presenter = radiologist(full_name="Dr Claire Dubois")
    for n in range(10):
        patient = make_patient(
            last_name=f"Martin-Lefèvre{n}", first_name="Marie-Hélène", mrn=f"8001{n:04d}"
        )
        referral = make_referral(
            patient=patient,
            referrer_id=chair.id,
            question=QUESTIONS[n % 4],
            urgency=Urgency.URGENT if n % 3 == 0 else Urgency.ROUTINE,
            anticoagulation=Anticoagulation.ANTICOAGULANT if n % 2 else Anticoagulation.NONE,
            anticoagulation_details="Apixaban 5 mg twice daily" if n % 2 else None,
        )
        services.add_to_agenda(meeting, referral, by=None, presenter_id=presenter.id)
    db.session.commit()
    return meeting


def open_page(browser: Any, html: str, path: str, width: int) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)

    def serve(route: Any) -> None:
        url = route.request.url[len(ORIGIN) :]
        if url.startswith("/static/"):
            file = ROOT / url.split("?")[0].lstrip("/")
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            route.fulfill(body=file.read_bytes(), content_type=kind)
        else:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}{path}")
    return page


@pytest.mark.parametrize("language", ["en", "fr"])
def test_ten_cases_print_on_one_a4_page_and_the_sheet_on_the_next(browser, client, auth, language):
    meeting = ten_cases()
    user = make_user(roles={Role.COORDINATOR})
    user.locale = language
    db.session.commit()
    auth.login_as(user)
    path = f"/meetings/{meeting.id}/print"
    html = client.get(path).get_data(as_text=True)

    page = open_page(browser, html, path, 1366)
    try:
        pdf = pypdf.PdfReader(io.BytesIO(page.pdf(format="A4")))
    finally:
        page.close()
    first = " ".join(pdf.pages[0].extract_text().split())
    for row in meeting.agenda:
        assert row.referral.case_number in first, row.referral.case_number
    assert len(pdf.pages) == 2
    assert "Dr Julien Moreau" in pdf.pages[1].extract_text()

    phone = open_page(browser, html, path, 390)
    try:
        assert phone.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    finally:
        phone.close()
