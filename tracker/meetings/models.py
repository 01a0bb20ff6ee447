"""Meetings (RCP sessions), their agendas and attendance."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.cases.models import Referral
from tracker.core.audit import Anchored, Audited
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.locking import Versioned
from tracker.core.specialties import Specialty
from tracker.core.time import utcnow
from tracker.extensions import Model


class MeetingStatus(LabelledEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    HELD = "held"
    CANCELLED = "cancelled"


with_labels(
    MeetingStatus,
    {
        MeetingStatus.PLANNED: _l("Planned"),
        MeetingStatus.IN_PROGRESS: _l("In progress"),
        MeetingStatus.HELD: _l("Held"),
        MeetingStatus.CANCELLED: _l("Cancelled"),
    },
)

#: Meetings whose agenda can still change.
OPEN = frozenset({MeetingStatus.PLANNED, MeetingStatus.IN_PROGRESS})


class MeetingSeries(Audited, Model):
    """Meetings created together by a recurrence ("every Tuesday at 17:00")."""

    __audit_label__ = _l("Meeting series")

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What kind of meeting ("RCP douleur", "RCP rachis"): tells series apart.
    title: Mapped[str | None] = mapped_column(String(120))
    #: The series' standing video room, copied to each meeting.
    video_link: Mapped[str | None] = mapped_column(String(500))
    #: Weeks between two meetings (1 weekly, 2 every other week...).
    interval_weeks: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="series", order_by="Meeting.starts_at"
    )


def new_uid() -> str:
    return f"{uuid.uuid4().hex}@rcp-tracker"


class Meeting(Anchored, Versioned, Model):
    """One RCP session."""

    __audit_label__ = _l("Meeting")

    __tablename__ = "meetings"
    __table_args__ = (Index(None, "status", "starts_at"),)
    # Where the room is, not clinical data: following the chair from case to
    # case would fill the trail with noise.
    __audit_exclude__ = frozenset({"current_item_id"})

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id"), index=True)
    #: What kind of meeting ("RCP douleur", "RCP rachis").
    title: Mapped[str | None] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int]
    place: Mapped[str | None] = mapped_column(String(200))
    video_link: Mapped[str | None] = mapped_column(String(500))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Most cases the agenda may hold.
    capacity: Mapped[int]
    status: Mapped[MeetingStatus] = mapped_column(default=MeetingStatus.PLANNED)
    notes: Mapped[str | None] = mapped_column(Text)
    #: Why the meeting was entered after it started (held on paper, system down...).
    retrospective_reason: Mapped[str | None] = mapped_column(Text)
    #: Why the meeting was started before the day it is scheduled for.
    early_start_reason: Mapped[str | None] = mapped_column(Text)
    #: Calendar identity: the UID never changes, SEQUENCE grows with each change
    #: so that calendar programs replace their copy.
    uid: Mapped[str] = mapped_column(String(80), unique=True, default=new_uid)
    sequence: Mapped[int] = mapped_column(default=0)
    attendance_validated_at: Mapped[datetime | None]
    attendance_validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The case the room is on while the meeting runs (the line last opened in
    #: meeting mode by someone recording decisions), for those following it.
    current_item_id: Mapped[int | None] = mapped_column(
        # Meetings and their lines refer to each other: this side is added last.
        ForeignKey("agenda_items.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    series: Mapped[MeetingSeries | None] = relationship(back_populates="meetings")
    chair: Mapped[User | None] = relationship(foreign_keys=[chair_id])
    coordinator: Mapped[User | None] = relationship(foreign_keys=[coordinator_id])
    attendance_validated_by: Mapped[User | None] = relationship(
        foreign_keys=[attendance_validated_by_id]
    )
    items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting",
        order_by="AgendaItem.position",
        foreign_keys="AgendaItem.meeting_id",
    )

    @property
    def agenda(self) -> list[AgendaItem]:
        return [item for item in self.items if item.state in ON_AGENDA]

    attendance: Mapped[list[Attendance]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> Any:
        """The meeting's title, or the generic name of an RCP."""
        return self.title or _l("RCP meeting")

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class ItemState(LabelledEnum):
    #: On the agenda, not discussed yet.
    PENDING = "pending"
    DISCUSSED = "discussed"
    #: The meeting ended (or was cancelled) before the case came up.
    NOT_DISCUSSED = "not_discussed"
    #: Taken off this agenda (back to the waiting list or to another meeting);
    #: kept so the case's history shows it.
    REMOVED = "removed"


with_labels(
    ItemState,
    {
        ItemState.PENDING: _l("To discuss"),
        ItemState.DISCUSSED: _l("Discussed"),
        ItemState.NOT_DISCUSSED: _l("Not discussed"),
        ItemState.REMOVED: _l("Removed"),
    },
)

#: Items that make up a meeting's agenda (the removed ones are history only).
ON_AGENDA = frozenset({ItemState.PENDING, ItemState.DISCUSSED, ItemState.NOT_DISCUSSED})


class AgendaItem(Audited, Model):
    """A case on a meeting's agenda."""

    __audit_label__ = _l("Agenda line")

    __tablename__ = "agenda_items"
    __table_args__ = (
        # A case sits on at most one open agenda: enforced by the database, so
        # two coordinators adding it at once cannot both succeed.
        Index(
            "uq_agenda_items_pending_referral",
            "referral_id",
            unique=True,
            sqlite_where=text("state = 'PENDING'"),
            postgresql_where=text("state = 'PENDING'"),
        ),
        Index(None, "meeting_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    position: Mapped[int]
    #: The radiologist who presents the case.
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    minutes: Mapped[int]
    state: Mapped[ItemState] = mapped_column(default=ItemState.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the case was discussed, carried over or removed.
    state_changed_at: Mapped[datetime | None]

    meeting: Mapped[Meeting] = relationship(back_populates="items", foreign_keys=[meeting_id])
    referral: Mapped[Referral] = relationship()
    presenter: Mapped[User | None] = relationship()

    def set_state(self, state: ItemState) -> None:
        self.state = state
        self.state_changed_at = utcnow()


class Attendance(Audited, Model):
    """Someone present at a meeting: a team member, or a guest without an account.

    The specialty is copied at the time, so the record of who made the quorum
    does not change when an account is later edited.
    """

    __audit_label__ = _l("Attendance")

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    guest_name: Mapped[str | None] = mapped_column(String(200))
    specialty: Mapped[Specialty]

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    user: Mapped[User | None] = relationship()

    @property
    def name(self) -> str:
        return self.user.full_name if self.user is not None else (self.guest_name or "")

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


class CalendarFeed(Audited, Model):
    """A user's secret calendar subscription address (only its hash is kept)."""

    __audit_label__ = _l("Calendar subscription")
    # Recorded as changed, never written out: a hash of a short secret is
    # worth guessing against.
    __audit_secret__ = frozenset({"token_hash"})

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
