"""Every read of identified patient data is recorded, by one mechanism pages opt
out of: every GET route of the URL map, opened by someone allowed to, in a
world of data, either records the read or is declared to show no patient data;
and no page shows a hospital number or a patient's name without its entry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.core.test_access_matrix import ANY, BY_LINK, EXPECTED, PUBLIC
from tests.factories import make_referral, make_user
from tests.followups.test_views import followup_due
from tests.world import build_world
from tracker.cases.models import Patient
from tracker.core.audit import CHANGE_ACTIONS, AuditAction, AuditEntry
from tracker.core.reads import declared_read_by_the_patient, declared_without_patient_data
from tracker.core.time import local_today
from tracker.decisions.models import Procedure
from tracker.extensions import db
from tracker.web.permissions import Role

#: Lists shown for everyone, not only for the person who opens them.
QUERIES = {"followups.worklist": "?responsible_id="}

#: Who opens each kind of route: the first role the matrix lets in.
ORDER = ("COORDINATOR", "RADIOLOGIST", "CLINICIAN", "ADMIN")


def opener(expected: Any) -> str:
    if expected in (PUBLIC, BY_LINK, ANY):
        return "COORDINATOR"
    return next(role for role in ORDER if role in expected)


def access_entries() -> int:
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action.not_in(CHANGE_ACTIONS))
    )


def reads_of(page: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == AuditAction.VIEW, AuditEntry.entity_id == page)
            .order_by(AuditEntry.id)
        )
    )


def identities() -> set[str]:
    """What names a patient of the world on a page: hospital numbers, first names."""
    found = set()
    for patient in db.session.scalars(select(Patient)):
        found |= {patient.mrn, patient.first_name}
    return found


def get_routes(app: Any, world: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        if rule.endpoint == "auth.logout":
            continue  # ends the login; shows nothing
        url = rule.build({name: world[name] for name in rule.arguments})[1]
        found.append((rule.endpoint, url + QUERIES.get(rule.endpoint, "")))
    return sorted(found)


def test_no_page_shows_a_patient_without_recording_the_read(app):
    world = build_world(app)
    # Pages whose lists depend on the data show some: a case waiting for a
    # meeting, a draft, a follow-up due today.
    make_referral()
    make_referral(nrs_now=None)
    followup_due(db.session.get(Procedure, world["procedure_id"]), local_today())
    clients = {}
    for role in ORDER:
        user = make_user(roles={Role[role]}, email=f"{role.lower()}@reads.test")
        client = app.test_client()
        response = client.post(
            "/login", data={"email": user.email, "password": "a long enough test password"}
        )
        assert response.status_code == 302
        clients[role] = client
    names = identities()
    unrecorded, undeclared, contradicted = [], [], []
    for endpoint, url in get_routes(app, world):
        client = clients[opener(EXPECTED[endpoint])]
        before = access_entries()
        response = client.get(url)
        recorded = access_entries() > before
        body = response.get_data().decode("utf-8", "replace")
        shown = sorted(name for name in names if name in body)
        if shown and not recorded:
            unrecorded.append(f"{url} ({response.status_code}) shows {shown[:3]}")
        view = app.view_functions[endpoint]
        if declared_read_by_the_patient(view):
            continue  # the patient's own pages: their openings are recorded by the link
        declared = declared_without_patient_data(view)
        if declared and (shown or recorded):
            contradicted.append(f"{endpoint}: declared without patient data, shows some")
        if not declared and not recorded and response.status_code < 300:
            undeclared.append(endpoint)
    assert unrecorded == []
    assert contradicted == []
    assert undeclared == [], "record the read, or declare @shows_no_patient_data: " + " ".join(
        undeclared
    )


@pytest.fixture
def coordinator_client(app, auth):
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    return auth.client


def test_a_list_page_records_one_entry_naming_the_cases_shown(app, coordinator_client):
    referrals = [make_referral() for _ in range(3)]
    assert coordinator_client.get("/cases").status_code == 200
    [entry] = reads_of("cases.index")
    assert set(entry.changes["cases"]) >= {referral.id for referral in referrals}
    assert set(entry.changes["patients"]) >= {referral.patient_id for referral in referrals}
    assert entry.actor_label.endswith("@example.org") or entry.actor_id is not None
    # A second view of the page is a second entry.
    coordinator_client.get("/cases")
    assert len(reads_of("cases.index")) == 2


def test_the_identity_form_records_the_read_of_its_patient(app, coordinator_client):
    referral = make_referral()
    response = coordinator_client.get(f"/patients/{referral.patient_id}/edit")
    assert response.status_code == 200
    [entry] = reads_of("cases.patient_edit")
    assert entry.patient_id == referral.patient_id


def test_a_refused_or_redirected_page_records_no_read(app, auth):
    referral = make_referral()
    admin = make_user(roles={Role.ADMIN})
    auth.login_as(admin)
    assert auth.client.get(f"/cases/{referral.id}").status_code == 403
    assert auth.client.get("/cases").status_code == 403
    assert reads_of("cases.index") == []


def test_lists_are_found_by_each_patient_they_showed(app):
    from tracker.core.audit import append_entries
    from tracker.core.audit_trail import lists_patient

    shown = {"a": [3, 11, 12], "b": [1, 2], "c": [21], "d": [111]}
    append_entries(
        [
            {
                "action": AuditAction.VIEW,
                "entity_type": "Page",
                "entity_id": name,
                "changes": {"cases": patients, "page": name, "patients": patients},
            }
            for name, patients in shown.items()
        ]
    )

    def found(patient_id: int) -> set[str]:
        query = select(AuditEntry.entity_id).where(lists_patient(patient_id))
        return set(db.session.scalars(query))

    assert found(1) == {"b"}
    assert found(11) == {"a"}
    assert found(12) == {"a"}
    assert found(2) == {"b"}
    assert found(21) == {"c"}
    assert found(111) == {"d"}
    assert found(4) == set()


def test_the_admin_finds_the_lists_that_showed_a_patient(app, auth):
    referrals = [make_referral() for _ in range(3)]
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    auth.client.get("/cases")
    auth.logout()
    auth.login_as(make_user(roles={Role.ADMIN}))
    auth.client.post("/admin/audit/unmask", data={"reason": "Patient asked who read their file"})
    page = auth.client.get("/admin/audit", query_string={"mrn": referrals[1].patient.mrn})
    assert page.status_code == 200
    assert "cases.index" in page.get_data(as_text=True)
