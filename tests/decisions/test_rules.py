"""Decision and procedure rules, without a database."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from tracker.core.errors import DomainError
from tracker.decisions.models import Outcome
from tracker.decisions.rules import (
    check_cirse_grade,
    check_prerequisites,
    check_procedure,
    check_validation,
)

PLAN = SimpleNamespace(technique_id=1, target="Genicular nerves")


def test_a_complete_decision_with_quorum_validates():
    check_validation(
        outcome=Outcome.PROCEDURE_PROPOSED,
        reasons="Refractory",
        quorum_met=True,
        plan=PLAN,
        attendance_validated=True,
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": None}, "outcome"),
        ({"reasons": "  "}, "reasons"),
        ({"plan": None}, "technique_id"),
        ({"plan": SimpleNamespace(technique_id=1, target="")}, "target"),
        ({"quorum_met": False}, "outcome"),
        # Whatever the decision, the chair's attendance sheet comes first.
        ({"attendance_validated": False}, "attendance"),
        ({"attendance_validated": False, "outcome": Outcome.POSTPONED}, "attendance"),
    ],
)
def test_what_stops_a_validation(kwargs, field):
    values = {
        "outcome": Outcome.PROCEDURE_PROPOSED,
        "reasons": "Refractory",
        "quorum_met": True,
        "plan": PLAN,
        "attendance_validated": True,
        **kwargs,
    }
    with pytest.raises(DomainError) as refused:
        check_validation(**values)
    assert refused.value.field == field


def test_without_quorum_only_a_postponement_validates():
    check_validation(
        outcome=Outcome.POSTPONED,
        reasons="No surgeon today",
        quorum_met=False,
        plan=None,
        attendance_validated=True,
    )
    for outcome in set(Outcome) - {Outcome.POSTPONED}:
        with pytest.raises(DomainError, match="quorum"):
            check_validation(
                outcome=outcome,
                reasons="x",
                quorum_met=False,
                plan=PLAN,
                attendance_validated=True,
            )


def procedure(**overrides):
    values = {"performed_on": date(2026, 11, 30), "technique_id": 1, "deviation_reason": None}
    values.update(overrides)
    return values


DECIDED, TODAY = date(2026, 11, 24), date(2026, 12, 1)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"performed_on": date(2026, 11, 23)}, "performed_on"),
        ({"performed_on": date(2026, 12, 2)}, "performed_on"),
        ({"performed_on": None}, "performed_on"),
        ({"technique_id": 2}, "deviation_reason"),
        ({"distance_mm": -1}, "distance_mm"),
        ({"cement_volume_ml": -0.5}, "cement_volume_ml"),
        ({"technique_id": None}, "technique_id"),
    ],
)
def test_procedure_problems(overrides, field):
    with pytest.raises(DomainError) as refused:
        check_procedure(
            procedure(**overrides), decided_on=DECIDED, today=TODAY, planned_technique_id=1
        )
    assert refused.value.field == field


def test_a_deviation_with_its_reason_and_boundary_dates_are_fine():
    check_procedure(
        procedure(technique_id=2, deviation_reason="Probe unavailable"),
        decided_on=DECIDED,
        today=TODAY,
        planned_technique_id=1,
    )
    check_procedure(
        procedure(performed_on=DECIDED), decided_on=DECIDED, today=TODAY, planned_technique_id=1
    )
    check_procedure(
        procedure(performed_on=TODAY), decided_on=DECIDED, today=TODAY, planned_technique_id=1
    )


@pytest.mark.parametrize("grade", [0, 7, -1, None, "3", 2.5])
def test_cirse_grades_go_from_1_to_6(grade):
    with pytest.raises(DomainError):
        check_cirse_grade(grade)


@pytest.mark.parametrize("grade", [1, 6])
def test_valid_cirse_grades(grade):
    check_cirse_grade(grade)


# --- prerequisites at the procedure --------------------------------------------------

PENDING = ["anticoagulation_managed_on", "consent_on", "fasting_on"]


def prerequisites(answers, *, consent_required=True, performed_on=date(2026, 11, 30)):
    return check_prerequisites(
        PENDING,
        answers,
        performed_on=performed_on,
        today=TODAY,
        consent_required=consent_required,
    )


def test_each_unticked_prerequisite_is_done_or_says_why_not():
    done, not_done = prerequisites(
        {
            "anticoagulation_managed_on": (date(2026, 11, 25), "ignored: it was done"),
            "consent_on": (date(2026, 11, 26), None),
            "fasting_on": (None, "  Local anaesthesia "),
            # Ticked on the plan already: not asked, whatever is sent.
            "blood_tests_on": (None, None),
        }
    )
    assert done == {
        "anticoagulation_managed_on": date(2026, 11, 25),
        "consent_on": date(2026, 11, 26),
    }
    assert not_done == {"fasting_on": "Local anaesthesia"}


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"consent_on": (None, "Verbal agreement")}, "consent_on", "consent must be recorded"),
        ({"fasting_on": (None, None)}, "fasting_on", "or say why not"),
        ({"fasting_on": (date(2026, 12, 2), None)}, "fasting_on", "in the future"),
        ({"fasting_on": (date(2026, 12, 1), None)}, "fasting_on", "after the procedure"),
    ],
)
def test_what_stops_a_procedure_for_its_prerequisites(answers, field, message):
    complete = {
        "anticoagulation_managed_on": (None, "Not anticoagulated"),
        "consent_on": (date(2026, 11, 26), None),
        "fasting_on": (None, "Local"),
    }
    with pytest.raises(DomainError, match=message) as refused:
        prerequisites({**complete, **answers})
    assert refused.value.field == field


def test_a_site_may_relax_the_consent_to_a_reason():
    answers = dict.fromkeys(PENDING, (None, "Not done"))
    _done, not_done = prerequisites(answers, consent_required=False)
    assert not_done["consent_on"] == "Not done"
    with pytest.raises(DomainError) as refused:
        prerequisites({**answers, "consent_on": (None, "")}, consent_required=False)
    assert refused.value.field == "consent_on"
