"""The offline check of the pinned dependencies against the advisory database."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location(
        "check_dependencies", ROOT / "security" / "check_dependencies.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The shape of a PyPA advisory (OSV): a range fixed in 2.3.8, and a listed version.
WERKZEUG = {
    "id": "PYSEC-2023-58",
    "aliases": ["CVE-2023-25577"],
    "summary": "High resource usage when parsing multipart form data with many fields.",
    "versions": ["2.2.2"],
    "ranges": [[{"introduced": "0"}, {"fixed": "2.2.3"}]],
}
LAST_AFFECTED = {
    "id": "GHSA-test",
    "versions": [],
    "ranges": [[{"introduced": "1.0"}, {"last_affected": "1.4"}]],
}


@pytest.mark.parametrize(
    ("advisory", "version", "affected"),
    [
        (WERKZEUG, "2.2.2", True),
        (WERKZEUG, "0.9", True),
        (WERKZEUG, "2.2.3", False),
        (WERKZEUG, "3.1.9", False),
        (LAST_AFFECTED, "0.9", False),
        (LAST_AFFECTED, "1.4", True),
        (LAST_AFFECTED, "1.4.1", False),
    ],
)
def test_a_pinned_version_is_matched_against_the_advisory_ranges(
    check, advisory, version, affected
):
    assert check.affects(advisory, version) is affected


def test_a_vulnerable_pin_is_found_and_an_accepted_one_is_named(check):
    pins = check.pinned("werkzeug==2.2.2 \\\n    --hash=sha256:ab\nFlask[async]==3.1.0\n")
    assert pins == {"werkzeug": "2.2.2", "flask": "3.1.0"}
    found = check.findings(pins, {"werkzeug": [WERKZEUG]})
    assert [(name, advisory["id"]) for name, _version, advisory in found] == [
        ("werkzeug", "PYSEC-2023-58")
    ]
    assert check.accepted_ids("# why\nPYSEC-2023-58  debugger only, never on\n") == {
        "PYSEC-2023-58"
    }


def test_the_lock_pins_every_declared_dependency_within_its_range(check):
    pins = check.pinned((ROOT / "requirements.lock").read_text())
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert check.undeclared(pins, declared) == []
    assert check.undeclared(pins, ["flask>=99"]) == ["flask==" + pins["flask"] + " is outside >=99"]
    assert check.undeclared(pins, ["not-a-dependency"]) == [
        "not-a-dependency is not in requirements.lock"
    ]


def test_the_shipped_advisories_cover_the_locked_packages(check):
    data = json.loads((ROOT / "security" / "advisories.json").read_text())
    pins = check.pinned((ROOT / "requirements.lock").read_text())
    assert set(data["advisories"]) <= set(pins)
    # The web stack's history is in it: an old Werkzeug would be caught.
    assert check.findings({"werkzeug": "0.11"}, data["advisories"])
