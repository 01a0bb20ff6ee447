"""CSV exports that are safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula: a value typed into the
application could then run on the computer of whoever opens the export.  Such
cells get a leading apostrophe, which spreadsheets show as plain text.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, stream_with_context

logger = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One value as a cell a spreadsheet will not execute.  Numbers stay numbers
    (a negative one is not a formula)."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _lines(
    header: list[str], rows: Iterable[Iterable[Any]], *, neutralised: bool = False
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark so that spreadsheets read the accents as UTF-8.
    buffer.write("\ufeff")
    writer.writerow([csv_cell(title) for title in header])
    for row in rows:
        writer.writerow(row if neutralised else [csv_cell(value) for value in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(
    filename: str,
    header: list[str],
    rows: Iterable[Iterable[Any]],
    *,
    neutralised: bool = False,
) -> Response:
    """A CSV download, written as the rows are read (large exports stay small in
    memory).  ``neutralised``: the rows' cells are already safe (the exporter
    neutralised the cells people type, and only those)."""
    lines = _lines(header, rows, neutralised=neutralised)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
