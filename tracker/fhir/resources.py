"""A case as FHIR R4 resources (R4B models of ``fhir.resources``).

Each builder turns the product's records into one resource, validated by its
R4B model on the way out, with a stable logical id ("referral-12",
"assessment-34-average") and ``meta.lastUpdated`` from the audit trail.

Codes: LOINC 72514-3 for pain on the 0-10 scale (DOMAIN), SNOMED CT only where
an admin entered the catalogue entry's code, and the FHIR specification's own
code systems (status, category...). Anything else is carried as text: no code
is ever guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any, cast

from dateutil.relativedelta import relativedelta
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from flask import current_app
from flask_babel import gettext as _

from tracker.cases.models import Patient, Referral, Sex
from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Indication, Technique
from tracker.core.i18n import day_text
from tracker.decisions.models import (
    CIRSE_GRADES,
    AdverseEvent,
    Decision,
    DecisionStatus,
    Procedure,
)
from tracker.decisions.rules import Implementation
from tracker.fhir.queries import CaseRecord
from tracker.followups.models import PGIC, Assessment, AssessmentMode

logger = logging.getLogger(__name__)

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
#: Pain severity, 0-10 verbal numeric rating, reported (DOMAIN, IMMPACT).
NRS_LOINC = "72514-3"
NRS_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
LANGUAGE = "urn:ietf:bcp:47"

#: The three readings of the numeric rating scale, as the assessment columns name them.
NRS_READINGS = ("now", "average", "worst")


def identifier_system() -> str:
    """The site's system URI for hospital numbers (``TRACKER_FHIR_IDENTIFIER_SYSTEM``)."""
    configured = current_app.config.get("FHIR_IDENTIFIER_SYSTEM")
    return configured or f"{current_app.config['BASE_URL']}/fhir/sid/mrn"


def fhir_base() -> str:
    return f"{current_app.config['BASE_URL']}/fhir"


# --- small pieces -----------------------------------------------------------------


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _meta(
    changed: dict[tuple[str, int], datetime] | None, *rows: tuple[str, int, datetime | None]
) -> dict[str, Any]:
    """``lastUpdated``: the latest change the audit trail knows of these rows, else
    their own creation time (a row made before the trail, or outside it)."""
    moments = []
    for model, row_id, created in rows:
        moments.append((changed or {}).get((model, row_id)) or created)
    known = [moment for moment in moments if moment is not None]
    return {"lastUpdated": _instant(max(known))} if known else {}


def _ref(resource_type: str, logical_id: str, display: str | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"{resource_type}/{logical_id}"}
    if display:
        reference["display"] = display
    return reference


def _concept(text: str, code: str | None = None, system: str = SNOMED) -> dict[str, Any]:
    """A concept by its text, with a coding only when its code is known."""
    concept: dict[str, Any] = {"text": text}
    if code:
        concept["coding"] = [{"system": system, "code": code, "display": text}]
    return concept


def _catalogue_concept(entry: Indication | Technique | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return _concept(entry.name, entry.snomed_code)


def _notes(*texts: str | None) -> list[dict[str, str]]:
    return [{"text": text} for text in texts if text]


def validated(data: dict[str, Any]) -> Resource:
    """The resource as its R4B model reads it: a mistake here fails loudly."""
    model = get_fhir_model_class(data["resourceType"])
    return cast(Resource, model.model_validate(_pruned(data)))


def _pruned(value: Any) -> Any:
    """Without empty values: FHIR forbids empty strings, lists and objects."""
    if isinstance(value, dict):
        pruned = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        items = [_pruned(item) for item in value]
        return [item for item in items if item not in (None, "", [], {})]
    return value


def as_json(resource: Resource) -> dict[str, Any]:
    return resource.model_dump(mode="json", exclude_none=True)


# --- logical ids ------------------------------------------------------------------


def patient_id(patient: Patient) -> str:
    return f"patient-{patient.id}"


def referral_id(referral: Referral) -> str:
    return f"referral-{referral.id}"


def condition_id(referral: Referral) -> str:
    return f"condition-{referral.id}"


def careplan_id(decision: Decision) -> str:
    return f"decision-{decision.id}"


def procedure_id(procedure: Procedure) -> str:
    return f"procedure-{procedure.id}"


def adverse_event_id(event: AdverseEvent) -> str:
    return f"adverse-event-{event.id}"


# --- the resources ----------------------------------------------------------------

GENDERS = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.UNDETERMINED: "other"}


