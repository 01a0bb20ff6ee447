"""The unit's evidence beside the plan: kept figures that agree with a hand
calculation, "too few patients to say" under the site's minimum, the published
figure, and one query more for meeting mode whatever the unit's history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.factories import make_decision, make_user, plan_values, running_meeting, technique
from tests.html import soup, text
from tests.outcomes.cases import indication, treated
from tracker.core.scheduler import get_job
from tracker.core.settings import set_setting
from tracker.extensions import db
from tracker.outcomes.evidence import evidence, refresh
from tracker.outcomes.models import EvidenceFigures
from tracker.outcomes.queries import OutcomeFilters, outcomes
from tracker.outcomes.settings import EVIDENCE_MINIMUM
from tracker.web.permissions import Role

NOW = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
SEVERE = {"cirse_grade": 3, "description": "Frostbite of the skin"}


@pytest.fixture
def treated_cases(app):
    """Cryoneurolysis, baseline 8: four patients with Morton's neuroma, one with
    intercostal pain; and one radiofrequency for Morton's neuroma."""
    morton = "morton_neuroma"
    treated({91: 3}, indication_code=morton, adverse_event=SEVERE)  # 62.5% less
    treated({91: 5}, indication_code=morton)  # 37.5% less: moderate only
    treated({91: 7}, indication_code=morton)  # 12.5% less: no response
    treated({7: 2}, indication_code=morton)  # no month-3 reading
    treated({91: 2}, indication_code="intercostal_pain", adverse_event=SEVERE)
    treated({91: 4}, indication_code=morton, technique_code="radiofrequency")


def kept(technique_code: str, indication_code: str | None) -> EvidenceFigures:
    wanted = (
        EvidenceFigures.indication_id.is_(None)
        if indication_code is None
        else EvidenceFigures.indication_id == indication(indication_code).id
    )
    return db.session.scalars(
        select(EvidenceFigures).where(
            EvidenceFigures.technique_id == technique(technique_code).id, wanted
        )
    ).one()


def test_kept_figures_agree_with_a_hand_calculation(treated_cases):
    assert refresh(NOW) == {"figures": 5}
    morton = kept("cryoneurolysis", "morton_neuroma")
    assert (morton.treated, morton.patients) == (4, 4)
    assert (morton.month3_compared, morton.month3_moderate, morton.month3_substantial) == (3, 2, 1)
    assert morton.severe_events == 1
    # Responded: three (the fourth never reached 30%); none has recurred yet.
    assert (morton.relief_subjects, morton.relief_events, morton.relief_median) == (3, 0, None)
    every = kept("cryoneurolysis", None)
    assert (every.treated, every.patients, every.severe_events) == (5, 5, 2)
    assert (every.month3_compared, every.month3_substantial) == (4, 2)
    assert kept("radiofrequency", "morton_neuroma").treated == 1
    assert morton.computed_at == NOW

    # Rebuilt whole, not added to: a second run keeps one row each.
    refresh(NOW)
    assert db.session.query(EvidenceFigures).count() == 5


def test_kept_figures_are_the_outcomes_pages_for_each_filter(treated_cases, count_queries):
    """Grouped by indication in one pass, the figures are those of the outcomes
    page filtered by that indication (its definitions, its engine)."""
    with count_queries() as counter:
        refresh(NOW)
    assert counter.count <= 7  # whatever the number of indications
    for row in db.session.scalars(select(EvidenceFigures)):
        page = outcomes(OutcomeFilters(indication_id=row.indication_id), NOW.date())
        figures = page.by_technique[row.technique_id]
        month3 = figures.timepoints.get(("month", 3))
        assert (row.treated, row.patients) == (figures.treated, figures.patient_count)
        assert (row.month3_compared, row.month3_moderate, row.month3_substantial) == (
            (month3.compared, month3.moderate_count, month3.substantial_count)
            if month3
            else (0, 0, 0)
        )
        relief = figures.relief
        assert row.relief_subjects == (relief.subjects if relief else 0)
        assert row.relief_median == (relief.median if relief else None)


