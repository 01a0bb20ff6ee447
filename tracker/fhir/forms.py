"""The form registering an API client."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, InputRequired, Length

from tracker.fhir.services import SCOPES
from tracker.web.forms import OnceForm


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
