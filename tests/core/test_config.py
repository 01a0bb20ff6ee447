"""Settings from TRACKER_* variables, and the secret key rules."""

from __future__ import annotations

import os
import stat

import pytest

from tracker.config import (
    DEVELOPMENT_AUDIT_KEY,
    TESTING_AUDIT_KEY,
    ConfigurationError,
    build_config,
)


def test_defaults(tmp_path):
    config = build_config(str(tmp_path), {"TRACKER_ENV": "development"})
    assert config["TIMEZONE"] == "Europe/Paris"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'tracker.db'}"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_environment_variables_override_the_defaults(tmp_path):
    config = build_config(
        str(tmp_path),
        {
            "TRACKER_ENV": "production",
            "TRACKER_SECRET_KEY": "from the environment",
            "TRACKER_AUDIT_KEY": "audit key from the environment",
            "TRACKER_DATABASE_URL": "postgresql+psycopg://rcp@db/rcp",
            "TRACKER_TIMEZONE": "America/Montreal",
            "TRACKER_PASSWORD_MIN_LENGTH": "14",
        },
    )
    assert config["SECRET_KEY"] == "from the environment"
    assert config["AUDIT_KEY"] == "audit key from the environment"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://rcp@db/rcp"
    assert config["TIMEZONE"] == "America/Montreal"
    assert config["PASSWORD_MIN_LENGTH"] == 14
    assert config["SESSION_COOKIE_SECURE"] is True


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    with pytest.raises(ConfigurationError, match="TRACKER_SECRET_KEY is not set"):
        build_config(str(tmp_path), {"TRACKER_ENV": "production"})
    assert not (tmp_path / "secret_key").exists()


def test_production_without_an_audit_key_refuses_to_start(tmp_path):
    environ = {"TRACKER_ENV": "production", "TRACKER_SECRET_KEY": "x" * 64}
    with pytest.raises(ConfigurationError, match="TRACKER_AUDIT_KEY is not set"):
        build_config(str(tmp_path), environ)
    # Nor with the public key of development or of the tests.
    for public in (DEVELOPMENT_AUDIT_KEY, TESTING_AUDIT_KEY):
        with pytest.raises(ConfigurationError, match="production needs its own"):
            build_config(str(tmp_path), {**environ, "TRACKER_AUDIT_KEY": public})


def test_development_has_a_public_audit_key_and_says_so(tmp_path, caplog):
    config = build_config(str(tmp_path), {"TRACKER_ENV": "development"})
    assert config["AUDIT_KEY"] == DEVELOPMENT_AUDIT_KEY
    assert "TRACKER_AUDIT_KEY is not set" in caplog.text
    assert build_config(str(tmp_path), {"TRACKER_ENV": "testing"})["AUDIT_KEY"] == (
        TESTING_AUDIT_KEY
    )


def test_development_key_is_generated_once_and_kept_private(tmp_path):
    first = build_config(str(tmp_path), {"TRACKER_ENV": "development"})["SECRET_KEY"]
    second = build_config(str(tmp_path), {"TRACKER_ENV": "development"})["SECRET_KEY"]
    assert first == second
    assert len(first) >= 64
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_bad_values_are_reported_by_name(tmp_path):
    with pytest.raises(ConfigurationError, match="TRACKER_PER_PAGE"):
        build_config(str(tmp_path), {"TRACKER_ENV": "testing", "TRACKER_PER_PAGE": "many"})
    with pytest.raises(ConfigurationError, match="TRACKER_ENV"):
        build_config(str(tmp_path), {"TRACKER_ENV": "staging"})


def test_wsgi_entry_point_runs_in_production_mode(monkeypatch, tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env=env,
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
        check=False,
    )
    assert result.returncode != 0
    assert "TRACKER_SECRET_KEY is not set" in result.stderr


def test_the_letterhead_comes_from_the_environment(tmp_path):
    config = build_config(
        str(tmp_path),
        {
            "TRACKER_ENV": "testing",
            "TRACKER_HOSPITAL_NAME": "CHU de Bordeaux",
            "TRACKER_UNIT_NAME": "Radiologie interventionnelle",
            "TRACKER_UNIT_ADDRESS": "Place Amélie Raba-Léon, 33000 Bordeaux",
            "TRACKER_LOGO_PATH": "/srv/rcp/logo.png",
        },
    )
    assert config["HOSPITAL_NAME"] == "CHU de Bordeaux"
    assert config["UNIT_NAME"] == "Radiologie interventionnelle"
    assert config["UNIT_ADDRESS"] == "Place Amélie Raba-Léon, 33000 Bordeaux"
    assert config["LOGO_PATH"] == "/srv/rcp/logo.png"
    assert build_config(str(tmp_path), {"TRACKER_ENV": "testing"})["HOSPITAL_NAME"] is None
