"""Forms of meeting mode, the decision sheet, plans and procedures."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.cases.models import PainSide
from tracker.decisions.models import (
    CIRSE_GRADES,
    PREREQUISITES,
    Anaesthesia,
    CareSetting,
    Guidance,
    NotCarriedOut,
    Outcome,
    PatientAnswer,
    PlanPriority,
)
from tracker.web.forms import (
    EnumCheckboxField,
    EnumRadioField,
    EnumSelectField,
    Form,
    OnceForm,
    VersionedForm,
    YesNoField,
    optional_int,
)

#: Labels of the decision's own fields, shared by the forms and the amendment history.
LABELS: dict[str, Any] = {
    "reasons": _l("Reasons"),
    "follows_guidelines": _l("Follows the reference guidelines"),
    "guideline_reference": _l("Which guidelines"),
    "clinical_trial_proposed": _l("A clinical trial is proposed"),
    "clinical_trial": _l("Which trial"),
}

#: Labels of the procedure's columns that no form field edits.
PROCEDURE_LABELS: dict[str, Any] = {
    "prerequisites_not_done": _l("Prerequisites not done, and why"),
}


class DecisionFields(Form):
    """What the meeting decides: the decision's own fields."""

    reasons = TextAreaField(_l("Reasons"), validators=[Length(max=8000)], render_kw={"rows": 4})
    follows_guidelines = YesNoField(_l("Follows the reference guidelines"))
    guideline_reference = StringField(
        _l("Which guidelines"),
        validators=[Length(max=500)],
        description=_l("For example: CIRSE standards of practice, HAS recommendation."),
    )
    clinical_trial_proposed = BooleanField(LABELS["clinical_trial_proposed"])
    clinical_trial = StringField(LABELS["clinical_trial"], validators=[Length(max=300)])
    outcome = EnumRadioField(_l("Decision"), enum=Outcome, validators=[Optional()])


class PlanFields(Form):
    """The plan of a proposed procedure."""

    technique_id = SelectField(_l("Technique"), coerce=optional_int)
    target = StringField(
        _l("Target"),
        validators=[Length(max=200)],
        description=_l("Nerve, neuroma, level, joint..."),
    )
    side = EnumSelectField(_l("Side"), enum=PainSide, blank=True)
    guidance = EnumCheckboxField(_l("Image guidance"), enum=Guidance)
    anaesthesia = EnumSelectField(_l("Anaesthesia"), enum=Anaesthesia, blank=True)
    care_setting = EnumSelectField(_l("Setting"), enum=CareSetting, blank=True)
    anaesthetist_needed = BooleanField(_l("An anaesthetist is needed"))
    priority = EnumSelectField(_l("Priority"), enum=PlanPriority, default=PlanPriority.ROUTINE)
    target_on = DateField(_l("Target date"), validators=[Optional()])
    distance_mm = IntegerField(
        _l("Distance from the lesion to the end organ (mm)"),
        validators=[Optional(), NumberRange(min=0, max=2000)],
        description=_l("Nerve treatments: used to estimate when the nerve will have regrown."),
    )
    notes = TextAreaField(_l("Plan notes"), validators=[Length(max=4000)], render_kw={"rows": 2})

    def plan_values(self) -> dict[str, Any]:
        return self.values(PlanFields)


class DecisionForm(DecisionFields, PlanFields):
    """Meeting mode: the decision and, when a procedure is proposed, its plan."""

    def decision_values(self) -> dict[str, Any]:
        return self.values(DecisionFields)


class AmendForm(DecisionFields, OnceForm):
    #: Decided at the meeting: only a new discussion changes it.
    outcome = None  # type: ignore[assignment]
    amendment_reason = TextAreaField(
        _l("Why is the decision corrected?"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 2},
    )


class PlanForm(PlanFields, VersionedForm):
    pass


class PatientAnswerForm(Form):
    informed_on = DateField(_l("Date the patient was informed"), validators=[InputRequired()])
    informed_by_id = SelectField(_l("Informed by"), coerce=optional_int)
    patient_answer = EnumRadioField(
        _l("The patient's answer"), enum=PatientAnswer, validators=[InputRequired()]
    )
    #: Asked while the plan's consent box is empty (the view removes it otherwise).
    consent_signed = YesNoField(
        _l("If the patient accepts: did they sign the informed consent for the procedure?"),
        description=_l(
            "Yes ticks the consent on the plan, dated the day they were informed; no leaves it "
            "to collect before the procedure."
        ),
    )


class NotCarriedOutForm(Form):
    """The team records that a proposed procedure will not be carried out."""

    reason = EnumSelectField(_l("Why it was not carried out"), enum=NotCarriedOut, blank=True)
    note = TextAreaField(
        _l("Details"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2}
    )
    on = DateField(_l("Date"), validators=[Optional()])


class PrerequisiteForm(Form):
    done_on = DateField(_l("Done on"), validators=[Optional()])


