"""The decision sheet as a PDF: generated, readable back, in both languages."""

from __future__ import annotations

import io

import pypdf

from tests.factories import make_decision, make_patient, make_referral, running_meeting
from tracker.decisions.models import Outcome
from tracker.extensions import db


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def accented_decision():
    meeting = running_meeting(0)
    from tracker.meetings import services as meeting_services

    patient = make_patient(last_name="Lefèvre-Dœuf", first_name="Éloïse Zoé", mrn="80012345")
    referral = make_referral(patient=patient, referrer_id=meeting.chair_id)
    item = meeting_services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    long_reasons = "Douleur neuropathique réfractaire « en étau », ≥ 7/10 malgré prégabaline. " * 60
    return make_decision(
        item, reasons=long_reasons, guideline_reference="Recommandations CIRSE 2025"
    )


def test_the_pdf_reads_back_with_participants_decision_and_plan(client, auth):
    decision = accented_decision()
    auth.login_as(decision.meeting.chair)
    response = client.get(f"/decisions/{decision.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = flat(pdf_text(response.data))
    for expected in (
        "RCP decision sheet",
        decision.referral.case_number,
        "LEFÈVRE-DŒUF Éloïse Zoé",
        "80012345",
        "Dr Julien Moreau, Interventional radiology",
        "Dr Karim Haddad, Anaesthesiology",
        "Dr Amélie Laurent, Pain medicine",
        "Procedure proposed",
        "Cryoneurolysis / cryoablation of a nerve or neuroma",
        "« en étau »",
        "Validated by",
    ):
        assert expected in text, expected
    assert len(pypdf.PdfReader(io.BytesIO(response.data)).pages) >= 2  # the long text flows on


def test_the_pdf_speaks_french_to_a_french_user(client, auth):
    decision = make_decision(outcome=Outcome.NOT_INDICATED)
    chair = decision.meeting.chair
    chair.locale = "fr"
    db.session.commit()
    auth.login_as(chair)
    text = flat(pdf_text(client.get(f"/decisions/{decision.id}.pdf").data))
    assert "Fiche de décision RCP" in text
    assert "Non indiqué" in text
    assert "Anesthésie-réanimation" in text


def test_the_printable_page_has_the_same_content(client, auth):
    decision = make_decision()
    auth.login_as(decision.meeting.chair)
    page = client.get(f"/decisions/{decision.id}").get_data(as_text=True)
    for expected in (
        "Dr Karim Haddad",
        "Procedure proposed",
        decision.referral.case_number,
        "Third common digital nerve",
    ):
        assert expected in page
