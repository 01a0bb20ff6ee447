"""Medical specialties of team members and of guests at a meeting.

The quorum rule counts distinct specialties, so the list is closed (an enum)
rather than free text.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.enums import LabelledEnum, with_labels


class Specialty(LabelledEnum):
    INTERVENTIONAL_RADIOLOGY = "interventional_radiology"
    ANAESTHESIOLOGY = "anaesthesiology"
    PAIN_MEDICINE = "pain_medicine"
    SURGERY = "surgery"
    ONCOLOGY = "oncology"
    NEUROLOGY = "neurology"
    PSYCHIATRY = "psychiatry"
    RADIOTHERAPY = "radiotherapy"
    RHEUMATOLOGY = "rheumatology"
    GENERAL_PRACTICE = "general_practice"
    NURSING = "nursing"
    OTHER = "other"


with_labels(
    Specialty,
    {
        Specialty.INTERVENTIONAL_RADIOLOGY: _l("Interventional radiology"),
        Specialty.ANAESTHESIOLOGY: _l("Anaesthesiology"),
        Specialty.PAIN_MEDICINE: _l("Pain medicine"),
        Specialty.SURGERY: _l("Surgery"),
        Specialty.ONCOLOGY: _l("Oncology"),
        Specialty.NEUROLOGY: _l("Neurology"),
        Specialty.PSYCHIATRY: _l("Psychiatry"),
        Specialty.RADIOTHERAPY: _l("Radiotherapy"),
        Specialty.RHEUMATOLOGY: _l("Rheumatology"),
        Specialty.GENERAL_PRACTICE: _l("General practice"),
        Specialty.NURSING: _l("Nursing"),
        Specialty.OTHER: _l("Other"),
    },
)

#: Specialties practised by physicians: who may chair a meeting and who counts
#: for its quorum (HAS method sheet). Nurses, and "other" (psychologists,
#: physiotherapists, coordinators, secretaries), are welcome but are not physicians.
PHYSICIAN_SPECIALTIES = frozenset(Specialty) - {Specialty.NURSING, Specialty.OTHER}
