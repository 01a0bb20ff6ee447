"""Known vulnerabilities in the pinned production dependencies, checked offline.

The hospital network reaches no vulnerability service (pip-audit needs PyPI's
per-version API or OSV), so the PyPA advisory database is shipped here as a data
file, cut down to the packages of ``requirements.lock``:

    python security/check_dependencies.py            # check the lock (make test)
    python security/check_dependencies.py refresh DIR  # rebuild the data file
                                                      # from a checkout of
                                                      # github.com/pypa/advisory-database

A finding fails the check unless ``security/accepted.txt`` names its id with the
reason it does not apply. The lock must also pin every dependency that
``pyproject.toml`` declares, in a version the declaration allows.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOCK = ROOT / "requirements.lock"
DATA = HERE / "advisories.json"
ACCEPTED = HERE / "accepted.txt"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pinned(lock_text: str) -> dict[str, str]:
    """``{normalised name: version}`` of a lock file's ``name==version`` lines."""
    return {canonicalize_name(name): version for name, version in PIN.findall(lock_text)}


def _in_range(version: Version, events: list[dict[str, str]]) -> bool:
    """Whether ``version`` falls in an OSV ECOSYSTEM range (its events in order)."""
    affected = False
    for event in events:
        try:
            if "introduced" in event:
                bound = event["introduced"]
                if bound == "0" or version >= Version(bound):
                    affected = True
            elif ("fixed" in event and version >= Version(event["fixed"])) or (
                "last_affected" in event and version > Version(event["last_affected"])
            ):
                affected = False
        except InvalidVersion:
            continue
    return affected


def affects(advisory: Mapping[str, Any], version: str) -> bool:
    if version in advisory.get("versions", ()):
        return True
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return any(_in_range(parsed, events) for events in advisory.get("ranges", ()))


def findings(
    pins: Mapping[str, str], advisories: Mapping[str, list[dict[str, Any]]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(package, version, advisory)`` for each advisory affecting a pinned version."""
    return [
        (name, version, advisory)
        for name, version in sorted(pins.items())
        for advisory in advisories.get(name, ())
        if affects(advisory, version)
    ]


def undeclared(pins: Mapping[str, str], requirements: Iterable[str]) -> list[str]:
    """Declared dependencies the lock leaves out or pins outside their range."""
    problems = []
    for line in requirements:
        requirement = Requirement(line)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    return problems


def accepted_ids(text: str) -> set[str]:
    """Ids of ``accepted.txt`` ("ID  reason" per line, # comments)."""
    ids = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.add(line.split()[0])
    return ids


def check() -> int:
    pins = pinned(LOCK.read_text())
    data = json.loads(DATA.read_text())
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    problems = undeclared(pins, declared)
    for problem in problems:
        print(f"Dependencies: {problem}; run `make lock`.")
    accepted = accepted_ids(ACCEPTED.read_text()) if ACCEPTED.exists() else set()
    found = [
        (name, version, advisory)
        for name, version, advisory in findings(pins, data["advisories"])
        if not {advisory["id"], *advisory.get("aliases", ())} & accepted
    ]
    for name, version, advisory in found:
        print(
            f"Dependencies: {name} {version} is affected by {advisory['id']}: {advisory['summary']}"
        )
    count = sum(len(items) for items in data["advisories"].values())
    print(
        f"Dependencies: {len(pins)} pinned packages checked against {count} advisories "
        f"(PyPA advisory database at {data['commit'][:12]}, {data['date']}); "
        + ("no known vulnerability." if not found else f"{len(found)} found.")
    )
    return 1 if found or problems else 0


def refresh(checkout: Path) -> None:
    """Rebuild the data file from a checkout of the PyPA advisory database."""
    import yaml  # only for refreshing: PyYAML comes with the development tools

    names = set(pinned(LOCK.read_text()))
    advisories: dict[str, list[dict[str, Any]]] = {}
    for folder in sorted((checkout / "vulns").iterdir()):
        if canonicalize_name(folder.name) not in names:
            continue
        for path in sorted(folder.glob("*.yaml")):
            entry = yaml.safe_load(path.read_text())
            for affected in entry.get("affected", ()):
                name = canonicalize_name(affected["package"]["name"])
                if name not in names:
                    continue
                advisories.setdefault(name, []).append(
                    {
                        "id": entry["id"],
                        "aliases": sorted(entry.get("aliases") or ()),
                        "summary": " ".join((entry.get("details") or "").split())[:200],
                        "versions": [str(v) for v in affected.get("versions") or ()],
                        "ranges": [
                            [{k: str(v) for k, v in event.items()} for event in r["events"]]
                            for r in affected.get("ranges") or ()
                            if r.get("type") == "ECOSYSTEM"
                        ],
                    }
                )
    git = ["git", "-C", str(checkout), "log", "-1", "--format=%H %cs"]
    # The command is fixed; only the checkout's folder comes from the caller.
    run = subprocess.run(git, check=True, capture_output=True, text=True)  # noqa: S603
    commit, day = run.stdout.split()
    data = {"source": "https://github.com/pypa/advisory-database", "commit": commit, "date": day}
    data["advisories"] = advisories
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{DATA.name}: {sum(map(len, advisories.values()))} advisories for {len(names)} packages")


if __name__ == "__main__":
    if sys.argv[1:2] == ["refresh"]:
        refresh(Path(sys.argv[2]))
    else:
        sys.exit(check())
