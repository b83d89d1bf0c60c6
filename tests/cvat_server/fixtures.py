"""The ``cvat_server`` pytest fixture: one emulator per test session, state,
faults and call logs reset before every test.

The version it speaks is chosen per test: 2.23.1 by default, or by indirect
parametrisation, e.g. for a whole module::

    pytestmark = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)
"""
import time

import pytest
import requests

from .profiles import DEFAULT, PROFILES as _PROFILES
from .server import CVATServer
from .state import State

PROFILES = list(_PROFILES)  # "2.23.1", "2.73.0"

_SERVER = None


class _BaseUrlSession(requests.Session):
    """A requests.Session that accepts paths relative to the server URL."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base + url
        return super().request(method, url, *args, **kwargs)


class CVATFixture:
    """What a test gets: the URL, admin credentials, faults, state, calls."""

    def __init__(self, server):
        self.server = server
        self.username, self.password, self.email = State.ADMIN
        self.other_username, self.other_password, self.other_email = State.OTHER

    url = property(lambda self: self.server.url)
    profile = property(lambda self: self.server.profile)
    version = property(lambda self: self.server.profile.version)
    faults = property(lambda self: self.server.faults)
    state = property(lambda self: self.server.state)
    calls = property(lambda self: self.server.calls)
    call_log = property(lambda self: self.server.call_log)

    @property
    def processing_delay(self):
        return self.server.processing_delay

    @processing_delay.setter
    def processing_delay(self, seconds):
        self.server.processing_delay = seconds

    @property
    def processing_polls(self):
        return self.server.processing_polls

    @processing_polls.setter
    def processing_polls(self, polls):
        self.server.processing_polls = polls

    def instant_processing(self):
        """Uploads are processed before the upload answers."""
        self.server.instant_processing()

    def wait_for_request(self, session, rq_id, timeout=5.0):
        """Polls ``GET /api/requests/<rq_id>`` as a client does until the
        request is finished or failed; returns the last answer."""
        deadline = time.monotonic() + timeout
        while True:
            rq = session.get(f"/api/requests/{rq_id}").json()
            if rq["status"] in ("finished", "failed") or time.monotonic() > deadline:
                return rq
            time.sleep(0.01)

    def add_user(self, username, password=None, is_superuser=False):
        """A new account; returns it (``password`` defaults to a fixed one)."""
        return self.state.add_user(username, password or username + "-password-9",
                                   username + "@example.com", is_superuser)

    def add_organization(self, slug, owner=None, members=()):
        """An organization owned by ``owner`` (admin by default) with
        ``members``: [(user, role)]; returns it."""
        owner = owner or self.state.users[1]
        org = self.state.add_organization(slug, owner)
        for user, role in members:
            self.state.add_member(org, user, role)
        return org

    def access_token(self, user=None, read_only=False, name="test"):
        """A personal access token value (2.73) for ``user`` (admin)."""
        _, value = self.state.add_access_token(user or self.state.users[1], name,
                                               read_only=read_only)
        return value

    def session(self, username=None, password=None):
        """A logged-in session (admin by default) sending X-CSRFToken."""
        s = _BaseUrlSession(self.url)
        r = s.post(self.url + "/api/auth/login", json={
            "username": username or self.username,
            "password": password or self.password})
        r.raise_for_status()
        s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
        return s

    def other_session(self):
        """A logged-in session of the second, non-admin user."""
        return self.session(self.other_username, self.other_password)


@pytest.fixture
def cvat_server(request):
    """A running CVAT emulator with fresh state (see README.md), speaking
    2.23.1 unless the test is parametrised with another profile."""
    global _SERVER
    profile = getattr(request, "param", DEFAULT)
    if _SERVER is None:
        _SERVER = CVATServer().start()
    _SERVER.reset(profile)
    yield CVATFixture(_SERVER)
    _SERVER.reset(DEFAULT)
