"""The decision sheet (fiche RCP): one content, shown as a page and as a PDF.

Both the printable page and the PDF are built from ``sheet_sections`` so that
they always say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from fpdf import FPDF

from tracker.core.specialties import Specialty
from tracker.core.time import local_today
from tracker.decisions.models import CIRSE_GRADES, Decision, Procedure


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        self.rows.append((label, str(value)))


def _date(value: Any) -> str | None:
    return format_date(value, "d MMM y") if value else None


def _yes_no(value: bool | None) -> str | None:
    if value is None:
        return None
    return _("yes") if value else _("no")


def _specialty(name: str) -> str:
    try:
        return Specialty[name].label
    except KeyError:
        return name


def sheet_sections(decision: Decision, procedures: list[Procedure] | None = None) -> list[Section]:
    referral = decision.referral
    patient = referral.patient
    meeting = decision.meeting

    identity = Section(_("Patient and case"))
    identity.add(_("Patient"), patient.display_name)
    identity.add(
        _("Birth date"), f"{_date(patient.birth_on)} ({_('%(age)d years', age=patient.age)})"
    )
    identity.add(_("Sex"), patient.sex.label)
    identity.add(_("Hospital number (MRN)"), patient.mrn)
    identity.add(_("Case"), referral.case_number)
    identity.add(
        _("Referring physician"), referral.referrer.full_name if referral.referrer else None
    )
    identity.add(_("Referral date"), _date(referral.referral_on))

    summary = Section(_("Referral summary"))
    summary.add(_("Indication"), referral.indication.name if referral.indication else None)
    site = referral.pain_site or ""
    if referral.pain_side:
        site = f"{site} ({referral.pain_side.label})"
    summary.add(_("Pain site"), site)
    summary.add(_("Pain mechanism"), referral.mechanism.label if referral.mechanism else None)
    summary.add(_("Duration of pain (months)"), referral.pain_duration_months)
    summary.add(
        _("Baseline pain (NRS now / average / worst)"),
        " / ".join(
            "?" if v is None else str(v)
            for v in (referral.nrs_now, referral.nrs_average, referral.nrs_worst)
        ),
    )
    summary.add(_("DN4 score (0-10)"), referral.dn4)
    tried = [item.label for item in referral.treatments]
    if referral.treatments_other:
        tried.append(referral.treatments_other)
    summary.add(_("Treatments already tried"), "; ".join(tried))
    if referral.anticoagulation:
        detail = referral.anticoagulation.label
        if referral.anticoagulation_details:
            detail = f"{detail}: {referral.anticoagulation_details}"
        summary.add(_("Anticoagulant or antiplatelet therapy"), detail)
    summary.add(_("Allergies"), referral.allergies)
    if referral.is_oncology:
        summary.add(_("Primary tumour"), referral.primary_tumour)
        summary.add(_("Bone metastases"), _yes_no(referral.has_bone_metastases))
    summary.add(_("Question put to the meeting"), referral.question)

    meeting_section = Section(_("Meeting"))
    meeting_section.add(_("Date"), format_datetime(meeting.starts_at, "d MMM y, HH:mm"))
    meeting_section.add(_("Place"), meeting.place)
    meeting_section.add(_("Chair"), meeting.chair.full_name if meeting.chair else None)
    people: list[dict[str, Any]] = (
        decision.participants
        if decision.is_validated
        else [
            {"name": row.name, "specialty": row.specialty.name, "guest": row.is_guest}
            for row in meeting.attendance
        ]
    )
    for person in people:
        label = _("Guest") if person.get("guest") else _("Participant")
        meeting_section.add(label, f"{person['name']}, {_specialty(person['specialty'])}")
    if decision.quorum_met is not None:
        meeting_section.add(_("Quorum met"), _yes_no(decision.quorum_met))

    decided = Section(_("Decision"))
    decided.add(_("Decision"), decision.outcome.label if decision.outcome else None)
    decided.add(_("Reasons"), decision.reasons)
    decided.add(_("Follows the reference guidelines"), _yes_no(decision.follows_guidelines))
    decided.add(_("Which guidelines"), decision.guideline_reference)
    if decision.clinical_trial_proposed:
        decided.add(_("A clinical trial is proposed"), decision.clinical_trial or _("yes"))
    sections = [identity, summary, meeting_section, decided]

    plan = decision.plan
    if plan is not None:
        planned = Section(_("Procedure plan"))
        planned.add(_("Technique"), plan.technique.name if plan.technique else None)
        planned.add(_("Target"), plan.target)
        planned.add(_("Side"), plan.side.label if plan.side else None)
        planned.add(_("Image guidance"), ", ".join(mode.label for mode in plan.guidance_modes))
        planned.add(_("Anaesthesia"), plan.anaesthesia.label if plan.anaesthesia else None)
        planned.add(_("Setting"), plan.care_setting.label if plan.care_setting else None)
        planned.add(_("An anaesthetist is needed"), _yes_no(plan.anaesthetist_needed))
        planned.add(_("Priority"), plan.priority.label)
        planned.add(_("Target date"), _date(plan.target_on))
        planned.add(_("Distance from the lesion to the end organ (mm)"), plan.distance_mm)
        for _name, label, done_on in plan.checklist:
            planned.add(str(label), _date(done_on) or _("to do"))
        sections.append(planned)

    validation = Section(_("Validation"))
    if decision.is_validated:
        validation.add(
            _("Validated by"),
            f"{decision.validated_by.full_name if decision.validated_by else '?'}, "
            f"{format_datetime(decision.validated_at, 'd MMM y, HH:mm')}",
        )
    else:
        validation.add(_("Status"), _("Draft, not validated"))
    for amendment in decision.amendments:
        who = amendment.amended_by.full_name if amendment.amended_by else "?"
        when = format_datetime(amendment.amended_at, "d MMM y, HH:mm")
        validation.add(_("Amendment"), f"{when}, {who}: {amendment.reason}")
    if decision.patient_answer:
        informed = decision.informed_by.full_name if decision.informed_by else ""
        validation.add(
            _("Patient informed"),
            f"{_date(decision.informed_on)} {informed}: {decision.patient_answer.label}".strip(),
        )
    sections.append(validation)

    for procedure in procedures or []:
        done = Section(_("Procedure of %(date)s", date=_date(procedure.performed_on)))
        done.add(_("Technique used"), procedure.technique.name)
        done.add(_("Deviation from the plan"), procedure.deviation_reason)
        done.add(_("Operators"), ", ".join(user.full_name for user in procedure.operators))
        done.add(_("Immediate result"), procedure.immediate_result)
        for event in procedure.adverse_events:
            done.add(str(CIRSE_GRADES[event.cirse_grade]), event.description)
        sections.append(done)
    return sections


@lru_cache(maxsize=1)
def _font_files() -> tuple[str, str]:
    # DejaVu ships with matplotlib: a Unicode font without vendoring one.
    folder = resources.files("matplotlib") / "mpl-data" / "fonts" / "ttf"
    return str(folder / "DejaVuSans.ttf"), str(folder / "DejaVuSans-Bold.ttf")


class _SheetPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 6, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def render_pdf(title: str, footer: str, write: Callable[[FPDF], None]) -> bytes:
    """An A4 document in the house style (DejaVu fonts, ``footer`` and the page
    number at the foot of each page) whose content ``write`` puts on it."""
    regular, bold = _font_files()
    pdf = _SheetPDF(format="A4")
    try:
        pdf.set_title(title)
        pdf.set_creator("RCP Tracker")
        pdf.add_font("DejaVu", "", regular)
        pdf.add_font("DejaVu", "B", bold)
        pdf.footer_text = footer
        pdf.set_auto_page_break(auto=True, margin=16)
        pdf.add_page()
        write(pdf)
        return bytes(pdf.output())
    finally:
        # fontTools keeps the font files open until closed.
        for font in pdf.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.close()


def printed_on(subject: str) -> str:
    """The footer of a printed document about ``subject``."""
    return _(
        "%(case)s · printed %(date)s", case=subject, date=format_date(local_today(), "d MMM y")
    )


def write_heading(pdf: FPDF, title: str) -> None:
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    pdf.multi_cell(
        0,
        6,
        _("Multidisciplinary pain-case meeting, interventional radiology"),
        new_x="LMARGIN",
        new_y="NEXT",
    )


def write_section_title(pdf: FPDF, title: str) -> None:
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(160, 160, 160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1)


def write_section(pdf: FPDF, section: Section, label_width: float = 58) -> None:
    if not section.rows:
        return
    write_section_title(pdf, section.title)
    # Label and value side by side; a label too long for its column goes on
    # its own line. Long values (reasons) wrap and flow across pages.
    for label, value in section.rows:
        pdf.set_font("DejaVu", "B", 9)
        if pdf.get_string_width(label) > label_width - 2:
            pdf.multi_cell(0, 5, label, new_x="LMARGIN", new_y="NEXT")
            pdf.set_x(pdf.l_margin + label_width)
        else:
            pdf.cell(label_width, 5, label)
        pdf.set_font("DejaVu", size=9)
        pdf.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.8)


def sheet_pdf(decision: Decision, procedures: list[Procedure] | None = None) -> bytes:
    def write(pdf: FPDF) -> None:
        write_heading(pdf, _("RCP decision sheet"))
        for section in sheet_sections(decision, procedures):
            write_section(pdf, section)

    case = decision.referral.case_number
    return render_pdf(_("RCP decision sheet %(case)s", case=case), printed_on(case), write)
