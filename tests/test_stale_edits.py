"""Two people editing the same record: the second save, made from what the
first one changed, is refused with what changed, and nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import inspect

from tests.factories import make_decision, make_meeting, make_patient, make_referral, make_user
from tests.html import field_value, soup, text
from tracker.cases.models import Patient
from tracker.core.address import FormOfAddress
from tracker.core.audit import acting_as
from tracker.extensions import db
from tracker.meetings.models import Meeting
from tracker.web.permissions import Role

PASSWORD = "a long enough test password"


def logged_in(app: Any, user: Any) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def form_data(page: Any, form_id: str | None = None) -> dict[str, Any]:
    """What a browser sends for the page's main form, as shown."""
    scope = page.find("form", id=form_id) if form_id else page.find("main") or page
    data: dict[str, Any] = {}
    for field in scope.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if not name or field.get("type") in ("submit", "button"):
            continue
        if field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data.setdefault(name, []).append(field.get("value", "y"))
            continue
        data[name] = field_value(page, name)
    return data


def two_editors(app: Any, *roles: Role) -> tuple[Any, Any]:
    return (
        logged_in(app, make_user(roles=set(roles), email="sophie@hospital.test")),
        logged_in(app, make_user(roles=set(roles), email="julien@hospital.test")),
    )


def test_a_stale_identity_save_does_not_write_back_an_old_first_name(app):
    patient = make_patient(first_name="Jeanne")
    referral = make_referral(patient=patient)
    first, second = two_editors(app, Role.COORDINATOR)
    url = f"/patients/{patient.id}/edit?case={referral.id}"
    theirs = form_data(soup(first.get(url)))
    mine = form_data(soup(second.get(url)))

    theirs["first_name"] = "Jeannette"
    assert first.post(url, data=theirs).status_code == 302

    mine["phone_1"] = "06 98 76 54 32"
    response = second.post(url, data=mine)
    assert response.status_code == 409
    page = soup(response)
    warning = text(page.find(id="edit-conflict"))
    assert "“Jeanne” → “Jeannette” (sophie@hospital.test" in warning
    assert field_value(page, "phone_1") == "06 98 76 54 32"  # the input is kept
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Jeannette"

    # Saved again, knowingly, from the conflict page: it goes through.
    again = form_data(page)
    again["first_name"] = "Jeannette"
    assert second.post(url, data=again).status_code == 302
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Jeannette"


def test_a_stale_meeting_save_does_not_write_back_an_old_place(app):
    meeting = make_meeting(place="Salle de staff, imagerie, niveau 2")
    first, second = two_editors(app, Role.COORDINATOR)
    url = f"/meetings/{meeting.id}/edit"
    theirs = form_data(soup(first.get(url)))
    mine = form_data(soup(second.get(url)))

    theirs["place"] = "Amphithéâtre B"
    assert first.post(url, data=theirs).status_code == 302

    mine["capacity"] = "10"
    response = second.post(url, data=mine)
    assert response.status_code == 409
    page = soup(response)
    warning = text(page.find(id="edit-conflict"))
    assert "→ “Amphithéâtre B”" in warning
    assert "Sequence" not in warning  # the calendars' revision number is bookkeeping
    assert field_value(page, "capacity") == "10"
    db.session.expire_all()
    saved = db.session.get(Meeting, meeting.id)
    assert saved.place == "Amphithéâtre B"
    assert saved.capacity == 12


def test_the_version_is_checked_even_when_the_form_leaves_it_out(app):
    patient = make_patient(first_name="Jeanne")
    client = logged_in(app, make_user(roles={Role.COORDINATOR}))
    data = form_data(soup(client.get(f"/patients/{patient.id}/contact")))
    data.pop("version")
    data["phone_1"] = "06 98 76 54 32"
    assert client.post(f"/patients/{patient.id}/contact", data=data).status_code == 409
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone_1 != "06 98 76 54 32"


# --- every edit form ----------------------------------------------------------------

