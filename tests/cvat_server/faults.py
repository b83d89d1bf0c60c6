"""Fault switches a test can turn on to see how clients cope with a failing
CVAT. Path regexes are searched (``re.search``) in the request path including
its query string, e.g. ``r"/api/jobs/\\d+/annotations"`` or ``r"page=2"``.
"""
import re
import threading


class Faults:
    """The fault switches of one server; all off after ``clear()``."""

    def __init__(self, server=None):
        self._server = server
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        """Switch every fault off (and listen again if refusing)."""
        with self._lock:
            self._rules = []  # (kind, regex, method, value)
            self._unauth_after = None
            self.processing = "normal"  # or "fail" / "stall"
        if self._server is not None and not self._server.listening:
            self._server.resume_listening()

    # switches

    def refuse_connections(self):
        """Stop listening: connections are refused until ``clear()``."""
        self._server.stop_listening()

    def unauthorized_after(self, n):
        """Answer 401 to every authenticated request after ``n`` more calls."""
        with self._lock:
            self._unauth_after = int(n)

    def error(self, path_regex, status=500, method=None):
        """Answer ``status`` (Django's HTML error page) on matching requests."""
        self._add("error", path_regex, method, int(status))

    def delay(self, path_regex, seconds, method=None):
        """Sleep ``seconds`` before answering matching requests."""
        self._add("delay", path_regex, method, float(seconds))

    def drop(self, path_regex, method=None):
        """Send headers and part of the body, then close the connection."""
        self._add("drop", path_regex, method, None)

    def fail_processing(self):
        """Data uploads end with request status 'failed'."""
        self.processing = "fail"

    def stall_processing(self):
        """Data uploads stay 'started' forever (jobs never appear)."""
        self.processing = "stall"

    # used by the server

    def _add(self, kind, path_regex, method, value):
        with self._lock:
            self._rules.append(
                (kind, re.compile(path_regex),
                 method.upper() if method else None, value)
            )

    def match(self, method, target):
        """{kind: value} of the rules matching this request."""
        found = {}
        with self._lock:
            rules = list(self._rules)
        for kind, regex, rmethod, value in rules:
            if (rmethod is None or rmethod == method) and regex.search(target):
                found.setdefault(kind, value)
        return found

    def count_call(self):
        """True when an expired-credentials fault says: answer 401."""
        with self._lock:
            if self._unauth_after is None:
                return False
            if self._unauth_after > 0:
                self._unauth_after -= 1
                return False
            return True
