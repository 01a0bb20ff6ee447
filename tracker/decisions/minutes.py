"""What a meeting leaves once held: its one-page summary, and the e-mails that
say so.

When a meeting is marked held, each referrer of a case on its agenda is told,
in one message, how many of their cases were discussed, with a link to each
decision (no case number, no patient: the message leaves the hospital); the
coordinator of the meeting gets a link to its summary. Both are written to the
outbox under one key per (meeting, person): closing the meeting twice, or a
rerun of the scheduler, writes each message once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask_babel import format_datetime, ngettext, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf.fonts import FontFace
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.auth.notify import notify
from tracker.auth.rules import MailKind, may_email
from tracker.auth.services import active_users_with
from tracker.core.address import agreed
from tracker.decisions import queries
from tracker.decisions.models import Decision
from tracker.decisions.sheet import (
    Section,
    document,
    printed_on,
    section_title,
    write_letterhead,
    write_sections,
)
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.meetings.models import AgendaItem, ItemState, Meeting
from tracker.web.handlers import external_url
from tracker.web.letterhead import letterhead
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)

#: Dedup keys: one message per meeting and person, whatever reruns.
MINUTES_KEY = "meeting-minutes:"
SUMMARY_KEY = "meeting-summary:"

#: A plan longer than this is cut: the summary gives one line per case.
PLAN_LENGTH = 110
#: The heading row of the summary's table of cases.
_HEADINGS = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))


def one_line(text: str, length: int = PLAN_LENGTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def plan_line(decision: Decision) -> str:
    """What was decided for a case, in one line: the procedure planned, or the
    first words of the reasons."""
    plan = decision.plan
    if plan is not None and plan.technique is not None:
        parts = [plan.technique.name, plan.target or ""]
        line = ", ".join(part for part in parts if part)
        if plan.side:
            line = f"{line} ({plan.side.label})"
        return one_line(line)
    return one_line(decision.reasons or "")


@dataclass(frozen=True)
class CaseLine:
    """One case of the agenda in the summary."""

    case_number: str
    #: The decision's outcome, or what became of a case not decided.
    outcome: str
    plan: str


def carried_over_to(meeting: Meeting) -> dict[int, Meeting]:
    """For each case of ``meeting``'s agenda, the next meeting whose agenda it
    went on after this one (by referral)."""
    referral_ids = [item.referral_id for item in meeting.agenda]
    if not referral_ids:
        return {}
    rows = db.session.scalars(
        select(AgendaItem)
        .join(AgendaItem.meeting)
        .where(
            AgendaItem.referral_id.in_(referral_ids),
            AgendaItem.meeting_id != meeting.id,
            AgendaItem.state != ItemState.REMOVED,
            Meeting.starts_at > meeting.starts_at,
        )
        .options(joinedload(AgendaItem.meeting))
        .order_by(Meeting.starts_at.desc())
    )
    # Latest first: the earliest meeting after this one is written last.
    return {item.referral_id: item.meeting for item in rows}


def case_lines(meeting: Meeting, decisions: dict[int, Decision]) -> list[CaseLine]:
    later = carried_over_to(meeting)
    lines = []
    for item in meeting.agenda:
        decision = decisions.get(item.id)
        if decision is not None and decision.outcome is not None:
            outcome = decision.outcome.label
            if not decision.is_validated:
                outcome = _("%(outcome)s (draft)", outcome=outcome)
            lines.append(CaseLine(item.referral.case_number, str(outcome), plan_line(decision)))
            continue
        if item.state is ItemState.PENDING:
            # The meeting is still running: the case may yet come up.
            lines.append(CaseLine(item.referral.case_number, str(item.state.label), ""))
            continue
        went = later.get(item.referral_id)
        where = (
            _("Carried over to the meeting of %(date)s", date=_date(went.starts_at))
            if went is not None
            else _("Back to the waiting list")
        )
        state = item.state.label if item.state is not ItemState.DISCUSSED else _("No decision")
        lines.append(CaseLine(item.referral.case_number, str(state), where))
    return lines


def _date(value: Any) -> str:
    return format_datetime(value, "d MMM y")


def summary_sections(meeting: Meeting) -> list[Section]:
    quorum = meeting_services.meeting_quorum(meeting)
    about = Section(_("Meeting"))
    about.add(_("Date"), format_datetime(meeting.starts_at, "d MMM y, HH:mm"))
    about.add(_("Place"), meeting.place)
    chair, coordinator = meeting.chair, meeting.coordinator
    about.add(
        agreed(chair, _("Chair"), pgettext("feminine", "Chair")),
        chair.full_name if chair else None,
    )
    about.add(
        agreed(coordinator, _("Coordinator"), pgettext("feminine", "Coordinator")),
        coordinator.full_name if coordinator else None,
    )
    about.add(
        _("Quorum met"),
        ngettext(
            "%(answer)s: %(num)d specialty present, %(minimum)d needed",
            "%(answer)s: %(num)d specialties present, %(minimum)d needed",
            quorum.count,
            answer=_("yes") if quorum.is_met else _("no"),
            minimum=quorum.minimum,
        ),
    )
    if meeting.attendance_validated_at is not None:
        about.add(
            _("Attendance sheet validated"),
            format_datetime(meeting.attendance_validated_at, "d MMM y, HH:mm"),
        )
    present = Section(_("Attendance"))
    for row in sorted(meeting.attendance, key=lambda row: row.name):
        who = _("%(name)s (guest)", name=row.name) if row.is_guest else row.name
        present.add(who, row.specialty.label)
    return [about, present]


def summary_pdf(meeting: Meeting) -> bytes:
    """The meeting on one page: who was there, and for each case of its agenda
    what was decided or where it went."""
    lines = case_lines(meeting, queries.decisions_of_meeting(meeting))
    when = _date(meeting.starts_at)

    title = _("Summary of the RCP of %(date)s", date=when)
    with document(title, printed_on(_("RCP of %(date)s", date=when))) as pdf:
        write_letterhead(
            pdf,
            letterhead(),
            title,
            _("Multidisciplinary pain-case meeting, interventional radiology"),
        )
        write_sections(pdf, summary_sections(meeting))
        cases = ngettext("%(num)d case on the agenda", "%(num)d cases on the agenda", len(lines))
        section_title(pdf, cases, 10)
        if not lines:
            pdf.set_font("DejaVu", size=9)
            pdf.cell(0, 5, _("No case on the agenda."))
            return bytes(pdf.output())
        pdf.set_font("DejaVu", size=8.5)
        with pdf.table(
            col_widths=(30, 50, 100),
            line_height=4.6,
            padding=(0.6, 1),
            headings_style=_HEADINGS,
            first_row_as_headings=True,
            text_align="LEFT",
        ) as table:
            table.row([_("Case"), _("Decision"), _("Plan, or where the case went")])
            for line in lines:
                table.row([line.case_number, line.outcome, line.plan])
        return bytes(pdf.output())


# --- the e-mails once held ---------------------------------------------------------


def _coordinators(meeting: Meeting) -> list[User]:
    """Whom the summary goes to: the meeting's coordinator, or, when it has
    none, every coordinator."""
    if meeting.coordinator is not None:
        return [meeting.coordinator]
    return active_users_with(Role.COORDINATOR)


def send_minutes(meeting: Meeting) -> int:
    """Write the messages of a meeting just held; returns how many were new."""
    agenda = meeting.agenda
    decisions = queries.decisions_of_meeting(meeting)
    by_referrer: dict[User, list[AgendaItem]] = defaultdict(list)
    for item in agenda:
        referrer = item.referral.referrer
        if referrer is not None:
            by_referrer[referrer].append(item)
    queued = 0
    for referrer, items in by_referrer.items():
        if not may_email(referrer, MailKind.MEETING_MINUTES):
            continue
        decided = [decisions[item.id] for item in items if item.id in decisions]
        queued += notify(
            referrer,
            f"{MINUTES_KEY}{meeting.id}:{referrer.id}",
            "meeting_minutes",
            _l("RCP Tracker: what the meeting decided for your cases"),
            meeting=meeting,
            cases=len(items),
            links=[external_url("decisions.sheet", decision_id=d.id) for d in decided],
        )
    for coordinator in _coordinators(meeting):
        if not may_email(coordinator, MailKind.MEETING_MINUTES):
            continue
        queued += notify(
            coordinator,
            f"{SUMMARY_KEY}{meeting.id}:{coordinator.id}",
            "meeting_summary",
            _l("RCP Tracker: the summary of a meeting held"),
            meeting=meeting,
            cases=len(agenda),
            decided=sum(1 for d in decisions.values() if d.is_validated),
            link=external_url("decisions.meeting_summary", meeting_id=meeting.id),
            page=external_url("meetings.show", meeting_id=meeting.id),
        )
    if queued:
        logger.info("Meeting %s held: %d messages written", meeting.id, queued)
    return queued
