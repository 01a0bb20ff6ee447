"""What every view does the same way: save once, report refusals, redirect safely."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.routing import IntegerConverter

from tracker.core.errors import DomainError, Forbidden
from tracker.core.locking import EditConflict, Versioned
from tracker.core.once import AlreadySaved, FormSubmission, submission_for
from tracker.extensions import db
from tracker.web.forms import INT_LIMIT, VersionedForm, apply_domain_error

#: Status of a page shown again because what was sent is invalid.
INVALID = 422
#: Status of a form shown again because it was made from an older version of
#: the record than the one saved meanwhile (see ``tracker.core.locking``).
CONFLICT = 409


@dataclass
class Outcome:
    ok: bool = False
    #: The refusal, when a service refused.
    error: DomainError | None = None


@contextmanager
def saving(
    form: FlaskForm | None = None, aliases: dict[str, str] | None = None
) -> Iterator[Outcome]:
    """Run the service calls of one request and commit them once.

    When a service refuses (``DomainError``) nothing is kept: the transaction
    is rolled back and the reason is shown on the form field it concerns, or
    as a message at the top of the page. ``outcome.ok`` tells which happened.
    A refusal of the user's permission on the object (``Forbidden``) is a 403.
    """
    outcome = Outcome()
    try:
        try:
            yield outcome
            db.session.flush()
        except StaleDataError:
            # A row changed under a save that did not check its version first:
            # refused like a stale form (what changed is not known here).
            raise EditConflict([]) from None
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, Forbidden):
            abort(403)
        outcome.error = error
        if isinstance(error, AlreadySaved):
            # The view leads to what was saved (``saved_before``).
            return
        if form is None or not apply_domain_error(form, error, aliases):
            flash(error.message, "danger")
        return
    db.session.commit()
    outcome.ok = True


def conflict_of(outcome: Outcome, form: VersionedForm, record: Any) -> EditConflict | None:
    """The conflict a save ran into, if it did. The form moves on to the
    record's current version, with everything the editor typed kept: saving
    again is made knowingly over the changes the page lists."""
    if not isinstance(outcome.error, EditConflict):
        return None
    if isinstance(record, Versioned):
        # Rolled back, hence expired: read again as it is now.
        form.version.data = record.version
    return outcome.error


def edit_status(form: FlaskForm, conflict: EditConflict | None) -> int:
    """409 for an edit form refused because it was stale, else as ``form_status``."""
    return CONFLICT if conflict is not None else form_status(form)


def saved_before(form: FlaskForm) -> FormSubmission | None:
    """What this one-time form (``OnceForm``) already created, with a message
    saying so; None when it is sent for the first time."""
    done = submission_for(form.once_key.data)
    if done is not None:
        flash(_("This was already saved."), "info")
    return done


def form_status(form: FlaskForm) -> int:
    """200 for a form shown for the first time, 422 when shown again with errors."""
    return INVALID if form.is_submitted() else 200


def safe_next_url(target: str | None, default: str | None = None) -> str:
    """``target`` if it is a path on this site, else ``default`` (the home page).

    Refusing absolute and scheme-relative URLs keeps ``?next=`` from sending
    users to another site after they log in.
    """
    fallback = default or url_for("pages.home")
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def current_path(request: Any) -> str:
    """The path and query of this request, for ``next=`` links."""
    return request.full_path if request.query_string else request.path


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to a page, outside any request (e-mails, calendars
    built by the scheduler), from the site's configured address."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, url_scheme=base.scheme or "http", script_name=base.path or "/"
    )
    return adapter.build(endpoint, values, force_external=True)


class RecordId(IntegerConverter):
    """``<int:...>`` in routes: a number a database id can be.  A larger one is
    simply not found (404), rather than an error from the database."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_LIMIT)
        super().__init__(map, *args, **kwargs)


def record_id(value: str | None) -> int | None:
    """An id sent in a form or a query string, or None if it cannot be one."""
    # ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses.
    if value is None or not re.fullmatch(r"[0-9]{1,10}", value):
        return None
    number = int(value)
    return number if 0 < number <= INT_LIMIT else None


#: The furthest page a list goes to: beyond, an offset would overflow the
#: database's integers (a 500), and no list is that long.
MAX_PAGE = 100_000


def page_number() -> int:
    """``?page=`` as a page number: anything that is not one (negative, huge,
    not a number) is read as the nearest page that is."""
    raw = request.args.get("page", "")
    if not re.fullmatch(r"\+?[0-9]{1,12}", raw.strip()):
        return MAX_PAGE if re.fullmatch(r"\+?[0-9]+", raw.strip()) else 1
    return min(max(int(raw), 1), MAX_PAGE)


class CappedPagination(Pagination):
    """The first ``cap`` rows of a query, in pages: one query of at most
    ``cap + 1`` rows, in the query's order, and no count of every match
    (``capped`` says there were more)."""

    capped = False

    def _query_items(self) -> list[Any]:
        cap = self._query_args["cap"]
        rows = list(db.session.execute(self._query_args["select"].limit(cap + 1)).scalars())
        self.capped = len(rows) > cap
        self._kept = rows[:cap]
        return self._kept[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._kept)


def paginate(
    query: Any, *, per_page: int, max_per_page: int | None = None, cap: int | None = None
) -> Any:
    """One page of ``query`` for a list page, the page number read from the
    request and clamped (every paginated list goes through here). With
    ``cap``, only the first ``cap`` rows are paged (see ``CappedPagination``)."""
    if cap is not None:
        return CappedPagination(
            page=page_number(),
            per_page=per_page,
            max_per_page=max_per_page,
            error_out=False,
            select=query,
            cap=cap,
        )
    return db.paginate(
        query,
        page=page_number(),
        per_page=per_page,
        max_per_page=max_per_page,
        error_out=False,
    )