def patient_resource(
    patient: Patient, changed: dict[tuple[str, int], datetime] | None = None
) -> Resource:
    telecom: list[dict[str, Any]] = [
        {"system": "phone", "value": phone, "rank": rank}
        for rank, phone in enumerate(patient.phones, start=1)
    ]
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    language = patient.preferred_language
    return validated(
        {
            "resourceType": "Patient",
            "id": patient_id(patient),
            "meta": _meta(changed, ("Patient", patient.id, patient.created_at)),
            "identifier": [
                {
                    "use": "usual",
                    "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}]},
                    "system": identifier_system(),
                    "value": patient.mrn,
                }
            ],
            "name": [
                {"use": "official", "family": patient.last_name, "given": [patient.first_name]}
            ],
            "gender": GENDERS[patient.sex],
            "birthDate": patient.birth_on.isoformat(),
            "telecom": telecom,
            "communication": [
                {
                    "language": {
                        "coding": [{"system": LANGUAGE, "code": language.value}],
                        "text": language.label,
                    },
                    "preferred": True,
                }
            ]
            if language is not None
            else [],
        }
    )


#: The referral's request, as the case moves on.
REQUEST_STATUS = {
    CaseStatus.DRAFT: "draft",
    CaseStatus.REFERRED: "active",
    CaseStatus.SCHEDULED: "active",
    CaseStatus.DISCUSSED: "completed",
    CaseStatus.PLANNED: "completed",
    CaseStatus.TREATED: "completed",
    CaseStatus.FOLLOW_UP: "completed",
    CaseStatus.CLOSED: "completed",
    CaseStatus.WITHDRAWN: "revoked",
}


def _requester(referral: Referral) -> dict[str, Any] | None:
    if referral.referrer is not None:
        return {"display": referral.referrer.full_name}
    if referral.external_referrer:
        return {"display": referral.external_referrer}
    return None


def service_request_resource(record: CaseRecord) -> Resource:
    referral = record.referral
    consent = (
        _(
            "The patient agreed on %(day)s to the case being presented.",
            day=day_text(referral.patient_agreed_on, "d MMMM y"),
        )
        if referral.patient_agreed_on
        else None
    )
    external = (
        _("Sent by: %(name)s", name=referral.external_referrer)
        if referral.external_referrer and referral.referrer is not None
        else None
    )
    return validated(
        {
            "resourceType": "ServiceRequest",
            "id": referral_id(referral),
            "meta": _meta(record.changed, ("Referral", referral.id, referral.created_at)),
            "identifier": [
                {"system": f"{fhir_base()}/sid/case-number", "value": referral.case_number}
            ],
            "status": REQUEST_STATUS[referral.status],
            "intent": "order",
            "priority": referral.urgency.value,  # routine | urgent: FHIR's own codes
            "code": {"text": _("Multidisciplinary pain case review (RCP)")},
            "subject": _ref("Patient", patient_id(referral.patient)),
            "authoredOn": referral.referral_on.isoformat() if referral.referral_on else None,
            "requester": _requester(referral),
            "reasonCode": [_catalogue_concept(referral.indication)],
            "reasonReference": [_ref("Condition", condition_id(referral))],
            "note": _notes(referral.question, consent, external),
        }
    )


def _site_text(site: str | None, side: Any) -> str | None:
    """Site and side in one text (no laterality code is known to the catalogue)."""
    if side is None:
        return site or None
    if not site:
        return _("Side: %(side)s", side=side.label)
    return _("%(site)s (side: %(side)s)", site=site, side=side.label)


