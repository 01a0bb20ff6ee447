"""Where the follow-up worklist and the meeting page spend their time, per row.

    .venv/bin/python bench/profile_pages.py [--cases 1000] [--rows 30 300] [--top 25]

Uses the benchmark's cached synthetic database of that size (built if
missing, see ``bench/run.py``). For each page it renders the page with a
small and a large number of rows (the worklist's row cap raised; the meeting
page's agenda filled with more cases on a private copy), takes the median of
several runs of each, and prints the cost of a row (the difference over the
rows added, in ms per 100 rows), then a cProfile of the large page sorted by
own time: what runs once per row shows up with a call count that is a
multiple of the rows. Single process, test client, no network: figures are
for comparison before/after a change on the same machine, not the bench's.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench_run


def timed(client: Any, url: str, runs: int) -> tuple[float, str]:
    """Median ms of ``runs`` GETs of ``url`` (after two warm-ups), and the page."""
    page = ""
    for _ in range(2):
        page = _get(client, url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        _get(client, url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), page


def _get(client: Any, url: str) -> str:
    response = client.get(url, base_url="https://localhost")
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return response.get_data(as_text=True)


def profiled(client: Any, url: str, runs: int, top: int) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(runs):
        _get(client, url)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    # The application's own functions and templates, by time spent inside them.
    stats.sort_stats("cumulative").print_stats(r"tracker|templates|babel|phonenumbers", top)
    return out.getvalue()


def fill_agenda(meeting_id: int, extra: int) -> int:
    """Put up to ``extra`` more cases on the meeting's agenda (on the bench's
    private copy), room made for them; how many it now has."""
    from sqlalchemy import func, select

    from tracker.core.audit import acting_as
    from tracker.extensions import db
    from tracker.meetings import queries as meeting_queries
    from tracker.meetings import services as meeting_services
    from tracker.meetings.models import AgendaItem, Meeting

    meeting = db.get_or_404(Meeting, meeting_id)
    meeting.capacity = 1000
    waiting = meeting_queries.schedulable(None, limit=extra)
    with acting_as("benchmark"):
        for referral in waiting:
            try:
                meeting_services.add_to_agenda(meeting, referral, by=None)
            except Exception:
                db.session.rollback()
                meeting = db.get_or_404(Meeting, meeting_id)
    db.session.commit()
    return (
        db.session.scalar(
            select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
        )
        or 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000)
    parser.add_argument("--rows", type=int, nargs=2, default=(30, 300))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--html", type=Path, help="write the large pages here (to compare)")
    args = parser.parse_args()

    url, _ = bench_run.sqlite_database(args.cases, bench_run.SEED)
    bench = bench_run.Bench(url, 1)
    try:
        found = bench_run.targets(bench)
        clinician = bench.client("clinician@example.org")
        coordinator = bench.client("coordinator@example.org")
        from tracker.followups import queries

        small, large = args.rows
        worklist = "/followups?responsible_id="
        queries.WORKLIST_ROWS = small
        few_ms, few_page = timed(clinician, worklist, args.runs)
        queries.WORKLIST_ROWS = large
        many_ms, many_page = timed(clinician, worklist, args.runs)
        few_rows = few_page.count("worklist-row")
        many_rows = many_page.count("worklist-row")
        report("follow-up worklist", few_rows, few_ms, many_rows, many_ms)
        print(profiled(clinician, worklist, args.runs, args.top))

        meeting = f"/meetings/{found['meeting']}"
        few_ms, few_page = timed(coordinator, meeting, args.runs)
        few_rows = found["meeting_cases"]
        many_rows = fill_agenda(found["meeting"], large)
        many_ms, meeting_page = timed(coordinator, meeting, args.runs)
        report("meeting page", few_rows, few_ms, many_rows, many_ms)
        print(profiled(coordinator, meeting, args.runs, args.top))
        if args.html:
            args.html.mkdir(parents=True, exist_ok=True)
            (args.html / "worklist.html").write_text(many_page)
            (args.html / "meeting.html").write_text(meeting_page)
    finally:
        bench.close()


def report(name: str, few_rows: int, few_ms: float, many_rows: int, many_ms: float) -> None:
    per_100 = (many_ms - few_ms) / max(1, many_rows - few_rows) * 100
    print(
        f"{name}: {few_rows} rows {few_ms:.1f} ms, {many_rows} rows {many_ms:.1f} ms"
        f" -> {per_100:.1f} ms per 100 rows"
    )


if __name__ == "__main__":
    main()
