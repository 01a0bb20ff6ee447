"""Each record's fields are declared once, on its form, and reach every place
they must: the model's column, the page, what the service writes, the audit
trail (its entries and its words), the export and the README's list of its
columns.

This is the proof behind the README's recipe "Adding a field to the assessment
form": leave a new field out of any of those places and a test here fails
(the migration and the French label have their own tests: ``test_migrations``,
``test_i18n``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    SelectMultipleField,
)
from wtforms.validators import Length, NumberRange

from tests.factories import (
    assessment_values,
    make_decision,
    make_procedure,
    make_referral,
    make_user,
    radiologist,
    running_meeting,
)
from tests.forms_found import FormField
from tests.forms_found import _fields as page_fields
from tests.html import checked_values, soup
from tracker.auth.models import User
from tracker.cases.forms import ReferralEditForm, ReferralFields
from tracker.cases.models import Referral
from tracker.core.audit import Audited, AuditEntry
from tracker.core.audit_trail import field_label, field_labels, labels_of
from tracker.core.fields import UnknownField, assign, data_fields
from tracker.core.time import local_today
from tracker.decisions import services as decision_services
from tracker.decisions.forms import (
    DecisionFields,
    DecisionForm,
    PlanFields,
    PlanForm,
    ProcedureFields,
    ProcedureForm,
)
from tracker.decisions.models import PREREQUISITES, Decision, Procedure, ProcedurePlan
from tracker.extensions import db
from tracker.followups import services as followup_services
from tracker.followups.forms import AssessmentForm
from tracker.followups.models import Assessment
from tracker.outcomes import exports
from tracker.web.permissions import Role

README = Path(__file__).resolve().parents[1] / "README.md"


def _no_id(name: str) -> str:
    return name.removesuffix("_id")


@dataclass(frozen=True)
class Record:
    """One kind of record people fill in, and where its fields must go."""

    fields: type
    model: type
    #: The export that carries it, and each field's column there.
    export: str
    column: Callable[[str], str] = lambda name: name
    #: Fields left out of the export so far (never a new field), and the
    #: column they would have.
    not_exported: dict[str, str] = field(default_factory=dict)


RECORDS = {
    "assessment": Record(AssessmentForm, Assessment, "assessments"),
    "referral": Record(ReferralFields, Referral, "cases", _no_id),
    "decision": Record(DecisionFields, Decision, "decisions"),
    "plan": Record(
        PlanFields,
        ProcedurePlan,
        "decisions",
        lambda name: f"plan_{_no_id(name)}",
        # Not in decisions.csv so far; adding them is a change to the export.
        not_exported={"target_on": "plan_target_on", "notes": "plan_notes"},
    ),
    "procedure": Record(ProcedureFields, Procedure, "procedures", _no_id),
}


@pytest.mark.parametrize("kind", RECORDS)
def test_each_field_is_a_column_of_its_record(kind):
    record = RECORDS[kind]
    columns = inspect(record.model).column_attrs.keys()
    fields = data_fields(record.fields)
    assert fields
    assert [name for name in fields if name not in columns] == [], record.model.__name__


@pytest.mark.parametrize("kind", RECORDS)
def test_the_audit_trail_records_each_field_in_the_forms_words(app, kind):
    record = RECORDS[kind]
    entity = record.model.__name__
    assert issubclass(record.model, Audited)
    labels = labels_of(record.fields)
    # Registered, not the words made up from the name when none is.
    registered = field_labels().get(entity, {})
    for name in data_fields(record.fields):
        assert name not in record.model.__audit_exclude__, (entity, name)
        assert name in registered, (entity, name)
        assert field_label(entity, name) == str(labels[name]), (entity, name)


@pytest.mark.parametrize("kind", RECORDS)
def test_each_field_has_its_export_column(kind):
    record = RECORDS[kind]
    header = exports.header(exports.KINDS[record.export], exports.IDENTIFIED)
    missing = [
        record.column(name)
        for name in data_fields(record.fields)
        if name not in record.not_exported and record.column(name) not in header
    ]
    assert missing == [], record.export
    # A field listed as not exported really is not (or it should leave the list).
    assert [column for column in record.not_exported.values() if column in header] == []


def _documented(kind: str) -> str:
    """The README's bullet listing one export's columns."""
    text = README.read_text()
    start = text.index(f"- `{kind}.csv`:")
    end = text.find("\n- ", start + 1)
    end = min(end if end != -1 else len(text), text.find("\n\n", start))
    return " ".join(text[start:end].split())


@pytest.mark.parametrize("kind", list(exports.KINDS))
def test_the_readme_lists_each_column_under_its_file_and_marks_what_research_leaves_out(kind):
    listed = _documented(kind)
    for column in exports.KINDS[kind].columns:
        if column.kind == exports.KEY:
            spelled = f"`{column.name}` (`{column.pseudonym}`)"
        else:
            spelled = f"`{column.name}`" + ("*" if column.identifying else "")
        assert re.search(re.escape(spelled) + r"(?![\w*])", listed), (kind, spelled)


# --- through the pages: what is typed reaches the record --------------------------------


@dataclass
class Page:
    """A page whose form saves records, and how to find them afterwards."""

    url: str
    form: type
    #: (class of the record's fields, a function returning the saved record)
    records: list[tuple[type, Callable[[], Any]]]
    #: Values a field must take for the others to be saved at all.
    given: dict[str, str] = field(default_factory=dict)


def _assessment_page(clock: Any) -> tuple[User, Page]:
    procedure = make_procedure()

    def saved() -> Assessment:
        return db.session.scalars(select(Assessment).order_by(Assessment.id.desc())).first()

    url = f"/cases/{procedure.referral_id}/assessments/new"
    return make_user(roles={Role.CLINICIAN}), Page(url, AssessmentForm, [(AssessmentForm, saved)])


def _referral_page(clock: Any) -> tuple[User, Page]:
    referral = make_referral()
    page = Page(
        f"/cases/{referral.id}/edit",
        ReferralEditForm,
        [(ReferralFields, lambda: db.session.get(Referral, referral.id))],
    )
    # A radiologist may edit any referral, and is one more referring doctor to choose.
    return radiologist(), page


def _meeting_mode_page(clock: Any) -> tuple[User, Page]:
    meeting = running_meeting()
    item = meeting.agenda[0]

    def decision() -> Decision:
        return decision_services.decision_for(item)

    page = Page(
        f"/meetings/{meeting.id}/mode?item={item.id}",
        DecisionForm,
        [(DecisionFields, decision), (PlanFields, lambda: decision().plan)],
        given={"outcome": "PROCEDURE_PROPOSED", "action": "save"},
    )
    return db.session.get(User, meeting.chair_id), page


def _plan_page(clock: Any) -> tuple[User, Page]:
    plan = make_decision().plan
    page = Page(
        f"/plans/{plan.id}/edit",
        PlanForm,
        [(PlanFields, lambda: db.session.get(ProcedurePlan, plan.id))],
    )
    return make_user(roles={Role.COORDINATOR}), page


def _procedure_page(clock: Any) -> tuple[User, Page]:
    # Decided three days ago, so that the procedure may be dated before today.
    now = clock.moment
    clock.set(now - timedelta(days=3))
    item = running_meeting(starts_at=clock.moment + timedelta(hours=1)).agenda[0]
    decision = make_decision(item)
    clock.set(now)

    def saved() -> Procedure:
        return db.session.scalars(select(Procedure).order_by(Procedure.id.desc())).first()

    # The prerequisites unticked on the plan, said done before the procedure.
    done_on = (local_today() - timedelta(days=2)).isoformat()
    page = Page(
        f"/plans/{decision.plan.id}/procedure",
        ProcedureForm,
        [(ProcedureFields, saved)],
        given={name: done_on for name, _label in PREREQUISITES},
    )
    return radiologist(), page


PAGES = {
    "assessment": _assessment_page,
    "referral": _referral_page,
    "decision and plan": _meeting_mode_page,
    "plan": _plan_page,
    "procedure": _procedure_page,
}


def _limits(form: type, name: str) -> tuple[Any, Any]:
    validators = getattr(form, name).kwargs.get("validators") or ()
    for validator in validators:
        if isinstance(validator, NumberRange):
            return validator.min, validator.max
    return 1, 9


def _max_length(form: type, name: str) -> int:
    validators = getattr(form, name).kwargs.get("validators") or ()
    return min([v.max for v in validators if isinstance(v, Length) and v.max > 0] or [200])


def _other_than(shown: Any, candidates: list[Any]) -> Any:
    for candidate in candidates:
        if candidate not in (None, "") and candidate != shown:
            return candidate
    raise AssertionError(f"nothing to choose but {shown!r} among {candidates!r}")


def _typed(form: type, entry: FormField, checked: set[str]) -> Any:
    """A value a person could type that differs from what the page shows (so
    that a value not saved cannot pass for a saved one)."""
    name, shown = entry.name, entry.value
    kind = getattr(form, name).field_class
    if issubclass(kind, SelectMultipleField):
        return [_other_than(None, [c for c in entry.choices if c not in checked])]
    if issubclass(kind, BooleanField):
        return None if checked else entry.choices[0]
    if entry.kind in ("select", "radio"):
        return _other_than(shown, list(reversed(entry.choices)))
    if issubclass(kind, DateField):
        today = local_today()
        return _other_than(shown, [today.isoformat(), (today - timedelta(days=1)).isoformat()])
    if issubclass(kind, IntegerField | FloatField | DecimalField):
        low, high = _limits(form, name)
        return _other_than(shown, [str((low + high) // 2), str(low + 1), str(low)])
    text = f"Typed {name}"[: _max_length(form, name)]
    return _other_than(shown, [text, text[::-1]])


@pytest.mark.parametrize("name", PAGES)
def test_every_field_of_the_form_is_on_its_page_and_saved_by_its_service(
    app, client, auth, clock, name
):
    user, page = PAGES[name](clock)
    auth.login_as(user)
    html = soup(client.get(page.url))
    declared = [each for fields, _ in page.records for each in data_fields(fields)]
    anchor = html.find(attrs={"name": declared[0]})
    assert anchor is not None, f"{declared[0]} is not on {page.url}"
    form = anchor.find_parent("form")
    on_page = page_fields(form)
    missing = [each for each in declared if each not in on_page]
    assert missing == [], f"not on the page {page.url}"

    sent = MultiDict()
    for field_name, entry in on_page.items():
        checked = checked_values(form, field_name)
        if field_name in page.given:
            value = page.given[field_name]
        elif field_name in declared:
            value = _typed(page.form, entry, checked)
        elif entry.kind == "checkbox":
            value = sorted(checked)
        else:
            value = entry.value
        for one in value if isinstance(value, list) else [value]:
            if one is not None:
                sent.add(field_name, one)
    for field_name, value in page.given.items():
        if field_name not in on_page:
            sent.add(field_name, value)

    last_entry = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    response = client.post(page.url, data=sent)
    assert response.status_code == 302, soup(response).select(".invalid-feedback, .alert")

    with app.test_request_context():
        typed = page.form(formdata=sent, meta={"csrf": False})
    db.session.expire_all()
    for fields, saved in page.records:
        record = saved()
        expected = typed.values(fields)
        audited = set()
        for entry in db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.id > (last_entry or 0),
                AuditEntry.entity_type == type(record).__name__,
                AuditEntry.entity_id == str(record.id),
            )
        ):
            audited |= set(entry.changes)
        for field_name in data_fields(fields):
            assert expected[field_name] not in (None, [], ""), field_name
            assert getattr(record, field_name) == expected[field_name], field_name
            assert field_name in audited, field_name


# --- from code: a name that is not a field is refused, not dropped -------------------------


def test_a_service_refuses_a_name_its_form_does_not_declare(app):
    procedure = make_procedure()
    referral = db.session.get(Referral, procedure.referral_id)
    clinician = make_user(roles={Role.CLINICIAN})
    for wrong in ({"nrs_averge": 3}, {"recorded_by_id": clinician.id}):
        with pytest.raises(UnknownField):
            followup_services.log_assessment(
                referral, {**assessment_values(), **wrong}, by=clinician
            )
    db.session.rollback()
    assert db.session.scalar(select(Assessment.id)) is None


def test_a_declared_field_without_a_column_is_refused():
    class WithExtra(AssessmentForm):
        not_a_column = IntegerField("Not a column")

    with pytest.raises(UnknownField, match="not a column of Assessment"):
        assign(Assessment(), {"not_a_column": 7}, WithExtra)


def test_a_repeated_select_writes_what_wtforms_writes(app):
    """The agenda's presenter select reuses the options it wrote: the same HTML as
    WTForms' own select, whichever option is chosen, with labels to escape."""
    from flask_babel import lazy_gettext
    from wtforms import Form, SelectChoice, SelectField

    from tracker.web.forms import RepeatedSelect

    choices = [
        SelectChoice("", lazy_gettext("to be decided")),
        SelectChoice("1", "Dr <Martin> & Co"),
        SelectChoice("2", "Dr O'Neil"),
        SelectChoice("3", "Dr \u00c9lo\u00efse", render_kw={"disabled": True}),
    ]

    class Line(Form):
        plain = SelectField(choices=choices)
        repeated = SelectField(choices=choices, widget=RepeatedSelect())

    with app.test_request_context():
        for chosen in ("", "1", "2", "3", "9"):
            for _ in range(2):  # written, then reused
                line = Line(data={"plain": chosen, "repeated": chosen})
                assert line.repeated().replace("repeated", "plain") == line.plain()