def _onset(referral: Referral) -> str | None:
    """The month the pain began, from its duration at referral (month precision)."""
    if referral.pain_duration_months is None or referral.referral_on is None:
        return None
    began = referral.referral_on - relativedelta(months=referral.pain_duration_months)
    return f"{began.year:04d}-{began.month:02d}"


def condition_resource(record: CaseRecord) -> Resource:
    referral = record.referral
    mechanism = (
        _("Mechanism: %(mechanism)s", mechanism=referral.mechanism.label)
        if referral.mechanism
        else None
    )
    duration = (
        _("Pain for %(months)s months at referral", months=referral.pain_duration_months)
        if referral.pain_duration_months is not None
        else None
    )
    site = _site_text(referral.pain_site, referral.pain_side)
    return validated(
        {
            "resourceType": "Condition",
            "id": condition_id(referral),
            "meta": _meta(record.changed, ("Referral", referral.id, referral.created_at)),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": CONDITION_CLINICAL,
                        "code": "resolved" if referral.status is CaseStatus.CLOSED else "active",
                    }
                ]
            },
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
            "code": _catalogue_concept(referral.indication) or {"text": _("Chronic pain")},
            "bodySite": [{"text": site}] if site else [],
            "subject": _ref("Patient", patient_id(referral.patient)),
            "onsetDateTime": _onset(referral),
            "recordedDate": referral.referral_on.isoformat() if referral.referral_on else None,
            "note": _notes(mechanism, duration),
        }
    )


def _nrs(
    resource_id: str,
    reading: str,
    value: int,
    *,
    subject: dict[str, Any],
    on: date,
    meta: dict[str, Any],
    performer: list[dict[str, Any]],
    part_of: list[dict[str, Any]],
) -> Resource:
    methods = {
        "now": _("Pain now"),
        "average": _("Average pain"),
        "worst": _("Worst pain"),
    }
    return validated(
        {
            "resourceType": "Observation",
            "id": resource_id,
            "meta": meta,
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": {
                "coding": [{"system": LOINC, "code": NRS_LOINC, "display": NRS_DISPLAY}],
                "text": _("Pain on the numeric rating scale (0-10)"),
            },
            # Now / average / worst: no standard code tells them apart, so the
            # method says which, in words (and the id ends with it).
            "method": {"text": methods[reading]},
            "subject": subject,
            "effectiveDateTime": on.isoformat(),
            "performer": performer,
            "partOf": part_of,
            "valueQuantity": {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"},
        }
    )


def _scored(
    resource_id: str,
    text: str,
    *,
    subject: dict[str, Any],
    on: date,
    meta: dict[str, Any],
    performer: list[dict[str, Any]],
    part_of: list[dict[str, Any]],
    value: dict[str, Any],
) -> Resource:
    """An observation with no code known: its name in words."""
    return validated(
        {
            "resourceType": "Observation",
            "id": resource_id,
            "meta": meta,
            "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
            "code": {"text": text},
            "subject": subject,
            "effectiveDateTime": on.isoformat(),
            "performer": performer,
            "partOf": part_of,
            **value,
        }
    )


def baseline_observations(record: CaseRecord) -> list[Resource]:
    """The pain scores of the referral sheet (before any procedure)."""
    referral = record.referral
    if referral.referral_on is None:
        return []
    common: dict[str, Any] = {
        "subject": _ref("Patient", patient_id(referral.patient)),
        "on": referral.referral_on,
        "meta": _meta(record.changed, ("Referral", referral.id, referral.created_at)),
        "performer": [],
        "part_of": [],
    }
    found = []
    for reading in NRS_READINGS:
        value = getattr(referral, f"nrs_{reading}")
        if value is not None:
            found.append(_nrs(f"{referral_id(referral)}-{reading}", reading, value, **common))
    if referral.dn4 is not None:
        found.append(_dn4(f"{referral_id(referral)}-dn4", referral.dn4, common))
    return found


def _dn4(resource_id: str, value: int, common: dict[str, Any]) -> Resource:
    return _scored(
        resource_id,
        _("DN4 neuropathic pain questionnaire, total score (0-10)"),
        value={"valueInteger": value},
        **common,
    )


