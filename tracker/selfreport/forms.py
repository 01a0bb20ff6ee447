"""Forms of the patient pages: the birth date, then the questionnaire (the
clinician's assessment fields a patient can answer, nothing else)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from tracker.core.fields import data_fields
from tracker.followups.forms import AssessmentForm
from tracker.followups.models import PGIC, AnalgesicUse, SideEffect
from tracker.web.forms import EnumCheckboxField, EnumRadioField, Form, plain_value


class BirthDateForm(Form):
    class Meta:
        csrf = False  # no session on these pages: the token and the birth date guard them

    born_on = DateField(_l("Your date of birth"), validators=[InputRequired()])


def _nrs(label: object, required: bool = False) -> IntegerField:
    return IntegerField(
        label,
        validators=[InputRequired() if required else Optional(), NumberRange(min=0, max=10)],
    )


class QuestionnaireForm(Form):
    """Answers as an assessment takes them (``values(AssessmentForm)``)."""

    class Meta:
        csrf = False  # the signed ``proof`` below stands for the checked birth date

    proof = HiddenField()
    nrs_now = _nrs(_l("Your pain right now (0 = no pain, 10 = worst imaginable)"))
    nrs_average = _nrs(_l("Your average pain over the last week"), required=True)
    nrs_worst = _nrs(_l("Your worst pain over the last week"))
    relief_pct = IntegerField(
        _l("How much relief has the treatment given you? (%)"),
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    pgic = RadioField(
        _l("Since the treatment, your condition is"),
        choices=[SelectChoice(value, label) for value, label in PGIC.items()],
        coerce=int,
        validators=[Optional()],
    )
    side_effects = EnumCheckboxField(_l("Since the treatment, have you had"), enum=SideEffect)
    analgesic_use = EnumRadioField(
        _l("Your pain medication since the treatment"), enum=AnalgesicUse, validators=[Optional()]
    )
    pain_is_back = BooleanField(_l("My pain has come back"))
    note = TextAreaField(
        _l("Anything you would like to tell your team"), validators=[Length(max=2000)]
    )

    def answers(self) -> dict[str, object]:
        """The answers, as the assessment service takes them: the assessment's
        fields this questionnaire asks."""
        asked = set(data_fields(QuestionnaireForm))
        return {
            name: plain_value(getattr(self, name))
            for name in data_fields(AssessmentForm)
            if name in asked
        }
