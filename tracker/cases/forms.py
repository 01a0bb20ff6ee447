"""The referral data sheet, the patient identity, and the case list filters.

Drafts may leave most fields empty; what a field holds is always checked
(ranges, whole numbers, dates, lengths).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from tracker.cases.contact import (
    MAX_EMAIL,
    MAX_TYPED_PHONE,
    ContactChannel,
    ContactLanguage,
    read_email,
    read_phone,
)
from tracker.cases.models import (
    Anticoagulation,
    Mechanism,
    PainSide,
    Sex,
    TreatmentTried,
    Urgency,
)
from tracker.cases.rules import (
    FIELD_LABELS,
    CaseStatus,
    birth_date_problem,
    case_date_problem,
    mrn_problem,
)
from tracker.core.errors import DomainError
from tracker.core.time import local_today
from tracker.web.forms import (
    EnumCheckboxField,
    EnumSelectField,
    Form,
    OnceForm,
    VersionedForm,
    optional_int,
)

L = FIELD_LABELS


def plausible_case_date(form: Any, field: Any) -> None:
    """Not in the future, not before 2000 (before the patient's birth is the
    service's check: it knows the patient)."""
    if field.data is not None:
        problem = case_date_problem(field.data, local_today())
        if problem:
            raise ValidationError(problem)


def plausible_birth_date(form: Any, field: Any) -> None:
    if field.data is not None:
        problem = birth_date_problem(field.data, local_today())
        if problem:
            raise ValidationError(problem)


def hospital_number(form: Any, field: Any) -> None:
    value = (field.data or "").strip()
    problem = mrn_problem(value, current_app.config["MRN_PATTERN"])
    if problem:
        raise ValidationError(problem)


def _score(label: Any, description: Any = None) -> IntegerField:
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(min=0, max=10)],
        description=description,
        render_kw={"inputmode": "numeric", "step": 1},
    )


def pain_duration_field(description: Any = None) -> IntegerField:
    """How long the pain has lasted, in whole months (also asked when a case is
    presented again)."""
    return IntegerField(
        L["pain_duration_months"],
        validators=[Optional(), NumberRange(min=0, max=1200)],
        description=description,
        render_kw={"inputmode": "numeric"},
    )


class PatientFields(Form):
    mrn = StringField(
        _l("Hospital number (MRN)"),
        validators=[DataRequired(), Length(max=20), hospital_number],
        render_kw={"autocomplete": "off"},
    )
    last_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=100)])
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    birth_on = DateField(_l("Birth date"), validators=[InputRequired(), plausible_birth_date])
    sex = EnumSelectField(_l("Sex"), validators=[DataRequired()], enum=Sex, blank=True)


def phone_number(form: Any, field: Any) -> None:
    try:
        read_phone(field.data or "")
    except DomainError as error:
        raise ValidationError(error.message) from None


def patient_email(form: Any, field: Any) -> None:
    try:
        read_email(field.data or "")
    except DomainError as error:
        raise ValidationError(error.message) from None


def _phone(label: Any) -> TelField:
    return TelField(
        label,
        validators=[Optional(), Length(max=MAX_TYPED_PHONE), phone_number],
        description=_l("Such as 06 12 34 56 78, or +44 20 7946 0958 for a number abroad."),
        render_kw={"autocomplete": "off"},
    )


class ContactFields(Form):
    """How to reach the patient for follow-up."""

    phone_1 = _phone(_l("Phone"))
    phone_2 = _phone(_l("Second phone"))
    email = EmailField(
        _l("Patient's e-mail"),
        validators=[Optional(), Length(max=MAX_EMAIL), patient_email],
        render_kw={"autocomplete": "off"},
    )
    preferred_language = EnumSelectField(_l("Preferred language"), enum=ContactLanguage, blank=True)
    preferred_channel = EnumSelectField(
        _l("Preferred way to be contacted"), enum=ContactChannel, blank=True
    )
    contact_consent = BooleanField(
        _l("The patient agrees to be contacted for follow-up"),
        description=_l("Recorded with today's date and your name."),
    )

    def contact(self) -> dict[str, Any]:
        """The contact details as the services take them."""
        return self.values(ContactFields)


#: The audit trail's words for what the consent box records.
CONSENT_LABELS = {
    "contact_consent_on": _l("Agreed to be contacted on"),
    "contact_consent_by_id": _l("Consent to be contacted recorded by"),
    "contact_opted_out_on": _l("Opted out of online questionnaires on"),
}