def assessment_observations(record: CaseRecord, assessment: Assessment) -> list[Resource]:
    """Every score of a follow-up assessment, each an Observation."""
    patient = record.referral.patient
    subject = _ref("Patient", patient_id(patient))
    if assessment.mode is AssessmentMode.SELF_REPORTED:
        performer = [subject]  # patient-reported
    elif assessment.recorded_by is not None:
        performer = [{"display": assessment.recorded_by.full_name}]
    else:
        performer = []
    common: dict[str, Any] = {
        "subject": subject,
        "on": assessment.assessed_on,
        "meta": _meta(record.changed, ("Assessment", assessment.id, assessment.created_at)),
        "performer": performer,
        # The procedure this assessment follows (``derivedFrom`` may not point
        # to a Procedure in R4; ``partOf`` may).
        "part_of": [_ref("Procedure", f"procedure-{assessment.procedure_id}")],
    }
    base = f"assessment-{assessment.id}"
    found = []
    for reading in NRS_READINGS:
        value = getattr(assessment, f"nrs_{reading}")
        if value is not None:
            found.append(_nrs(f"{base}-{reading}", reading, value, **common))
    if assessment.pgic is not None:
        found.append(
            _scored(
                f"{base}-pgic",
                _("Patient Global Impression of Change (PGIC, 1-7)"),
                value={
                    "valueInteger": assessment.pgic,
                    "interpretation": [{"text": str(PGIC[assessment.pgic])}],
                },
                **common,
            )
        )
    if assessment.dn4 is not None:
        found.append(_dn4(f"{base}-dn4", assessment.dn4, common))
    if assessment.relief_pct is not None:
        found.append(
            _scored(
                f"{base}-relief",
                _("Pain relief estimated by the patient (%)"),
                value={
                    "valueQuantity": {
                        "value": assessment.relief_pct,
                        "unit": "%",
                        "system": UCUM,
                        "code": "%",
                    }
                },
                **common,
            )
        )
    return found


def procedure_resource(record: CaseRecord, procedure: Procedure) -> Resource:
    referral = record.referral
    side = procedure.plan.side if procedure.plan is not None else referral.pain_side
    site = _site_text(procedure.target, side)
    decision_id = procedure.plan.decision_id if procedure.plan is not None else None
    return validated(
        {
            "resourceType": "Procedure",
            "id": procedure_id(procedure),
            "meta": _meta(record.changed, ("Procedure", procedure.id, procedure.created_at)),
            "basedOn": [_ref("CarePlan", f"decision-{decision_id}")] if decision_id else [],
            "status": "completed",
            "code": _catalogue_concept(procedure.technique),
            "subject": _ref("Patient", patient_id(referral.patient)),
            "performedDateTime": procedure.performed_on.isoformat(),
            "performer": [{"actor": {"display": user.full_name}} for user in procedure.operators],
            "reasonReference": [_ref("Condition", condition_id(referral))],
            "bodySite": [{"text": site}] if site else [],
            "note": _notes(
                procedure.immediate_result,
                _("Deviation from the plan: %(reason)s", reason=procedure.deviation_reason)
                if procedure.deviation_reason
                else None,
            ),
        }
    )


#: The plan's activity, as the proposal was followed through (DOMAIN).
ACTIVITY_STATUS = {
    Implementation.PENDING: "scheduled",
    Implementation.AS_PLANNED: "completed",
    Implementation.WITH_DEVIATION: "completed",
    Implementation.NOT_CARRIED_OUT: "cancelled",
}


