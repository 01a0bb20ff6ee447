"""The benchmark: the pages users live on, at 1,000 and 100,000 cases.

    make bench                      (or: .venv/bin/python bench/run.py)

Builds (or reuses, keyed by size, seed, schema and generator) SQLite databases
of synthetic data in ``bench/cache/``, then measures, for each size, in one
process: the median and 95th percentile time of each page, the queries each
request runs, the CSV export of every assessment (rows per second and peak
memory growth) and one tick of each scheduler job (time and peak memory).
Writes ``bench/results.json``, prints a table and the budgets met or not; the
last line printed is one JSON object with the same figures.

With ``TRACKER_BENCH_DATABASE_URL`` (a PostgreSQL server), the same runs
against databases created there too.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "cache"
RESULTS = ROOT / "bench" / "results.json"
sys.path.insert(0, str(ROOT))

os.environ.setdefault("TRACKER_ENV", "production")
os.environ.setdefault("TRACKER_SECRET_KEY", "benchmark-only-secret-key-" + "x" * 32)
os.environ.setdefault("TRACKER_AUDIT_KEY", "benchmark-only-audit-key-" + "x" * 32)
os.environ.setdefault("TRACKER_LOG_LEVEL", "WARNING")

PASSWORD = "benchmark password 2026"  # noqa: S105 - synthetic accounts only
SIZES = (1_000, 100_000)
SEED = 1

#: Budgets of the issue, checked at the largest size.
INTERACTIVE_P95_MS = 50
GROWTH = 1.5
MAX_QUERIES = 12
OUTCOMES_P95_MS = 500
EXPORT_ROWS_PER_S = 50_000
EXPORT_MEMORY_MB = 100
JOB_SECONDS = 5


@dataclass
class Measure:
    name: str
    kind: str  # "page", "outcomes", "export", "job"
    median_ms: float = 0.0
    p95_ms: float = 0.0
    queries: int = 0
    samples: int = 0
    rows: int | None = None
    rows_per_s: float | None = None
    peak_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _fingerprint() -> str:
    """What the cached databases depend on: the migrations, the generator and
    the rules it draws through."""
    digest = hashlib.sha256()
    sources = sorted((ROOT / "migrations" / "versions").glob("*.py"))
    generator = sorted((ROOT / "tracker" / "demo").glob("*.py"))
    rules = sorted((ROOT / "tracker").glob("*/rules.py"))
    for path in [*sources, *generator, *rules]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _app(url: str) -> Any:
    from tracker import create_app

    instance = tempfile.mkdtemp(prefix="rcp-bench-")
    os.environ["TRACKER_INSTANCE_PATH"] = instance
    # Only GET pages are measured: logging in without a CSRF token is the one shortcut.
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})


def build(url: str, cases: int, seed: int) -> float:
    """Migrate and fill an empty database; the seconds it took to generate."""
    from flask_migrate import upgrade

    from tracker.core.audit import acting_as
    from tracker.core.db import writing
    from tracker.demo.synthetic import seed_synthetic
    from tracker.extensions import db

    app = _app(url)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        with acting_as("benchmark"), writing():
            summary = seed_synthetic(cases, seed, PASSWORD)
            db.session.commit()
        took = time.perf_counter() - started
        print(f"  generated {summary.cases} cases ({summary.rows} rows) in {took:.0f} s")
        db.engine.dispose()
    return took


def sqlite_database(cases: int, seed: int) -> tuple[str, float | None]:
    """A private copy of the cached database of this size (built if needed)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{cases}-seed{seed}-{_fingerprint()}.db"
    took = None
    if not cached.exists():
        for stale in CACHE.glob(f"{cases}-seed{seed}-*.db"):
            stale.unlink()
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        print(f"Building {cached.name}")
        took = build(f"sqlite:///{partial}", cases, seed)
        partial.rename(cached)
    copy = Path(tempfile.mkdtemp(prefix="rcp-bench-db-")) / "bench.db"
    shutil.copyfile(cached, copy)
    return f"sqlite:///{copy}", took


