"""Roles and functions said of a person agree with their form of address."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from tracker.core.address import FormOfAddress, agreed, form_of, label_for
from tracker.core.specialties import Specialty
from tracker.web.permissions import Role

SHE = SimpleNamespace(form_of_address=FormOfAddress.FEMININE)
HE = SimpleNamespace(form_of_address=FormOfAddress.MASCULINE)
UNSTATED = SimpleNamespace(form_of_address=FormOfAddress.UNSPECIFIED)


@pytest.mark.parametrize(
    ("role", "person", "french", "english"),
    [
        (Role.COORDINATOR, SHE, "Coordinatrice", "Coordinator"),
        (Role.COORDINATOR, HE, "Coordinateur", "Coordinator"),
        (Role.COORDINATOR, UNSTATED, "Coordinateur", "Coordinator"),
        (Role.COORDINATOR, None, "Coordinateur", "Coordinator"),
        (Role.ADMIN, SHE, "Administratrice", "Administrator"),
        (Role.CLINICIAN, SHE, "Clinicienne", "Clinician"),
        (Role.CLINICIAN, HE, "Clinicien", "Clinician"),
        (Role.RADIOLOGIST, SHE, "Radiologue", "Radiologist"),
        # A frozen participant (a decision's sheet) says it by name.
        (Role.COORDINATOR, {"form_of_address": "FEMININE"}, "Coordinatrice", "Coordinator"),
        (Role.COORDINATOR, {"form_of_address": None}, "Coordinateur", "Coordinator"),
        (Role.COORDINATOR, {"name": "frozen before"}, "Coordinateur", "Coordinator"),
    ],
)
def test_a_role_agrees_with_the_person_in_french_only(app, role, person, french, english):
    with app.test_request_context():
        with force_locale("fr"):
            assert label_for(role, person) == french
        with force_locale("en"):
            assert label_for(role, person) == english


def test_a_label_without_a_feminine_form_stays_as_it_is(app):
    # Specialties name a discipline ("Chirurgie"), which does not agree with anyone.
    with app.test_request_context(), force_locale("fr"):
        assert label_for(Specialty.SURGERY, SHE) == "Chirurgie"


def test_agreed_keeps_a_template_s_escaped_text_as_it_is():
    from markupsafe import Markup

    text = Markup("Coordinatrice : A &amp; B")
    assert agreed(SHE, Markup("Coordinateur : A &amp; B"), text) is text


def test_anything_else_is_unstated():
    assert form_of(SimpleNamespace()) is FormOfAddress.UNSPECIFIED
    assert form_of({"form_of_address": "nonsense"}) is FormOfAddress.UNSPECIFIED
