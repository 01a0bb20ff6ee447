"""Case statuses and completeness: pure rules, no database."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from types import SimpleNamespace

import pytest

from tracker.cases.rules import (
    ALLOWED_TRANSITIONS,
    DEFAULT_MRN_PATTERN,
    REQUIRED_FOR_MEETING,
    CaseStatus,
    InvalidTransition,
    birth_date_problem,
    can_transition,
    check_transition,
    missing_fields,
    mrn_problem,
    not_in_future_problem,
    pain_duration_on,
    safety_facts,
    status_after_edit,
)

S = CaseStatus
MAIN_PATH = [
    S.DRAFT,
    S.REFERRED,
    S.SCHEDULED,
    S.DISCUSSED,
    S.PLANNED,
    S.TREATED,
    S.FOLLOW_UP,
    S.CLOSED,
]


def complete_sheet(**overrides):
    values = {
        "referrer_id": 1,
        "referral_on": date(2026, 11, 2),
        "indication_id": 3,
        "pain_site": "Left foot",
        "pain_side": "LEFT",
        "mechanism": "NEUROPATHIC",
        "pain_duration_months": 0,
        "nrs_now": 0,
        "nrs_average": 6,
        "nrs_worst": 9,
        "treatments_tried": ["PHYSIOTHERAPY"],
        "treatments_other": None,
        "anticoagulation": "NONE",
        "allergies": "None known",
        "question": "Cryoneurolysis?",
        "patient_agreed_on": date(2026, 11, 2),
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_every_status_has_its_allowed_moves():
    assert set(ALLOWED_TRANSITIONS) == set(CaseStatus)


@pytest.mark.parametrize(("current", "new"), list(pairwise(MAIN_PATH)))
def test_the_main_path_is_allowed(current, new):
    assert can_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.DRAFT, S.SCHEDULED),  # an incomplete referral never goes on an agenda
        (S.REFERRED, S.DISCUSSED),
        (S.TREATED, S.REFERRED),
        (S.WITHDRAWN, S.REFERRED),
        (S.CLOSED, S.DRAFT),
        (S.DRAFT, S.DRAFT),
    ],
)
def test_other_moves_are_refused_with_a_message(current, new):
    assert not can_transition(current, new)
    with pytest.raises(InvalidTransition):
        check_transition(current, new)


def test_any_open_case_can_be_withdrawn_but_not_a_treated_one():
    for status in (S.DRAFT, S.REFERRED, S.SCHEDULED, S.DISCUSSED, S.PLANNED):
        assert can_transition(status, S.WITHDRAWN)
    for status in (S.TREATED, S.FOLLOW_UP, S.CLOSED, S.WITHDRAWN):
        assert not can_transition(status, S.WITHDRAWN)


def test_a_complete_sheet_misses_nothing_and_zero_counts_as_filled():
    assert missing_fields(complete_sheet()) == []


def test_each_required_field_is_reported_when_empty():
    for name in REQUIRED_FOR_MEETING:
        sheet = complete_sheet(**{name: None})
        if name == "treatments_tried":
            sheet.treatments_tried = []
        assert missing_fields(sheet) == [name], name


def test_blank_text_is_missing():
    assert missing_fields(complete_sheet(question="   ", allergies="")) == ["allergies", "question"]


def test_treatments_written_out_count_as_tried():
    sheet = complete_sheet(treatments_tried=[], treatments_other="Pregabalin 150 mg, no effect")
    assert missing_fields(sheet) == []


def test_status_follows_completeness_only_before_scheduling():
    assert status_after_edit(S.DRAFT, complete=True) is S.REFERRED
    assert status_after_edit(S.DRAFT, complete=False) is S.DRAFT
    assert status_after_edit(S.REFERRED, complete=False) is S.DRAFT
    assert status_after_edit(S.REFERRED, complete=True) is S.REFERRED
    assert status_after_edit(S.SCHEDULED, complete=False) is S.SCHEDULED


TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        (date(1961, 4, 12), True),
        (TODAY, True),
        (date(2026, 11, 21), False),
        (date(1906, 11, 20), True),
        (date(1906, 11, 19), False),
    ],
)
def test_birth_dates_must_be_plausible(birth, ok):
    assert (birth_date_problem(birth, TODAY) is None) is ok


def test_birth_date_check_survives_29_february():
    assert birth_date_problem(date(1904, 3, 1), date(2024, 2, 29)) is None


def test_dates_in_the_future_are_refused():
    assert not_in_future_problem(TODAY, TODAY) is None
    assert not_in_future_problem(date(2026, 11, 21), TODAY) is not None


@pytest.mark.parametrize(
    ("mrn", "ok"),
    [
        ("12345678", True),
        ("AB1234", True),
        ("123", False),
        ("A" * 21, False),
        ("12 345", False),
        ("12-345", False),
        ("", False),
    ],
)
def test_default_hospital_number_form(mrn, ok):
    assert (mrn_problem(mrn, DEFAULT_MRN_PATTERN) is None) is ok


@pytest.mark.parametrize(
    ("months", "given_on", "today", "expected"),
    [
        (24, date(2026, 1, 20), date(2026, 11, 20), 34),  # ten whole months since
        (24, date(2026, 1, 21), date(2026, 11, 20), 33),  # the tenth not yet complete
        (24, date(2026, 11, 20), date(2026, 11, 20), 24),
        (0, date(2025, 11, 30), date(2026, 2, 28), 2),
        (None, date(2026, 1, 20), date(2026, 11, 20), None),  # never given: still empty
        (24, None, date(2026, 11, 20), 24),
    ],
)
def test_a_pain_duration_is_brought_up_to_today(months, given_on, today, expected):
    assert pain_duration_on(months, given_on, today) == expected


# --- safety facts ---------------------------------------------------------------------


def referral_facts(**overrides):
    from tracker.cases.models import Anticoagulation, Urgency

    values = {
        "urgency": Urgency.ROUTINE,
        "anticoagulation": Anticoagulation.NONE,
        "anticoagulation_details": None,
        "allergies": "None known",
        "is_oncology": False,
        "primary_tumour": None,
        "has_bone_metastases": False,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_a_referral_without_risk_has_no_safety_fact():
    assert safety_facts(referral_facts()) == []


@pytest.mark.parametrize(
    "written", ["None known", "none", "NKDA", "Aucune connue", "aucune", "Pas d'allergie", "-"]
)
def test_no_allergy_in_the_words_referrers_use(written):
    assert safety_facts(referral_facts(allergies=written)) == []


def test_each_risk_is_a_fact_with_its_words():
    from tracker.cases.models import Anticoagulation, Urgency

    facts = safety_facts(
        referral_facts(
            urgency=Urgency.URGENT,
            anticoagulation=Anticoagulation.ANTICOAGULANT,
            anticoagulation_details="Apixaban 5 mg twice daily",
            allergies="Iodinated contrast (urticaria)",
            is_oncology=True,
            primary_tumour="Lung adenocarcinoma",
            has_bone_metastases=True,
        )
    )
    assert [(f.kind, str(f.label), f.detail, f.level) for f in facts] == [
        ("urgent", "Urgent", None, "danger"),
        ("anticoagulation", "Anticoagulant therapy", "Apixaban 5 mg twice daily", "danger"),
        ("allergy", "Allergy", "Iodinated contrast (urticaria)", "danger"),
        ("oncology", "Oncology context", "Lung adenocarcinoma, bone metastases", "info"),
    ]


def test_a_risk_not_stated_is_a_fact_too():
    facts = safety_facts(referral_facts(anticoagulation=None, allergies="  "))
    assert [(f.kind, str(f.label), f.level) for f in facts] == [
        ("anticoagulation", "Anticoagulation not stated", "warning"),
        ("allergy", "Allergies not stated", "warning"),
    ]
