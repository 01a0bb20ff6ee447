"""A case's History tab in the team's words: kinds of record, labels in the
reader's language, people's names; no class name, id, version or JSON."""

from __future__ import annotations

import re

from tests.factories import assess, make_procedure, make_user
from tests.html import soup
from tracker.web.permissions import Role

CLASS_NAMES = ("Referral", "FollowUp", "ProcedurePlan", "AgendaItem", "AdverseEvent", "UserRole")
ENGLISH_LABELS = ("Created at", "Offset days", "Version", "Recorded by", "Status:", "Id:")


def test_the_history_of_a_treated_case_reads_in_french(client, auth):
    procedure = make_procedure(adverse_event={"cirse_grade": 1, "description": "Bruise"})
    assess(procedure)
    auth.login_as(make_user(roles={Role.RADIOLOGIST}, locale="fr"))
    page = soup(client.get(f"/cases/{procedure.referral_id}/history"))
    table = page.select_one("table")
    words = table.get_text(" ", strip=True)
    for name in CLASS_NAMES:
        assert not re.search(rf"\b{name}\b", words), name
    for label in ENGLISH_LABELS:
        assert label not in words, label
    assert not re.search(r"#\d", words)
    assert "{" not in words
    kinds = {cell.get_text(strip=True) for cell in table.select("td[data-label='Élément']")}
    assert {"Dossier", "Décision", "Suivi", "Évaluation"} <= kinds
    assert "Élément" in [th.get_text(strip=True) for th in table.select("th")]


def test_the_administrators_keep_the_ids(client, auth):
    procedure = make_procedure()
    auth.login_as(make_user(roles={Role.ADMIN}))
    page = soup(client.get("/admin/audit"))
    records = [cell.get_text(strip=True) for cell in page.select("td[data-label='Record']")]
    assert any(re.fullmatch(r"Case #\d+", record) for record in records)
    choices = [option.get_text(strip=True) for option in page.select("select option")]
    assert "Follow-up" in choices
    assert "FollowUp" not in choices
    assert procedure.id
