"""Forms of the meeting pages."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.core.specialties import Specialty
from tracker.web.forms import (
    EnumSelectField,
    Form,
    OnceForm,
    RepeatedSelect,
    VersionedForm,
    optional_int,
    web_link,
)


class MeetingForm(Form):
    series_id = SelectField(
        _l("Series"),
        coerce=optional_int,
        description=_l("The new meeting starts from the last meeting of this series."),
    )
    title = StringField(
        _l("Title"),
        validators=[Length(max=120)],
        description=_l("The kind of meeting, e.g. RCP douleur, RCP rachis."),
    )
    day = DateField(_l("Date"), validators=[InputRequired()])
    starts = TimeField(_l("Starts at"), validators=[InputRequired()])
    ends = TimeField(_l("Ends at"), validators=[InputRequired()])
    place = StringField(_l("Place"), validators=[Length(max=200)])
    video_link = StringField(
        _l("Video link"),
        validators=[Optional(), Length(max=500), web_link],
        description=_l("For participants joining remotely."),
    )
    chair_id = SelectField(
        _l("Chair"),
        coerce=optional_int,
        description=_l(
            "A physician: checks the quorum, validates attendance, states the proposal."
        ),
    )
    coordinator_id = SelectField(_l("Coordinator"), coerce=optional_int)
    capacity = IntegerField(
        _l("Capacity (cases)"),
        validators=[InputRequired(), NumberRange(min=1, max=100)],
        default=12,
    )
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)], render_kw={"rows": 2})
    retrospective_reason = TextAreaField(
        _l("Why it is entered after the fact"),
        validators=[Length(max=2000)],
        description=_l(
            "Required when the meeting has already started, e.g. held on paper during "
            "a system outage."
        ),
        render_kw={"rows": 2},
    )

    def duration_minutes(self) -> int:
        start = datetime.combine(self.day.data, self.starts.data)
        end = datetime.combine(self.day.data, self.ends.data)
        return int((end - start).total_seconds() // 60)


INTERVALS = [
    SelectChoice("1", _l("Every week")),
    SelectChoice("2", _l("Every other week")),
    SelectChoice("4", _l("Every four weeks")),
]


class MeetingEditForm(MeetingForm, VersionedForm):
    """Changing one meeting (made from the version it shows)."""


class MeetingCreateForm(MeetingForm, OnceForm):
    """A new meeting (saved once, however often the form is sent)."""


class SeriesForm(MeetingForm, OnceForm):
    # A series is planned ahead and is its own series.
    series_id = None
    retrospective_reason = None
    interval_weeks = SelectField(_l("How often"), choices=INTERVALS, coerce=int, default=1)
    count = IntegerField(
        _l("Number of meetings"),
        validators=[Optional(), NumberRange(min=1, max=110)],
        description=_l("Or give an end date instead."),
    )
    until = DateField(_l("Last date"), validators=[Optional()])


class AddCaseForm(Form):
    referral_id = HiddenField(validators=[DataRequired()])


class AgendaLineForm(Form):
    """One case of the agenda form (part of ``AgendaForm``, which carries the CSRF token)."""

    class Meta(Form.Meta):
        csrf = False

    item_id = HiddenField()
    #: Where the line stands among the cases to discuss (moved by drag and drop).
    position = HiddenField()
    presenter_id = SelectField(_l("Presenter"), coerce=optional_int, widget=RepeatedSelect())
    minutes = IntegerField(_l("Minutes"), validators=[InputRequired(), NumberRange(min=1, max=240)])


class AgendaForm(Form):
    """The whole agenda, saved at once: each case's presenter and minutes, and their order."""

    #: The agenda the form was made from (``services.agenda_stamp``).
    stamp = HiddenField()
    lines = FieldList(FormField(AgendaLineForm))


class MoveItemForm(Form):
    meeting_id = SelectField(_l("Move to the meeting of"), coerce=int)


class AttendanceForm(Form):
    present = SelectMultipleField(
        _l("Team members present"),
        coerce=int,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validate_choice=True,
    )


class GuestForm(OnceForm):
    guest_name = StringField(_l("Guest's name"), validators=[DataRequired(), Length(max=200)])
    specialty = EnumSelectField(_l("Specialty"), enum=Specialty)


class StartForm(Form):
    """Starting the meeting; before its day, with the reason why."""

    early_reason = TextAreaField(
        _l("Why does the meeting start before its day?"),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2},
    )
