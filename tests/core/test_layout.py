"""Where things live: core is infrastructure, features wire themselves in."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import tracker
from tracker.core import signals

PACKAGE = Path(tracker.__file__).parent
FEATURES = {name.removeprefix("tracker.") for name in tracker.FEATURES}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _tracker_parts(path: Path) -> set[str]:
    """The second part of each ``tracker.x...`` import: which package it reaches."""
    return {
        name.split(".")[1]
        for name in _imports(path)
        if name.startswith("tracker.") and len(name.split(".")) > 1
    }


@pytest.mark.parametrize("layer", ["core", "web"])
def test_infrastructure_and_web_plumbing_import_no_feature(layer):
    reached = {
        str(path.relative_to(PACKAGE)): _tracker_parts(path) & FEATURES
        for path in (PACKAGE / layer).rglob("*.py")
    }
    assert {path: parts for path, parts in reached.items() if parts} == {}


def test_core_does_not_import_the_web_plumbing():
    reached = {
        str(path.relative_to(PACKAGE)): "web" in _tracker_parts(path)
        for path in (PACKAGE / "core").rglob("*.py")
    }
    assert [path for path, web in reached.items() if web] == []


def test_no_module_is_imported_for_its_side_effects():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "noqa: F401" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_every_package_folder_is_a_package():
    folders = {path.parent for path in PACKAGE.rglob("*.py")}
    assert [str(folder) for folder in folders if not (folder / "__init__.py").exists()] == []


@pytest.mark.parametrize("feature", sorted(tracker.FEATURES))
def test_each_feature_gives_what_its_modules_declare(app, feature):
    """A feature's jobs and settings reach the scheduler and the settings page
    through its own ``__init__.py``: one declared but not wired fails here."""
    for module_name, signal in (("tasks", signals.jobs), ("settings", signals.settings)):
        try:
            module = importlib.import_module(f"{feature}.{module_name}")
        except ModuleNotFoundError:
            continue
        declared = getattr(module, "JOBS", None) or getattr(module, "ALL", ())
        assert declared, f"{feature}.{module_name} declares nothing"
        collected = signals.collected(signal, app)
        assert [spec for spec in declared if spec not in collected] == []


def test_each_job_and_setting_is_declared_once(app):
    job_ids = [spec.id for spec in signals.collected(signals.jobs, app)]
    setting_keys = [spec.key for spec in signals.collected(signals.settings, app)]
    assert len(job_ids) == len(set(job_ids))
    assert len(setting_keys) == len(set(setting_keys))
    assert set(job_ids) == {
        "audit_checkpoint",
        "sessions",
        "outbox",
        "followups",
        "windows",
        "retreatment",
        "pending_proposals",
        "meetings",
        "drafts",
        "backup",
        "form_keys",
        "invitations",
        "evidence",
        "directory_accounts",
    }


def test_every_menu_item_leads_to_a_page(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    items = signals.collected(signals.menu_items, app)
    assert items
    assert [item.endpoint for item in items if item.endpoint not in endpoints] == []
