"""Forms of the patient pages: the birth date, then the questionnaire (the
clinician's assessment fields a patient can answer, nothing else)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from tracker.core.fields import data_fields
from tracker.followups.forms import AssessmentForm
from tracker.followups.models import PGIC, AnalgesicUse, SideEffect
from tracker.web.forms import EnumCheckboxField, EnumRadioField, Form, plain_value


class MemorableDateField(Field):
    """A date the person knows by heart, typed as day, month and year in three
    boxes (``born_on-day``...): no calendar to scroll back sixty years on a
    phone, the pattern GOV.UK found easiest for dates of birth."""

    PARTS = ("day", "month", "year")

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.data = None
        self.parts = dict.fromkeys(self.PARTS, "")
        self.raw_data = None
        if formdata is None:
            return
        self.parts = {
            part: (formdata.get(f"{self.name}-{part}") or "").strip()[:10] for part in self.PARTS
        }
        if not any(self.parts.values()):
            return
        self.raw_data = [self.parts[part] for part in self.PARTS]
        day, month, year = self.raw_data
        if not all(part.isdigit() for part in self.raw_data):
            self.process_errors.append(_l("Enter the day, month and year as numbers."))
        elif len(year) != 4:
            self.process_errors.append(_l("Enter the year with four digits, for example 1961."))
        else:
            try:
                self.data = date(int(year), int(month), int(day))
            except ValueError:
                self.process_errors.append(_l("This date does not exist. Please check it."))


class BirthDateForm(Form):
    class Meta:
        csrf = False  # no session on these pages: the token and the birth date guard them

    born_on = MemorableDateField(
        _l("Your date of birth"),
        validators=[InputRequired(message=_l("Enter your date of birth."))],
    )


def _nrs(label: object, required: bool = False) -> IntegerField:
    chosen = InputRequired(message=_l("Choose a number.")) if required else Optional()
    return IntegerField(
        label,
        validators=[
            chosen,
            NumberRange(min=0, max=10, message=_l("Choose a number from 0 to 10.")),
        ],
    )


class QuestionnaireForm(Form):
    """Answers as an assessment takes them (``values(AssessmentForm)``)."""

    class Meta:
        csrf = False  # the signed ``proof`` below stands for the checked birth date

    proof = HiddenField()
    nrs_now = _nrs(_l("Your pain right now"))
    nrs_average = _nrs(_l("Your average pain over the last week"), required=True)
    nrs_worst = _nrs(_l("Your worst pain over the last week"))
    relief_pct = IntegerField(
        _l("How much relief has the treatment given you? (%)"),
        description=_l("From 0 (no relief) to 100 (no pain left)."),
        validators=[
            Optional(),
            NumberRange(min=0, max=100, message=_l("Enter a number from 0 to 100.")),
        ],
    )
    pgic = RadioField(
        _l("Since the treatment, your condition is"),
        choices=[SelectChoice(value, label) for value, label in PGIC.items()],
        coerce=int,
        validators=[Optional()],
    )
    side_effects = EnumCheckboxField(
        _l("Since the treatment, have you had"),
        enum=SideEffect,
        # In the patient's words, not the team's.
        choices=[
            SelectChoice(SideEffect.NUMBNESS.name, _l("A numb area")),
            SelectChoice(SideEffect.BRUISING.name, _l("A bruise")),
            SelectChoice(SideEffect.LOCAL_PAIN.name, _l("Pain where the treatment was done")),
            SelectChoice(SideEffect.OTHER.name, _l("Something else")),
        ],
    )
    analgesic_use = EnumRadioField(
        _l("Since the treatment, you take your pain medication"),
        enum=AnalgesicUse,
        validators=[Optional()],
        choices=[
            SelectChoice(AnalgesicUse.MORE.name, _l("More than before")),
            SelectChoice(AnalgesicUse.SAME.name, _l("As much as before")),
            SelectChoice(AnalgesicUse.LESS.name, _l("Less than before")),
            SelectChoice(AnalgesicUse.STOPPED.name, _l("Not any more")),
        ],
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
