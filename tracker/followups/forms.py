"""Forms of follow-up: assessments, missed follow-ups, presenting a case again."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.cases.forms import pain_duration_field, plausible_case_date
from tracker.followups.models import PGIC, AnalgesicUse, AssessmentMode, SideEffect
from tracker.web.forms import (
    EnumCheckboxField,
    EnumRadioField,
    EnumSelectField,
    Form,
    OnceForm,
    enum_choices,
    optional_int,
)


def _score(label: Any, required: bool = False, description: Any = None) -> IntegerField:
    first = InputRequired() if required else Optional()
    return IntegerField(
        label,
        validators=[first, NumberRange(min=0, max=10)],
        description=description,
        render_kw={"inputmode": "numeric", "min": 0, "max": 10, "step": 1},
    )


PGIC_CHOICES = [SelectChoice("", "—")] + [
    SelectChoice(str(value), label) for value, label in PGIC.items()
]


class AssessmentForm(Form):
    """An assessment: its fields are the record's, in the order of the
    assessments export (the page lays them out in its own order)."""

    assessed_on = DateField(_l("Date"), validators=[InputRequired()])
    mode = EnumRadioField(
        _l("How"),
        enum=AssessmentMode,
        validators=[InputRequired()],
        # Answers given by the patient online come through their link only.
        choices=[
            choice
            for choice in enum_choices(AssessmentMode)
            if choice.value != AssessmentMode.SELF_REPORTED.name
        ],
    )
    nrs_now = _score(_l("Pain now (NRS 0-10)"))
    nrs_average = _score(
        _l("Average pain (NRS 0-10)"),
        required=True,
        description=_l("Compared with the referral's baseline to judge the response."),
    )
    nrs_worst = _score(_l("Worst pain (NRS 0-10)"))
    relief_pct = IntegerField(
        _l("Relief estimated by the patient (%)"),
        validators=[Optional(), NumberRange(min=0, max=100)],
        render_kw={"inputmode": "numeric"},
    )
    pgic = SelectField(
        _l("Patient Global Impression of Change"), coerce=optional_int, choices=PGIC_CHOICES
    )
    dn4 = _score(_l("DN4 score (0-10)"))
    side_effects = EnumCheckboxField(_l("Side effects"), enum=SideEffect)
    side_effects_other = StringField(_l("Other side effect"), validators=[Length(max=300)])
    analgesic_use = EnumSelectField(
        _l("Analgesic use since the procedure"), enum=AnalgesicUse, blank=True
    )
    pain_is_back = BooleanField(
        _l("The patient says the pain is back"),
        description=_l("Counts as a recurrence whatever the score."),
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)], render_kw={"rows": 2})


class AssessmentEntryForm(AssessmentForm, OnceForm):
    """The assessment page's form: a new assessment, recorded once however
    often the form is sent."""


class MissedForm(Form):
    reason = TextAreaField(
        _l("Why could the follow-up not be done?"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("For example: three calls unanswered, patient moved away."),
        render_kw={"rows": 2},
    )


class PresentAgainForm(Form):
    reason = TextAreaField(
        _l("Why is the case presented again?"),
        validators=[DataRequired(), Length(max=4000)],
        render_kw={"rows": 4},
    )
    question = TextAreaField(
        _l("Question put to the meeting"),
        validators=[DataRequired(), Length(max=4000)],
        render_kw={"rows": 2},
    )
    pain_duration_months = pain_duration_field(
        _l("As of today. Prefilled from this case's referral, plus the months since.")
    )
    patient_agreed_on = DateField(
        _l("Date the patient agreed to the case being presented"),
        validators=[Optional(), plausible_case_date],
        description=_l("Leave empty if the patient has not agreed yet: the case waits as a draft."),
    )


class WorklistFilterForm(Form):
    class Meta:
        csrf = False

    responsible_id = SelectField(_l("Owner"), coerce=optional_int)
    technique_id = SelectField(_l("Technique"), coerce=optional_int)


class OwnerForm(Form):
    """Who owns a case's follow-up (empty: the team queue)."""

    followup_owner_id = SelectField(_l("New owner"), coerce=optional_int)
