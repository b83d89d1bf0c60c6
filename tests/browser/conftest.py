"""Fixtures for the browser suite: a FiftyOne App server subprocess with the
plugin, headless Chromium through Playwright, and failure artifacts.

The App server inherits the isolated database and plugins dir that
``tests/conftest.py`` put in ``os.environ``. Each test module gets its own
server (the server keeps one session state: open panels, open modal), each
test a fresh demo dataset and a fresh browser page. On failure the page's
screenshot, its console log and the server log land in ``test-artifacts/browser/``.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from browser import helpers

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS_DIR = os.path.join(REPO_DIR, "test-artifacts", "browser")
CHROMIUM = os.environ.get("POSEKIT_CHROMIUM", "/usr/bin/chromium")  # Debian's
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """A ``python -m fiftyone.server.main`` subprocess on 127.0.0.1."""

    def __init__(self, env=None, log_path=None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        server_env = dict(os.environ)
        server_env.update(
            {
                "FIFTYONE_PLUGINS_DIR": REPO_DIR,
                "FIFTYONE_DO_NOT_TRACK": "true",
                "FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS": "true",
            }
        )
        server_env.update(env or {})
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fiftyone.server.main",
             "--address", "127.0.0.1", "--port", str(self.port)],
            env=server_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO_DIR,
        )
        self._wait_ready()

    def _wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"App server exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/fiftyone", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"App server not ready in {timeout} s:\n{self.log_tail()}")

    def dataset_url(self, name):
        return f"{self.url}/datasets/{name}"

    def log_tail(self, n=80):
        self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _artifact_dir(name):
    """A fresh artifacts dir for test ``name`` (a previous run's removed)."""
    path = os.path.join(ARTIFACTS_DIR, re.sub(r"[^\w.-]+", "_", name))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


@pytest.fixture(scope="session")
def app_server_factory(tmp_root):
    """Starts App servers with extra env; stops them all at session end.
    Their logs live in the session's temp dir (copied out on failure)."""
    servers = []

    def start(env=None, name="app"):
        log = os.path.join(tmp_root, f"{name}-{len(servers)}-server.log")
        server = AppServer(env=env, log_path=log)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def app_server(request, app_server_factory):
    """An App server for this test module (no CVAT credentials)."""
    server = app_server_factory(name=request.module.__name__.split(".")[-1])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        pw.selectors.set_test_id_attribute("data-cy")
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """Headless Debian Chromium."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: apt-get install --no-install-recommends chromium"
                    f" (as root; expected at {CHROMIUM})")
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


def _save_artifacts(item, page):
    """Screenshot, console log and App server log of a failed test."""
    out = _artifact_dir(item.nodeid)
    log = page.console_log
    try:
        page.screenshot(path=os.path.join(out, "screenshot.png"), full_page=True)
    except Exception as e:  # the page may have crashed
        log.lines.append(f"[screenshot failed] {e}")
    with open(os.path.join(out, "console.log"), "w") as f:
        f.write("\n".join(log.lines) + "\n")
    for name in ("app_server", "cvat_app_server"):
        server = item.funcargs.get(name)
        if server is not None and os.path.exists(server.log_path):
            shutil.copy(server.log_path, os.path.join(out, "app-server.log"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, saves artifacts while the page and its server still live."""
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and report.when in ("setup", "call") and page is not None:
        _save_artifacts(item, page)


@pytest.fixture
def page(browser):
    """A fresh page (1600x1000) that only reaches 127.0.0.1, with console
    capture (``page.console_log``)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script("window.IS_PLAYWRIGHT = true;")
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda r: r.abort())
    context.set_default_timeout(helpers.TIMEOUT_MS)
    page = context.new_page()
    page.console_log = helpers.ConsoleLog(page)
    yield page
    context.close()


@pytest.fixture
def app(page, app_server, demo_dataset):
    """The App open on a fresh demo dataset, grid loaded."""
    helpers.open_dataset(page, app_server, demo_dataset.name)
    return helpers.App(page, app_server, demo_dataset)


@pytest.fixture
def cvat_app_server(cvat_server, app_server_factory):
    """An App server whose CVAT credentials (environment, as plugin secrets
    fall back to) point at the test CVAT server."""
    server = app_server_factory(
        env={
            "FIFTYONE_CVAT_URL": cvat_server.url,
            "FIFTYONE_CVAT_USERNAME": cvat_server.username,
            "FIFTYONE_CVAT_PASSWORD": cvat_server.password,
        },
        name="app-with-cvat",
    )
    yield server
    server.stop()


@pytest.fixture
def cvat_app(page, cvat_app_server, demo_dataset):
    """The App (with CVAT credentials) open on a fresh demo dataset."""
    helpers.open_dataset(page, cvat_app_server, demo_dataset.name)
    return helpers.App(page, cvat_app_server, demo_dataset)