#: Forms that are not made from a stored record's fields, and why. A form
#: not listed here that does not carry a version fails the walk below.
NOT_EDITING = {
    "tracker.admin.audit_views.AuditFilterForm": "a search: changes nothing",
    "tracker.cases.forms.CaseFilterForm": "a search: changes nothing",
    "tracker.outcomes.forms.OutcomeFilterForm": "a search: changes nothing",
    "tracker.followups.forms.WorklistFilterForm": "a search: changes nothing",
    "tracker.auth.forms.LoginForm": "logs in",
    "tracker.auth.forms.PasswordChangeForm": "checked by the current password",
    "tracker.auth.forms.PasswordResetForm": "sets a new password, shows none",
    "tracker.auth.forms.LoginCodeForm": "the second step of a login",
    "tracker.fhir.forms.RecordImportForm": "prefills the referral form: saves nothing",
    "tracker.auth.forms.DirectoryGroupForm": "maps a group to what is sent, whatever it was",
    "tracker.admin.audit_views.UnmaskForm": "a reason to read identities: changes nothing",
    "tracker.meetings.forms.StartForm": "a step of the meeting's status, refused once taken",
    "tracker.auth.forms.SecondFactorConfirmForm": "checked by a code from the new key",
    "tracker.auth.forms.SecondFactorCodeForm": "checked by a current code",
    "tracker.auth.forms.SecondFactorOffForm": "checked by the password and a code",
    "tracker.cases.forms.WithdrawForm": "a step of the case's status, refused once taken",
    "tracker.decisions.forms.DecisionForm": (
        "meeting mode's draft: versioned on its own (0 before its first save), "
        "tests/test_concurrency.py and tests/decisions"
    ),
    "tracker.decisions.forms.PatientAnswerForm": "records an event (the patient's answer)",
    "tracker.decisions.forms.NotCarriedOutForm": "a step of the plan's status, refused once taken",
    "tracker.decisions.forms.PrerequisiteForm": "ticks one box, as sent: nothing else is written",
    "tracker.followups.forms.AssessmentForm": "fills a planned follow-up once (refused after)",
    "tracker.followups.forms.MissedForm": "a step of the follow-up's status, refused once taken",
    "tracker.followups.forms.PresentAgainForm": "opens a new episode",
    "tracker.followups.forms.OwnerForm": "hands the follow-ups over: one value, as sent",
    "tracker.meetings.forms.AddCaseForm": "adds a line to the agenda",
    "tracker.meetings.forms.AgendaLineForm": "one line of the agenda form",
    "tracker.meetings.forms.AgendaForm": "agenda lines, each checked against its meeting",
    "tracker.meetings.forms.MoveItemForm": "moves a case, as sent",
    "tracker.meetings.forms.AttendanceForm": "who is present, as ticked",
    "tracker.selfreport.forms.BirthDateForm": "the patient's check of their birth date",
    "tracker.selfreport.forms.QuestionnaireForm": "the patient's answers, saved once",
    "tracker.web.forms.ConfirmForm": "a button: changes nothing typed",
    # The fields an edit form (versioned) and a create form (one-time key) share.
    "tracker.catalogue.forms.IndicationForm": "shared by IndicationEditForm and the create form",
    "tracker.catalogue.forms.TechniqueForm": "shared by TechniqueEditForm and the create form",
    "tracker.meetings.forms.MeetingForm": "shared by MeetingEditForm and the create forms",
}


def _name(form_class: type) -> str:
    return f"{form_class.__module__}.{form_class.__qualname__}"


def _form_classes(app: Any, admin_client: Any) -> set[type]:
    import importlib
    import pkgutil

    import tracker
    from tracker.web.forms import Form

    for module in pkgutil.walk_packages(tracker.__path__, "tracker."):
        if module.name.endswith((".forms", ".views", "audit_views")):
            importlib.import_module(module.name)
    # Forms built on request (one field per setting) exist once their page is shown.
    assert admin_client.get("/admin/settings").status_code == 200
    found: set[type] = set()
    queue = [Form]
    while queue:
        for sub in queue.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                queue.append(sub)
    return found


@dataclass
class Edit:
    """One edit form, ready to be sent stale."""

    client: Any
    url: str
    #: The stored rows the form writes, read afresh.
    rows: Callable[[], list[Any]]
    #: Someone else's save, made after the page was shown.
    meanwhile: Callable[[], None]
    #: What this editor types before saving.
    typed: dict[str, Any]


def _row(model: type, key: Any) -> Callable[[], list[Any]]:
    return lambda: [db.session.get(model, key)]


def _edit_referral(app: Any, staff: Any, admin: Any) -> Edit:
    from tracker.cases.models import Referral

    referral = make_referral()

    def meanwhile() -> None:
        db.session.get(Referral, referral.id).pain_site = "Right foot"

    return Edit(
        staff,
        f"/cases/{referral.id}/edit",
        _row(Referral, referral.id),
        meanwhile,
        {"question": "Cryoneurolysis?"},
    )