def careplan_resource(record: CaseRecord, decision: Decision) -> Resource:
    referral = record.referral
    plan = decision.plan
    activity: list[dict[str, Any]] = []
    if plan is not None:
        followed = plan.implementation
        reason = None
        if followed is Implementation.NOT_CARRIED_OUT and plan.not_carried_out_reason:
            reason = {"text": plan.not_carried_out_reason.label}
        elif followed is Implementation.WITH_DEVIATION:
            reason = {"text": followed.label}
        performed = sorted(plan.procedures, key=lambda p: (p.performed_on, p.id))
        activity.append(
            {
                "outcomeReference": [_ref("Procedure", procedure_id(p)) for p in performed],
                "detail": {
                    "kind": "ServiceRequest",
                    "code": _catalogue_concept(plan.technique)
                    or {"text": _("Procedure to be chosen")},
                    "status": ACTIVITY_STATUS[followed],
                    "statusReason": reason,
                    "doNotPerform": False,
                    "scheduledString": day_text(plan.target_on, "d MMMM y") or None,
                    "description": _site_text(plan.target, plan.side),
                },
            }
        )
    if not decision.is_validated:
        status = "draft"
    elif plan is not None and plan.implementation is Implementation.PENDING:
        status = "active"
    else:
        status = "completed"
    outcome = decision.outcome.label if decision.outcome is not None else None
    return validated(
        {
            "resourceType": "CarePlan",
            "id": careplan_id(decision),
            "meta": _meta(
                record.changed,
                ("Decision", decision.id, decision.validated_at or decision.created_at),
                *([("ProcedurePlan", plan.id, None)] if plan is not None else []),
            ),
            "status": status,
            "intent": "plan",
            "title": _(
                "RCP decision of %(day)s", day=day_text(decision.meeting.starts_at, "d MMMM y")
            ),
            "description": outcome,
            "subject": _ref("Patient", patient_id(referral.patient)),
            "created": _instant(decision.validated_at),
            "addresses": [_ref("Condition", condition_id(referral))],
            "activity": activity,
            "note": _notes(
                decision.reasons,
                plan.notes if plan is not None else None,
                _("Patient's answer: %(answer)s", answer=decision.patient_answer.label)
                if decision.patient_answer is not None
                else None,
            ),
        }
    )


# --- the patient's questionnaire ----------------------------------------------------

QUESTIONNAIRE_ID = "pain-followup"
#: How each question of the patient's form is asked in FHIR.
ITEM_TYPES = {
    "IntegerField": "integer",
    "RadioField": "choice",
    "EnumRadioField": "choice",
    "EnumCheckboxField": "choice",
    "BooleanField": "boolean",
    "TextAreaField": "text",
}


def questionnaire_url() -> str:
    """The questionnaire's canonical URL, where the API serves it to anyone."""
    return f"{fhir_base()}/Questionnaire/{QUESTIONNAIRE_ID}"


def _patient_questions() -> list[Any]:
    """The questions of the patient's own form (``tracker.selfreport``), in order:
    the questionnaire is that form, never a second copy of it."""
    from tracker.selfreport.forms import QuestionnaireForm

    form = QuestionnaireForm(formdata=None)
    return [field for field in form if field.type in ITEM_TYPES]


def _options(field: Any) -> dict[Any, str]:
    return {value: str(label) for value, label, *_rest in field.iter_choices()}


def questionnaire_resource() -> Resource:
    items = []
    for field in _patient_questions():
        item: dict[str, Any] = {
            "linkId": field.name,
            "text": str(field.label.text),
            "type": ITEM_TYPES[field.type],
            "required": field.name == "nrs_average",
        }
        if item["type"] == "choice":
            item["answerOption"] = [{"valueString": text} for text in _options(field).values()]
            item["repeats"] = field.type == "EnumCheckboxField"
        items.append(item)
    return validated(
        {
            "resourceType": "Questionnaire",
            "id": QUESTIONNAIRE_ID,
            "url": questionnaire_url(),
            "name": "PainFollowUp",
            "title": _("Pain follow-up questionnaire"),
            "status": "active",
            "subjectType": ["Patient"],
            "item": items,
        }
    )


