"""The case's FHIR bundle, the read-only FHIR API, and its clients' admin page."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fhir.resources.R4B.resource import Resource
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tracker.cases.models import Referral
from tracker.cases.permissions import TEAM
from tracker.core.audit import AuditAction, record_access, set_request_actor
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import local_today, utcnow
from tracker.decisions.models import AdverseEvent, Decision, Procedure
from tracker.extensions import db
from tracker.fhir import queries, resources, services
from tracker.fhir.forms import ApiClientForm
from tracker.fhir.models import ApiClient
from tracker.followups.models import Assessment
from tracker.web.forms import ConfirmForm
from tracker.web.handlers import form_status, record_id, saved_before, saving
from tracker.web.permissions import Role, by_link, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT, MAX_COUNT = 20, 100


# --- the case page ------------------------------------------------------------------


def case_section(referral: Referral) -> dict[str, Any]:
    """The case page's block offering the FHIR bundle (no query)."""
    return {"bundle_url": url_for("fhir.case_bundle", referral_id=referral.id)}


@bp.route("/cases/<int:referral_id>/fhir.json")
@require_role(*TEAM)
def case_bundle(referral_id: int) -> Response:
    records = queries.load_cases([referral_id])
    if not records:
        abort(404)
    record = records[0]
    referral = record.referral
    document = resources.case_bundle(record, utcnow())
    record_access(
        AuditAction.DOWNLOAD,
        "Referral",
        referral.id,
        referral_id=referral.id,
        patient_id=referral.patient_id,
        details={"format": "fhir"},
    )
    response = _fhir_response(document)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{referral.case_number}-fhir.json"'
    )
    return response


# --- the API: answers ---------------------------------------------------------------


def _fhir_response(resource: Resource | dict[str, Any], status: int = 200) -> Response:
    body = (
        json.dumps(resource, ensure_ascii=False)
        if isinstance(resource, dict)
        else resource.model_dump_json(exclude_none=True)
    )
    response = Response(body, status=status, mimetype=FHIR_JSON)
    response.headers["Cache-Control"] = "no-store"
    return response


def outcome(status: int, code: str, text: str) -> Response:
    """An error, as FHIR says it: an OperationOutcome."""
    issue = {"severity": "error", "code": code, "diagnostics": text}
    response = _fhir_response(
        {"resourceType": "OperationOutcome", "issue": [issue]},
        status,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fhir"'
    return response


class Refusal(Exception):
    """A request the API answers with an OperationOutcome."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.response = outcome(status, code, text)


def _client() -> ApiClient:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(401, "login", "A bearer token is required (Authorization: Bearer ...).")
    client = services.client_for_token(token.strip())
    if client is None:
        raise Refusal(401, "login", "The token is unknown, revoked or expired.")
    # The audit trail names the client (it is not a user account).
    set_request_actor(None, f"FHIR API: {client.name}")
    return client


def _allowed(client: ApiClient, resource_type: str) -> None:
    if resource_type not in services.RESOURCE_TYPES:
        raise Refusal(404, "not-supported", f"This server does not serve {resource_type[:40]}.")
    if not client.allows(resource_type):
        raise Refusal(403, "forbidden", f"The client's scopes do not include {resource_type}.")


def _api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Answers refusals as OperationOutcomes."""

    def wrapped(**values: Any) -> Response:
        try:
            return view(**values)
        except Refusal as refusal:
            return refusal.response

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _audit(
    client: ApiClient,
    resource_type: str,
    entity_id: str,
    found: Iterable[Resource],
    referral_id: int | None = None,
) -> None:
    """Every answer is a read, recorded once per patient it shows."""
    patient_ids: list[int | None] = [
        *sorted({pid for resource in found if (pid := _patient_of(resource))})
    ]
    details = {"client": client.name, "client_id": client.id, "query": request.full_path[:300]}
    for patient_id in patient_ids or [None]:
        record_access(
            AuditAction.VIEW,
            resource_type,
            entity_id,
            referral_id=referral_id,
            patient_id=patient_id,
            details=details,
        )


PATIENT_REF = re.compile(r"(?:Patient/)?patient-([0-9]{1,10})")


def _patient_of(resource: Resource) -> int | None:
    if resource.get_resource_type() == "Patient":
        reference = f"Patient/{resource.id}"
    else:
        subject = getattr(resource, "subject", None)
        reference = getattr(subject, "reference", None) or ""
    match = PATIENT_REF.fullmatch(reference)
    return record_id(match.group(1)) if match else None


# --- the API: routes ----------------------------------------------------------------


@bp.route("/fhir/metadata")
@by_link  # no staff login: the bearer token is the key, checked by each call
@shows_no_patient_data
@_api
def metadata() -> Response:
    """The CapabilityStatement: what this server serves, for anyone to read."""
    searches = {
        "Patient": [("identifier", "token")],
        "ServiceRequest": [("patient", "reference")],
        "Condition": [("patient", "reference")],
        "Observation": [("patient", "reference"), ("code", "token"), ("date", "date")],
        "Procedure": [("patient", "reference")],
        "CarePlan": [("patient", "reference")],
        "AdverseEvent": [("subject", "reference")],
        "Composition": [("patient", "reference")],
        "DocumentReference": [("patient", "reference")],
        "QuestionnaireResponse": [("patient", "reference")],
    }
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": local_today().isoformat(),
        "kind": "instance",
        "software": {"name": "RCP Tracker"},
        "implementation": {
            "description": "RCP Tracker: pain cases in interventional radiology (read-only)",
            "url": resources.fhir_base(),
        },
        # What is served is R4: built with the R4B models, and checked against the
        # R4 schema too (tests/fhir/test_schema.py), for the R4 systems of hospitals.
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer tokens of clients registered by the site's "
                    "administrators, with SMART scopes such as system/Observation.read."
                },
                "resource": [
                    {
                        "type": kind,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": name, "type": kind_of} for name, kind_of in searches[kind]
                        ]
                        + [{"name": "_count", "type": "number"}],
                    }
                    for kind in services.RESOURCE_TYPES
                ]
                + [
                    {"type": "Bundle", "interaction": [{"code": "read"}]},
                    {"type": "Questionnaire", "interaction": [{"code": "read"}]},
                ],
            }
        ],
    }
    return _fhir_response(resources.validated(statement))


