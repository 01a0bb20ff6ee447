"""The decision sheet (fiche RCP): one content, shown as a page and as a PDF.

Both the printable page and the PDF are built from ``sheet_sections`` so that
they always say the same thing. What the sheet carries follows the HAS method
sheet (DOMAIN.md): the unit, the patient, the meeting and who took part with
their function, the question, the proposal and its reasons, the plan (without
its working checklist), the patient's answer, the amendments, and who validated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from io import BytesIO
from typing import Any, cast

from flask_babel import format_date, format_datetime, get_locale, ngettext, pgettext
from flask_babel import gettext as _
from fpdf import FPDF

from tracker.core.address import agreed, label_for
from tracker.core.specialties import Specialty
from tracker.core.time import local_today
from tracker.decisions.forms import LABELS
from tracker.decisions.models import CIRSE_GRADES, Decision, Procedure
from tracker.decisions.services import participants_now
from tracker.web.letterhead import Letterhead, letterhead
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    #: What the section is, for the page's styles and the tests ("patient", "meeting",
    #: "participants", "question", "decision", "plan", "answer", "amendments",
    #: "validation", "procedure").
    key: str = ""
    #: Short rows that may sit two to a line.
    paired: bool = False
    #: A table instead of rows (the participants): its column headings and lines.
    columns: tuple[str, ...] = ()
    table: list[tuple[str, ...]] = field(default_factory=list)

    def add(self, label: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        self.rows.append((label, str(value)))

    def __bool__(self) -> bool:
        return bool(self.rows or self.table)


def _date(value: Any) -> str | None:
    return format_date(value, "d MMM y") if value else None


def _datetime(value: Any) -> str | None:
    return format_datetime(value, "d MMM y, HH:mm") if value else None


def _yes_no(value: bool | None) -> str | None:
    if value is None:
        return None
    return _("yes") if value else _("no")


def _specialty(name: str) -> str:
    try:
        return Specialty[name].label
    except KeyError:
        return name


#: Account roles that say what someone does at the meeting (administrator does not).
_FUNCTIONS = (Role.RADIOLOGIST, Role.CLINICIAN, Role.COORDINATOR)


def participant_function(
    person: dict[str, Any], *, chair: Any = None, presenter: Any = None
) -> str:
    """What a participant does: chair, presenter, then their roles in the team."""

    def is_(user: Any) -> bool:
        if user is None or person.get("guest"):
            return False
        if person.get("user_id") is not None:
            return bool(person["user_id"] == user.id)
        return bool(person.get("name") == user.full_name)  # frozen before user ids were kept

    functions = []
    if is_(chair):
        functions.append(agreed(person, _("Chair"), pgettext("feminine", "Chair")))
    if is_(presenter):
        functions.append(agreed(person, _("Presenter"), pgettext("feminine", "Presenter")))
    if person.get("guest"):
        functions.append(_("Guest"))
    held = set(person.get("roles") or [])
    functions.extend(label_for(role, person) for role in _FUNCTIONS if role.name in held)
    return ", ".join(functions)


def _people(decision: Decision) -> list[dict[str, Any]]:
    """Who took part: frozen at validation; the attendance as it stands before."""
    if decision.is_validated:
        return decision.participants
    return participants_now(decision)


def sheet_sections(decision: Decision, procedures: list[Procedure] | None = None) -> list[Section]:
    referral = decision.referral
    patient = referral.patient
    meeting = decision.meeting
    presenter = decision.agenda_item.presenter

    identity = Section(_("Patient and case"), key="patient", paired=True)
    identity.add(_("Patient"), patient.display_name)
    age = ngettext("%(num)d year", "%(num)d years", patient.age)
    identity.add(_("Birth date"), f"{_date(patient.birth_on)} ({age})")
    identity.add(_("Hospital number (MRN)"), patient.mrn)
    identity.add(_("Sex"), patient.sex.label)
    identity.add(_("Case"), referral.case_number)
    identity.add(_("Referral date"), _date(referral.referral_on))
    identity.add(
        _("Referring physician"), referral.referrer.full_name if referral.referrer else None
    )

    meeting_section = Section(_("Meeting"), key="meeting", paired=True)
    meeting_section.add(_("Date"), _datetime(meeting.starts_at))
    meeting_section.add(_("Place"), meeting.place)
    meeting_section.add(
        agreed(meeting.chair, _("Chair"), pgettext("feminine", "Chair")),
        meeting.chair.full_name if meeting.chair else None,
    )
    meeting_section.add(
        agreed(presenter, _("Presenter"), pgettext("feminine", "Presenter")),
        presenter.full_name if presenter else None,
    )
    if decision.quorum_met is not None:
        meeting_section.add(_("Quorum met"), _yes_no(decision.quorum_met))

    people = Section(
        _("Participants"),
        key="participants",
        columns=(_("Name"), _("Function"), _("Specialty")),
    )
    for person in _people(decision):
        people.table.append(
            (
                person["name"],
                participant_function(person, chair=meeting.chair, presenter=presenter),
                _specialty(person["specialty"]),
            )
        )

    summary = Section(_("Referral summary"), key="summary", paired=True)
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

    # The question and the meeting's answer to it, read together.
    decided = Section(_("Question and proposal"), key="decision")
    decided.add(_("Question put to the meeting"), referral.question)
    decided.add(_("Decision"), decision.outcome.label if decision.outcome else None)
    decided.add(_("Reasons"), decision.reasons)
    guidelines = _yes_no(decision.follows_guidelines)
    if decision.guideline_reference:
        guidelines = (
            _("%(label)s: %(detail)s", label=guidelines, detail=decision.guideline_reference)
            if guidelines
            else decision.guideline_reference
        )
    decided.add(_("Follows the reference guidelines"), guidelines)
    if decision.clinical_trial_proposed:
        decided.add(_("A clinical trial is proposed"), decision.clinical_trial or _("yes"))
    sections = [identity, meeting_section, people, summary, decided]

    plan = decision.plan
    if plan is not None:
        # The plan as decided; its checklist of prerequisites is working material
        # of the team, not part of the sheet.
        planned = Section(_("Procedure plan"), key="plan", paired=True)
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
        sections.append(planned)

    answer = Section(_("The patient's answer"), key="answer")
    if decision.patient_answer:
        informed = _("informed on %(date)s", date=_date(decision.informed_on))
        if decision.informed_by:
            informed = _(
                "informed on %(date)s by %(name)s",
                date=_date(decision.informed_on),
                name=decision.informed_by.full_name,
            )
        answer.add(_("Answer"), f"{decision.patient_answer.label} ({informed})")
    sections.append(answer)

    amended = Section(_("Amendments"), key="amendments")
    for amendment in decision.amendments:
        who = amendment.amended_by.full_name if amendment.amended_by else "?"
        changed = ", ".join(str(LABELS.get(name, name)) for name in amendment.changes)
        text = _("%(label)s: %(detail)s", label=who, detail=amendment.reason)
        if changed:
            fields = _("changed: %(fields)s", fields=changed)
            text = f"{text} ({fields})"
        amended.add(_datetime(amendment.amended_at) or "", text)
    sections.append(amended)

    validation = Section(_("Validation"), key="validation", paired=True)
    if decision.is_validated:
        validation.add(
            _("Validated by"), decision.validated_by.full_name if decision.validated_by else "?"
        )
        validation.add(_("Validated on"), _datetime(decision.validated_at))
    else:
        validation.add(_("Status"), _("Draft, not validated"))
    sections.append(validation)

    for procedure in procedures or []:
        done = Section(
            _("Procedure of %(date)s", date=_date(procedure.performed_on)), key="procedure"
        )
        done.add(_("Technique used"), procedure.technique.name)
        done.add(_("Deviation from the plan"), procedure.deviation_reason)
        done.add(_("Operators"), ", ".join(user.full_name for user in procedure.operators))
        done.add(_("Immediate result"), procedure.immediate_result)
        for event in procedure.adverse_events:
            done.add(str(CIRSE_GRADES[event.cirse_grade]), event.description)
        sections.append(done)
    return [section for section in sections if section]


@lru_cache(maxsize=1)
def _font_files() -> tuple[str, str]:
    # DejaVu ships with matplotlib: a Unicode font without vendoring one.
    folder = resources.files("matplotlib") / "mpl-data" / "fonts" / "ttf"
    return str(folder / "DejaVuSans.ttf"), str(folder / "DejaVuSans-Bold.ttf")


class _SheetPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("DejaVu", size=7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def sheet_pdf(decision: Decision, procedures: list[Procedure] | None = None) -> bytes:
    case = decision.referral.case_number
    with document(_("RCP decision sheet %(case)s", case=case), printed_on(case)) as pdf:
        _write(pdf, decision, procedures)
        return bytes(pdf.output())


@contextmanager
def document(title: str, footer: str) -> Iterator[FPDF]:
    """An A4 PDF/A-2b document set up as the sheet is (fonts, margins, footer),
    on its first page; for other documents that leave the meeting too."""
    regular, bold = _font_files()
    # PDF/A-2b: fpdf2 embeds the fonts, the sRGB output intent and the XMP
    # metadata the archive format asks for.
    pdf = _SheetPDF(format="A4", enforce_compliance="PDFA_2B")
    try:
        pdf.set_title(title)
        pdf.set_creator("RCP Tracker")
        pdf.set_lang(str(get_locale() or "en"))
        pdf.add_font("DejaVu", "", regular)
        pdf.add_font("DejaVu", "B", bold)
        pdf.footer_text = footer
        pdf.set_margins(14, 9, 14)
        # Text is measured to the millimetre: no padding inside cells.
        pdf.c_margin = 0
        pdf.set_auto_page_break(auto=True, margin=12)
        pdf.add_page()
        yield pdf
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


# Sizes in points and millimetres, chosen so that a typical case fits one A4 page.
_BODY = 8.5
_LINE = 3.7
_GAP = 3.0  # between a label and its value, and between two paired rows
_ROW_GAP = 0.5
_MUTED = (85, 85, 85)
_RULE = (170, 170, 170)


def write_letterhead(pdf: FPDF, head: Letterhead, title: str, subtitle: str) -> None:
    """The unit's letterhead (when configured) with the document's title beside it."""
    top = pdf.get_y()
    left = pdf.l_margin
    logo_height = 0.0
    if head.logo is not None:
        try:
            drawn = pdf.image(BytesIO(head.logo.data), x=left, y=top, h=14)
        except Exception:  # a damaged image must not stop the sheet
            logger.warning("The logo could not be drawn on the decision sheet", exc_info=True)
        else:
            left += min(float(drawn.rendered_width), 45) + 4
            logo_height = 14
    half = (pdf.w - pdf.r_margin - left) / 2
    pdf.set_xy(left, top)
    lines: list[tuple[str, float, str]] = []
    if head.hospital:
        lines.append(("B", 10.5, head.hospital))
    if head.unit:
        lines.append(("", 9, head.unit))
    if head.address:
        lines.append(("", 7.5, head.address))
    for style, size, text in lines:
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(*((0, 0, 0) if style else _MUTED))
        pdf.set_x(left)
        pdf.multi_cell(half + 10, size * 0.45, text, align="L", new_x="LMARGIN", new_y="NEXT")
    bottom = max(pdf.get_y(), top + logo_height)
    # The title on the right, or alone when no letterhead is configured.
    right = pdf.w - pdf.r_margin
    width = half - 10 if head else right - pdf.l_margin
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(right - width, top)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(width, 6, title, align="R" if head else "L", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", size=8)
    pdf.set_text_color(*_MUTED)
    pdf.multi_cell(width, 3.8, subtitle, align="R" if head else "L", new_x="LEFT", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 1.5)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), right, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(1)


def _lines(pdf: FPDF, width: float, text: str, style: str = "") -> list[str]:
    pdf.set_font("DejaVu", style, _BODY)
    lines = pdf.multi_cell(width, _LINE, text, align="L", dry_run=True, output="LINES")
    return [str(line) for line in cast(list[str], lines)]


def _label_width(pdf: FPDF, labels: list[str], room: float) -> float:
    """As wide as the longest label, up to half of ``room`` (longer labels wrap)."""
    pdf.set_font("DejaVu", "B", _BODY)
    widest = max((pdf.get_string_width(label) for label in labels), default=0)
    return min(widest + 0.5, room * 0.5)


def _fits(pdf: FPDF, height: float) -> None:
    """Start a new page unless ``height`` fits on this one: a row is never split."""
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()


def _cell_block(pdf: FPDF, x: float, y: float, width: float, lines: list[str], style: str) -> None:
    pdf.set_font("DejaVu", style, _BODY)
    pdf.set_text_color(*(_MUTED if style == "B" else (0, 0, 0)))
    for index, line in enumerate(lines):
        pdf.set_xy(x, y + index * _LINE)
        pdf.cell(width, _LINE, line, align="L")
    pdf.set_text_color(0, 0, 0)


#: A row taller than this may start on the current page and flow on to the next
#: (long reasons); anything shorter is kept whole.
_KEEP = 60.0


def _draw_line(
    pdf: FPDF, line: list[tuple[float, list[str], list[str]]], widths: tuple[float, float]
) -> None:
    """One line of the sheet (one row, or two paired rows), text line by text
    line, going on to a new page only inside a row taller than ``_KEEP``."""
    count = max(max(len(labels), len(values)) for _x, labels, values in line)
    y = pdf.get_y()
    if y + count * _LINE <= pdf.page_break_trigger:
        # Label, then value: text read back (copied, extracted) in that order.
        for column, (x, labels, values) in enumerate(line):
            _cell_block(pdf, x, y, widths[column], labels, "B")
            _cell_block(pdf, x + widths[column] + _GAP, y, 0, values, "")
        pdf.set_xy(pdf.l_margin, y + count * _LINE + _ROW_GAP)
        return
    for index in range(count):
        if y + _LINE > pdf.page_break_trigger:
            pdf.add_page()
            y = pdf.get_y()
        for column, (x, labels, values) in enumerate(line):
            if index < len(labels):
                _cell_block(pdf, x, y, widths[column], [labels[index]], "B")
            if index < len(values):
                _cell_block(pdf, x + widths[column] + _GAP, y, 0, [values[index]], "")
        y += _LINE
    pdf.set_xy(pdf.l_margin, y + _ROW_GAP)


def section_title(pdf: FPDF, title: str, first_row: float) -> None:
    """A section's title, kept on the page of its first row (``first_row`` mm)."""
    _fits(pdf, 6.2 + first_row)
    pdf.ln(1.2)
    pdf.set_font("DejaVu", "B", 9.5)
    pdf.set_text_color(20, 50, 95)
    pdf.cell(0, 4.4, title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(*_RULE)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(0.6)


def _row_blocks(
    pdf: FPDF, rows: list[tuple[str, str]], x: float, width: float, label_width: float
) -> list[tuple[float, list[str], list[str]]]:
    value_width = width - label_width - _GAP
    return [
        (x, _lines(pdf, label_width, label, "B"), _lines(pdf, value_width, value))
        for label, value in rows
    ]


def _write_rows(pdf: FPDF, section: Section, *, framed: bool = False) -> None:
    """Label and value side by side, each label column as wide as its longest
    label; a row never splits across pages, nor leaves its section's title alone."""
    inset = 2.0 if framed else 0.0
    left = pdf.l_margin + inset
    room = pdf.w - pdf.l_margin - pdf.r_margin - 2 * inset
    rows = section.rows
    if section.paired and len(rows) > 1:
        # Short rows two to a line; a row too long for half the width takes all
        # of it. Each side's label column fits its own labels.
        half = (room - 2 * _GAP) / 2
        label = _label_width(pdf, [label for label, _value in rows], half)
        pdf.set_font("DejaVu", "", _BODY)
        short = [pdf.get_string_width(value) <= 1.5 * (half - label - _GAP) for _l, value in rows]
        layout: list[list[tuple[str, str]]] = []
        waiting: tuple[str, str] | None = None
        for row, is_short in zip(rows, short, strict=True):
            if not is_short:
                layout.append([row])
            elif waiting is None:
                waiting = row
            else:
                layout.append([waiting, row])
                waiting = None
        if waiting is not None:
            layout.append([waiting])
        widths = (
            _label_width(pdf, [line[0][0] for line in layout], half),
            _label_width(pdf, [line[1][0] for line in layout if len(line) == 2], half),
        )
        lines = [
            _row_blocks(pdf, [line[0]], left, half if len(line) == 2 else room, widths[0])
            + (
                _row_blocks(pdf, [line[1]], left + half + 2 * _GAP, half, widths[1])
                if len(line) == 2
                else []
            )
            for line in layout
        ]
    else:
        label = _label_width(pdf, [label for label, _value in rows], room)
        lines = [[block] for block in _row_blocks(pdf, rows, left, room, label)]
        widths = (label, label)
    heights = [
        max(max(len(labels), len(values)) for _x, labels, values in line) * _LINE + _ROW_GAP
        for line in lines
    ]
    if framed:
        block = sum(heights) + 2 * inset
        section_title(pdf, section.title, block)
        _fits(pdf, block)
        pdf.set_draw_color(60, 60, 60)
        pdf.rect(pdf.l_margin, pdf.get_y(), room + 2 * inset, block)
        pdf.set_y(pdf.get_y() + inset)
    for index, (line, height) in enumerate(zip(lines, heights, strict=True)):
        if index == 0 and not framed:
            section_title(pdf, section.title, min(height, _KEEP))
        _fits(pdf, min(height, _KEEP))
        _draw_line(pdf, line, widths)
    if framed:
        pdf.set_y(pdf.get_y() + inset)


def _write_table(pdf: FPDF, section: Section) -> None:
    """The participants: a narrow table, set in two halves side by side when it
    fits in half the page (a meeting of six takes three lines, not six)."""
    room = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("DejaVu", "B", _BODY)
    headings = [pdf.get_string_width(text) for text in section.columns]
    pdf.set_font("DejaVu", "", _BODY)
    widest = [
        max([heading, *(pdf.get_string_width(row[index]) for row in section.table)]) + _GAP
        for index, heading in enumerate(headings)
    ]
    half = (room - 2 * _GAP) / 2
    halves = 2 if len(section.table) > 2 and sum(widest) <= half else 1
    width = half if halves == 2 else room
    scale = min(1.0, width / sum(widest))
    widths = [w * scale for w in widest]
    widths[-1] = width - sum(widths[:-1])
    per_half = -(-len(section.table) // halves)
    columns = [section.table[i : i + per_half] for i in range(0, len(section.table), per_half)]
    lines = [[section.columns] * len(columns)] + [
        [column[i] if i < len(column) else None for column in columns] for i in range(per_half)
    ]
    for index, line in enumerate(lines):
        style = "B" if index == 0 else ""
        cells = [
            [_lines(pdf, w, text, style) for w, text in zip(widths, row, strict=True)]
            if row is not None
            else []
            for row in line
        ]
        height = max(len(block) for row in cells for block in row) * _LINE
        if index == 0:
            section_title(pdf, section.title, height * 2)
        _fits(pdf, height)
        top = pdf.get_y()
        for half_index, row in enumerate(cells):
            x = pdf.l_margin + half_index * (half + 2 * _GAP)
            for w, block in zip(widths, row, strict=False):
                _cell_block(pdf, x, top, w, block, style)
                x += w
        pdf.set_xy(pdf.l_margin, top + height + 0.3)


def _write(pdf: FPDF, decision: Decision, procedures: list[Procedure] | None) -> None:
    meeting = decision.meeting
    write_letterhead(
        pdf,
        letterhead(),
        _("RCP decision sheet"),
        f"{decision.referral.case_number} · {_datetime(meeting.starts_at)}\n"
        + _("Multidisciplinary pain-case meeting, interventional radiology"),
    )
    write_sections(pdf, sheet_sections(decision, procedures))


def write_sections(pdf: FPDF, sections: list[Section]) -> None:
    """Sections as the sheet lays them out: rows, tables, the framed validation."""
    for section in sections:
        if section.table:
            _write_table(pdf, section)
        elif section.key == "validation":
            _write_validation(pdf, section)
        else:
            _write_rows(pdf, section)


def _write_validation(pdf: FPDF, section: Section) -> None:
    """The validation block, framed and kept whole: who signs the sheet, and when."""
    _write_rows(pdf, section, framed=True)
