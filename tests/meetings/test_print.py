"""The printed agenda: letterhead, each case's time, who the patient is, the
question and its safety facts, then an attendance sheet to sign."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import make_meeting, make_patient, make_referral, make_user, radiologist
from tests.html import soup, text
from tracker.cases.models import Anticoagulation
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.meetings import services
from tracker.web.permissions import Role


@pytest.fixture
def coordinator(auth):
    user = make_user(roles={Role.COORDINATOR}, full_name="Sandrine Petit")
    auth.login_as(user)
    return user


def agenda_of_three():
    chair = radiologist(full_name="Dr Julien Moreau")
    meeting = make_meeting(chair_id=chair.id)
    presenter = radiologist(full_name="Dr Claire Dubois")
    anaesthetist = make_user(specialty=Specialty.ANAESTHESIOLOGY, full_name="Dr Karim Haddad")
    services.set_members_present(meeting, {chair.id, anaesthetist.id}, by=None)
    services.add_guest(meeting, name="Dr Sophie Martin", specialty=Specialty.RHEUMATOLOGY, by=None)
    patients = [
        make_patient(last_name="Lefèvre", first_name="Éloïse", mrn="80012345"),
        make_patient(last_name="Roux", first_name="Catherine", mrn="80067890"),
        make_patient(last_name="Bernard", first_name="Hugo", mrn="80011111"),
    ]
    minutes = [10, 20, 15]
    for patient, length in zip(patients, minutes, strict=True):
        referral = make_referral(
            patient=patient,
            referrer_id=chair.id,
            anticoagulation=Anticoagulation.ANTICOAGULANT,
            anticoagulation_details="Apixaban 5 mg twice daily",
        )
        services.add_to_agenda(
            meeting, referral, by=None, presenter_id=presenter.id, minutes=length
        )
    db.session.commit()
    return meeting


def test_the_printed_agenda_times_each_case_and_identifies_each_patient(
    client, coordinator, app, monkeypatch
):
    monkeypatch.setitem(app.config, "HOSPITAL_NAME", "CHU de Bordeaux")
    monkeypatch.setitem(app.config, "UNIT_NAME", "Radiologie interventionnelle")
    meeting = agenda_of_three()
    page = soup(client.get(f"/meetings/{meeting.id}/print"))
    head = text(page.select_one("[data-letterhead]"))
    assert "CHU de Bordeaux" in head
    assert "Radiologie interventionnelle" in head
    rows = page.select("tr.print-case")
    assert len(rows) == 3
    # The meeting starts at 17:00 (Paris); each case after the minutes of those before.
    assert [text(row.find("td")).split()[1] for row in rows] == ["17:00", "17:10", "17:30"]
    first = text(rows[0])
    for expected in (
        "LEFÈVRE Éloïse",
        "80012345",
        "Dr Claire Dubois",
        "Cryoneurolysis of the neuroma?",
        "Apixaban",
    ):
        assert expected in first, expected
    assert rows[0].select_one(".case-number")["class"].count("text-nowrap") == 1
    assert rows[0].select_one("[data-safety]") is not None
    # Printing is a button for the browser's print command, from a static script.
    assert page.select_one("button[data-print]") is not None
    assert [script.get("src", "") for script in page.select("main script")] == [
        "/static/js/print.js"
    ]


def test_the_attendance_sheet_expects_the_chair_the_present_and_the_presenters(client, coordinator):
    meeting = agenda_of_three()
    sheet = soup(client.get(f"/meetings/{meeting.id}/print")).select_one("[data-attendance-sheet]")
    names = [text(row.find("td")) for row in sheet.select("tbody tr:not(.signature-blank)")]
    # In order of name; the presenter is expected though not marked present yet.
    assert names == ["Dr Claire Dubois", "Dr Julien Moreau", "Dr Karim Haddad", "Dr Sophie Martin"]
    assert len(sheet.select("tbody tr.signature-blank")) >= 1


def test_printing_the_agenda_is_recorded(client, coordinator):
    meeting = agenda_of_three()
    client.get(f"/meetings/{meeting.id}/print")
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "Meeting", AuditEntry.entity_id == str(meeting.id)
        )
    ).all()[-1]
    assert entry.action is AuditAction.DOWNLOAD
    assert entry.changes == {"format": "print"}