def questionnaire_response(record: CaseRecord, assessment: Assessment) -> Resource:
    """A patient's own answers (an assessment they reported online)."""
    patient = _ref("Patient", patient_id(record.referral.patient))
    answers: dict[str, Any] = {
        "nrs_now": assessment.nrs_now,
        "nrs_average": assessment.nrs_average,
        "nrs_worst": assessment.nrs_worst,
        "relief_pct": assessment.relief_pct,
        "pgic": assessment.pgic,
        "side_effects": list(assessment.side_effects or []),
        "analgesic_use": assessment.analgesic_use.name if assessment.analgesic_use else None,
        "pain_is_back": assessment.pain_is_back,
        "note": assessment.note,
    }
    items = []
    for field in _patient_questions():
        given = answers.get(field.name)
        kind = ITEM_TYPES[field.type]
        values = given if isinstance(given, list) else [given]
        answer: list[dict[str, Any]]
        if kind == "choice":
            options = _options(field)
            answer = [{"valueString": options[value]} for value in values if value in options]
        elif kind == "integer":
            answer = [{"valueInteger": value} for value in values if value is not None]
        elif kind == "boolean":
            answer = [{"valueBoolean": bool(given)}]
        else:
            answer = [{"valueString": value} for value in values if value]
        if answer:
            items.append({"linkId": field.name, "text": str(field.label.text), "answer": answer})
    return validated(
        {
            "resourceType": "QuestionnaireResponse",
            "id": f"assessment-{assessment.id}-answers",
            "meta": _meta(record.changed, ("Assessment", assessment.id, assessment.created_at)),
            "questionnaire": questionnaire_url(),
            "status": "completed",
            "subject": patient,
            "partOf": [_ref("Procedure", f"procedure-{assessment.procedure_id}")],
            "authored": _instant(assessment.created_at),
            "author": patient,
            "source": patient,
            "item": items,
        }
    )


def sheet_id(decision: Decision) -> str:
    return f"decision-sheet-{decision.id}"


def _narrative(section: Any) -> dict[str, str]:
    """A section of the decision sheet as FHIR narrative (escaped XHTML)."""
    lines = [
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in section.rows
    ]
    if section.table:
        lines.append("<tr>" + "".join(f"<th>{escape(c)}</th>" for c in section.columns) + "</tr>")
        lines += [
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
            for row in section.table
        ]
    table = "".join(lines)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><table>{table}</table></div>',
    }


def sheet_composition(record: CaseRecord, decision: Decision) -> Resource:
    """The validated decision sheet (fiche RCP) as a Composition: the sheet's own
    sections, as the page and the PDF show them (``tracker.decisions.sheet``),
    but for the patient's identity, which the Patient resource carries."""
    from tracker.decisions.sheet import sheet_sections

    referral = record.referral
    validated_at = decision.validated_at or decision.created_at
    procedures = [p for p in record.procedures if decision.plan and p.plan_id == decision.plan.id]
    sections = [s for s in sheet_sections(decision, procedures) if s.key != "patient"]
    validator = decision.validated_by.full_name if decision.validated_by else None
    return validated(
        {
            "resourceType": "Composition",
            "id": sheet_id(decision),
            "meta": _meta(record.changed, ("Decision", decision.id, validated_at)),
            "status": "amended" if decision.amendments else "final",
            "type": {"text": _("RCP decision sheet")},
            "subject": _ref("Patient", patient_id(referral.patient)),
            "date": _instant(validated_at),
            "author": [{"display": validator or _("RCP pain meeting")}],
            "title": _(
                "RCP decision of %(day)s", day=day_text(decision.meeting.starts_at, "d MMMM y")
            ),
            "attester": [
                {
                    "mode": "professional",
                    "time": _instant(validated_at),
                    "party": {"display": validator},
                }
            ]
            if validator
            else [],
            "section": [
                {
                    "title": section.title,
                    "text": _narrative(section),
                    "entry": [_ref("CarePlan", careplan_id(decision))]
                    if section.key == "decision"
                    else [],
                }
                for section in sections
            ],
        }
    )


