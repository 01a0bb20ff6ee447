"""The form registering an API client."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FileField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from tracker.cases.forms import hospital_number
from tracker.fhir.services import SCOPES
from tracker.web.forms import Form, OnceForm


class ApiClientForm(OnceForm):
    name = StringField(
        _l("Name of the system"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("For example: hospital record, research data warehouse."),
    )
    scopes = SelectMultipleField(
        _l("What it may read"),
        choices=[SelectChoice(scope, scope) for scope in SCOPES],
        validators=[DataRequired()],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        description=_l(
            "SMART scopes: system/Observation.read reads pain scores only; "
            "system/*.read reads everything the API serves."
        ),
    )
    expires_on = DateField(
        _l("The token works until"),
        validators=[InputRequired()],
        description=_l("At most two years: a new token is made then."),
    )


class RecordImportForm(Form):
    """The hospital record a new referral starts from: FHIR JSON pasted or
    uploaded, or a hospital number to look up on the hospital's FHIR server.
    Posted with the referral form (prefix ``record-``), which it prefills."""

    text = TextAreaField(
        _l("FHIR JSON"),
        # Its size is checked in bytes when it is read (``MAX_RECORD_BYTES``).
        description=_l(
            "A Patient, or a Bundle with the Patient and its Condition, "
            "MedicationStatement and AllergyIntolerance resources (up to 1 MB)."
        ),
        render_kw={"rows": 3, "spellcheck": "false", "autocomplete": "off"},
    )
    upload = FileField(_l("Or a file"), render_kw={"accept": ".json,application/json"})
    number = StringField(
        _l("Hospital number"),
        validators=[Optional(), Length(max=20), hospital_number],
        render_kw={"autocomplete": "off"},
    )
