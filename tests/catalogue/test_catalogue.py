"""The indication and technique lists: seeded, renamed, retired, restored."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy import text as sql

from tests.factories import first_indication, make_referral, make_user
from tests.html import field_errors, soup, text
from tracker.catalogue import services
from tracker.catalogue.models import ActsOn, Indication, Technique, WearsOffBy
from tracker.core.audit import AuditEntry
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
        data={
            "name_en": "Morton's neuroma (interdigital)",
            "name_fr": "Névrome de Morton",
            "version": str(morton.version),
        },
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
        "followup_days": "14, 91, 365",
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


def test_the_technique_form_shows_the_schedule_in_days_and_words(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    cryo = db.session.scalar(select(Technique).where(Technique.code == "cryoneurolysis"))
    page = soup(client.get(f"/admin/catalogue/techniques/{cryo.id}/edit"))
    assert page.find(attrs={"name": "followup_days"})["value"] == "7, 30, 91, 183, 365"
    words = [item.get_text() for item in page.find(id="followup_days-labels").find_all("li")]
    assert words == [
        "7\xa0→ Week 1",
        "30\xa0→ Month 1",
        "91\xa0→ Month 3",
        "183\xa0→ Month 6",
        "365\xa0→ Year 1",
    ]


def submitted(page):
    """What the browser sends back for the page's form when nothing is changed."""
    form = page.find(attrs={"name": "name_en"}).find_parent("form")
    data = {
        field["name"]: field.get("value", "")
        for field in form.find_all("input")
        if field.get("type") != "checkbox"
    }
    for box in form.find_all("input", type="checkbox", checked=True):
        data.setdefault(box["name"], []).append(box.get("value", "y"))
    for select_ in form.find_all("select"):
        chosen = select_.find("option", selected=True) or select_.find("option")
        data[select_["name"]] = chosen["value"]
    return data


def stored_schedule(technique_id):
    """The schedule and its windows as the database holds them, byte for byte."""
    return db.session.execute(
        sql(
            "SELECT CAST(followup_days AS TEXT), CAST(followup_windows AS TEXT) "
            "FROM techniques WHERE id = :id"
        ),
        {"id": technique_id},
    ).one()


def save_unchanged(client, technique_id):
    url = f"/admin/catalogue/techniques/{technique_id}/edit"
    response = client.post(url, data=submitted(soup(client.get(url))))
    assert response.status_code == 302, soup(response).find(class_="invalid-feedback")
    db.session.expire_all()