#: The id of each resource type: the case it belongs to is found from it.
ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "Patient": re.compile(r"patient-([0-9]{1,10})"),
    "ServiceRequest": re.compile(r"referral-([0-9]{1,10})"),
    "Condition": re.compile(r"condition-([0-9]{1,10})"),
    "Observation": re.compile(
        r"(referral|assessment)-([0-9]{1,10})-(now|average|worst|dn4|pgic|relief)"
    ),
    "Procedure": re.compile(r"procedure-([0-9]{1,10})"),
    "CarePlan": re.compile(r"decision-([0-9]{1,10})"),
    "AdverseEvent": re.compile(r"adverse-event-([0-9]{1,10})"),
    "Composition": re.compile(r"decision-sheet-([0-9]{1,10})"),
    "DocumentReference": re.compile(r"decision-sheet-([0-9]{1,10})-pdf"),
    "QuestionnaireResponse": re.compile(r"assessment-([0-9]{1,10})-answers"),
}


def _case_of(resource_type: str, resource_id: str) -> int | None:
    """The case (referral id) a resource id belongs to; None if there is none."""
    match = ID_PATTERNS[resource_type].fullmatch(resource_id)
    if match is None:
        return None
    number = record_id(match.groups()[-1] if resource_type != "Observation" else match.group(2))
    if number is None:
        return None
    if resource_type == "Patient":
        return db.session.scalar(
            select(Referral.id).where(Referral.patient_id == number).order_by(Referral.id).limit(1)
        )
    if resource_type in ("ServiceRequest", "Condition"):
        return number
    if resource_type == "Observation" and match.group(1) == "referral":
        return number
    if resource_type in ("Observation", "QuestionnaireResponse"):
        return db.session.scalar(select(Assessment.referral_id).where(Assessment.id == number))
    column = {
        "Procedure": Procedure.referral_id,
        "CarePlan": Decision.referral_id,
        "Composition": Decision.referral_id,
        "DocumentReference": Decision.referral_id,
    }.get(resource_type)
    if column is not None:
        return db.session.scalar(select(column).where(column.table.c.id == number))
    return db.session.scalar(
        select(Procedure.referral_id)
        .join(AdverseEvent, AdverseEvent.procedure_id == Procedure.id)
        .where(AdverseEvent.id == number)
    )


