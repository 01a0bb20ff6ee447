"""What the meetings say in a case's header: the meeting it waits for, or where
to put it when it waits for none."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.cases.sections import CaseAction, CaseFact
from tracker.core.time import to_local, utcnow
from tracker.extensions import db
from tracker.meetings.models import OPEN, AgendaItem, ItemState, Meeting
from tracker.meetings.permissions import ORGANISERS
from tracker.web.permissions import has_role


def case_context(referral: Referral) -> dict[str, Any]:
    """The agenda the case is on, if any; for who builds agendas, the next
    meeting it could go to (one query each, only when they can matter)."""
    item = None
    if referral.status is CaseStatus.SCHEDULED:
        item = db.session.scalar(
            select(AgendaItem)
            .where(AgendaItem.referral_id == referral.id, AgendaItem.state == ItemState.PENDING)
            .options(joinedload(AgendaItem.meeting), joinedload(AgendaItem.presenter))
            .order_by(AgendaItem.id.desc())
            .limit(1)
        )
    next_meeting = None
    may_schedule = has_role(current_user, *ORGANISERS)
    if referral.status is CaseStatus.REFERRED and may_schedule:
        next_meeting = db.session.scalar(
            select(Meeting)
            .where(Meeting.status.in_(OPEN), Meeting.starts_at >= utcnow())
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(1)
        )
    return {"item": item, "next_meeting": next_meeting, "may_schedule": may_schedule}


def _when(meeting: Meeting) -> str:
    return format_datetime(to_local(meeting.starts_at), "EEEE d MMMM y, HH:mm")


def case_summary(referral: Referral, ctx: dict[str, Any]) -> list[CaseAction | CaseFact]:
    said: list[CaseAction | CaseFact] = []
    item: AgendaItem | None = ctx["item"]
    if item is not None:
        meeting = item.meeting
        link = url_for("meetings.show", meeting_id=meeting.id, _anchor="agenda")
        value = _when(meeting)
        if item.presenter is not None:
            value = _("%(when)s, presented by %(name)s", when=value, name=item.presenter.full_name)
        said.append(CaseFact(_("Meeting"), value, 25, link=link, tone="info"))
        if item.presenter_id == current_user.id or ctx["may_schedule"]:
            said.append(CaseAction(_("Open the meeting"), link, 25))
    elif referral.status is CaseStatus.REFERRED and ctx["may_schedule"]:
        meeting = ctx["next_meeting"]
        if meeting is not None:
            said.append(
                CaseAction(
                    _("Put on the agenda of %(when)s", when=_when(meeting)),
                    url_for("meetings.show", meeting_id=meeting.id, _anchor="add-cases"),
                    25,
                )
            )
        else:
            said.append(CaseAction(_("Plan a meeting"), url_for("meetings.create"), 25))
    return said
