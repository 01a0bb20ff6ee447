"""Meetings as iCalendar files, for download and for subscription.

Calendar files leave the hospital (phones, mail servers), so they carry the
meeting and case numbers and a link, never a patient's name or identifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask_babel import gettext as _
from icalendar import Calendar, Event

from tracker.core.time import site_timezone, utcnow
from tracker.meetings.models import Meeting, MeetingStatus

PRODID = "-//RCP Tracker//Meetings//EN"


def meeting_event(meeting: Meeting, link: str) -> Event:
    zone = site_timezone()
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", meeting.starts_at.astimezone(zone))
    event.add("dtend", meeting.ends_at.astimezone(zone))
    event.add("summary", meeting.title or _("RCP pain meeting"))
    if meeting.place:
        event.add("location", meeting.place)
    event.add("url", link)
    cases = [item.referral.case_number for item in meeting.agenda]
    lines = [_("Agenda: %(cases)s", cases=", ".join(cases))] if cases else []
    if meeting.video_link:
        lines.append(_("Video: %(link)s", link=meeting.video_link))
    lines.append(link)
    event.add("description", "\n".join(lines))
    cancelled = meeting.status is MeetingStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def calendar_for(meetings: Iterable[Meeting], link_for: Callable[[Meeting], str]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("RCP meetings"))
    for meeting in meetings:
        calendar.add_component(meeting_event(meeting, link_for(meeting)))
    calendar.add_missing_timezones()
    return calendar.to_ical()