def test_read_with_wilson_intervals_and_the_site_minimum(treated_cases):
    refresh(NOW)
    cryo = technique("cryoneurolysis")
    found = evidence(cryo, indication("morton_neuroma"))
    assert found.minimum == 10
    assert not found.for_indication.enough
    assert not found.overall.enough
    set_setting(EVIDENCE_MINIMUM, 4)
    found = evidence(cryo, indication("morton_neuroma"))
    assert found.for_indication.enough
    share = found.for_indication.substantial
    assert (share.successes, share.total) == (1, 3)
    assert share.low == pytest.approx(0.0615, abs=1e-4)
    assert share.high == pytest.approx(0.7923, abs=1e-4)
    assert (found.overall.severe.successes, found.overall.severe.total) == (2, 5)
    assert [figure.source for figure in found.published] == [
        "Yoon et al., 2016",
        "Ilfeld et al., Anesthesiology 2020",
    ]
    # An indication never treated with the technique: the overall figures only.
    other = evidence(cryo, indication("levator_ani"))
    assert other.for_indication is None
    assert other.overall is not None


def test_the_evidence_job_is_declared(app):
    spec = get_job("evidence")
    assert spec is not None
    assert spec.run is refresh


def _meeting_with_a_plan(technique_code: str = "cryoneurolysis"):
    meeting = running_meeting(1)
    make_decision(
        meeting.agenda[0],
        validate=False,
        plan=plan_values(technique_id=technique(technique_code).id),
    )
    return meeting


def test_meeting_mode_shows_the_units_results_beside_the_plan(treated_cases, client, auth):
    refresh(NOW)
    set_setting(EVIDENCE_MINIMUM, 5)
    db.session.commit()
    meeting = _meeting_with_a_plan()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    page = soup(client.get(f"/meetings/{meeting.id}/mode"))
    panel = page.find(id="evidence")
    assert "Cryoneurolysis" in text(panel.find(id="evidence-title"))
    # Four patients with Morton's neuroma: fewer than the five needed.
    assert "Too few patients to say: 4 treated, 5 needed." in text(
        panel.find(id="evidence-indication")
    )
    overall = text(panel.find(id="evidence-overall"))
    assert "Patients treated 5 (5 procedures)" in overall
    assert "At least 50% less pain at month 3 50% (15\N{EN DASH}85%) of 4" in overall
    assert "CIRSE grade 3 or worse 40% (12\N{EN DASH}77%)" in overall
    assert "Mean pain 8.3 before" in text(panel)  # the published figure
    assert "Computed on 20 Nov 2026" in text(panel)


def test_meeting_mode_says_so_in_french(treated_cases, client, auth):
    refresh(NOW)
    set_setting(EVIDENCE_MINIMUM, 5)
    db.session.commit()
    meeting = _meeting_with_a_plan()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}, locale="fr"))
    panel = soup(client.get(f"/meetings/{meeting.id}/mode")).find(id="evidence")
    assert "Résultats de l\u2019unité" in text(panel)
    assert "Trop peu de patients pour conclure" in text(panel)


def test_without_a_technique_the_plan_says_how_to_see_them(client, auth):
    meeting = running_meeting(1)
    make_decision(meeting.agenda[0], validate=False, plan=None)
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    panel = soup(client.get(f"/meetings/{meeting.id}/mode")).find(id="evidence")
    assert "Choose a technique" in text(panel)


def test_not_computed_yet_is_said(client, auth):
    meeting = _meeting_with_a_plan("cementoplasty")
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    panel = soup(client.get(f"/meetings/{meeting.id}/mode")).find(id="evidence")
    assert "No patient treated yet." in text(panel)
    assert "Not computed yet" in text(panel)
    assert "90% of patients relieved within 48 hours" in text(panel)


def test_meeting_mode_reads_the_evidence_in_one_query(treated_cases, client, auth, count_queries):
    """With or without a unit's history, the same number of queries."""
    meeting = _meeting_with_a_plan()
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    counts = []
    for _ in range(2):
        with count_queries() as counter:
            assert client.get(f"/meetings/{meeting.id}/mode").status_code == 200
        counts.append(counter.count)
        refresh(NOW)
        db.session.commit()
    assert counts[0] == counts[1]
