"""The decision sheet (fiche RCP): one page as a PDF, the same content as the page,
what the HAS method sheet asks for, in the reader's language."""

from __future__ import annotations

import html
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pypdf
import pytest

from tests.factories import (
    make_decision,
    make_patient,
    make_referral,
    make_user,
    radiologist,
    running_meeting,
)
from tracker.core.specialties import Specialty
from tracker.decisions import services as decision_services
from tracker.decisions.models import Outcome, PatientAnswer
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pages(data: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def unit(app, monkeypatch, tmp_path):
    """A unit with its letterhead configured, logo included."""
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGBA", (240, 120), (20, 60, 120, 255)).save(logo)
    for key, value in {
        "HOSPITAL_NAME": "CHU de Bordeaux",
        "UNIT_NAME": "Radiologie interventionnelle, centre de la douleur",
        "UNIT_ADDRESS": "Place Amélie Raba-Léon, 33000 Bordeaux",
        "LOGO_PATH": str(logo),
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return logo


def typical_decision():
    """A case as the meeting sees it: six people present (one a guest), a plan,
    the patient's answer and one amendment."""
    chair = radiologist(full_name="Dr Julien Moreau")
    meeting = running_meeting(0, chair=chair, sign_attendance=False)
    presenter = radiologist(full_name="Dr Claire Dubois")
    coordinator = make_user(
        roles={Role.COORDINATOR}, specialty=Specialty.NURSING, full_name="Sandrine Petit"
    )
    oncologist = make_user(specialty=Specialty.ONCOLOGY, full_name="Dr Hugo Bernard")
    present = {row.user_id for row in meeting.attendance} | {
        presenter.id,
        coordinator.id,
        oncologist.id,
    }
    meeting_services.set_members_present(meeting, present, by=None)
    meeting_services.add_guest(
        meeting, name="Dr Sophie Martin", specialty=Specialty.RHEUMATOLOGY, by=None
    )
    patient = make_patient(last_name="Lefèvre", first_name="Éloïse", mrn="80012345")
    referral = make_referral(patient=patient, referrer_id=chair.id)
    item = meeting_services.add_to_agenda(meeting, referral, by=None, presenter_id=presenter.id)
    meeting_services.validate_attendance(meeting, by=chair)
    db.session.commit()
    decision = make_decision(
        item,
        reasons=(
            "Morton's neuroma of the third web space, 8 mm on ultrasound, with neuropathic "
            "pain (DN4 6/10) for 18 months despite two steroid injections, each bringing "
            "three weeks of relief. Cryoneurolysis offers lasting relief without surgery."
        ),
        follows_guidelines=True,
        guideline_reference="CIRSE standards of practice on cryoneurolysis (2025)",
    )
    decision_services.amend(
        decision,
        {"guideline_reference": "CIRSE standards of practice on cryoneurolysis (2025), HAS 2024"},
        reason="The HAS recommendation was left out.",
        by=chair,
    )
    decision_services.record_patient_answer(
        decision,
        informed_on=date(2026, 11, 20),
        informed_by_id=presenter.id,
        answer=PatientAnswer.ACCEPTS,
        consent_signed=True,
        by=chair,
    )
    db.session.commit()
    return decision


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_typical_case_fits_one_page_with_what_the_has_sheet_asks(client, auth, unit, locale):
    decision = typical_decision()
    chair = decision.meeting.chair
    chair.locale = locale
    db.session.commit()
    auth.login_as(chair)
    response = client.get(f"/decisions/{decision.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert pages(response.data) == 1
    text = flat(pdf_text(response.data))
    # Each participant with their function and specialty; the presenter and the
    # chair named in the meeting's block; the framed validation block.
    words = {
        "en": (
            "RCP decision sheet",
            "Chair Dr Julien Moreau Presenter Dr Claire Dubois",
            "Dr Claire Dubois Presenter, Radiologist Interventional radiology",
            "Dr Julien Moreau Chair, Radiologist Interventional radiology",
            "Sandrine Petit Coordinator Nursing",
            "Dr Sophie Martin Guest Rheumatology",
            "Dr Karim Haddad Clinician Anaesthesiology",
            "Validation Validated by Dr Julien Moreau Validated on 20 Nov 2026",
            "Accepts (informed on 20 Nov 2026 by Dr Claire Dubois)",
            "The HAS recommendation was left out.",
        ),
        "fr": (
            "Fiche de décision RCP",
            "Président de séance Dr Julien Moreau Présentateur Dr Claire Dubois",
            "Dr Claire Dubois Présentateur, Radiologue Radiologie interventionnelle",
            "Dr Julien Moreau Président de séance, Radiologue Radiologie interventionnelle",
            "Sandrine Petit Coordinateur Soins infirmiers",
            "Dr Sophie Martin Invité Rhumatologie",
            "Dr Karim Haddad Clinicien Anesthésie-réanimation",
            "Validation Validée par Dr Julien Moreau Validée le 20 nov. 2026",
            "Accepte (informé le 20 nov. 2026 par Dr Claire Dubois)",
            "The HAS recommendation was left out.",
        ),
    }[locale]
    for expected in (
        *words,
        "CHU de Bordeaux",
        "Radiologie interventionnelle, centre de la douleur",
        "Place Amélie Raba-Léon",
        "LEFÈVRE Éloïse",
        "80012345",
        decision.referral.case_number,
        "Dr Julien Moreau",
        "Dr Claire Dubois",
        "Dr Sophie Martin",
        "Sandrine Petit",
        "Dr Hugo Bernard",
        "Dr Karim Haddad",
        "Dr Amélie Laurent",
        "HAS 2024",
    ):
        assert expected in text, expected
    # The working checklist of prerequisites stays off the sheet.
    assert "to do" not in text
    assert "à faire" not in text


def test_the_pdf_is_pdf_a_2b(client, auth, unit):
    decision = make_decision()
    auth.login_as(decision.meeting.chair)
    data = client.get(f"/decisions/{decision.id}.pdf").data
    reader = pypdf.PdfReader(io.BytesIO(data))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part\W+2", xmp)
    assert re.search(r"pdfaid:conformance\W+B", xmp)
    assert "/OutputIntents" in reader.trailer["/Root"]


@pytest.mark.parametrize("logo", ["missing.png", "not-an-image.png", "damaged.png"])
def test_a_logo_that_cannot_be_used_leaves_the_sheet_whole(
    client, auth, app, monkeypatch, tmp_path, logo
):
    (tmp_path / "not-an-image.png").write_text("hello")
    (tmp_path / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    monkeypatch.setitem(app.config, "HOSPITAL_NAME", "CHU de Bordeaux")
    monkeypatch.setitem(app.config, "LOGO_PATH", str(tmp_path / logo))
    decision = make_decision()
    auth.login_as(decision.meeting.chair)
    response = client.get(f"/decisions/{decision.id}.pdf")
    assert response.status_code == 200
    assert "CHU de Bordeaux" in pdf_text(response.data)
    page = client.get(f"/decisions/{decision.id}")
    assert page.status_code == 200
    assert "CHU de Bordeaux" in page.get_data(as_text=True)


def test_long_reasons_flow_on_and_never_leave_a_label_alone(client, auth):
    meeting = running_meeting(0)
    patient = make_patient(last_name="Lefèvre-Dœuf", first_name="Éloïse Zoé", mrn="80012345")
    referral = make_referral(patient=patient, referrer_id=meeting.chair_id)
    item = meeting_services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    paragraph = "Douleur neuropathique réfractaire « en étau », ≥ 7/10 malgré prégabaline. "
    decision = make_decision(
        item, reasons=paragraph * 60, guideline_reference="Recommandations CIRSE 2025"
    )
    auth.login_as(decision.meeting.chair)
    data = client.get(f"/decisions/{decision.id}.pdf").data
    assert pages(data) >= 2
    text = flat(pdf_text(data))
    for expected in ("LEFÈVRE-DŒUF Éloïse Zoé", "« en étau »", "Dr Karim Haddad", "Validated by"):
        assert expected in text, expected
    # The reasons flow on from the page their label is on, filling each page.
    reader = pypdf.PdfReader(io.BytesIO(data))
    texts = [flat(page.extract_text()) for page in reader.pages]
    assert len(texts) <= 3
    labelled = next(text for text in texts if "Reasons Douleur" in text)
    assert labelled.count("Douleur neuropathique") >= 5
    assert all(text.count("Douleur neuropathique") >= 20 for text in texts[1:-1])


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


def test_the_page_shows_the_same_sections_as_the_pdf(client, auth, unit):
    from tracker.decisions.queries import decision_sheet_query
    from tracker.decisions.sheet import sheet_sections

    decision = typical_decision()
    auth.login_as(decision.meeting.chair)
    page = html.unescape(client.get(f"/decisions/{decision.id}").get_data(as_text=True))
    pdf = flat(pdf_text(client.get(f"/decisions/{decision.id}.pdf").data))
    with client.application.test_request_context():
        sections = sheet_sections(db.session.scalars(decision_sheet_query(decision.id)).one())
    keys = [section.key for section in sections]
    assert keys == [
        "patient",
        "meeting",
        "participants",
        "summary",
        "decision",
        "plan",
        "answer",
        "amendments",
        "validation",
    ]
    assert re.findall(r'data-section="([a-z]+)"', page) == keys
    for section in sections:
        assert section.title in page
        assert section.title in pdf
        for label, value in section.rows:
            assert label in pdf
            assert value.split()[0] in pdf
    for expected in (
        "CHU de Bordeaux",
        "Dr Claire Dubois",
        "Presenter",
        "Chair",
        "Validated by",
        "Place Amélie Raba-Léon",
        "Third common digital nerve",
    ):
        assert expected in page, expected
    assert 'src="data:image/png;base64,' in page
    # The prerequisites' checklist is the team's working list, not the sheet's.
    assert "to do" not in page


def test_a_row_near_the_foot_of_a_page_moves_whole_to_the_next(app):
    from tracker.decisions.sheet import Section, document, write_sections

    with app.test_request_context(), document("Test", "footer") as pdf:
        # Room for a line or two only: the section's title and its row go on together.
        pdf.set_y(pdf.page_break_trigger - 9)
        reasons = "Refractory pain despite two injections and pregabalin. " * 3
        write_sections(pdf, [Section("Proposal", rows=[("Reasons", reasons)])])
        data = bytes(pdf.output())
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    first, second = (flat(page.extract_text()) for page in reader.pages)
    assert "Reasons" not in first
    assert "Proposal" not in first
    assert second.startswith("Proposal Reasons Refractory pain")
    assert second.count("Refractory pain") == 3


@pytest.mark.parametrize("validate", [True, False])
def test_the_sheet_costs_the_same_queries_with_three_or_seven_people(
    client, auth, count_queries, validate
):
    """Participants, their roles and the amendments come with the decision."""
    small = make_decision(validate=validate)
    large = typical_decision() if validate else None
    if large is None:
        meeting = running_meeting(1, starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
        for number in range(4):
            user = make_user(roles={Role.CLINICIAN, Role.COORDINATOR}, full_name=f"Dr N{number}")
            present = {row.user_id for row in meeting.attendance} | {user.id}
            meeting_services.set_members_present(meeting, present, by=None)
        db.session.commit()
        large = make_decision(meeting.agenda[0], validate=False)
    auth.login_as(small.meeting.chair)
    counts = []
    for decision in (small, large):
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(f"/decisions/{decision.id}").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_a_participant_s_functions_agree_with_her_form_of_address(app):
    from types import SimpleNamespace

    from flask_babel import force_locale

    from tracker.decisions.sheet import participant_function

    she = {
        "user_id": 7,
        "name": "Dr Amélie Laurent",
        "roles": ["CLINICIAN", "COORDINATOR"],
        "form_of_address": "FEMININE",
    }
    chair = SimpleNamespace(id=7, full_name="Dr Amélie Laurent")
    with app.test_request_context():
        with force_locale("fr"):
            assert participant_function(she, chair=chair) == (
                "Présidente de séance, Clinicienne, Coordinatrice"
            )
            # Frozen before the form of address was kept: as it always read.
            before = {key: value for key, value in she.items() if key != "form_of_address"}
            assert participant_function(before, chair=chair) == (
                "Président de séance, Clinicien, Coordinateur"
            )
        with force_locale("en"):
            assert participant_function(she, chair=chair) == "Chair, Clinician, Coordinator"
