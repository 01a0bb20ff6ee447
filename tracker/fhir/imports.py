"""A referral started from the hospital record: a FHIR ``Patient`` (alone or in a
``Bundle`` with ``Condition``, ``MedicationStatement`` and ``AllergyIntolerance``
resources), pasted, uploaded or fetched from the hospital's FHIR server, read
into the values of the new-referral form.

Nothing here saves anything: the form is shown again, prefilled, and the
referral is saved as if typed (the same checks, the same identity rules).
What could not be carried over is said, never guessed.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from pydantic import ValidationError
from sqlalchemy import select

from tracker.cases.contact import ContactLanguage, phone_display, read_email, read_phone
from tracker.cases.models import Anticoagulation, Patient, Sex
from tracker.cases.rules import mrn_problem
from tracker.cases.services import normalize_mrn
from tracker.catalogue.models import Indication
from tracker.core.audit import AuditAction, record_access
from tracker.core.errors import DomainError
from tracker.extensions import db
from tracker.fhir.resources import IDENTIFIER_TYPE, SNOMED, identifier_system

logger = logging.getLogger(__name__)

#: The most a pasted or uploaded record (or a server's answer) may weigh.
MAX_RECORD_BYTES = 1_000_000
ATC = "http://www.whocc.no/atc"

SEXES = {"female": Sex.FEMALE, "male": Sex.MALE, "other": Sex.UNDETERMINED}

#: Antithrombotics (ATC B01A) whose kind is clear, by ATC group and by name
#: (French and international non-proprietary names, lower case).
ANTIPLATELET_ATC = ("B01AC",)
ANTICOAGULANT_ATC = ("B01AA", "B01AB", "B01AE", "B01AF")
ANTIPLATELET_NAMES = (
    "aspirin",
    "aspirine",
    "acetylsalicylic",
    "acétylsalicylique",
    "kardegic",
    "kardégic",
    "clopidogrel",
    "prasugrel",
    "ticagrelor",
    "ticlopidine",
)
ANTICOAGULANT_NAMES = (
    "warfarin",
    "fluindione",
    "previscan",
    "acenocoumarol",
    "acénocoumarol",
    "apixaban",
    "eliquis",
    "rivaroxaban",
    "xarelto",
    "edoxaban",
    "dabigatran",
    "pradaxa",
    "heparin",
    "héparine",
    "enoxaparin",
    "énoxaparine",
    "lovenox",
    "tinzaparin",
    "dalteparin",
    "nadroparin",
    "fondaparinux",
)

#: Statuses that say a medication, allergy or condition is not current.
NOT_CURRENT = {"stopped", "completed", "entered-in-error", "not-taken", "inactive", "resolved"}
REFUTED = {"refuted", "entered-in-error"}


class RecordProblem(DomainError):
    """The record cannot be read: nothing is prefilled."""


class NoPatient(RecordProblem):
    """The record holds no Patient (a server's search that found no one)."""


class SourceProblem(DomainError):
    """The hospital's FHIR server did not give a patient."""


@dataclass
class Prefill:
    """What the record gives the new-referral form."""

    #: Form field name -> value as the form holds it (text, date, enum member, id).
    values: dict[str, Any] = field(default_factory=dict)
    #: What was filled, in words, in the form's order.
    imported: list[str] = field(default_factory=list)
    #: What the record holds that could not be carried over, and why.
    not_imported: list[str] = field(default_factory=list)

    def fill(self, name: str, value: Any, label: Any) -> None:
        self.values[name] = value
        self.imported.append(str(label))

    def skip(self, text: str) -> None:
        self.not_imported.append(text)


# --- reading the JSON ---------------------------------------------------------


def read_record(raw: bytes | str) -> Prefill:
    """The form's values from a FHIR Patient or a Bundle holding one.

    Raises ``RecordProblem`` with a sentence for the user when the text is too
    large, not JSON, not FHIR R4, or holds no Patient (or several)."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_RECORD_BYTES:
            raise RecordProblem(_too_large())
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RecordProblem(_l("The file is not text (UTF-8 JSON is expected).")) from None
    if len(raw.encode("utf-8")) > MAX_RECORD_BYTES:
        raise RecordProblem(_too_large())
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise RecordProblem(_l("This is not JSON: paste the FHIR resource as exported.")) from None
    resource_type = data.get("resourceType") if isinstance(data, dict) else None
    if not isinstance(resource_type, str):
        raise RecordProblem(_l("This JSON is not a FHIR resource (it has no resourceType)."))
    if resource_type not in ("Patient", "Bundle"):
        raise RecordProblem(
            _l(
                "This is a FHIR %(type)s, not a Patient: import the patient's record "
                "(a Patient, or a Bundle holding one).",
                type=resource_type[:40],
            )
        )
    resource = _validated(data)
    if resource_type == "Patient":
        return prefill_from([resource])
    return prefill_from(entry.resource for entry in resource.entry or [] if entry.resource)


def _too_large() -> Any:
    return _l("The record is larger than %(size)s MB: export the patient alone.", size=1)


def _validated(data: dict[str, Any]) -> Any:
    try:
        model = get_fhir_model_class(data["resourceType"])
        return model.model_validate(data)
    except ValidationError as error:
        errors = error.errors()
        where = ".".join(str(part) for part in errors[0]["loc"])[:100] if errors else ""
        raise RecordProblem(
            _l(
                "This is not a valid FHIR R4 %(type)s (at “%(where)s”): nothing was imported.",
                type=data["resourceType"],
                where=where or data["resourceType"],
            )
        ) from None
    except (ValueError, TypeError, RecursionError):
        raise RecordProblem(
            _l("This is not a valid FHIR R4 resource: nothing was imported.")
        ) from None


def prefill_from(resources: Iterable[Any]) -> Prefill:
    """The form's values from validated R4B resources (one Patient, and what
    else a Bundle held)."""
    by_type: dict[str, list[Any]] = {}
    for resource in resources:
        by_type.setdefault(resource.get_resource_type(), []).append(resource)
    patients = by_type.pop("Patient", [])
    if not patients:
        raise NoPatient(_l("The Bundle holds no Patient: nothing was imported."))
    if len(patients) > 1:
        raise RecordProblem(
            _l(
                "The Bundle holds %(count)s patients: import one patient's record.",
                count=len(patients),
            )
        )
    prefill = Prefill()
    _patient(prefill, patients[0])
    _conditions(prefill, by_type.pop("Condition", []))
    _medications(prefill, by_type.pop("MedicationStatement", []))
    _allergies(prefill, by_type.pop("AllergyIntolerance", []))
    by_type.pop("OperationOutcome", None)  # a server's remarks on its search
    for resource_type, items in sorted(by_type.items()):
        prefill.skip(
            ngettext(
                "%(num)d %(type)s resource: not used by the referral.",
                "%(num)d %(type)s resources: not used by the referral.",
                len(items),
                type=resource_type,
            )
        )
    return prefill


# --- the patient -------------------------------------------------------------


def _codes(concept: Any) -> set[str]:
    return {coding.code for coding in (concept.coding or []) if coding.code} if concept else set()


def _is_mr(identifier: Any) -> bool:
    concept = identifier.type
    return bool(
        concept
        and any(
            c.code == "MR" and c.system in (None, IDENTIFIER_TYPE) for c in concept.coding or []
        )
    )


def _hospital_number(prefill: Prefill, identifiers: list[Any]) -> None:
    usable = [i for i in identifiers if i.value and i.use != "old"]
    system = identifier_system()
    chosen = next((i for i in usable if i.system == system), None)
    if chosen is None:
        chosen = next((i for i in usable if _is_mr(i)), None)
    if chosen is None:
        prefill.skip(
            _(
                "Hospital number: the record has no identifier of this hospital (%(system)s) "
                "nor of type MR; type it."
            )
            % {"system": system}
        )
        return
    value = chosen.value.strip()
    problem = mrn_problem(value, current_app.config["MRN_PATTERN"])
    if problem:
        prefill.skip(
            _("Hospital number %(value)s: %(problem)s")
            % {"value": value[:40], "problem": str(problem)}
        )
        return
    prefill.fill("mrn", value, _("hospital number"))


def _name(prefill: Prefill, names: list[Any]) -> None:
    current = [n for n in names if n.use not in ("old", "maiden")] or names
    chosen = next((n for n in current if n.use == "official"), None) or next(
        (n for n in current if n.use == "usual"), None
    )
    chosen = chosen or (current[0] if current else None)
    if chosen is None:
        prefill.skip(_("Name: the record gives none."))
        return
    if chosen.family:
        prefill.fill("last_name", chosen.family.strip(), _("family name"))
    given = " ".join(part.strip() for part in chosen.given or [] if part.strip())
    if given:
        prefill.fill("first_name", given, _("first name"))
    if not chosen.family or not given:
        shown = chosen.text or " ".join(filter(None, [given, chosen.family or ""]))
        prefill.skip(
            _("Name: the family name and the first name are not both given (%(text)s).")
            % {"text": shown or "-"}
        )


def _birth_date(prefill: Prefill, birth: Any) -> None:
    if isinstance(birth, date):
        prefill.fill("birth_on", birth, _("birth date"))
    elif birth:
        prefill.skip(_("Birth date: only %(partial)s is known.") % {"partial": birth})
    else:
        prefill.skip(_("Birth date: the record gives none."))


def _sex(prefill: Prefill, gender: str | None) -> None:
    if gender in SEXES:
        prefill.fill("sex", SEXES[gender], _("sex"))
    else:
        prefill.skip(_("Sex: the record says “%(gender)s”.") % {"gender": gender or "-"})


def _current(point: Any) -> bool:
    return point.use != "old" and not (point.period and point.period.end)


def _telecom(prefill: Prefill, points: list[Any]) -> None:
    phones: list[str] = []
    for point in points:
        if not point.value or not _current(point):
            continue
        if point.system in ("phone", "sms"):
            try:
                number = read_phone(point.value)
            except DomainError as error:
                prefill.skip(
                    _("Phone %(value)s: %(problem)s")
                    % {"value": point.value[:40], "problem": error.message}
                )
                continue
            if number not in phones:
                phones.append(number)
        elif point.system == "email" and "email" not in prefill.values:
            try:
                prefill.fill("email", read_email(point.value), _("e-mail"))
            except DomainError as error:
                prefill.skip(
                    _("E-mail %(value)s: %(problem)s")
                    % {"value": point.value[:60], "problem": error.message}
                )
    for name, label, number in zip(
        ("phone_1", "phone_2"), (_("phone"), _("second phone")), phones, strict=False
    ):
        prefill.fill(name, phone_display(number), label)
    for number in phones[2:]:
        prefill.skip(
            _("Phone %(value)s: the form keeps two numbers.") % {"value": phone_display(number)}
        )


def _language(prefill: Prefill, communication: list[Any]) -> None:
    ordered = sorted(communication, key=lambda item: not item.preferred)
    for item in ordered:
        for code in _codes(item.language):
            try:
                language = ContactLanguage(code.split("-")[0].lower())
            except ValueError:
                continue
            prefill.fill("preferred_language", language, _("preferred language"))
            return


def _patient(prefill: Prefill, patient: Any) -> None:
    _hospital_number(prefill, patient.identifier or [])
    _name(prefill, patient.name or [])
    _birth_date(prefill, patient.birthDate)
    _sex(prefill, patient.gender)
    _telecom(prefill, patient.telecom or [])
    _language(prefill, patient.communication or [])


# --- what a Bundle adds --------------------------------------------------------


def _text(concept: Any) -> str | None:
    if concept is None:
        return None
    if concept.text:
        return str(concept.text).strip()
    for coding in concept.coding or []:
        if coding.display:
            return str(coding.display).strip()
    return None


def _status(concept: Any) -> set[str]:
    """The codes of a status given as a CodeableConcept."""
    return _codes(concept) if concept is not None else set()


def _snomed(concept: Any) -> list[str]:
    codings = concept.coding if concept is not None else None
    return [c.code for c in codings or [] if c.system == SNOMED and c.code]


def _conditions(prefill: Prefill, conditions: list[Any]) -> None:
    """A condition whose SNOMED CT code is an indication's (as an admin entered
    it in the catalogue) gives the indication, and its body site the pain site.
    One query whatever the number of conditions."""
    current = [c for c in conditions if not _status(c.verificationStatus) & REFUTED]
    codes = sorted({code for condition in current for code in _snomed(condition.code)})
    entries: dict[str, Indication] = {}
    if codes:
        for found in db.session.scalars(
            select(Indication)
            .where(Indication.snomed_code.in_(codes), Indication.is_retired.is_(False))
            .order_by(Indication.id.desc())
        ):
            entries[found.snomed_code or ""] = found  # the oldest entry of a code wins
    for condition in current:
        text = _text(condition.code) or _("a condition without a name")
        entry = next((entries[c] for c in _snomed(condition.code) if c in entries), None)
        if entry is None:
            prefill.skip(
                _("Condition “%(text)s”: no indication of the catalogue has its code.")
                % {"text": text}
            )
            continue
        if "indication_id" in prefill.values:
            prefill.skip(
                _("Condition “%(text)s”: the indication is already taken from another one.")
                % {"text": text}
            )
            continue
        prefill.fill("indication_id", entry.id, _("indication (%(name)s)") % {"name": entry.name})
        site = "; ".join(filter(None, (_text(site) for site in condition.bodySite or [])))
        if site:
            prefill.fill("pain_site", site[:200], _("pain site"))


def _kind(concept: Any) -> Anticoagulation | None:
    """Antiplatelet or anticoagulant, when the code or the name says so clearly."""
    atc = {c.code for c in (concept.coding or []) if c.system == ATC and c.code}
    if any(code.startswith(ANTIPLATELET_ATC) for code in atc):
        return Anticoagulation.ANTIPLATELET
    if any(code.startswith(ANTICOAGULANT_ATC) for code in atc):
        return Anticoagulation.ANTICOAGULANT
    words = " ".join(
        filter(None, [concept.text, *(c.display for c in concept.coding or [])])
    ).lower()
    platelet = any(name in words for name in ANTIPLATELET_NAMES)
    coagulant = any(name in words for name in ANTICOAGULANT_NAMES)
    if platelet != coagulant:
        return Anticoagulation.ANTIPLATELET if platelet else Anticoagulation.ANTICOAGULANT
    return None


def _antithrombotic(concept: Any) -> bool:
    return any(
        c.system == ATC and c.code and c.code.startswith("B01") for c in concept.coding or []
    )


def _medications(prefill: Prefill, statements: list[Any]) -> None:
    kinds: set[Anticoagulation] = set()
    details: list[str] = []
    for statement in statements:
        if statement.status in NOT_CURRENT:
            continue
        concept = statement.medicationCodeableConcept
        if concept is None:
            prefill.skip(_("A medication given by reference only: not read."))
            continue
        name = _text(concept) or _("a medication without a name")
        dose = next((d.text for d in statement.dosage or [] if d.text), None)
        named = f"{name} ({dose})" if dose else name
        kind = _kind(concept)
        if kind is not None:
            kinds.add(kind)
            details.append(named)
        elif _antithrombotic(concept):
            details.append(_("%(name)s: kind unclear, check") % {"name": named})
        else:
            prefill.skip(
                _("Medication “%(name)s”: not an antiplatelet or an anticoagulant.")
                % {"name": name}
            )
    if kinds:
        both = {Anticoagulation.ANTIPLATELET, Anticoagulation.ANTICOAGULANT} <= kinds
        prefill.fill(
            "anticoagulation",
            Anticoagulation.BOTH if both else kinds.pop(),
            _("antiplatelet or anticoagulant treatment"),
        )
    if details:
        prefill.fill("anticoagulation_details", "; ".join(details)[:500], _("the drugs and doses"))


def _allergies(prefill: Prefill, allergies: list[Any]) -> None:
    texts = []
    for allergy in allergies:
        if _status(allergy.verificationStatus) & REFUTED:
            continue
        if _status(allergy.clinicalStatus) & NOT_CURRENT:
            continue
        text = _text(allergy.code)
        if text and text not in texts:
            texts.append(text)
    if texts:
        prefill.fill("allergies", "; ".join(texts)[:500], _("allergies"))


# --- the hospital's FHIR server -------------------------------------------------


def source_configured() -> bool:
    return bool(current_app.config.get("FHIR_SOURCE_URL"))


def fetch_patient(mrn: str) -> Prefill:
    """The patient with hospital number ``mrn`` on the hospital's FHIR server
    (``TRACKER_FHIR_SOURCE_URL``): ``GET {base}/Patient?identifier={system}|{mrn}``.

    Raises ``SourceProblem`` when the server cannot be reached, answers with an
    error, or knows no patient (or several) by that number."""
    base = (current_app.config.get("FHIR_SOURCE_URL") or "").rstrip("/")
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise SourceProblem(_l("No hospital FHIR server is configured."))
    query = urllib.parse.urlencode({"identifier": f"{identifier_system()}|{mrn}"})
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        f"{base}/Patient?{query}", headers={"Accept": "application/fhir+json"}
    )
    timeout = current_app.config.get("FHIR_SOURCE_TIMEOUT", 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            body = response.read(MAX_RECORD_BYTES + 1)
    except urllib.error.HTTPError as error:
        logger.warning("The hospital FHIR server answered %s", error.code)
        raise SourceProblem(
            _l(
                "The hospital FHIR server refused the search (error %(code)s): type the "
                "patient's details or paste the record.",
                code=error.code,
            )
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        logger.warning("The hospital FHIR server cannot be reached: %s", error)
        raise SourceProblem(
            _l(
                "The hospital FHIR server cannot be reached: type the patient's details "
                "or paste the record."
            )
        ) from None
    try:
        return read_record(body)
    except NoPatient:
        raise SourceProblem(
            _l("The hospital FHIR server knows no patient with number %(mrn)s.", mrn=mrn)
        ) from None
    except RecordProblem as problem:
        raise SourceProblem(
            _l(
                "The hospital FHIR server's answer cannot be read: %(problem)s",
                problem=problem.message,
            )
        ) from None


# --- onto the form ------------------------------------------------------------

#: The new-referral fields that say who the patient is and how to reach them:
#: emptied before an import fills them, so that nothing of another patient stays.
IDENTITY_FIELDS = (
    "mrn",
    "last_name",
    "first_name",
    "birth_on",
    "sex",
    "phone_1",
    "phone_2",
    "email",
    "preferred_language",
)


def prefill_form(form: Any, prefill: Prefill) -> None:
    """Show the record's values on the new-referral form (saved only when the
    user saves it). The rest of what was typed stays."""
    for name in IDENTITY_FIELDS:
        form[name].data = None
        form[name].raw_data = None
    # A new identity: the choices made about another one no longer stand.
    form.use_existing_patient.data = False
    form.save_anyway.data = False
    for name, value in prefill.values.items():
        form[name].data = value
        form[name].raw_data = None


def record_import(prefill: Prefill, source: str) -> None:
    """The user was shown a patient's identity from the hospital record: an
    access entry, naming the patient when the tracker knows the number. The
    number itself is not written (the audit viewer masks patients, not text)."""
    mrn = prefill.values.get("mrn")
    known = (
        db.session.scalar(select(Patient.id).where(Patient.mrn == normalize_mrn(mrn)))
        if mrn
        else None
    )
    record_access(
        AuditAction.VIEW,
        "HospitalRecord",
        source,
        patient_id=known,
        details={"source": source, "fields": sorted(prefill.values)},
    )