def postgresql_database(base_url: str, cases: int, seed: int) -> tuple[str, float | None]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"rcp_bench_{cases}_{seed}_{_fingerprint()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            for (stale,) in connection.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                {"prefix": f"rcp_bench_{cases}_{seed}_%"},
            ):
                connection.execute(text(f'DROP DATABASE "{stale}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = url.set(database=name).render_as_string(hide_password=False)
    took = None
    if not exists:
        print(f"Building PostgreSQL database {name}")
        took = build(target, cases, seed)
    return target, took


class _IsolatedClient:
    """A test client whose requests each run in a context of their own, as
    under a real server (the benchmark keeps an application context open)."""

    def __new__(cls, app: Any, response_class: Any, use_cookies: bool) -> Any:
        import contextvars

        from flask.testing import FlaskClient

        class Client(FlaskClient):
            def open(self, *args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("buffered", True)
                return contextvars.Context().run(super().open, *args, **kwargs)

        return Client(app, response_class, use_cookies=use_cookies)


#: Transaction control, not queries (the PostgreSQL writer lock is its BEGIN IMMEDIATE).
TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SELECT pg_advisory_xact_lock)\b", re.IGNORECASE
)


@contextmanager
def counting(engine: Any) -> Any:
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not TRANSACTION_CONTROL.match(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


class PeakMemory:
    """Growth of the process's peak resident memory over a block, from Linux's
    /proc (the peak is reset first), so that Python and SQLite allocations both
    count and nothing slows the code measured; tracemalloc elsewhere."""

    def __enter__(self) -> PeakMemory:
        self.proc = Path("/proc/self/status").exists() and _reset_peak()
        if not self.proc:
            tracemalloc.start()
        self.base = _rss_kb("VmRSS") if self.proc else tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc:
            self.mb = max(0, _rss_kb("VmHWM") - self.base) / 1024
        else:
            self.mb = (tracemalloc.get_traced_memory()[1] - self.base) / 1e6
            tracemalloc.stop()


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Bench:
    def __init__(self, url: str, iterations: int) -> None:
        from tracker.extensions import db

        self.app = _app(url)
        self.iterations = iterations
        self.context = self.app.app_context()
        self.context.push()
        self.engine = db.engine
        self.measures: list[Measure] = []

    def client(self, email: str | None) -> Any:
        client = _IsolatedClient(self.app, self.app.response_class, use_cookies=True)
        client.environ_base["wsgi.url_scheme"] = "https"  # cookies are Secure in production
        if email is not None:
            response = client.post(
                "/login", data={"email": email, "password": PASSWORD}, base_url="https://localhost"
            )
            if response.status_code != 302:
                raise RuntimeError(f"login as {email} failed: {response.status_code}")
        return client

    def page(self, name: str, client: Any, url: str, kind: str = "page") -> Measure:
        def get() -> Any:
            response = client.get(url, base_url="https://localhost")
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {response.status_code}")
            response.get_data()
            return response

        for _ in range(3):
            get()
        times, queries = [], []
        for _ in range(self.iterations):
            with counting(self.engine) as statements:
                started = time.perf_counter()
                get()
                times.append((time.perf_counter() - started) * 1000)
            queries.append(len(statements))
        measure = Measure(
            name,
            kind,
            median_ms=statistics.median(times),
            p95_ms=_percentile(times, 95),
            # The usual count: a session's periodic "last seen" write lands in
            # whichever request comes after its interval, whatever the page.
            queries=statistics.mode(queries),
            samples=len(times),
            extra={"queries_max": max(queries)},
        )
        self.measures.append(measure)
        return measure

    def export(self, name: str, client: Any, url: str) -> Measure:
        times, rows = [], 0
        for _ in range(3):
            started = time.perf_counter()
            response = client.get(url, base_url="https://localhost")
            body = response.get_data(as_text=True)
            times.append(time.perf_counter() - started)
            rows = sum(1 for _ in csv.reader(io.StringIO(body))) - 1
        with PeakMemory() as memory:
            client.get(url, base_url="https://localhost").get_data()
        best = min(times)
        measure = Measure(
            name,
            "export",
            median_ms=statistics.median(times) * 1000,
            p95_ms=max(times) * 1000,
            samples=len(times),
            rows=rows,
            rows_per_s=rows / best,
            peak_mb=memory.mb,
        )
        self.measures.append(measure)
        return measure

    def job(self, job_id: str) -> Measure:
        from tracker.core.scheduler import run_job

        now = datetime.now(UTC)
        with PeakMemory() as memory, counting(self.engine) as statements:
            started = time.perf_counter()
            run = run_job(job_id, now)
            took = time.perf_counter() - started
        measure = Measure(
            f"job: {job_id}",
            "job",
            median_ms=took * 1000,
            p95_ms=took * 1000,
            queries=len(statements),
            samples=1,
            peak_mb=memory.mb,
            extra={"outcome": run.outcome.name, "counts": run.counts},
        )
        self.measures.append(measure)
        return measure

    def close(self) -> None:
        from tracker.extensions import db

        db.session.remove()
        db.engine.dispose()
        self.context.pop()


def targets(bench: Bench) -> dict[str, Any]:
    """The objects the pages are measured on: found, not hard-coded."""
    from sqlalchemy import func, select

    from tracker.core.time import utcnow
    from tracker.extensions import db
    from tracker.followups.models import Assessment
    from tracker.meetings.models import AgendaItem, ItemState, Meeting

    long_case = db.session.execute(
        select(Assessment.referral_id, func.count())
        .group_by(Assessment.referral_id)
        .order_by(func.count().desc(), Assessment.referral_id)
        .limit(1)
    ).first()
    # A coming meeting with 30 cases on its agenda (the generator fills one).
    busy = db.session.execute(
        select(AgendaItem.meeting_id, func.count())
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.state == ItemState.PENDING, Meeting.starts_at > utcnow())
        .group_by(AgendaItem.meeting_id, Meeting.starts_at)
        .order_by(func.abs(func.count() - 30), Meeting.starts_at)
        .limit(1)
    ).first()
    from tracker.cases.models import Referral

    cases = db.session.scalar(select(func.count()).select_from(Referral))
    into_the_room(busy[0])
    db.session.remove()
    return {
        "case": long_case[0],
        "case_assessments": long_case[1],
        "meeting": busy[0],
        "meeting_cases": busy[1],
        "deep_page": max(1, int(cases / 25 * 0.8)),
    }


def into_the_room(meeting_id: int) -> None:
    """Start that meeting as its chair would, with a draft plan for its first
    case: meeting mode is measured as the room uses it (the decision form, the
    plan and the unit's results beside it). On the bench's private copy."""
    from sqlalchemy import func, select

    from tracker.auth.models import User
    from tracker.core.audit import acting_as
    from tracker.decisions import services as decision_services
    from tracker.decisions.models import Outcome, Procedure
    from tracker.extensions import db
    from tracker.meetings import services as meeting_services
    from tracker.meetings.models import Meeting

    meeting = db.session.get(Meeting, meeting_id)
    chair = db.session.get(User, meeting.chair_id)
    technique_id = db.session.scalar(
        select(Procedure.technique_id)
        .group_by(Procedure.technique_id)
        .order_by(func.count().desc())
        .limit(1)
    )
    team = db.session.scalars(select(User.id).where(User.specialty.is_not(None)).limit(8))
    with acting_as("benchmark"):
        meeting_services.set_members_present(meeting, set(team) | {chair.id}, by=None)
        # The meeting is a coming one: starting it before its day needs a reason.
        meeting_services.start_meeting(
            meeting, by=None, early_reason="Benchmark: meeting mode measured ahead of its day"
        )
        meeting_services.validate_attendance(meeting, by=chair)
        decision_services.save_draft(
            meeting.agenda[0],
            {"outcome": Outcome.PROCEDURE_PROPOSED, "reasons": "Refractory pain."},
            {"technique_id": technique_id, "target": "Benchmark target"},
            by=chair,
        )
    db.session.commit()


def measure_size(url: str, iterations: int) -> tuple[list[Measure], dict[str, Any]]:
    bench = Bench(url, iterations)
    try:
        found = targets(bench)
        anonymous = bench.client(None)
        clients = {
            role: bench.client(f"{role}@example.org")
            for role in ("admin", "coordinator", "radiologist", "clinician")
        }
        bench.page("login page", anonymous, "/login")
        for role, client in clients.items():
            bench.page(f"home: {role}", client, "/")
        bench.page("follow-up worklist", clients["clinician"], "/followups")
        bench.page("case list", clients["coordinator"], "/cases")
        bench.page("case search", clients["coordinator"], "/cases?q=martin&status=FOLLOW_UP")
        bench.page(
            "case list, deep page", clients["coordinator"], f"/cases?page={found['deep_page']}"
        )
        bench.page("case page", clients["radiologist"], f"/cases/{found['case']}")
        bench.page("case chart", clients["radiologist"], f"/cases/{found['case']}/trajectory.svg")
        bench.page("meeting page", clients["coordinator"], f"/meetings/{found['meeting']}")
        room = f"/meetings/{found['meeting']}/mode"
        # Measured as the room uses it: the decision form, with the unit's results.
        page = clients["radiologist"].get(room, base_url="https://localhost").get_data(True)
        if 'id="decision-form"' not in page or 'id="evidence-overall"' not in page:
            raise RuntimeError("meeting mode: no decision form or no unit's results to measure")
        bench.page("meeting mode", clients["radiologist"], room)
        bench.page("outcomes", clients["coordinator"], "/outcomes", kind="outcomes")
        bench.export(
            "export: all assessments", clients["coordinator"], "/outcomes/exports/assessments.csv"
        )
        from tracker.core.scheduler import jobs

        for spec in jobs():
            bench.job(spec.id)
        return bench.measures, found
    finally:
        bench.close()


def check(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The budgets, at the largest size, against the smallest."""
    sizes = sorted(results, key=int)
    small, large = results[sizes[0]]["measures"], results[sizes[-1]]["measures"]
    small_by_name = {m["name"]: m for m in small}
    checks = []

    def add(what: str, value: Any, limit: Any, ok: bool) -> None:
        checks.append({"budget": what, "value": value, "limit": limit, "met": bool(ok)})

    for m in large:
        base = small_by_name.get(m["name"])
        if m["kind"] == "page":
            add(f"{m['name']}: p95 ms", round(m["p95_ms"], 1), INTERACTIVE_P95_MS,
                m["p95_ms"] <= INTERACTIVE_P95_MS)  # fmt: skip
            if base:
                # Below a few milliseconds, the ratio of two timings is noise.
                limit = max(GROWTH * base["p95_ms"], 5.0)
                add(f"{m['name']}: p95 vs {sizes[0]} cases", round(m["p95_ms"], 1),
                    round(limit, 1), m["p95_ms"] <= limit)  # fmt: skip
                add(f"{m['name']}: queries", m["queries"], f"{base['queries']}, <= {MAX_QUERIES}",
                    m["queries"] == base["queries"] and m["queries"] <= MAX_QUERIES)  # fmt: skip
        elif m["kind"] == "outcomes":
            add("outcomes: p95 ms", round(m["p95_ms"], 1), OUTCOMES_P95_MS,
                m["p95_ms"] <= OUTCOMES_P95_MS)  # fmt: skip
            if base:
                add("outcomes: queries", m["queries"], base["queries"],
                    m["queries"] == base["queries"])  # fmt: skip
        elif m["kind"] == "export":
            add("export: rows per second", round(m["rows_per_s"]), EXPORT_ROWS_PER_S,
                m["rows_per_s"] >= EXPORT_ROWS_PER_S)  # fmt: skip
            add("export: peak memory MB", round(m["peak_mb"], 1), EXPORT_MEMORY_MB,
                m["peak_mb"] < EXPORT_MEMORY_MB)  # fmt: skip
        elif m["kind"] == "job":
            add(f"{m['name']}: seconds", round(m["median_ms"] / 1000, 2), JOB_SECONDS,
                m["median_ms"] / 1000 < JOB_SECONDS)  # fmt: skip
    return checks


def table(results: dict[str, Any]) -> str:
    sizes = sorted(results, key=int)
    names = [m["name"] for m in results[sizes[0]]["measures"]]
    by_size = {size: {m["name"]: m for m in results[size]["measures"]} for size in sizes}
    header = ["", *[f"{int(size):,} cases: median / p95 ms, queries" for size in sizes]]
    lines = [" | ".join(header), " | ".join(["---"] * len(header))]
    for name in names:
        cells = [name]
        for size in sizes:
            m = by_size[size].get(name)
            if m is None:
                cells.append("")
                continue
            text = f"{m['median_ms']:.1f} / {m['p95_ms']:.1f}, {m['queries']}"
            if m["rows_per_s"]:
                text += f"; {m['rows']:,} rows, {m['rows_per_s']:,.0f}/s"
            if m["peak_mb"] is not None:
                text += f"; peak {m['peak_mb']:.1f} MB"
            cells.append(text)
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def run(database: str, sizes: tuple[int, ...], seed: int, iterations: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    base_url = os.environ.get("TRACKER_BENCH_DATABASE_URL") if database == "postgresql" else None
    for size in sizes:
        if base_url:
            url, built = postgresql_database(base_url, size, seed)
        else:
            url, built = sqlite_database(size, seed)
        print(f"Measuring {size:,} cases on {database}")
        measures, found = measure_size(url, iterations)
        results[str(size)] = {
            "generated_s": built,
            "targets": found,
            "measures": [asdict(m) for m in measures],
        }
        if not base_url:
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(","))
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "seed": args.seed,
        "databases": {},
    }
    databases = ["sqlite"]
    if os.environ.get("TRACKER_BENCH_DATABASE_URL"):
        databases.append("postgresql")
    all_met = True
    for database in databases:
        results = run(database, sizes, args.seed, args.iterations)
        checks = check(results) if len(sizes) > 1 else []
        report["databases"][database] = {"sizes": results, "budgets": checks}
        print()
        print(f"## {database}")
        print(table(results))
        print()
        for item in checks:
            mark = "ok " if item["met"] else "MISSED"
            print(f"  {mark} {item['budget']}: {item['value']} (limit {item['limit']})")
        if database == "sqlite":
            all_met = all_met and all(item["met"] for item in checks)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"Written to {RESULTS.relative_to(ROOT)}")
    print(json.dumps(report, default=str, separators=(",", ":")))
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
