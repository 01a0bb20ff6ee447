"""A case's timeline: in the order things happened, one entry per event."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tests.factories import make_decision, running_meeting
from tracker.cases.timeline import TimelineEvent, in_story_order, start_of_day, timeline_for

PARIS = ZoneInfo("Europe/Paris")


def test_a_fact_known_to_the_day_follows_that_days_timed_events(app):
    with app.app_context():
        registered = TimelineEvent(
            datetime(2026, 6, 16, 10, 5, tzinfo=PARIS), "referral", "Registered"
        )
        informed = TimelineEvent(
            start_of_day(date(2026, 6, 16)), "answer", "Informed", date_only=True
        )
        evening = TimelineEvent(datetime(2026, 6, 16, 18, 0, tzinfo=PARIS), "status", "Planned")
        before = TimelineEvent(datetime(2026, 6, 15, 23, 30, tzinfo=PARIS), "meeting", "Discussed")
        newest_first = sorted(
            [before, registered, informed, evening], key=in_story_order, reverse=True
        )
    assert [event.title for event in newest_first] == [
        "Informed",
        "Planned",
        "Registered",
        "Discussed",
    ]


def test_a_status_told_by_the_meetings_events_is_not_listed_twice(app):
    meeting = running_meeting(1)
    decision = make_decision(meeting.agenda[0])
    with app.test_request_context():
        titles = [event.title for event in timeline_for(decision.referral)]
    on_agenda = [title for title in titles if title.startswith("On the agenda of the meeting of")]
    discussed = [title for title in titles if title.startswith("Discussed at the meeting of")]
    assert len(on_agenda) == 1
    assert len(discussed) == 1
    # The status changes they stand for are not repeated; the others stay.
    assert "On an agenda" not in titles
    assert "Discussed" not in titles
    assert "Procedure planned" in titles


def test_an_assessment_names_its_category_in_lower_case_after_the_colon(app):
    from flask_babel import force_locale

    from tests.factories import assess, make_procedure

    procedure = make_procedure()
    assess(procedure, assessed_on=date(2026, 11, 2), nrs_average=1)
    referral = procedure.referral
    with app.test_request_context(), force_locale("fr"):
        details = [event.detail for event in timeline_for(referral) if event.kind == "assessment"]
    assert details, "the assessment is on the timeline"
    assert "demande\xa0: importante (au moins 50\xa0% de douleur en moins)" in details[0]