def test_every_seeded_technique_saved_unchanged_keeps_its_schedule(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    techniques = services.all_entries(Technique)
    assert len(techniques) >= 5
    before = {technique.id: stored_schedule(technique.id) for technique in techniques}
    audited = db.session.scalar(select(db.func.count(AuditEntry.id)))
    for technique_id in before:
        save_unchanged(client, technique_id)
    assert {technique_id: stored_schedule(technique_id) for technique_id in before} == before
    # Nothing changed, so nothing to audit either.
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == audited


@settings(
    max_examples=25,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    days=st.lists(
        st.integers(min_value=1, max_value=3 * 366), min_size=1, max_size=24, unique=True
    ),
    own_windows=st.booleans(),
    sides=st.tuples(st.integers(-366, 0), st.integers(0, 366)),
)
def test_any_schedule_saved_unchanged_stays_identical(client, auth, days, own_windows, sides):
    auth.login_as(make_user(roles={Role.ADMIN}))
    cryo = db.session.scalar(select(Technique).where(Technique.code == "cryoneurolysis"))
    windows = [list(sides) for _ in days] if own_windows else None
    db.session.execute(
        update(Technique)
        .where(Technique.id == cryo.id)
        .values(followup_days=sorted(days), followup_windows=windows)
    )
    db.session.commit()
    before = stored_schedule(cryo.id)
    save_unchanged(client, cryo.id)
    assert stored_schedule(cryo.id) == before
    assert db.session.get(Technique, cryo.id).followup_days == sorted(days)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("followup_days", "7, 7", "Day 7 appears twice"),
        ("followup_days", "-14", "come after the procedure"),
        ("followup_days", "0, 30", "come after the procedure"),
        ("followup_days", "soon", "is not a whole number of days"),
        ("followup_days", "3m", "is not a whole number of days"),
        ("followup_days", "30, 1200", "Day 1200: time points go up to three years"),
        ("followup_days", "", "required"),
        ("followup_windows", "+2/+4", "a window contains its own due date"),
        ("followup_windows", "-2/+4", "Give one window per time point"),
        ("followup_windows", "week", "is not a window"),
        ("partial_pct", "60", "cannot need more than a full response"),
        ("recurrence_pct", "40", "cannot start above the partial response (30%)"),
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


def test_thresholds_out_of_order_show_beside_other_mistakes(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    data = technique_data(followup_days="0", recurrence_pct="40")
    page = soup(client.post("/admin/catalogue/techniques/new", data=data))
    assert "come after the procedure" in page.find(id="followup_days-error").get_text()
    assert "above the partial response" in page.find(id="recurrence_pct-error").get_text()


def test_a_bad_schedule_on_edit_keeps_the_input_and_changes_nothing(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    cryo = db.session.scalar(select(Technique).where(Technique.code == "cryoneurolysis"))
    before = stored_schedule(cryo.id)
    url = f"/admin/catalogue/techniques/{cryo.id}/edit"
    data = submitted(soup(client.get(url))) | {"followup_days": "7, 30, 30", "name_en": "Cryo"}
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert soup(response).find(attrs={"name": "followup_days"})["value"] == "7, 30, 30"
    db.session.expire_all()
    assert stored_schedule(cryo.id) == before
    assert db.session.get(Technique, cryo.id).name_en != "Cryo"


def test_the_service_refuses_thresholds_out_of_order_and_changes_nothing(app):
    cryo = db.session.scalar(select(Technique).where(Technique.code == "cryoneurolysis"))
    names = {"name_en": cryo.name_en, "name_fr": cryo.name_fr}
    with pytest.raises(DomainError) as refused:
        services.update_entry(cryo, **names, recurrence_pct=cryo.partial_pct + 1)
    assert refused.value.field == "recurrence_pct"
    with pytest.raises(DomainError) as refused:
        services.update_entry(cryo, **names, partial_pct=cryo.responder_pct + 1)
    assert refused.value.field == "partial_pct"
    with pytest.raises(DomainError) as refused:
        services.update_entry(cryo, **names, followup_days=[7, 7])
    assert refused.value.field == "followup_days"
    with pytest.raises(DomainError) as refused:
        services.add_entry(Technique, name_en="X", name_fr="X", recurrence_pct=40, **SETTINGS)
    assert refused.value.field == "recurrence_pct"
    db.session.expire_all()
    assert (cryo.partial_pct, cryo.recurrence_pct) == (30, 30)
    assert cryo.followup_days == [7, 30, 91, 183, 365]
    assert db.session.scalar(select(Technique).where(Technique.name_en == "X")) is None
    # In order, the same call is accepted.
    services.update_entry(cryo, **names, recurrence_pct=20, followup_days=[30, 7])
    assert (cryo.recurrence_pct, cryo.followup_days) == (20, [7, 30])


SETTINGS = {"acts_on": ActsOn.NERVE, "wears_off_by": WearsOffBy.NERVE_REGROWTH}


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


def test_a_technique_s_own_windows_plan_its_follow_ups(client, auth):
    from tests.factories import make_procedure
    from tracker.followups.models import FollowUp, FollowUpKind

    auth.login_as(make_user(roles={Role.ADMIN}))
    data = technique_data(followup_days="14, 91", followup_windows="-3/+3, 10/20")
    assert client.post("/admin/catalogue/techniques/new", data=data).status_code == 302
    added = db.session.scalar(
        select(Technique).where(Technique.code == "peripheral_nerve_stimulation")
    )
    assert added.followup_windows == [[-3, 3], [-10, 20]]
    page = soup(client.get(f"/admin/catalogue/techniques/{added.id}/edit"))
    assert page.find(attrs={"name": "followup_windows"})["value"] == "-3/+3, -10/+20"
    procedure = make_procedure(technique_code=added.code, distance_mm=None)
    spans = [
        ((f.window_start_on - f.due_on).days, (f.window_end_on - f.due_on).days)
        for f in db.session.scalars(
            select(FollowUp)
            .where(FollowUp.procedure_id == procedure.id, FollowUp.kind == FollowUpKind.SCHEDULED)
            .order_by(FollowUp.due_on)
        )
    ]
    assert spans == [(-3, 3), (-10, 20)]


def test_every_seeded_technique_has_its_usual_way_of_being_done(app):
    techniques = {t.code: t for t in services.all_entries(Technique)}
    cryo = techniques["cryoneurolysis"]
    assert cryo.default_guidance == ["ULTRASOUND"]
    assert (cryo.default_anaesthesia, cryo.default_care_setting) == ("LOCAL", "AMBULATORY")
    assert cryo.default_anaesthetist_needed is False
    assert cryo.typical_prerequisites == ["anticoagulation_managed_on", "consent_on"]
    cement = techniques["cementoplasty"]
    assert cement.default_guidance == ["CT", "FLUOROSCOPY"]
    assert cement.default_anaesthesia == "SEDATION"
    assert cement.default_anaesthetist_needed is True
    assert "fasting_on" in cement.typical_prerequisites
    assert all(t.default_guidance for t in techniques.values())


def test_admin_sets_and_clears_a_techniques_usual_way(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    emb = db.session.scalar(select(Technique).where(Technique.code == "embolisation"))
    url = f"/admin/catalogue/techniques/{emb.id}/edit"
    data = submitted(soup(client.get(url)))
    assert data["default_guidance"] == ["ANGIOGRAPHY"]
    data.update(
        default_guidance=["CONE_BEAM_CT", "ANGIOGRAPHY"],
        default_anaesthesia="SEDATION",
        default_care_setting="SHORT_STAY",
        default_anaesthetist_needed="yes",
        typical_prerequisites=["consent_on", "fasting_on"],
    )
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    emb = db.session.get(Technique, emb.id)
    assert emb.default_guidance == ["CONE_BEAM_CT", "ANGIOGRAPHY"]
    assert (emb.default_anaesthesia, emb.default_care_setting) == ("SEDATION", "SHORT_STAY")
    assert emb.default_anaesthetist_needed is True
    assert emb.typical_prerequisites == ["consent_on", "fasting_on"]
    page = soup(client.get(url))
    assert submitted(page)["default_anaesthetist_needed"] == "yes"

    data = submitted(page)
    for name in ("default_guidance", "typical_prerequisites"):
        del data[name]
    data.update(default_anaesthesia="", default_care_setting="", default_anaesthetist_needed="")
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    emb = db.session.get(Technique, emb.id)
    cleared = ("default_guidance", "typical_prerequisites", "default_anaesthesia")
    assert [getattr(emb, name) for name in cleared] == [None, None, None]
    assert emb.default_anaesthetist_needed is None


def test_a_stale_default_is_refused_on_its_field(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    cryo = db.session.scalar(select(Technique).where(Technique.code == "cryoneurolysis"))
    url = f"/admin/catalogue/techniques/{cryo.id}/edit"
    data = submitted(soup(client.get(url)))
    data["typical_prerequisites"] = ["x_ray_on"]
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "not a valid choice" in field_errors(soup(response), "typical_prerequisites")
    db.session.expire_all()
    assert db.session.get(Technique, cryo.id).typical_prerequisites == [
        "anticoagulation_managed_on",
        "consent_on",
    ]


@pytest.mark.parametrize(
    ("kind", "model", "data"),
    [
        (
            "indications",
            Indication,
            {"name_en": "Pudendal neuralgia", "name_fr": "Névralgie pudendale"},
        ),
        ("techniques", Technique, technique_data()),
    ],
)
def test_a_new_entry_form_sent_twice_adds_one_entry(client, auth, kind, model, data):
    auth.login_as(make_user(roles={Role.ADMIN}))
    url = f"/admin/catalogue/{kind}/new"
    key = soup(client.get(url)).find(attrs={"name": "once_key"})["value"]
    count = len(db.session.scalars(select(model)).all())
    first = client.post(url, data={**data, "once_key": key})
    second = client.post(url, data={**data, "once_key": key})
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert len(db.session.scalars(select(model)).all()) == count + 1