class PatientForm(PatientFields, ContactFields, VersionedForm):
    """Correcting a patient's identity and how to reach them."""


class ContactForm(ContactFields, VersionedForm):
    """Updating how to reach a patient (the whole team may)."""


class ReferralFields(Form):
    referrer_id = SelectField(L["referrer_id"], coerce=optional_int, validate_choice=True)
    external_referrer = StringField(L["external_referrer"], validators=[Length(max=200)])
    referral_on = DateField(L["referral_on"], validators=[Optional(), plausible_case_date])
    urgency = EnumSelectField(L["urgency"], enum=Urgency, default=Urgency.ROUTINE)

    indication_id = SelectField(L["indication_id"], coerce=optional_int)
    pain_site = StringField(
        L["pain_site"],
        validators=[Length(max=200)],
        description=_l("For example: left foot, third web space; right L4-L5 facets."),
    )
    pain_side = EnumSelectField(L["pain_side"], enum=PainSide, blank=True)
    mechanism = EnumSelectField(L["mechanism"], enum=Mechanism, blank=True)
    pain_duration_months = pain_duration_field()
    nrs_now = _score(L["nrs_now"])
    nrs_average = _score(L["nrs_average"])
    nrs_worst = _score(L["nrs_worst"])
    dn4 = _score(L["dn4"], _l("Optional. 4 or more suggests neuropathic pain."))

    treatments_tried = EnumCheckboxField(L["treatments_tried"], enum=TreatmentTried)
    treatments_other = TextAreaField(
        L["treatments_other"], validators=[Length(max=4000)], render_kw={"rows": 2}
    )
    anticoagulation = EnumSelectField(L["anticoagulation"], enum=Anticoagulation, blank=True)
    anticoagulation_details = StringField(
        L["anticoagulation_details"], validators=[Length(max=500)]
    )
    allergies = StringField(
        L["allergies"],
        validators=[Length(max=500)],
        description=_l("Write “none known” if there are none."),
    )
    imaging = TextAreaField(L["imaging"], validators=[Length(max=4000)], render_kw={"rows": 2})

    is_oncology = BooleanField(L["is_oncology"])
    primary_tumour = StringField(L["primary_tumour"], validators=[Length(max=200)])
    has_bone_metastases = BooleanField(L["has_bone_metastases"])

    question = TextAreaField(L["question"], validators=[Length(max=4000)], render_kw={"rows": 3})
    patient_agreed_on = DateField(
        L["patient_agreed_on"],
        validators=[Optional(), plausible_case_date],
        description=_l("Recorded by the referring doctor; empty until the patient agrees."),
    )

    def details(self) -> dict[str, Any]:
        """The sheet's values as the services take them."""
        return self.values(ReferralFields)


class ReferralCreateForm(PatientFields, ContactFields, ReferralFields, OnceForm):
    use_existing_patient = BooleanField(_l("Use the existing patient record"))
    save_anyway = BooleanField(_l("Save anyway: this is a new referral"))


class ReferralEditForm(ReferralFields, VersionedForm):
    pass


class WithdrawForm(Form):
    reason = TextAreaField(
        _l("Why is the case withdrawn?"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 3},
    )


SORTS = {
    "newest": _l("Newest referral first"),
    "oldest": _l("Oldest referral first"),
    "urgent": _l("Urgent first"),
    "case_number": _l("Case number"),
}


class CaseFilterForm(Form):
    """The case list's search box and filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Search"),
        validators=[Optional(), Length(max=100)],
        description=_l("Case number, hospital number or patient name"),
    )
    status = EnumSelectField(_l("Status"), enum=CaseStatus, blank=True)
    indication_id = SelectField(_l("Indication"), coerce=optional_int)
    urgency = EnumSelectField(_l("Urgency"), enum=Urgency, blank=True)
    referrer_id = SelectField(_l("Referring physician"), coerce=optional_int)
    referred_from = DateField(_l("Referred from"), validators=[Optional()])
    referred_to = DateField(_l("Referred until"), validators=[Optional()])
    sort = SelectField(
        _l("Sort"),
        choices=[SelectChoice(key, label) for key, label in SORTS.items()],
        default="newest",
        validators=[Optional()],
    )