@bp.route("/fhir/<resource_type>/<resource_id>")
@by_link
@_api
def read(resource_type: str, resource_id: str) -> Response:
    if (resource_type, resource_id) == ("Questionnaire", resources.QUESTIONNAIRE_ID):
        # Its canonical URL: a form, with no patient in it, open to anyone.
        return _fhir_response(resources.questionnaire_resource())
    client = _client()
    if resource_type == "Bundle":
        return _case_bundle(client, resource_id)
    _allowed(client, resource_type)
    referral_id = _case_of(resource_type, resource_id)
    records = queries.load_cases([referral_id]) if referral_id is not None else []
    for record in records:
        for resource in resources.case_resources(record):
            if resource.get_resource_type() == resource_type and resource.id == resource_id:
                # A resource of one case: the case's history shows the read too.
                _audit(client, resource_type, resource_id, [resource], record.referral.id)
                return _fhir_response(resource)
    raise Refusal(404, "not-found", f"{resource_type}/{resource_id[:64]} is not known.")


CASE_BUNDLE = re.compile(r"case-([0-9]{1,10})")


def _case_bundle(client: ApiClient, resource_id: str) -> Response:
    """A whole case, as the case page downloads it: for a client that may read
    every type it holds."""
    if not all(client.allows(kind) for kind in services.RESOURCE_TYPES):
        raise Refusal(403, "forbidden", "A case's Bundle needs the scope system/*.read.")
    match = CASE_BUNDLE.fullmatch(resource_id)
    number = record_id(match.group(1)) if match else None
    records = queries.load_cases([number]) if number is not None else []
    if not records:
        raise Refusal(404, "not-found", f"Bundle/{resource_id[:64]} is not known.")
    record = records[0]
    document = resources.case_bundle(record, utcnow())
    patient = resources.patient_resource(record.referral.patient)
    _audit(client, "Bundle", resource_id, [patient], record.referral.id)
    return _fhir_response(document)


#: The search parameters each type takes (besides _count and _offset).
SEARCH_PARAMETERS = {
    "Patient": {"identifier"},
    "ServiceRequest": {"patient", "patient:identifier"},
    "Condition": {"patient", "patient:identifier"},
    "Observation": {"patient", "subject", "patient:identifier", "code", "date"},
    "Procedure": {"patient", "patient:identifier"},
    "CarePlan": {"patient", "patient:identifier"},
    "AdverseEvent": {"subject", "patient:identifier"},
    "Composition": {"patient", "patient:identifier"},
    "DocumentReference": {"patient", "patient:identifier"},
    "QuestionnaireResponse": {"patient", "patient:identifier"},
}
PAGING = {"_count", "_offset"}


@bp.route("/fhir/<resource_type>")
@by_link
@_api
def search(resource_type: str) -> Response:
    client = _client()
    if resource_type == "Bundle":
        raise Refusal(404, "not-supported", "A case's Bundle is read by its id: Bundle/case-<n>.")
    _allowed(client, resource_type)
    args = request.args
    unknown = sorted(set(args) - SEARCH_PARAMETERS[resource_type] - PAGING)
    if unknown:
        raise Refusal(400, "not-supported", f"Unknown search parameter: {unknown[0][:40]}.")
    count = _number(args.get("_count"), "_count", DEFAULT_COUNT, 1, MAX_COUNT)
    offset = _number(args.get("_offset"), "_offset", 0, 0, 1_000_000)
    if resource_type == "Patient":
        found = _patients(args.get("identifier"))
    else:
        found = _of_patient(resource_type, args)
    page = found[offset : offset + count]
    links = [("self", _page_url(resource_type, offset, count))]
    if offset + count < len(found):
        links.append(("next", _page_url(resource_type, offset + count, count)))
    if offset > 0:
        links.append(("previous", _page_url(resource_type, max(0, offset - count), count)))
    result = resources.bundle(
        page,
        bundle_type="searchset",
        timestamp=utcnow(),
        total=len(found),
        links=links,
        search=True,
    )
    _audit(client, resource_type, "search", page)
    return _fhir_response(result)


