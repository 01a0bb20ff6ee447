"""Browser journeys: the real application behind gunicorn on a free localhost port,
with its own SQLite database and the demo team, driven by Playwright in Debian's
Chromium (``apt-get install chromium``; Playwright downloads no browser here)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SHOTS = ROOT / "build" / "screenshots"
PASSWORD = "demo password 2026"
LANGUAGES = ("en", "fr")
#: How long a page, a click or an expected element may take before the journey
#: fails. Generous: on a busy 2-core machine (two CPU hogs, gunicorn, Chromium)
#: a page that takes a second alone can take a minute. A passing journey only
#: ever waits as long as its pages take.
TIMEOUT_MS = 180_000
#: The same for the installation's own commands (migrate, seed) and start-up.
COMMAND_TIMEOUT_S = 900
#: The flags Chromium needs in a container without a user session.
FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One installation: migrated, seeded with the demo team, served by gunicorn."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TRACKER_ENV": "production",
            "TRACKER_SECRET_KEY": "browser journeys",
            "TRACKER_AUDIT_KEY": "browser journeys' audit key",
            "TRACKER_INSTANCE_PATH": str(folder),
            "TRACKER_DATABASE_URL": f"sqlite:///{folder / 'tracker.db'}",
            "TRACKER_BASE_URL": self.url,
            "TRACKER_BACKUP_DIR": str(folder / "backups"),
            # Plain http on localhost: cookies cannot be Secure.
            "TRACKER_SESSION_COOKIE_SECURE": "false",
            "TRACKER_MAIL_HOST": "127.0.0.1",
            "TRACKER_MAIL_PORT": str(_free_port()),  # nobody listens: mail waits
            # The site's calendar starts on a fixed day (see clocked.py).
            "TRACKER_JOURNEY_STARTED": str(time.time()),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def python(self, *args: str) -> str:
        """Run ``python -m ...`` against this installation; its output."""
        result = subprocess.run(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=COMMAND_TIMEOUT_S,
        )
        if result.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip()

    def start(self) -> None:
        flask = ("flask", "--app", "tests.browser.clocked:app")
        self.python(*flask, "db", "upgrade")
        self.python(*flask, "seed-demo", "--if-empty", "--password", PASSWORD)
        self.story_case = self.python("tests.browser.story")
        self.log = (self.folder / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                # A worker busy for long on a loaded machine is slow, not stuck.
                "--timeout",
                str(COMMAND_TIMEOUT_S),
                "--access-logfile",
                "-",
                "tests.browser.clocked:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # Ready when the application answers, not when gunicorn listens: its
        # workers import the application after the socket is open.
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            if self._answers():
                return
            time.sleep(0.2)  # polling for the server to answer, not waiting for a result
        raise RuntimeError((self.folder / "gunicorn.log").read_text())

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=COMMAND_TIMEOUT_S)
        try:
            connection.request("GET", "/login")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=COMMAND_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()


@pytest.fixture(scope="session")
def browser(request: Any) -> Iterator[Any]:
    if request.config.getoption("--db-url", None):
        pytest.skip("browser journeys run once, against their own SQLite server")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium): journeys skipped")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, timeout=TIMEOUT_MS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=LANGUAGES)
def site(request: Any, browser: Any, tmp_path_factory: Any) -> Iterator[Site]:
    """A fresh installation per journey module and language."""
    server = Server(tmp_path_factory.mktemp(f"site-{request.param}"))
    server.start()
    try:
        yield Site(browser, server, request.param)
    finally:
        server.stop()


class Site:
    def __init__(self, browser: Any, server: Server, language: str) -> None:
        self.browser = browser
        self.server = server
        self.language = language
        self.url = server.url

    def t(self, english: str, french: str) -> str:
        """The text the user reads, in the journey's language."""
        return french if self.language == "fr" else english

    def page_as(self, email: str, *, width: int = 1280, height: int = 900) -> Any:
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            locale="fr-FR" if self.language == "fr" else "en-GB",
            accept_downloads=True,
            bypass_csp=True,  # lets the tests inject axe-core; the pages keep their policy
        )
        context.add_cookies([{"name": "rcp_lang", "value": self.language, "url": self.url}])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.set_default_navigation_timeout(TIMEOUT_MS)
        page.goto(f"{self.url}/login")
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form:has(input[name=password]) button[type=submit]").click()
        page.wait_for_url(f"{self.url}/")
        return page

    def flashed(self, page: Any, english: str, french: str) -> None:
        """Wait until the page that follows a submission says ``english`` (or
        ``french``): a click returns before the next page has loaded."""
        from playwright.sync_api import expect

        expect(page.locator(".flash-messages")).to_contain_text(self.t(english, french))

    def check(self, page: Any, name: str | None = None) -> None:
        """No critical or serious accessibility violation (axe-core), and a
        screenshot of what the user sees."""
        assert page.evaluate("document.documentElement.lang") == self.language
        violations = axe(page)
        assert violations == [], json.dumps(violations, indent=1, ensure_ascii=False)
        if name:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{name}-{self.language}.png"), full_page=True)


def tick_one_of_each_specialty(page: Any) -> None:
    """On a meeting page: tick one team member per physician specialty (nursing
    and "other" do not count for the quorum), without saving."""
    seen: set[str] = set()
    for box in page.locator("#attendance-form input[name=present]").all():
        specialty = box.get_attribute("data-specialty")
        if specialty not in seen and specialty not in {"NURSING", "OTHER"}:
            box.check()
            seen.add(specialty)


def site_today() -> date:
    """Today on the site's calendar (the journeys run on ``clocked.START``)."""
    from tests.browser.clocked import START

    return START.astimezone(ZoneInfo("Europe/Paris")).date()


def axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations
              .filter(v => v.impact === 'critical' || v.impact === 'serious')
              .map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return list(result)
