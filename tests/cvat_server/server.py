"""The CVAT emulator: a threaded HTTP server on 127.0.0.1 serving the REST
API FiftyOne's ``CVATAnnotationAPI``, ``cvat-sdk`` and posekit use, as CVAT
2.23.1 or 2.73.0 answer it (``profile``; see ``profiles.py``).

    from cvat_server.server import CVATServer
    server = CVATServer(profile="2.73.0").start()   # server.url -> "http://127.0.0.1:PORT"
    ...
    server.stop()

The handlers live in one module per concern (``auth``, ``orgs``, ``tasks``,
``data``, ``jobs``), each a mixin of ``Api`` below.
"""
import json
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import annotations as ann
from .auth import ANONYMOUS, AuthRoutes, authenticate
from .data import DataRoutes, Processing
from .faults import Faults
from .httputil import HttpError, not_found_html, parse_body, parse_cookies, server_error_html
from .jobs import JobRoutes
from .labels import LabelError
from .orgs import OrgRoutes, request_context
from .profiles import DEFAULT
from .routes import ROUTES, Response
from .state import State
from .tasks import TaskRoutes

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
DEFAULT_POLLS = 2  # processing answers "started" to this many polls first
DEFAULT_DELAY = 0.5  # ...or finishes after this many seconds


class Api(AuthRoutes, OrgRoutes, TaskRoutes, DataRoutes, JobRoutes):
    """All request handlers (see ``routes.route``)."""


class Request:
    """What a handler needs to know about the HTTP request."""

    def __init__(self, handler, method, base):
        split = urlsplit(handler.path)
        self.method = method
        self.path = unquote(split.path).rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.target = handler.path
        self.headers = handler.headers
        self.cookies = parse_cookies(handler.headers.get("Cookie"))
        self.base = base
        length = int(handler.headers.get("Content-Length") or 0)
        self.raw = handler.rfile.read(length) if length else b""
        self.user = None
        self.auth = None  # "key", "basic", "session" or "access_token"
        self.access_token = None
        self._parsed = None

    def _parse(self):
        if self._parsed is None:
            self._parsed = parse_body(self.headers.get("Content-Type"), self.raw)
        return self._parsed

    def json(self):
        data = self._parse()[0]
        if not isinstance(data, dict):
            raise HttpError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got %s." % type(data).__name__]})
        return data

    def form(self):
        return self._parse()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet; see CVATServer.call_log
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method):
        cvat = self.server.cvat
        host = self.headers.get("Host") or "127.0.0.1:%d" % cvat.port
        req = Request(self, method, f"http://{host}")
        cvat.record(method, req.path, req.target)
        faults = cvat.faults.match(method, req.target)
        expired = cvat.faults.count_call()
        if "delay" in faults:
            generation = cvat.generation
            time.sleep(faults["delay"])
            if generation != cvat.generation:  # the test that asked is over
                self.close_connection = True
                return
        try:
            if "error" in faults:
                raise HttpError(faults["error"], server_error_html(faults["error"]), html=True)
            resp = cvat.dispatch(req, expired)
        except HttpError as e:
            resp = Response(e.status, e.body, "text/html; charset=utf-8" if e.html else "application/vnd.cvat+json")
        except (LabelError, ann.AnnotationError) as e:
            resp = Response(400, e.body if not isinstance(e.body, str) else _ENCODE(e.body))
        except Exception:  # a bug in the emulator: answer like Django does
            traceback.print_exc()
            resp = Response(500, server_error_html(500), "text/html; charset=utf-8")
        try:
            self._send(resp, drop="drop" in faults)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, resp, drop=False):
        if resp.body is None:
            payload = b""
        elif isinstance(resp.body, (bytes, bytearray)):
            payload = bytes(resp.body)
        elif isinstance(resp.body, str):
            payload = resp.body.encode()
        else:
            payload = _ENCODE(resp.body).encode()
        self.send_response(resp.status)
        if payload or resp.status not in (204,):
            self.send_header("Content-Type", resp.content_type if payload else "application/vnd.cvat+json")
        self.send_header("Content-Length", str(len(payload) + (1024 if drop else 0)))
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Vary", "Accept, Origin, Cookie")
        self.end_headers()
        if drop:
            self.wfile.write(payload[: max(1, len(payload) // 2)])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(payload)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class CVATServer:
    """A CVAT emulator on 127.0.0.1. ``start()``/``stop()``, ``url``;
    ``reset(profile=...)`` switches the version it speaks."""

    def __init__(self, host="127.0.0.1", port=0, profile=DEFAULT):
        self.host, self.port = host, port
        self._httpd = self._thread = None
        self.state = State(profile)
        self.faults = Faults(self)
        self.api = Api(self)
        self.processing = Processing(self)
        self.calls = []  # (method, path) of every request, in arrival order
        self.call_log = []  # (method, path, full target incl. query)
        self.processing_polls = DEFAULT_POLLS
        self.processing_delay = DEFAULT_DELAY
        self.generation = 0  # bumped by reset(); late delayed requests are dropped

    @property
    def profile(self):
        return self.state.profile

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def listening(self):
        return self._httpd is not None

    def start(self):
        self._listen()
        return self

    def stop(self):
        self.stop_listening()
        self.processing.reset()

    def _listen(self):
        httpd = _HTTPServer((self.host, self.port), Handler)
        httpd.cvat = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="cvat-emulator", daemon=True)
        self._thread.start()

    def stop_listening(self):
        """Close the listening socket (clients get 'connection refused')."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def resume_listening(self):
        """Listen again on the same port."""
        if self._httpd is None and self._thread is not None:
            self._listen()

    def reset(self, profile=None):
        """Fresh state (of ``profile``'s version when given), no faults,
        empty call logs, default processing."""
        self.generation += 1
        self.processing.reset()
        self.faults.clear()
        self.state.reset(profile)
        self.calls.clear()
        self.call_log.clear()
        self.processing_polls = DEFAULT_POLLS
        self.processing_delay = DEFAULT_DELAY

    def instant_processing(self):
        """Data uploads are processed before the upload answers."""
        self.processing_polls, self.processing_delay = 0, 0.0

    def record(self, method, path, target):
        self.calls.append((method, path))
        self.call_log.append((method, path, target))

    # dispatch

    def dispatch(self, req, expired=False):
        path_known = False
        for methods, pattern, fn, feature in ROUTES:
            m = pattern.match(req.path)
            if not m or feature and not getattr(self.profile, feature):
                continue
            path_known = True
            if req.method not in methods:
                continue
            with self.state.lock:
                if (req.method, req.path) not in ANONYMOUS:
                    if expired:
                        raise HttpError(401, {"detail": "Invalid token."})
                    authenticate(self.state, req)
                    request_context(self.state, req)  # an unknown org is 404 everywhere
                return fn(self.api, req, *m.groups())
        if path_known:
            raise HttpError(405, {"detail": f'Method "{req.method}" not allowed.'})
        raise not_found_html()