def _number(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise Refusal(400, "invalid", f"{name} must be a whole number from {low} to {high}.")
    return int(raw)


def _page_url(resource_type: str, offset: int, count: int) -> str:
    kept = [(key, value) for key, value in request.args.items(multi=True) if key not in PAGING]
    kept += [("_count", str(count)), ("_offset", str(offset))]
    return f"{resources.fhir_base()}/{resource_type}?{urlencode(kept)}"


def _token(raw: str) -> tuple[str | None, str]:
    """A token search value: "system|code", "|code" or "code"."""
    if "|" in raw:
        system, _sep, code = raw.partition("|")
        return system or None, code
    return None, raw


def _patient_by_identifier(raw: str | None) -> Any:
    if not raw:
        raise Refusal(400, "required", "Give the patient's identifier (system|value).")
    system, value = _token(raw)
    if system is not None and system != resources.identifier_system():
        return None
    return queries.patient_by_mrn(value[:40])


def _patients(identifier: str | None) -> list[Resource]:
    patient = _patient_by_identifier(identifier)
    if patient is None:
        return []
    return [resources.patient_resource(patient, queries.last_changes([], {patient.id}))]


def _of_patient(resource_type: str, args: Any) -> list[Resource]:
    """The resources of this type across a patient's cases, filtered."""
    if "patient:identifier" in args:
        patient = _patient_by_identifier(args.get("patient:identifier"))
        patient_id = None if patient is None else patient.id
    else:
        raw = args.get("patient") or args.get("subject")
        if not raw:
            raise Refusal(400, "required", "Search by patient: patient=Patient/<id>.")
        match = PATIENT_REF.fullmatch(raw)
        if match is None:
            raise Refusal(400, "invalid", "patient must be Patient/patient-<number>.")
        patient_id = record_id(match.group(1))
    if patient_id is None:
        return []
    keep = _filters(resource_type, args)
    found = []
    for record in queries.load_cases(queries.patient_case_ids(patient_id)):
        for resource in resources.case_resources(record):
            if resource.get_resource_type() == resource_type and keep(resource):
                found.append(resource)
    return found


DATE_PREFIXES = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _filters(resource_type: str, args: Any) -> Callable[[Resource], bool]:
    if resource_type != "Observation":
        return lambda resource: True
    codes = [_token(value) for raw in args.getlist("code") for value in raw.split(",") if value]
    dates = []
    for raw in args.getlist("date"):
        prefix, text = (raw[:2], raw[2:]) if raw[:2] in DATE_PREFIXES else ("eq", raw)
        try:
            dates.append((DATE_PREFIXES[prefix], date.fromisoformat(text)))
        except ValueError:
            raise Refusal(400, "invalid", "date must be [eq|ne|lt|le|gt|ge]YYYY-MM-DD.") from None

    def keep(resource: Any) -> bool:
        if codes:
            codings = resource.code.coding or []
            if not any(
                coding.code == code and (system is None or coding.system == system)
                for system, code in codes
                for coding in codings
            ):
                return False
        if dates:
            effective = date.fromisoformat(str(resource.effectiveDateTime)[:10])
            if not all(test(effective, day) for test, day in dates):
                return False
        return True

    return keep


# --- the clients' admin page --------------------------------------------------------


@bp.route("/admin/fhir-clients", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def clients() -> Any:
    form = ApiClientForm()
    new_token = None
    if form.validate_on_submit():
        # A form sent twice registers one client; its token was shown once.
        if saved_before(form):
            return redirect(url_for("fhir.clients"))
        with saving(form) as saved:
            client, token = services.register_client(
                name=form.name.data,
                scopes=list(form.scopes.data or []),
                expires_on=form.expires_on.data,
                by=current_user,
            )
            remember(form.once_key.data, "api_client", client.id, user_id=current_user.id)
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(url_for("fhir.clients"))
        if saved.ok:
            flash(_("“%(name)s” may now read the FHIR API.", name=client.name), "success")
            new_token = token
            form = ApiClientForm(formdata=None)
    return render_template(
        "fhir/clients.html",
        form=form,
        revoke_form=ConfirmForm(),
        clients=services.all_clients(),
        new_token=new_token,
        now=utcnow(),
        base=resources.fhir_base(),
    ), (200 if new_token else form_status(form))


@bp.route("/admin/fhir-clients/<int:client_id>/revoke", methods=["POST"])
@require_role(Role.ADMIN)
def client_revoke(client_id: int) -> Any:
    client = db.get_or_404(ApiClient, client_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with saving() as saved:
            services.revoke_client(client, by=current_user)
        if saved.ok:
            flash(_("“%(name)s” can no longer read the FHIR API.", name=client.name), "success")
    return redirect(url_for("fhir.clients"))
