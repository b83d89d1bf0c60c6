"""The plumbing every handler module shares: the route table, the response
type, pagination, and small lookups. A handler module defines a mixin class
whose methods carry ``@route(...)``; ``server.Api`` combines the mixins.

A new concern (``video.py``, say) adds its own mixin with ``@route`` methods
and is listed in ``server.Api``'s bases; nothing else needs to change.
"""
import contextlib
import gc
import re
from urllib.parse import urlencode

from .httputil import HttpError

PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
FORBIDDEN = {"detail": "You do not have permission to perform this action."}

ROUTES = []  # (methods, compiled path regex, function(api, req, *groups), feature)


def route(methods, pattern, feature=None):
    """Registers the decorated handler for ``methods`` (space-separated) on
    the path regex ``pattern`` (matched whole, without trailing slash); with
    ``feature``, only on profiles that have it (else the URL is unknown)."""
    def wrap(fn):
        ROUTES.append((set(methods.split()), re.compile(pattern + "$"), fn, feature))
        return fn
    return wrap


class Response:
    def __init__(self, status, body=None, content_type="application/vnd.cvat+json", headers=()):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = list(headers)


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic GC while building large annotation payloads (it would
    otherwise rescan the growing heap over and over)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def get_or_404(store, key, what):
    try:
        return store[int(key)]
    except (KeyError, ValueError):
        raise HttpError(404, {"detail": f"No {what} matches the given query."}) from None


def int_param(query, name, default=None):
    value = query.get(name, default)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise HttpError(400, {name: ["A valid integer is required."]}) from None


def forbidden():
    return HttpError(403, dict(FORBIDDEN))


class ApiBase:
    """What every handler mixin can use; ``self.state`` is locked by the
    caller (``CVATServer.dispatch``)."""

    def __init__(self, server):
        self.server = server
        self.state = server.state

    @property
    def profile(self):
        return self.state.profile

    def paginate(self, req, items, render):
        query = req.query
        page = int_param(query, "page", 1)
        size = min(max(int_param(query, "page_size", PAGE_SIZE) or PAGE_SIZE, 1), MAX_PAGE_SIZE)
        count = len(items)
        if page < 1 or (page - 1) * size >= max(count, 1):
            if not (page == 1 and count == 0):
                raise HttpError(404, {"detail": "Invalid page."})

        def link(n):
            q = dict(query, page=str(n))
            return f"{req.base}{req.path}?{urlencode(q)}"

        return {
            "count": count,
            "next": link(page + 1) if page * size < count else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": [render(i) for i in items[(page - 1) * size: page * size]],
        }

    @staticmethod
    def filter_common(items, query, name_key="name"):
        if "id" in query:
            items = [i for i in items if str(i["id"]) == query["id"]]
        if "name" in query:
            items = [i for i in items if i[name_key] == query["name"]]
        if query.get("search"):
            s = query["search"].lower()
            items = [i for i in items if s in i[name_key].lower()]
        return items

    def check_list_context(self, req, ctx):
        """403 for a non-member listing with an org's context."""
        if isinstance(ctx, dict) and not req.user.is_superuser \
                and self.state.role(req.user, ctx["id"]) is None:
            raise forbidden()

    def user_id(self, value, field):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value not in self.state.users:
            raise HttpError(400, {field: [f'Invalid pk "{value}" - object does not exist.']})
        return value
