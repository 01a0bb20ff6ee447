"""Indications and techniques of a pain interventional radiology unit.

Both lists are seeded by a migration from the unit's reference list and edited
by admins. An entry is never deleted: a retired entry stays on the cases that
use it but is no longer offered for new ones.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.audit import Audited
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.i18n import Bilingual
from tracker.extensions import db


class Indication(Audited, Bilingual, db.Model):
    """Why a patient is referred (the clinical situation)."""

    __tablename__ = "indications"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier used by the seed data and exports.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: Order in lists.
    position: Mapped[int] = mapped_column(default=0)
    is_retired: Mapped[bool] = mapped_column(default=False)


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


class Technique(Audited, Bilingual, db.Model):
    """An image-guided procedure the unit performs."""

    __tablename__ = "techniques"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    is_retired: Mapped[bool] = mapped_column(default=False)
    acts_on: Mapped[ActsOn]
    wears_off_by: Mapped[WearsOffBy]

    @property
    def acts_on_nerve(self) -> bool:
        """Nerve treatments wear off as the nerve regrows: the distance from the
        lesion to the end organ gives the expected window of recurrence."""
        return self.wears_off_by is WearsOffBy.NERVE_REGROWTH
