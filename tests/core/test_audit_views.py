"""Who opened what, the administrators' viewer, its export and each case's history."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from tests.factories import make_decision, make_patient, make_referral, make_user
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


def test_admins_filter_the_trail_by_patient_case_user_and_date(client, admin, clock):
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
    response = client.get("/admin/audit", query_string={"mrn": "NOBODY01", "case_number": "X"})
    assert response.status_code == 422
    page = soup(response)
    assert "No patient has this hospital number." in field_errors(page, "mrn")
    assert "No case has this number." in field_errors(page, "case_number")


def test_the_export_neutralises_formulas_and_is_itself_recorded(client, admin):
    make_user(email="=1+2@hospital.test", full_name="-Formula")
    with acting_as("=HYPERLINK(evil)"):
        make_referral()
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