GRADE_CHOICES = [SelectChoice("", "—")] + [
    SelectChoice(str(grade), label) for grade, label in CIRSE_GRADES.items()
]


class AdverseEventForm(OnceForm):
    cirse_grade = SelectField(
        _l("CIRSE grade"), coerce=optional_int, choices=GRADE_CHOICES, validators=[InputRequired()]
    )
    description = TextAreaField(
        _l("What happened"), validators=[DataRequired(), Length(max=4000)], render_kw={"rows": 2}
    )


def _count(label: Any, maximum: int, description: Any = None) -> IntegerField:
    return IntegerField(
        label, validators=[Optional(), NumberRange(min=0, max=maximum)], description=description
    )


class ProcedureFields(Form):
    """The procedure performed, as recorded on its own row."""

    performed_on = DateField(_l("Date of the procedure"), validators=[InputRequired()])
    technique_id = SelectField(_l("Technique used"), coerce=optional_int)
    deviation_reason = TextAreaField(
        _l("Why the technique differs from the plan"),
        validators=[Length(max=2000)],
        description=_l("Needed only when the technique used is not the planned one."),
        render_kw={"rows": 2},
    )
    target = StringField(_l("Target treated"), validators=[Length(max=200)])
    distance_mm = _count(_l("Distance from the lesion to the end organ (mm)"), 2000)
    cryo_cycles = _count(_l("Cryoneurolysis: freeze-thaw cycles"), 20)
    cryo_freeze_minutes = FloatField(
        _l("Cryoneurolysis: freeze time per cycle (minutes)"),
        validators=[Optional(), NumberRange(min=0, max=60)],
    )
    cryo_probe_temperature_c = IntegerField(
        _l("Cryoneurolysis: probe temperature (°C)"),
        validators=[Optional(), NumberRange(min=-200, max=0)],
    )
    rf_temperature_c = IntegerField(
        _l("Radiofrequency: temperature (°C)"),
        validators=[Optional(), NumberRange(min=20, max=120)],
    )
    rf_duration_seconds = _count(_l("Radiofrequency: duration (seconds)"), 7200)
    toxin_units = _count(_l("Botulinum toxin: units"), 2000)
    cement_volume_ml = FloatField(
        _l("Cement: volume (ml)"), validators=[Optional(), NumberRange(min=0, max=200)]
    )
    cement_levels = StringField(_l("Cement: levels"), validators=[Length(max=100)])
    immediate_result = TextAreaField(
        _l("Immediate result"), validators=[Length(max=4000)], render_kw={"rows": 2}
    )


def _why_not_name(name: str) -> str:
    return f"{name}_why_not"


class PrerequisiteFields(Form):
    """For each prerequisite of the plan (its column's name): the date it was
    done, or why it was not. Asked as the procedure is recorded, of the items
    still unticked on the plan."""

    def prerequisite_answers(self) -> dict[str, tuple[Any, str | None]]:
        return {
            name: (getattr(self, name).data, getattr(self, _why_not_name(name)).data)
            for name, _label in PREREQUISITES
        }

    def prerequisite_fields(self, names: list[str]) -> list[tuple[Any, Any, Any]]:
        """(label, date field, reason field) of the prerequisites ``names``."""
        labels = dict(PREREQUISITES)
        return [(labels[n], getattr(self, n), getattr(self, _why_not_name(n))) for n in names]


for _name, _label in PREREQUISITES:
    setattr(PrerequisiteFields, _name, DateField(_l("Done on"), validators=[Optional()]))
    setattr(
        PrerequisiteFields,
        _why_not_name(_name),
        TextAreaField(
            _l("Or why it was not done"), validators=[Length(max=1000)], render_kw={"rows": 1}
        ),
    )


class ProcedureForm(ProcedureFields, PrerequisiteFields, OnceForm):
    """The procedure, who performed it, the prerequisites still unticked on the
    plan, and an adverse event if one happened."""

    operator_ids = SelectMultipleField(
        _l("Operators"),
        coerce=int,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )
    followup_owner_id = SelectField(
        _l("Follow-up owner"),
        coerce=optional_int,
        description=_l(
            "The clinician who will phone the patient at each time point; nobody: the team queue."
        ),
    )
    ae_grade = SelectField(
        _l("Adverse event: CIRSE grade"), coerce=optional_int, choices=GRADE_CHOICES
    )
    ae_description = TextAreaField(
        _l("Adverse event: what happened"), validators=[Length(max=4000)], render_kw={"rows": 2}
    )

    def values(self, of: type | None = None) -> dict[str, Any]:
        return super().values(of or ProcedureFields)

    def adverse_event(self) -> dict[str, Any] | None:
        if self.ae_grade.data is None and not (self.ae_description.data or "").strip():
            return None
        return {"cirse_grade": self.ae_grade.data, "description": self.ae_description.data}
