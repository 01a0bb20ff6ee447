"""Indications and techniques of a pain interventional radiology unit.

Both lists are seeded by a migration from the unit's reference list and edited
by admins. An entry is never deleted: a retired entry stays on the cases that
use it but is no longer offered for new ones.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.audit import Audited
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.i18n import Bilingual
from tracker.core.locking import Versioned
from tracker.extensions import Model

#: SNOMED CT identifiers have 6 to 18 digits.
SNOMED_CODE_LENGTH = 18


class Indication(Audited, Versioned, Bilingual, Model):
    """Why a patient is referred (the clinical situation)."""

    __audit_label__ = _l("Indication")

    __tablename__ = "indications"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier used by the seed data and exports.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: Order in lists.
    position: Mapped[int] = mapped_column(default=0)
    is_retired: Mapped[bool] = mapped_column(default=False)
    #: The SNOMED CT concept id of the indication, entered by an admin where it is
    #: known; empty: exports carry the name alone, never a guessed code.
    snomed_code: Mapped[str | None] = mapped_column(String(SNOMED_CODE_LENGTH))


class ActsOn(LabelledEnum):
    NERVE = "nerve"
    MUSCLE = "muscle"
    JOINT_NERVE_EPIDURAL = "joint_nerve_epidural"
    BONE = "bone"
    TUMOUR = "tumour"
    VESSEL = "vessel"


with_labels(
    ActsOn,
    {
        ActsOn.NERVE: _l("Nerve"),
        ActsOn.MUSCLE: _l("Muscle"),
        ActsOn.JOINT_NERVE_EPIDURAL: _l("Joint, nerve or epidural space"),
        ActsOn.BONE: _l("Bone"),
        ActsOn.TUMOUR: _l("Tumour"),
        ActsOn.VESSEL: _l("Vessel"),
    },
)


class WearsOffBy(LabelledEnum):
    """Why the effect of a treatment ends: decides whether retreatment waits for
    nerve regrowth, a drug's wash-out, or is not expected at all."""

    NERVE_REGROWTH = "nerve_regrowth"
    DRUG_WEARS_OFF = "drug_wears_off"
    STRUCTURAL = "structural"
    TUMOUR_PROGRESSION = "tumour_progression"
    REVASCULARISATION = "revascularisation"


with_labels(
    WearsOffBy,
    {
        WearsOffBy.NERVE_REGROWTH: _l("Nerve regrowth"),
        WearsOffBy.DRUG_WEARS_OFF: _l("The drug or toxin wears off"),
        WearsOffBy.STRUCTURAL: _l("Structural: no regrowth expected"),
        WearsOffBy.TUMOUR_PROGRESSION: _l("Tumour progression"),
        WearsOffBy.REVASCULARISATION: _l("Revascularisation"),
    },
)


class Technique(Audited, Versioned, Bilingual, Model):
    """An image-guided procedure the unit performs."""

    __audit_label__ = _l("Technique")

    __tablename__ = "techniques"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    is_retired: Mapped[bool] = mapped_column(default=False)
    acts_on: Mapped[ActsOn]
    wears_off_by: Mapped[WearsOffBy]
    #: The SNOMED CT procedure concept id, where known (as for indications).
    snomed_code: Mapped[str | None] = mapped_column(String(SNOMED_CODE_LENGTH))

    # Follow-up and retreatment settings of this technique (see
    # ``tracker.followups.rules``): conventions with published defaults.
    #: Days after the procedure when follow-up is planned.
    followup_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [7, 30, 91, 183, 365])
    #: Each time point's window as ``[opens, closes]`` days from its due date;
    #: empty: the convention's windows (``tracker.followups.rules.default_window``).
    followup_windows: Mapped[list[list[int]] | None] = mapped_column(JSON)
    #: NRS reduction (%) that counts as a response, and as a partial response.
    responder_pct: Mapped[int] = mapped_column(default=50)
    partial_pct: Mapped[int] = mapped_column(default=30)
    #: Below this reduction (%) at the latest assessment, the pain has come back.
    recurrence_pct: Mapped[int] = mapped_column(default=30)
    #: No published minimum interval between two sessions: 6 weeks by default.
    min_retreat_days: Mapped[int] = mapped_column(default=42)
    #: After this many consecutive sessions without response, another therapy.
    max_failed_sessions: Mapped[int] = mapped_column(default=2)
    #: An adverse event of this CIRSE grade or worse needs a fresh discussion.
    blocking_cirse_grade: Mapped[int] = mapped_column(default=3)
    #: Readings count from this day after the procedure (day 0: the local
    #: anaesthetic's effect); earlier ones are charted only.
    counts_from_day: Mapped[int] = mapped_column(default=1, server_default="1")

    # How this technique is usually done: a new plan starts from these, and every
    # one stays editable on the plan. Empty: no default. Stored as the names of the
    # plan's choices (``tracker.decisions.models``: Guidance, Anaesthesia,
    # CareSetting, PREREQUISITES), which this lower layer does not import.
    default_guidance: Mapped[list[str] | None] = mapped_column(JSON)
    default_anaesthesia: Mapped[str | None] = mapped_column(String(20))
    default_care_setting: Mapped[str | None] = mapped_column(String(20))
    default_anaesthetist_needed: Mapped[bool | None]
    typical_prerequisites: Mapped[list[str] | None] = mapped_column(JSON)

    @property
    def retreatable(self) -> bool:
        """Structural treatments (cement, osteosynthesis) are not expected to
        wear off: a recurrence calls for a new discussion of its cause."""
        return self.wears_off_by is not WearsOffBy.STRUCTURAL

    @property
    def acts_on_nerve(self) -> bool:
        """Nerve treatments wear off as the nerve regrows: the distance from the
        lesion to the end organ gives the expected window of recurrence."""
        return self.wears_off_by is WearsOffBy.NERVE_REGROWTH
