"""Forms of the catalogue administration pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from tracker.catalogue.models import SNOMED_CODE_LENGTH, ActsOn, WearsOffBy
from tracker.catalogue.services import is_snomed_concept_id
from tracker.decisions.models import PREREQUISITES, Anaesthesia, CareSetting, Guidance
from tracker.followups.rules import (
    DEFAULT_SCHEDULE,
    ScheduleError,
    ThresholdError,
    WindowError,
    check_thresholds,
    default_window,
    format_days,
    format_windows,
    parse_days,
    parse_windows,
)
from tracker.web.forms import (
    EnumCheckboxField,
    EnumSelectField,
    Form,
    OnceForm,
    VersionedForm,
    YesNoField,
)

#: The technique's follow-up and retreatment settings, as named on the model.
TECHNIQUE_SETTINGS = (
    "acts_on",
    "wears_off_by",
    "responder_pct",
    "partial_pct",
    "recurrence_pct",
    "min_retreat_days",
    "max_failed_sessions",
    "blocking_cirse_grade",
    "counts_from_day",
)


class IndicationForm(Form):
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(), Length(max=200)])
    snomed_code = StringField(
        _l("SNOMED CT code"),
        validators=[Optional(), Length(max=SNOMED_CODE_LENGTH)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        description=_l(
            "The concept identifier, for the FHIR export. Leave empty when unsure: "
            "the export then carries the name alone."
        ),
    )

    def validate_snomed_code(self, field: Any) -> None:
        if field.data and not is_snomed_concept_id(field.data):
            raise ValidationError(
                _l("This is not a SNOMED CT concept identifier (6 to 18 digits).")
            )

    def extra_values(self) -> dict[str, Any]:
        """Values beyond the names, as the catalogue services take them."""
        return {"snomed_code": self.snomed_code.data or None}


class DaysField(StringField):
    """A follow-up schedule edited as the days it is stored as ("7, 30, 91"): the
    text is only ever whole days, so what is shown is saved back unchanged."""

    data: list[int] | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        try:
            self.data = list(parse_days(valuelist[0] if valuelist else ""))
        except ScheduleError as error:
            raise ValueError(str(error.message)) from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_days(self.data or [])


def _percent(label: Any) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=1, max=100)])


class TechniqueForm(IndicationForm):
    acts_on = EnumSelectField(_l("Acts on"), enum=ActsOn)
    wears_off_by = EnumSelectField(
        _l("Effect wears off by"),
        enum=WearsOffBy,
        description=_l(
            "Decides how retreatment is judged: nerve treatments wait for regrowth, "
            "structural ones are not expected to wear off."
        ),
    )
    followup_days = DaysField(
        _l("Follow-up time points (days after the procedure)"),
        validators=[InputRequired()],
        default=lambda: list(DEFAULT_SCHEDULE),
        description=_l("Whole days, separated by commas: for example 7, 30, 91, 183, 365."),
    )
    followup_windows = StringField(
        _l("Windows of the time points (days before/after each due date)"),
        description=_l(
            "One per time point, in order, for example -2/+4, -7/+14: an assessment dated "
            "in a window fulfils that time point. Leave empty for the usual windows."
        ),
    )
    responder_pct = _percent(_l("Response: at least this NRS reduction (%)"))
    partial_pct = _percent(_l("Partial response: at least this NRS reduction (%)"))
    recurrence_pct = _percent(_l("Recurrence: reduction fallen under (%)"))
    min_retreat_days = IntegerField(
        _l("Minimum interval before a repeat (days)"),
        validators=[InputRequired(), NumberRange(min=0, max=730)],
        description=_l("No published minimum: 42 days (6 weeks) by default."),
    )
    max_failed_sessions = IntegerField(
        _l("Sessions without response before proposing another therapy"),
        validators=[InputRequired(), NumberRange(min=1, max=10)],
    )
    blocking_cirse_grade = IntegerField(
        _l("Adverse event grade (CIRSE) that stops a routine repeat"),
        validators=[InputRequired(), NumberRange(min=1, max=6)],
    )
    counts_from_day = IntegerField(
        _l("Readings count from day"),
        validators=[InputRequired(), NumberRange(min=0, max=30)],
        default=1,
        description=_l(
            "Earlier readings (the local anaesthetic's effect on the day) are charted "
            "but count neither as a response nor as a recurrence."
        ),
    )

    default_guidance = EnumCheckboxField(
        _l("Usual image guidance"),
        enum=Guidance,
        description=_l("A new plan starts from these defaults; each stays editable on the plan."),
    )
    default_anaesthesia = EnumSelectField(_l("Usual anaesthesia"), enum=Anaesthesia, blank=True)
    default_care_setting = EnumSelectField(_l("Usual setting"), enum=CareSetting, blank=True)
    default_anaesthetist_needed = YesNoField(_l("Usually needs an anaesthetist"))
    typical_prerequisites = SelectMultipleField(
        _l("Usual prerequisites"),
        choices=[SelectChoice(name, label) for name, label in PREREQUISITES],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
    )

    #: The windows read from ``followup_windows`` (None: the usual ones).
    windows: list[list[int]] | None = None

    def process(self, *args: Any, **kwargs: Any) -> None:
        super().process(*args, **kwargs)
        obj = kwargs.get("obj") if kwargs else None
        if obj is None and len(args) > 1:
            obj = args[1]
        if obj is not None and not self.followup_windows.raw_data:
            own = getattr(obj, "followup_windows", None)
            self.followup_windows.data = format_windows(own) if own else ""
        schedule = self.followup_days.data or list(DEFAULT_SCHEDULE)
        self.followup_windows.render_kw = {
            "placeholder": format_windows([default_window(days) for days in schedule])
        }

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        text = (self.followup_windows.data or "").strip()
        self.windows = None
        if text and self.followup_days.data and not self.followup_days.errors:
            try:
                self.windows = parse_windows(text, self.followup_days.data)
            except WindowError as error:
                self.followup_windows.errors = [*self.followup_windows.errors, error.message]
                valid = False
        thresholds = (self.responder_pct, self.partial_pct, self.recurrence_pct)
        # Checked beside other fields' errors, so that every mistake shows at once.
        if not any(field.errors for field in thresholds):
            try:
                check_thresholds(*(field.data for field in thresholds))
            except ThresholdError as error:
                getattr(self, error.field).errors.append(error.message)
                return False
        return valid

    def extra_values(self) -> dict[str, Any]:
        values = super().extra_values()
        values.update({name: getattr(self, name).data for name in TECHNIQUE_SETTINGS})
        values["followup_days"] = list(self.followup_days.data or [])
        values["followup_windows"] = self.windows
        # Stored as the members' names (empty: no default).
        values["default_guidance"] = [m.name for m in self.default_guidance.data or []] or None
        for name in ("default_anaesthesia", "default_care_setting"):
            member = getattr(self, name).data
            values[name] = member.name if member is not None else None
        values["default_anaesthetist_needed"] = self.default_anaesthetist_needed.data
        values["typical_prerequisites"] = list(self.typical_prerequisites.data or []) or None
        return values


class IndicationEditForm(IndicationForm, VersionedForm):
    """Renaming an indication (made from the version it shows)."""


class TechniqueEditForm(TechniqueForm, VersionedForm):
    """Changing a technique (made from the version it shows)."""


class IndicationCreateForm(IndicationForm, OnceForm):
    """A new indication: saved once, however often the form is sent."""


class TechniqueCreateForm(TechniqueForm, OnceForm):
    """A new technique: saved once, however often the form is sent."""
