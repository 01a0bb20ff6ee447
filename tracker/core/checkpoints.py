"""Checkpoints of the audit trail kept outside the database.

Each day the scheduler appends the chain's head (entry id, MAC, time) to a
file of the day in the backup folder.  The MACs make entries impossible to
forge without the audit key, but someone who can write to the database can
still delete the newest entries (the chain that remains is intact) or put back
an older copy of the trail.  A checkpoint written before that names an entry
that is gone or that has another MAC: ``flask --app tracker audit verify
--checkpoints DIR`` says so.  Entries newer than the last checkpoint are not
covered: the checkpoints bound what can be hidden to less than a day.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from tracker.core.audit import AuditEntry, verify_chain
from tracker.core.time import site_timezone

logger = logging.getLogger(__name__)

FILE_PATTERN = "audit-checkpoint-*.jsonl"


class CheckpointRefused(RuntimeError):
    """The trail does not verify: no checkpoint vouches for it."""


@dataclass(frozen=True)
class Checkpoint:
    entry_id: int
    mac: str
    written_at: str
    keyed_since: int | None
    #: ``file:line``, to say which checkpoint a problem comes from.
    source: str


def checkpoint_file(folder: Path, now: datetime) -> Path:
    return folder / f"audit-checkpoint-{now.astimezone(site_timezone()):%Y-%m-%d}.jsonl"


def read_checkpoints(folder: Path) -> Iterator[Checkpoint | str]:
    """The checkpoints in ``folder``, oldest file first; a line that cannot be
    read comes as a message."""
    for path in sorted(folder.glob(FILE_PATTERN)):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                source = f"{path.name}:{number}"
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    yield Checkpoint(
                        int(data["entry_id"]),
                        str(data["mac"]),
                        str(data["written_at"]),
                        None if data.get("keyed_since") is None else int(data["keyed_since"]),
                        source,
                    )
                except (ValueError, KeyError, TypeError):
                    yield f"{source}: not a checkpoint (unreadable line)"


def latest_checkpoint(folder: Path) -> Checkpoint | None:
    found = [item for item in read_checkpoints(folder) if isinstance(item, Checkpoint)]
    return max(found, key=lambda checkpoint: checkpoint.entry_id, default=None)


def write_checkpoint(connection: Connection, folder: Path, now: datetime) -> dict[str, int]:
    """Check the trail, then append its head to the day's checkpoint file.

    A trail that does not verify gets no checkpoint: the job fails instead (and
    the administrators see it on the background jobs page).
    """
    report = verify_chain(connection)
    if not report.intact:
        raise CheckpointRefused(f"audit trail broken at entry {report.broken_at}: {report.problem}")
    if report.head_id is None:
        return {"skipped": 1}
    folder.mkdir(parents=True, exist_ok=True)
    previous = latest_checkpoint(folder)
    if previous is not None:
        problem = check_one(connection, previous, report.keyed_since)
        if problem is not None:
            raise CheckpointRefused(problem)
    record: dict[str, Any] = {
        "entry_id": report.head_id,
        "mac": report.head,
        "keyed_since": report.keyed_since,
        "written_at": now.isoformat(timespec="seconds"),
    }
    # Appended, never rewritten: one line per run, one file per day.
    fd = os.open(checkpoint_file(folder, now), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    logger.info("Audit checkpoint: entry %s", report.head_id)
    return {"entry": report.head_id, "entries": report.checked}


def check_one(
    connection: Connection, checkpoint: Checkpoint, keyed_since: int | None
) -> str | None:
    """What is wrong with the trail according to one checkpoint, if anything."""
    mac = connection.scalar(
        select(AuditEntry.entry_hash).where(AuditEntry.id == checkpoint.entry_id)
    )
    if mac is None:
        newest = connection.scalar(select(func.max(AuditEntry.id)))
        return (
            f"{checkpoint.source}: entry {checkpoint.entry_id}, the head of the trail on "
            f"{checkpoint.written_at}, is gone (the newest entry is now {newest}): "
            "the trail was truncated or replaced"
        )
    if mac != checkpoint.mac:
        return (
            f"{checkpoint.source}: entry {checkpoint.entry_id} no longer has the MAC it had on "
            f"{checkpoint.written_at}: the trail was rewritten from there on"
        )
    if checkpoint.keyed_since is not None and checkpoint.keyed_since != keyed_since:
        return (
            f"{checkpoint.source}: the trail was keyed from entry {checkpoint.keyed_since} on, "
            f"now from {keyed_since}: the trail was rewritten"
        )
    return None


@dataclass(frozen=True)
class CheckpointReport:
    checked: int
    problems: list[str]
    newest: Checkpoint | None

    @property
    def intact(self) -> bool:
        return self.checked > 0 and not self.problems


def verify_checkpoints(
    connection: Connection, folder: Path, keyed_since: int | None
) -> CheckpointReport:
    """Every checkpoint in ``folder`` against the trail."""
    checked, problems, newest = 0, [], None
    for item in read_checkpoints(folder):
        if isinstance(item, str):
            problems.append(item)
            continue
        checked += 1
        problem = check_one(connection, item, keyed_since)
        if problem is not None:
            problems.append(problem)
        if newest is None or item.entry_id >= newest.entry_id:
            newest = item
    if not checked and not problems:
        problems.append(f"no checkpoint ({FILE_PATTERN}) in {folder}")
    return CheckpointReport(checked, problems, newest)