def _edit_patient(app: Any, staff: Any, admin: Any) -> Edit:
    patient = make_patient(first_name="Jeanne")

    def meanwhile() -> None:
        db.session.get(Patient, patient.id).first_name = "Jeannette"

    return Edit(
        staff,
        f"/patients/{patient.id}/edit",
        _row(Patient, patient.id),
        meanwhile,
        {"last_name": "Durand"},
    )


def _edit_contact(app: Any, staff: Any, admin: Any) -> Edit:
    patient = make_patient()

    def meanwhile() -> None:
        db.session.get(Patient, patient.id).email = "jeanne@example.org"

    return Edit(
        staff,
        f"/patients/{patient.id}/contact",
        _row(Patient, patient.id),
        meanwhile,
        {"phone_1": "06 98 76 54 32"},
    )


def _edit_meeting(app: Any, staff: Any, admin: Any) -> Edit:
    meeting = make_meeting()

    def meanwhile() -> None:
        db.session.get(Meeting, meeting.id).place = "Amphithéâtre B"

    return Edit(
        staff,
        f"/meetings/{meeting.id}/edit",
        _row(Meeting, meeting.id),
        meanwhile,
        {"capacity": "9"},
    )


def _edit_plan(app: Any, staff: Any, admin: Any) -> Edit:
    from tracker.decisions.models import ProcedurePlan

    plan = make_decision().plan

    def meanwhile() -> None:
        db.session.get(ProcedurePlan, plan.id).distance_mm = 75

    return Edit(
        staff,
        f"/plans/{plan.id}/edit",
        _row(ProcedurePlan, plan.id),
        meanwhile,
        {"notes": "Fasting from midnight"},
    )


def _edit_catalogue(kind: str, model_name: str) -> Callable[[Any, Any, Any], Edit]:
    def make(app: Any, staff: Any, admin: Any) -> Edit:
        from sqlalchemy import select

        from tracker.catalogue import models

        model = getattr(models, model_name)
        entry = db.session.scalars(select(model).order_by(model.id)).first()

        def meanwhile() -> None:
            db.session.get(model, entry.id).name_fr = "Nom changé entre-temps"

        return Edit(
            admin,
            f"/admin/catalogue/{kind}/{entry.id}/edit",
            _row(model, entry.id),
            meanwhile,
            {"name_en": "A new name"},
        )

    return make


def _edit_user(app: Any, staff: Any, admin: Any) -> Edit:
    from tracker.auth.models import User

    user = make_user(full_name="Dr Anne Martin")

    def meanwhile() -> None:
        db.session.get(User, user.id).full_name = "Dr Anne Martin-Leroy"

    return Edit(
        admin,
        f"/admin/users/{user.id}/edit",
        _row(User, user.id),
        meanwhile,
        {"specialty": "ONCOLOGY"},
    )


def _own(url: str, change: dict[str, Any], typed: dict[str, Any]) -> Callable[..., Edit]:
    def make(app: Any, staff: Any, admin: Any) -> Edit:
        from tracker.auth.models import User

        user = make_user()
        client = logged_in(app, user)

        def meanwhile() -> None:
            row = db.session.get(User, user.id)
            for key, value in change.items():
                setattr(row, key, value)

        return Edit(client, url, _row(User, user.id), meanwhile, typed)

    return make


def _edit_settings(app: Any, staff: Any, admin: Any) -> Edit:
    from sqlalchemy import select

    from tracker.core import signals
    from tracker.core.settings import SiteSetting, set_setting

    with app.test_request_context():
        specs = signals.collected(signals.settings)
    first, second = specs[0], specs[1]

    def meanwhile() -> None:
        set_setting(first, first.maximum if first.value != first.maximum else first.minimum)

    def rows() -> list[Any]:
        return list(db.session.scalars(select(SiteSetting).order_by(SiteSetting.key)))

    other = second.maximum if second.value != second.maximum else second.minimum
    return Edit(admin, "/admin/settings", rows, meanwhile, {second.key: str(other)})


