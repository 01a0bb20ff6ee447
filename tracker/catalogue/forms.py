"""Forms of the catalogue administration pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from tracker.catalogue.models import ActsOn, WearsOffBy
from tracker.followups.rules import ScheduleError, format_schedule, parse_schedule
from tracker.web.forms import EnumSelectField, Form

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

    def extra_values(self) -> dict[str, Any]:
        """Values beyond the names, as the catalogue services take them."""
        return {}


def _schedule(form: Any, field: Any) -> None:
    try:
        parse_schedule(field.data or "")
    except ScheduleError as error:
        messages = {
            "unreadable": _l(
                "“%(token)s” is not understood: write 1w, 3m, 1y or days.", token=error.token
            ),
            "not_after": _l(
                "“%(token)s”: time points come after the procedure.", token=error.token
            ),
            "empty": _l("Give at least one time point."),
            "duplicate": _l("A time point appears twice."),
            "too_far": _l("Time points go up to three years."),
        }
        raise ValidationError(messages[error.code]) from None


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
    followup_schedule = StringField(
        _l("Follow-up time points"),
        validators=[DataRequired(), Length(max=200), _schedule],
        default="1w, 1m, 3m, 6m, 1y",
        description=_l(
            "After the procedure, in weeks (w), months (m), years (y) or days: "
            "for example 1w, 1m, 3m, 6m, 1y."
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        technique = kwargs.get("obj")
        if technique is not None and not self.is_submitted():
            self.followup_schedule.data = format_schedule(technique.followup_days or [])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.partial_pct.data > self.responder_pct.data:
            self.partial_pct.errors.append(
                _l("A partial response cannot need more than a full response.")
            )
            return False
        return valid

    def extra_values(self) -> dict[str, Any]:
        values = {name: getattr(self, name).data for name in TECHNIQUE_SETTINGS}
        values["followup_days"] = list(parse_schedule(self.followup_schedule.data))
        return values