def sheet_reference(record: CaseRecord, decision: Decision) -> Resource:
    """The validated decision sheet (fiche RCP), by the address of its PDF: the
    team opens it there, with their login (no patient document leaves inline)."""
    referral = record.referral
    validated_at = decision.validated_at or decision.created_at
    pdf = f"{current_app.config['BASE_URL']}/decisions/{decision.id}.pdf"
    return validated(
        {
            "resourceType": "DocumentReference",
            "id": f"{sheet_id(decision)}-pdf",
            "meta": _meta(record.changed, ("Decision", decision.id, validated_at)),
            "status": "current",
            "docStatus": "final",
            "type": {"text": _("RCP decision sheet")},
            "subject": _ref("Patient", patient_id(referral.patient)),
            "date": _instant(validated_at),
            "description": _(
                "RCP decision of %(day)s", day=day_text(decision.meeting.starts_at, "d MMMM y")
            ),
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "url": pdf,
                        "title": f"{referral.case_number}-{decision.id}.pdf",
                        "creation": _instant(validated_at),
                    }
                }
            ],
            "context": {
                "related": [
                    _ref("CarePlan", careplan_id(decision)),
                    _ref("Composition", sheet_id(decision)),
                ]
            },
        }
    )


def adverse_event_resource(record: CaseRecord, event: AdverseEvent) -> Resource:
    referral = record.referral
    return validated(
        {
            "resourceType": "AdverseEvent",
            "id": adverse_event_id(event),
            "meta": _meta(record.changed, ("AdverseEvent", event.id, event.recorded_at)),
            "actuality": "actual",
            "subject": _ref("Patient", patient_id(referral.patient)),
            "event": {"text": event.description},
            "date": event.procedure.performed_on.isoformat(),
            "recordedDate": _instant(event.recorded_at),
            # The CIRSE classification has no code system: its grade, in words.
            "severity": {"text": str(CIRSE_GRADES[event.cirse_grade])},
            "suspectEntity": [{"instance": _ref("Procedure", procedure_id(event.procedure))}],
        }
    )


# --- a whole case -----------------------------------------------------------------


def case_resources(record: CaseRecord) -> Iterator[Resource]:
    """Every resource of one case, the patient first."""
    referral = record.referral
    yield patient_resource(referral.patient, record.changed)
    yield service_request_resource(record)
    yield condition_resource(record)
    yield from baseline_observations(record)
    for decision in record.decisions:
        yield careplan_resource(record, decision)
        if decision.status is DecisionStatus.VALIDATED:
            yield sheet_composition(record, decision)
            yield sheet_reference(record, decision)
    for procedure in record.procedures:
        yield procedure_resource(record, procedure)
        for event in procedure.adverse_events:
            yield adverse_event_resource(record, event)
    for assessment in record.assessments:
        yield from assessment_observations(record, assessment)
        if assessment.mode is AssessmentMode.SELF_REPORTED:
            yield questionnaire_response(record, assessment)


@dataclass(frozen=True)
class Entry:
    resource: Resource

    @property
    def full_url(self) -> str:
        return f"{fhir_base()}/{self.resource.get_resource_type()}/{self.resource.id}"


def bundle(
    resources: Iterable[Resource],
    *,
    bundle_type: str,
    bundle_id: str | None = None,
    timestamp: datetime | None = None,
    total: int | None = None,
    links: list[tuple[str, str]] = (),  # type: ignore[assignment]
    search: bool = False,
) -> Resource:
    entries = []
    for resource in resources:
        entry: dict[str, Any] = {
            "fullUrl": Entry(resource).full_url,
            "resource": as_json(resource),
        }
        if search:
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    return validated(
        {
            "resourceType": "Bundle",
            "id": bundle_id,
            "meta": {"lastUpdated": _instant(timestamp)} if timestamp else {},
            "type": bundle_type,
            "timestamp": _instant(timestamp),
            "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links],
            "entry": entries,
        }
    )


def case_bundle(record: CaseRecord, now: datetime) -> Resource:
    """One case as a Bundle of type collection."""
    return bundle(
        case_resources(record),
        bundle_type="collection",
        bundle_id=f"case-{record.referral.id}",
        timestamp=now,
    )
