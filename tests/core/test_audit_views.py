"""Who opened what, the administrators' viewer, its export and each case's history."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_decision, make_patient, make_referral, make_user
from tests.html import field_errors, soup, text
from tracker.cases import services as case_services
from tracker.core.audit import AuditAction, AuditEntry, acting_as
from tracker.extensions import db
from tracker.web.exports import csv_cell
from tracker.web.permissions import Role


@pytest.fixture
def admin(auth):
    user = make_user(roles={Role.ADMIN}, full_name="Alice Admin", email="alice@hospital.test")
    auth.login_as(user)
    return user


@pytest.fixture
def coordinator(auth):
    user = make_user(roles={Role.COORDINATOR}, full_name="Sophie Bernard")
    auth.login_as(user)
    return user


def access_entries(action: AuditAction) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_opening_a_case_page_is_recorded_with_its_case_and_patient(client, coordinator):
    referral = make_referral()
    assert client.get(f"/cases/{referral.id}").status_code == 200
    [entry] = access_entries(AuditAction.VIEW)
    assert entry.actor_id == coordinator.id
    assert (entry.entity_type, entity_id_of(entry)) == ("Referral", referral.id)
    assert entry.referral_id == referral.id
    assert entry.patient_id == referral.patient_id


def entity_id_of(entry: AuditEntry) -> int:
    return int(entry.entity_id)


def test_a_page_that_is_not_shown_is_not_recorded(client, coordinator):
    assert client.get("/cases/999999").status_code == 404
    assert access_entries(AuditAction.VIEW) == []


def test_downloading_a_decision_sheet_is_recorded(client, auth):
    decision = make_decision()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    assert client.get(f"/decisions/{decision.id}.pdf").status_code == 200
    [entry] = access_entries(AuditAction.DOWNLOAD)
    assert entry.changes == {"format": "pdf"}
    assert entry.referral_id == decision.referral_id


def test_the_case_history_shows_changes_in_words_and_who_opened_the_case(client, coordinator):
    referral = make_referral(pain_site="Left foot")
    editor = make_user(full_name="Dr Julien Moreau", roles={Role.RADIOLOGIST})
    with acting_as(editor.email, editor.id):
        case_services.update_referral(
            referral,
            {"pain_site": "Left foot, third web space"},
            expected_version=referral.version,
            by=editor,
        )
    db.session.commit()
    page = soup(client.get(f"/cases/{referral.id}/history"))
    rows = text(page.find("table"))
    assert "Left foot → Left foot, third web space" in rows.replace("  ", " ")
    assert editor.email in rows
    openings = soup(client.get(f"/cases/{referral.id}/history?show=access"))
    assert coordinator.email in text(openings.find("table"))


REASON = "The patient asked who opened their file (letter of 20 Nov)."


def state_reason(client, reason: str = REASON):
    response = client.post("/admin/audit/unmask", data={"reason": reason})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def test_admins_filter_the_trail_by_patient_case_user_and_date(client, admin, clock):
    state_reason(client)
    first = make_referral(patient=make_patient(mrn="PAT00001"))
    second = make_referral(patient=make_patient(mrn="PAT00002"))
    page = soup(client.get("/admin/audit", query_string={"mrn": "PAT00001"}))
    shown = text(page.find("table"))
    assert first.case_number in shown
    assert second.case_number not in shown

    page = soup(client.get("/admin/audit", query_string={"case_number": second.case_number}))
    assert first.case_number not in text(page.find("table"))

    page = soup(client.get("/admin/audit", query_string={"actor_id": admin.id}))
    assert "Logged in" in text(page.find("table"))
    assert "Referral" not in text(page.find("table"))

    page = soup(
        client.get("/admin/audit", query_string={"since": "2026-11-21", "until": "2026-11-22"})
    )
    assert page.find("table") is None
    assert "No entry matches" in text(page)


def test_unknown_patient_or_case_is_a_clear_field_error(client, admin):
    state_reason(client)
    response = client.get("/admin/audit", query_string={"mrn": "NOBODY01", "case_number": "X"})
    assert response.status_code == 422
    page = soup(response)
    assert "No patient has this hospital number." in field_errors(page, "mrn")
    assert "No case has this number." in field_errors(page, "case_number")


def test_the_export_neutralises_formulas_and_is_itself_recorded(client, admin):
    make_user(email="=1+2@hospital.test", full_name="-Formula")
    with acting_as("=HYPERLINK(evil)"):
        make_referral()
    state_reason(client)
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "recorded_at", "actor_id"]
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(evil)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    [export] = access_entries(AuditAction.EXPORT)
    assert export.actor_id == admin.id
    assert export.changes["reason"] == REASON


# --- break the glass: identities masked until the administrator says why ----------------


def test_the_viewer_masks_identities_and_clinical_text_until_a_reason_is_given(
    client, admin, clock
):
    patient = make_patient(mrn="PAT00077", first_name="Gisèle", birth_on=date(1958, 3, 9))
    make_referral(patient=patient, pain_site="Left foot, third web space")
    page = text(soup(client.get("/admin/audit")))
    for secret in ("PAT00077", "Gisèle", "9 Mar 1958", "third web space"):
        assert secret not in page
    assert "•••" in page
    # What names nobody still reads: the kind of record, choices from lists.
    assert "Patient" in page
    # The viewing itself is recorded, as masked.
    [read] = [e for e in access_entries(AuditAction.VIEW) if e.entity_type == "AuditTrail"]
    assert read.changes["masked"] is True
    assert read.actor_id == admin.id

    state_reason(client)
    [grant] = [e for e in access_entries(AuditAction.VIEW) if e.entity_id == "identities"]
    assert grant.changes["reason"] == REASON
    assert grant.actor_id == admin.id
    page = text(soup(client.get("/admin/audit")))
    for secret in ("PAT00077", "Gisèle", "9 Mar 1958", "third web space"):
        assert secret in page
    assert REASON in page
    reads = [e for e in access_entries(AuditAction.VIEW) if e.entity_id == "viewer"]
    assert reads[-1].changes == {"masked": False, "reason": REASON}

    # Hidden again on request...
    assert client.post("/admin/audit/mask").status_code == 302
    assert "PAT00077" not in text(soup(client.get("/admin/audit")))
    # ...or fifteen minutes after the reason was given.
    state_reason(client)
    assert "PAT00077" in text(soup(client.get("/admin/audit")))
    clock.advance(minutes=16)
    assert "PAT00077" not in text(soup(client.get("/admin/audit")))


def test_searching_by_hospital_number_or_exporting_needs_a_reason(client, admin):
    make_referral(patient=make_patient(mrn="PAT00078"))
    response = client.get("/admin/audit", query_string={"mrn": "PAT00078"})
    assert response.status_code == 422
    assert "State a reason above" in field_errors(soup(response), "mrn")
    # Nothing was searched: no entry is listed.
    assert soup(response).find("table") is None
    response = client.get("/admin/audit.csv")
    assert response.status_code == 302
    assert access_entries(AuditAction.EXPORT) == []


def test_a_reason_too_short_is_refused_and_opens_nothing(client, admin):
    response = client.post("/admin/audit/unmask", data={"reason": "because"})
    assert response.status_code == 422
    assert "why you need" in field_errors(soup(response), "reason")
    assert [e for e in access_entries(AuditAction.VIEW) if e.entity_id == "identities"] == []
    assert client.get("/admin/audit.csv").status_code == 302


def test_a_reason_opens_the_identities_to_that_administrator_alone(app, client, admin):
    make_referral(patient=make_patient(mrn="PAT00079"))
    state_reason(client)
    other = app.test_client()
    colleague = make_user(roles={Role.ADMIN})
    other.post("/login", data={"email": colleague.email, "password": PASSWORD})
    assert "PAT00079" not in other.get("/admin/audit").get_data(as_text=True)
    assert "PAT00079" in client.get("/admin/audit").get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+33 1 23", "'+33 1 23"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Plain", "Plain"),
        (None, ""),
        (7, 7),
        (-70, -70),  # a negative number is a number, not a formula
        (-2.5, -2.5),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_made_text(value, cell):
    assert csv_cell(value) == cell