EDITS: dict[str, Callable[[Any, Any, Any], Edit]] = {
    "tracker.cases.forms.ReferralEditForm": _edit_referral,
    "tracker.cases.forms.PatientForm": _edit_patient,
    "tracker.cases.forms.ContactForm": _edit_contact,
    "tracker.meetings.forms.MeetingEditForm": _edit_meeting,
    "tracker.decisions.forms.PlanForm": _edit_plan,
    "tracker.catalogue.forms.IndicationEditForm": _edit_catalogue("indications", "Indication"),
    "tracker.catalogue.forms.TechniqueEditForm": _edit_catalogue("techniques", "Technique"),
    "tracker.auth.forms.UserEditForm": _edit_user,
    "tracker.auth.forms.ProfileForm": _own(
        "/account/profile",
        {"form_of_address": FormOfAddress.FEMININE},
        {"form_of_address": "MASCULINE"},
    ),
    "tracker.auth.forms.EmailPreferencesForm": _own(
        "/account/notifications", {"email_meeting_reminders": False}, {"email_followup_digest": []}
    ),
    "tracker.admin.views._settings_form.<locals>.SettingsForm": _edit_settings,
}


def _columns(rows: list[Any]) -> list[dict[str, Any]]:
    db.session.expire_all()
    return [
        {prop.key: getattr(row, prop.key) for prop in inspect(row).mapper.column_attrs}
        for row in rows
    ]


def test_every_form_either_edits_with_a_version_or_says_why_not(app):
    from tracker.web.forms import Form, OnceForm, VersionedForm

    admin = logged_in(app, make_user(roles={Role.ADMIN}))
    unexplained, unwalked = [], []
    for form_class in _form_classes(app, admin):
        name = _name(form_class)
        if not name.startswith("tracker.") or issubclass(form_class, OnceForm):
            continue  # forms that create carry a one-time key instead
        if form_class.__name__.endswith("Fields") or form_class.__name__.startswith("_"):
            continue  # groups of fields, shared by the forms that show them
        if form_class in (VersionedForm, Form):
            continue
        if issubclass(form_class, VersionedForm):
            if name not in EDITS:
                unwalked.append(name)
        elif name not in NOT_EDITING:
            unexplained.append(name)
    assert sorted(unexplained) == [], "forms that neither carry a version nor say why"
    assert sorted(unwalked) == [], "edit forms the walk below does not send stale"


@pytest.mark.parametrize("name", sorted(EDITS))
def test_a_stale_save_of_an_edit_form_is_refused_and_changes_nothing(app, name):
    staff = logged_in(
        app, make_user(roles={Role.COORDINATOR, Role.RADIOLOGIST}, email="julien@hospital.test")
    )
    admin = logged_in(app, make_user(roles={Role.ADMIN}, email="admin@hospital.test"))
    edit = EDITS[name](app, staff, admin)
    page = soup(edit.client.get(edit.url))
    version = page.find("input", attrs={"type": "hidden", "name": "version"})
    assert version is not None, f"{edit.url} carries no version"
    assert version.get("value"), f"{edit.url} carries an empty version"
    data = form_data(page)

    with acting_as("someone else"):
        edit.meanwhile()
    db.session.commit()
    before = _columns(edit.rows())

    sent = {**data, **edit.typed}
    response = edit.client.post(edit.url, data=sent)
    assert response.status_code == 409, edit.url
    assert soup(response).find(id="edit-conflict") is not None
    assert _columns(edit.rows()) == before, f"{edit.url} wrote a stale save"

    # Without a version at all: refused too.
    sent.pop("version")
    assert edit.client.post(edit.url, data=sent).status_code == 409, edit.url
    assert _columns(edit.rows()) == before


def test_logging_in_or_choosing_a_language_makes_no_account_form_stale(app):
    """Only edits move an account's version: the person logging in (and the
    rehash of their password) or picking a language in the menu leaves the
    administrator's open form, and their own, valid."""
    from tracker.auth.models import User

    admin = logged_in(app, make_user(roles={Role.ADMIN}))
    user = make_user(full_name="Dr Anne Martin")
    url = f"/admin/users/{user.id}/edit"
    data = form_data(soup(admin.get(url)))
    own = logged_in(app, user)
    mine = form_data(soup(own.get("/account/profile")))
    assert own.post("/language", data={"lang": "fr"}).status_code == 302
    logged_in(app, user)
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None

    data["full_name"] = "Dr Anne Martin-Leroy"
    assert admin.post(url, data=data).status_code == 302
    mine["form_of_address"] = "FEMININE"
    # The administrator's save was an edit: the person's own form is stale now.
    assert own.post("/account/profile", data=mine).status_code == 409
