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
    # French typography: a non-breaking space before each label's colon.
    # (In the page's HTML: the words above are stripped of their edge spaces.)
    html = str(table)
    assert "Sexe</span>\u00a0:" in html
    assert not re.search(r"</span> ?:", html), "a colon without its non-breaking space"


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


def _enum_names() -> set[str]:
    """The stored names of every enumeration (``ULTRASOUND``, ``FOLLOW_UP``...)."""
    from tracker.core.enums import LabelledEnum

    names: set[str] = set()
    pending = list(LabelledEnum.__subclasses__())
    while pending:
        enum_cls = pending.pop()
        pending.extend(enum_cls.__subclasses__())
        # Three letters or fewer are abbreviations also written in free text (MRI).
        names.update(member.name for member in enum_cls if len(member.name) > 3)
    return names


def _english_labels(app) -> set[str]:
    """Every field label the history may show, in English, where French says it otherwise."""
    from flask_babel import force_locale

    from tracker.core.audit_trail import field_labels

    english: set[str] = set()
    with app.test_request_context():
        for labels in field_labels().values():
            for label in labels.values():
                with force_locale("en"):
                    en = str(label)
                with force_locale("fr"):
                    fr = str(label)
                if en != fr and len(en) > 3:
                    english.add(en)
    return english


def test_the_demo_cases_histories_read_in_french(app, client, auth):
    """Every demo case's History tab, read in French: no class name, id, JSON,
    stored enumeration name or English field label."""
    from sqlalchemy import select

    from tracker.cases.models import Referral
    from tracker.core.audit import acting_as
    from tracker.core.audit_trail import entity_types, record_kind
    from tracker.demo.team import seed_demo
    from tracker.extensions import db

    with acting_as("seed-demo"):
        seed_demo("demo password for the tests")
    db.session.commit()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}, locale="fr"))
    # Class names that are also French words (Indication, Patient, Technique)
    # may appear as such.
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        classes = [name for name in entity_types() if record_kind(name) != name]
    enums = _enum_names()
    english = _english_labels(app)
    assert "Offset days" not in english  # internal: never shown to the team
    assert "Reasons" in english
    ids = db.session.scalars(select(Referral.id)).all()
    assert len(ids) >= 5
    for referral_id in ids:
        page = soup(client.get(f"/cases/{referral_id}/history"))
        table = page.select_one("table")
        assert table is not None, referral_id
        words = table.get_text(" ", strip=True)
        found = [name for name in classes if re.search(rf"\b{name}\b", words)]
        found += [name for name in enums if re.search(rf"\b{name}\b", words)]
        found += [label for label in english if re.search(rf"\b{re.escape(label)}\b", words)]
        found += re.findall(r"#\d+|[{}\[\]]|\b\d{4}-\d{2}-\d{2}\b", words)
        found += re.findall(r"\bsystem\b|scheduler:|cli:|\(root\)|invitation \d", words)
        assert found == [], (referral_id, found)
