"""The ``cvat_server`` pytest fixture: one emulator per test session, state,
faults and call logs reset before every test."""
import pytest
import requests

from .server import CVATServer
from .state import State

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
def cvat_server():
    """A running CVAT 2.23.1 emulator with fresh state (see README.md)."""
    global _SERVER
    if _SERVER is None:
        _SERVER = CVATServer().start()
    _SERVER.reset()
    yield CVATFixture(_SERVER)
    _SERVER.reset()
