"""The indication and technique lists: seeded, renamed, retired, restored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import first_indication, make_referral, make_user
from tests.html import soup, text
from tracker.catalogue import services
from tracker.catalogue.models import Indication, Technique, WearsOffBy
from tracker.core.errors import DomainError
from tracker.extensions import db
from tracker.web.permissions import Role


def test_the_lists_are_seeded_from_the_domain_reference(app):
    indications = services.active_entries(Indication)
    techniques = services.active_entries(Technique)
    assert len(indications) == 14
    assert indications[0].name_en.startswith("Headache and facial pain")
    assert {t.code for t in techniques} >= {"cryoneurolysis", "radiofrequency", "cementoplasty"}
    cryo = next(t for t in techniques if t.code == "cryoneurolysis")
    assert cryo.acts_on_nerve
    cement = next(t for t in techniques if t.code == "cementoplasty")
    assert cement.wears_off_by is WearsOffBy.STRUCTURAL
    assert not cement.acts_on_nerve


def test_names_follow_the_language(app):
    from flask_babel import refresh

    morton = first_indication("morton_neuroma")
    for language, name in (("fr", "Névrome de Morton"), ("en", "Morton's neuroma")):
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()  # the test's application context outlives each request
            assert morton.name == name


def test_adding_gives_a_unique_code_and_refuses_duplicate_names(app):
    entry = services.add_entry(
        Indication, name_en="Phantom limb pain", name_fr="Douleur du membre fantôme"
    )
    assert entry.code == "phantom_limb_pain"
    assert entry.position > first_indication("levator_ani").position
    with pytest.raises(DomainError) as refused:
        services.add_entry(Indication, name_en="phantom LIMB pain", name_fr="Autre")
    assert refused.value.field == "name_en"


def test_a_retired_entry_stays_on_old_cases_but_is_not_offered(app):
    referral = make_referral()
    morton = referral.indication
    services.retire_entry(morton)
    db.session.commit()
    assert morton not in services.active_entries(Indication)
    assert db.session.get(type(referral), referral.id).indication.code == "morton_neuroma"
    with pytest.raises(DomainError):
        services.retire_entry(morton)
    services.restore_entry(morton)
    assert morton in services.active_entries(Indication)


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.RADIOLOGIST, Role.CLINICIAN])
def test_only_admins_edit_the_catalogues(client, auth, role):
    auth.login_as(make_user(roles={role}))
    morton = first_indication()
    for method, url in [
        ("get", "/admin/catalogue/indications"),
        ("get", "/admin/catalogue/techniques/new"),
        ("post", f"/admin/catalogue/indications/{morton.id}/retire"),
    ]:
        assert getattr(client, method)(url).status_code == 403


def test_admin_renames_and_retires_through_the_pages(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    morton = first_indication()
    page = soup(client.get("/admin/catalogue/indications"))
    assert "Névrome de Morton" in text(page)
    response = client.post(
        f"/admin/catalogue/indications/{morton.id}/edit",
        data={"name_en": "Morton's neuroma (interdigital)", "name_fr": "Névrome de Morton"},
    )
    assert response.status_code == 302
    assert client.post(f"/admin/catalogue/indications/{morton.id}/retire").status_code == 302
    db.session.expire_all()
    morton = db.session.get(Indication, morton.id)
    assert morton.name_en == "Morton's neuroma (interdigital)"
    assert morton.is_retired


def technique_data(**overrides):
    data = {
        "name_en": "Peripheral nerve stimulation",
        "name_fr": "Neurostimulation périphérique",
        "acts_on": "NERVE",
        "wears_off_by": "STRUCTURAL",
        "followup_schedule": "2w, 3m, 1y",
        "responder_pct": "50",
        "partial_pct": "30",
        "recurrence_pct": "30",
        "min_retreat_days": "90",
        "max_failed_sessions": "2",
        "blocking_cirse_grade": "3",
        "counts_from_day": "2",
    }
    data.update(overrides)
    return data


def test_admin_adds_a_technique_with_its_follow_up_settings(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    response = client.post("/admin/catalogue/techniques/new", data=technique_data())
    assert response.status_code == 302
    added = db.session.scalar(
        select(Technique).where(Technique.code == "peripheral_nerve_stimulation")
    )
    assert added.wears_off_by is WearsOffBy.STRUCTURAL
    assert added.followup_days == [14, 91, 365]
    assert added.min_retreat_days == 90
    assert not added.retreatable
    assert added.counts_from_day == 2


def test_the_technique_form_shows_the_schedule_in_words(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    cryo = db.session.scalar(select(Technique).where(Technique.code == "cryoneurolysis"))
    page = soup(client.get(f"/admin/catalogue/techniques/{cryo.id}/edit"))
    assert page.find(attrs={"name": "followup_schedule"})["value"] == "1w, 1m, 3m, 6m, 1y"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("followup_schedule", "1w, 1w", "appears twice"),
        ("followup_schedule", "-2w", "come after the procedure"),
        ("followup_schedule", "soon", "is not understood"),
        ("partial_pct", "60", "cannot need more than a full response"),
        ("blocking_cirse_grade", "7", "between 1 and 6"),
        ("min_retreat_days", "-1", "between 0 and 730"),
        ("counts_from_day", "31", "between 0 and 30"),
    ],
)
def test_bad_technique_settings_are_refused(client, auth, field, value, message):
    auth.login_as(make_user(roles={Role.ADMIN}))
    response = client.post("/admin/catalogue/techniques/new", data=technique_data(**{field: value}))
    assert response.status_code == 422
    assert message in soup(response).find(id=f"{field}-error").get_text()
    missing = select(Technique).where(Technique.code == "peripheral_nerve_stimulation")
    assert db.session.scalar(missing) is None


def test_an_empty_name_keeps_the_input(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    response = client.post(
        "/admin/catalogue/indications/new", data={"name_en": "Coccydynia", "name_fr": ""}
    )
    assert response.status_code == 422
    assert soup(response).find(attrs={"name": "name_en"})["value"] == "Coccydynia"


def test_unknown_catalogue_is_404(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    assert client.get("/admin/catalogue/drugs").status_code == 404
