"""The data exports, parsed back: rows, columns, formulas neutralised, the
pseudonymised variant free of identities, access and audit."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import assess, make_decision, make_procedure, make_user, technique
from tests.outcomes.test_outcomes import treated
from tracker.cases.models import Referral
from tracker.core.audit import AuditAction, AuditEntry
from tracker.decisions.models import Decision, Procedure
from tracker.extensions import db
from tracker.followups.models import Assessment, FollowUp, FollowUpKind
from tracker.outcomes import exports
from tracker.web.permissions import Role

KINDS = ("cases", "decisions", "procedures", "assessments")


def download(client, url, **filters):
    response = client.get(url, query_string=filters)
    assert response.status_code == 200, url
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # spreadsheets then read the accents right
    return list(csv.DictReader(io.StringIO(body[1:])))


@pytest.fixture
def coordinator(client, auth):
    user = make_user(roles={Role.COORDINATOR})
    auth.login_as(user)
    return user


@pytest.fixture
def data(app):
    """Two treated patients (one with markup and a formula in their name) and a
    decision for a third."""
    first = treated({7: 3, 30: 4})
    patient = first.referral.patient
    patient.last_name = '=HYPERLINK("http://x")'
    patient.first_name = "@Jeanne"
    db.session.commit()
    second = treated({7: 5, 30: 7}, technique_code="radiofrequency")
    make_decision()
    return first, second


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_each_export_has_one_row_per_record_and_its_documented_columns(client, coordinator, data):
    expected = {
        "cases": count(Referral),
        "decisions": count(Decision),
        "procedures": count(Procedure),
        "assessments": count(Assessment),
    }
    for kind in KINDS:
        rows = download(client, f"/outcomes/exports/{kind}.csv")
        assert len(rows) == expected[kind], kind
        assert list(rows[0]) == exports.header(exports.KINDS[kind], exports.IDENTIFIED)
    assessments = download(client, "/outcomes/exports/assessments.csv")
    first = next(row for row in assessments if row["nrs_average"] == "3")
    assert first["days_after_procedure"] == "7"
    assert (first["timepoint_days"], first["timepoint"]) == ("7", "week_1")
    assert first["reduction_pct"] == "62.5"  # 3 from a baseline of 8


def test_time_points_are_exported_by_the_label_the_outcomes_group_by(client, coordinator, app):
    technique("radiofrequency").followup_days = [7, 28, 90, 180]
    db.session.commit()
    cryo = treated({30: 4, 91: 4})
    treated({28: 6, 90: 7}, technique_code="radiofrequency")
    regrowth = db.session.scalar(
        select(FollowUp).where(
            FollowUp.procedure_id == cryo.id, FollowUp.kind == FollowUpKind.REGROWTH
        )
    )
    assess(cryo, followup=regrowth, assessed_on=regrowth.due_on, nrs_average=5)
    # Day 65: after the regrowth window (days 20 to 60), before month 3's (from day 77).
    assess(cryo, assessed_on=cryo.performed_on + timedelta(days=65), nrs_average=5)
    rows = download(client, "/outcomes/exports/assessments.csv")
    by_day = {row["timepoint_days"]: row["timepoint"] for row in rows}
    assert by_day == {
        "30": "month_1",
        "28": "month_1",
        "91": "month_3",
        "90": "month_3",
        str(regrowth.offset_days): "regrowth",
        "": "",
    }


def test_the_readme_documents_every_column():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for kind in exports.KINDS.values():
        for variant in (exports.IDENTIFIED, exports.PSEUDONYMISED):
            for column in exports.header(kind, variant):
                assert f"`{column}`" in readme, (kind.name, column)


def test_cells_a_spreadsheet_would_run_are_neutralised(client, coordinator, data):
    body = client.get("/outcomes/exports/cases.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(body[1:])) for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells
    assert "'@Jeanne" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_pseudonymised_export_holds_no_identity(client, coordinator, data):
    first, second = data
    patients = [first.referral.patient, second.referral.patient]
    secrets = {
        value
        for patient in patients
        for value in (patient.mrn, patient.first_name, patient.birth_on.isoformat())
    } | {first.referral.case_number, "Dupont", "HYPERLINK", "Jeanne"}
    for kind in KINDS:
        body = client.get(f"/outcomes/research/{kind}.csv").get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, (kind, secret)
        header = next(csv.reader(io.StringIO(body[1:])))
        assert header == exports.header(exports.KINDS[kind], exports.PSEUDONYMISED)
        assert "pain_site" not in header
        assert "question" not in header


def test_pseudonyms_are_stable_and_dates_move_together(client, coordinator, data):
    first, _second = data
    cases = download(client, "/outcomes/research/cases.csv")
    again = download(client, "/outcomes/research/cases.csv")
    assert [row["case_key"] for row in cases] == [row["case_key"] for row in again]
    procedures = download(client, "/outcomes/research/procedures.csv")
    referral = first.referral
    [case] = [
        row
        for row in cases
        if row["patient_key"] in {p["patient_key"] for p in procedures}
        and row["nrs_average"] == "8"
        and row["referral_on"] != referral.referral_on.isoformat()
        and row["case_key"]
        in {p["case_key"] for p in procedures if p["technique"] == "cryoneurolysis"}
    ]
    [procedure] = [row for row in procedures if row["case_key"] == case["case_key"]]
    shift = date.fromisoformat(case["referral_on"]) - referral.referral_on
    assert shift.days != 0
    assert abs(shift.days) <= 182
    assert date.fromisoformat(procedure["performed_on"]) - first.performed_on == shift
    assessments = download(client, "/outcomes/research/assessments.csv")
    mine = [row for row in assessments if row["procedure_key"] == procedure["procedure_key"]]
    assert sorted(row["days_after_procedure"] for row in mine) == ["30", "7"]


@pytest.mark.parametrize(
    ("role", "identified", "pseudonymised"),
    [
        (Role.COORDINATOR, 200, 200),
        (Role.RADIOLOGIST, 403, 200),
        (Role.CLINICIAN, 403, 403),
        (Role.ADMIN, 403, 403),
    ],
)
def test_who_may_export(client, auth, role, identified, pseudonymised):
    auth.login_as(make_user(roles={role}))
    assert client.get("/outcomes/exports/cases.csv").status_code == identified
    assert client.get("/outcomes/research/cases.csv").status_code == pseudonymised


def test_exports_are_audited_with_their_filters(client, coordinator):
    client.get("/outcomes/research/procedures.csv", query_string={"since": "2026-01-01"})
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.EXPORT)
    ).all()
    assert entry.actor_id == coordinator.id
    assert (entry.entity_type, entry.entity_id) == ("Export", "procedures")
    assert entry.changes == {"variant": "pseudonymised", "since": "2026-01-01"}


def test_an_unknown_kind_is_not_found(client, coordinator):
    assert client.get("/outcomes/exports/patients.csv").status_code == 404


def test_exports_read_the_same_queries_for_3_and_30_procedures(client, coordinator, count_queries):
    def queries(kind: str) -> int:
        with count_queries() as counter:
            client.get(f"/outcomes/research/{kind}.csv")
        return counter.count

    for _ in range(3):
        make_procedure()
    small = {kind: queries(kind) for kind in KINDS}
    for _ in range(27):
        make_procedure()
    assert {kind: queries(kind) for kind in KINDS} == small


def test_an_export_read_in_many_batches_has_every_row(app, data):
    from tracker.outcomes.queries import OutcomeFilters

    for variant in (exports.IDENTIFIED, exports.PSEUDONYMISED):
        rows = list(exports.rows(exports.KINDS["assessments"], variant, OutcomeFilters(), batch=2))
        assert len(rows) == count(Assessment)
