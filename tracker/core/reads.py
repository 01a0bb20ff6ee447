"""Every read of identified patient data is recorded, whatever the page.

Pages do not opt in.  The models that identify a patient (the patient record,
a referral) are registered with :func:`identifies_patients`; whenever a request
loads one of their rows, the case and the patient join the request's list of
what it showed.  Once the response is ready, a page that was shown (not a
redirect, not a refusal) writes ONE access entry naming the cases and patients
on it, in the short write transaction that follows every read-only page (see
``tracker.core.afterwards``).  A list page thus leaves one entry per page view
listing its case ids.

A view that records its reads itself with ``record_access`` (the case page,
meeting mode) covers the patients it names: they are not recorded twice.
Routes that show no patient data declare it with :func:`shows_no_patient_data`;
a test walks the URL map and fails on a page that shows a hospital number or a
patient's name without an access entry, and on a page that records nothing
without that declaration (deny by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Response, current_app, g, has_request_context, request
from sqlalchemy import event

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute a view carries when it shows no patient data.
NO_PATIENT_DATA = "shows_no_patient_data"
#: The attribute a view carries when its reader is the patient themself.
BY_THE_PATIENT = "read_by_the_patient"
_KEY = "_patient_data_shown"

#: Pages shown with a form's errors (422) or a conflict (409) still show the data.
_SHOWN_DESPITE_ERROR = frozenset({400, 409, 422})


def shows_no_patient_data(view: F) -> F:
    """Declare that a route shows no identified patient data (no read to record)."""
    setattr(view, NO_PATIENT_DATA, True)
    return view


def read_by_the_patient(view: F) -> F:
    """Declare a page of the patient's own (reached by the link sent to them):
    the reader is the patient, and the openings of the link are recorded by
    the feature that sent it, under the patient's name."""
    setattr(view, BY_THE_PATIENT, True)
    return view


def declared_without_patient_data(view: Any) -> bool:
    return bool(getattr(view, NO_PATIENT_DATA, False))


def declared_read_by_the_patient(view: Any) -> bool:
    return bool(getattr(view, BY_THE_PATIENT, False))


@dataclass
class Shown:
    """What one request showed: cases (referral id -> patient id) and patients."""

    referrals: dict[int, int | None] = field(default_factory=dict)
    patients: set[int] = field(default_factory=set)
    #: Patients already named by an access entry of this request.
    covered: set[int] = field(default_factory=set)
    #: Access entries the view asked for, written with the page's own.
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: The page repeats what an earlier request of it recorded (a live refresh).
    repeated: bool = False

    def uncovered(self) -> tuple[list[int], list[int]]:
        patients = (self.patients | {p for p in self.referrals.values() if p}) - self.covered
        cases = [r for r, p in sorted(self.referrals.items()) if p is None or p in patients]
        return cases, sorted(patients)


def _shown() -> Shown | None:
    """The request's collector, made when first needed."""
    if not has_request_context():
        return None
    shown = g.get(_KEY)
    if shown is None:
        shown = Shown()
        setattr(g, _KEY, shown)
    return shown


def note_shown(*, referral_id: int | None = None, patient_id: int | None = None) -> None:
    """The page shows this case or patient (called by the load hooks; a view
    that shows identities read without loading rows calls it itself)."""
    shown = _shown()
    if shown is None:
        return
    if referral_id is not None:
        shown.referrals.setdefault(referral_id, patient_id)
        if patient_id is not None:
            shown.referrals[referral_id] = patient_id
    elif patient_id is not None:
        shown.patients.add(patient_id)


def note_covered(patient_id: int | None) -> None:
    """An access entry naming this patient was written in this request."""
    shown = _shown()
    if shown is not None and patient_id is not None:
        shown.covered.add(patient_id)


def defer_entry(row: dict[str, Any]) -> None:
    """An access entry a read-only page asks for: written with the page's own,
    in the same statement, once the page is shown."""
    shown = _shown()
    if shown is None:  # only asked for inside a request
        raise RuntimeError("defer_entry outside a request")
    shown.rows.append(row)
    if row.get("patient_id") is not None:
        shown.covered.add(row["patient_id"])


def already_recorded() -> None:
    """This response repeats what an earlier request of the same page showed
    and recorded (a fragment fetched again every few seconds)."""
    shown = _shown()
    if shown is not None:
        shown.repeated = True


def identifies_patients(
    model: type,
    *,
    referral_id: Callable[[Any], int | None] | None = None,
    patient_id: Callable[[Any], int | None],
) -> None:
    """Rows of ``model`` identify a patient: loading one in a request is a read."""

    def loaded(target: Any, *args: Any) -> None:
        if not has_request_context():
            return
        note_shown(
            referral_id=referral_id(target) if referral_id else None,
            patient_id=patient_id(target),
        )

    event.listen(model, "load", loaded)
    event.listen(model, "refresh", loaded)


def _page_was_shown(response: Response) -> bool:
    status = response.status_code
    return status < 300 or status in _SHOWN_DESPITE_ERROR


def record_reads(response: Response) -> Response:
    """``after_request`` hook: queue the page's access entries, written in one
    statement once the response is ready (see ``tracker.core.afterwards``).
    Registered after ``run_writes_after_response``, so it runs before it."""
    from tracker.core.afterwards import write_after_response
    from tracker.core.audit import AuditAction, append_entries

    shown: Shown | None = g.pop(_KEY, None)
    if shown is None:
        return response
    rows = [row for row in shown.rows if response.status_code < 400]
    cases, patients = shown.uncovered()
    endpoint = request.endpoint or ""
    view = current_app.view_functions.get(endpoint)
    if declared_read_by_the_patient(view):
        patients = []  # their own data, read by the patient
    if _page_was_shown(response) and patients and not shown.repeated:
        if declared_without_patient_data(view):
            logger.error("%s is declared without patient data but showed some", endpoint)
        rows.append(
            {
                "action": AuditAction.VIEW,
                "entity_type": "Page",
                "entity_id": endpoint[:64],
                "referral_id": cases[0] if len(cases) == 1 else None,
                "patient_id": patients[0] if len(patients) == 1 else None,
                "changes": {"page": endpoint, "cases": cases, "patients": patients},
            }
        )
    if rows:
        write_after_response(lambda response: append_entries(rows))
    return response
