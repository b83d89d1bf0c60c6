"""Authentication (login key, Basic, session + CSRF, and on 2.73 personal
access tokens under ``Bearer``), the server's ``about`` and the users.

As recorded (``tests/recordings/*/auth_tokens.json``): a token is shown once,
at creation; ``read_only`` defaults to true and refuses every unsafe method
with 403; a bad, revoked or expired token is 401 ``Invalid token.``; 2.23.1
has no tokens (404 on the endpoints, ``Bearer`` ignored).
"""
import base64
import secrets

from .httputil import HttpError
from .routes import ApiBase, Response, forbidden, get_or_404, route
from .render import basic_user, full_user
from .state import now

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ANONYMOUS = {("POST", "/api/auth/login"), ("GET", "/api/server/about")}


def authenticate(state, req):
    """Sets ``req.user`` and ``req.auth`` ("key", "basic", "session",
    "access_token") or raises the 401/403 CVAT answers."""
    auth = req.headers.get("Authorization", "")
    if auth.startswith("Token "):
        uid = state.tokens.get(auth[6:].strip())
        if uid is None:
            raise HttpError(401, {"detail": "Invalid token."})
        req.user, req.auth = state.users[uid], "key"
        return
    if auth.startswith("Basic "):
        try:
            username, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            raise HttpError(401, {"detail": "Invalid basic header. Credentials not correctly base64 encoded."}) from None
        user = state.find_login(username, None, password)
        if user is None:
            raise HttpError(401, {"detail": "Invalid username/password."})
        req.user, req.auth = user, "basic"
        return
    if state.profile.access_tokens and auth.split(" ")[0] == "Bearer":
        _bearer(state, req, auth[len("Bearer"):].strip())
        return
    session = state.sessions.get(req.cookies.get("sessionid"))
    if session is None:
        raise HttpError(401, {"detail": "Authentication credentials were not provided."})
    uid, csrf = session
    if req.method in UNSAFE:
        sent = req.headers.get("X-CSRFToken")
        if not sent:
            raise HttpError(403, {"detail": "CSRF Failed: CSRF token missing."})
        if sent != csrf or req.cookies.get("csrftoken") != csrf:
            raise HttpError(403, {"detail": "CSRF Failed: CSRF token incorrect."})
    req.user, req.auth = state.users[uid], "session"


def _bearer(state, req, value):
    if not value:
        raise HttpError(401, {"detail": "Invalid token header. No credentials provided."})
    token = state.access_tokens_by_value.get(value)
    if token is None or token["revoked"] or (
            token["expiry_date"] is not None and token["expiry_date"] <= now()):
        raise HttpError(401, {"detail": "Invalid token."})
    if token["read_only"] and req.method in UNSAFE:
        raise forbidden()
    token["last_used_date"] = now()
    req.user, req.auth, req.access_token = state.users[token["owner_id"]], "access_token", token


def token_json(state, token, base, value=None):
    out = {
        "id": token["id"], "name": token["name"],
        "created_date": token["created_date"], "updated_date": token["updated_date"],
        "expiry_date": token["expiry_date"], "last_used_date": token["last_used_date"],
        "read_only": token["read_only"],
        "owner": basic_user(state.users[token["owner_id"]], base),
    }
    if value is not None:
        out["value"] = value
    return out


class AuthRoutes(ApiBase):
    @route("POST", r"/api/auth/login")
    def login(self, req):
        body = req.json()
        user = self.state.find_login(body.get("username"), body.get("email"), body.get("password"))
        if not body.get("password"):
            raise HttpError(400, {"password": ["This field is required."]})
        if user is None:
            raise HttpError(400, {"non_field_errors": ["Unable to log in with provided credentials."]})
        user.last_login = now()
        key = self.state.token_for(user)
        sessionid, csrf = secrets.token_hex(16), secrets.token_hex(16)
        self.state.sessions[sessionid] = (user.id, csrf)
        cookies = [
            f"csrftoken={csrf}; expires=Fri, 01 Jan 2100 00:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax",
            f"sessionid={sessionid}; expires=Fri, 01 Jan 2100 00:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax",
            "sessionfresh=1; Max-Age=1209600; Path=/; SameSite=Lax",
        ]
        return Response(200, {"key": key}, headers=[("Set-Cookie", c) for c in cookies])

    @route("POST", r"/api/auth/logout")
    def logout(self, req):
        self.state.sessions.pop(req.cookies.get("sessionid"), None)
        for key in [k for k, uid in self.state.tokens.items() if uid == req.user.id]:
            del self.state.tokens[key]
        return Response(200, {"detail": "Successfully logged out."}, headers=[
            ("Set-Cookie", f"{c}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/")
            for c in ("sessionid", "csrftoken", "sessionfresh")])

    @route("GET", r"/api/server/about")
    def about(self, req):
        return Response(200, self.profile.about(req.base))

    # personal access tokens (2.73)

    @route("GET POST", r"/api/auth/access_tokens", "access_tokens")
    def access_tokens(self, req):
        if req.method == "POST":
            if req.auth == "access_token":
                raise forbidden()
            body = req.json()
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise HttpError(400, {"name": ["This field is required."]})
            read_only = body.get("read_only", True)
            if not isinstance(read_only, bool):
                raise HttpError(400, {"read_only": ["Must be a valid boolean."]})
            token, value = self.state.add_access_token(
                req.user, name, read_only=read_only, expiry_date=body.get("expiry_date"))
            return Response(201, token_json(self.state, token, req.base, value))
        stamp = now()
        items = [t for t in self.state.access_tokens.values()
                 if t["owner_id"] == req.user.id and not t["revoked"]
                 and (t["expiry_date"] is None or t["expiry_date"] > stamp)]
        items.sort(key=lambda t: -t["id"])
        return Response(200, self.paginate(req, items, lambda t: token_json(self.state, t, req.base)))

    @route("GET", r"/api/auth/access_tokens/self", "access_tokens")
    def access_token_self(self, req):
        if req.auth != "access_token":
            raise forbidden()
        return Response(200, token_json(self.state, req.access_token, req.base))

    @route("GET PATCH DELETE", r"/api/auth/access_tokens/(\d+)", "access_tokens")
    def access_token(self, req, tid):
        token = get_or_404(self.state.access_tokens, tid, "AccessToken")
        if token["owner_id"] != req.user.id or token["revoked"]:
            raise HttpError(404, {"detail": "No AccessToken matches the given query."})
        if req.method == "DELETE":
            token["revoked"] = True
            return Response(204)
        if req.method == "PATCH":
            body = req.json()
            if "name" in body:
                token["name"] = body["name"]
            if "read_only" in body:
                token["read_only"] = bool(body["read_only"])
            if "expiry_date" in body:
                token["expiry_date"] = body["expiry_date"]
            token["updated_date"] = now()
        return Response(200, token_json(self.state, token, req.base))

    # users

    @route("GET", r"/api/users/self")
    def user_self(self, req):
        return Response(200, full_user(req.user, req.base))

    @route("GET", r"/api/users")
    def users(self, req):
        users = sorted(self.state.users.values(), key=lambda u: u.id)
        q = req.query
        if q.get("search"):
            s = q["search"].lower()
            users = [u for u in users if s in u.username.lower() or s in u.email.lower()]
        if "username" in q:
            users = [u for u in users if u.username == q["username"]]
        if "id" in q:
            users = [u for u in users if str(u.id) == q["id"]]
        render = full_user if req.user.is_superuser else basic_user
        return Response(200, self.paginate(req, users, lambda u: render(u, req.base)))

    @route("GET", r"/api/users/(\d+)")
    def user(self, req, uid):
        user = get_or_404(self.state.users, uid, "User")
        render = full_user if req.user.is_superuser or user is req.user else basic_user
        return Response(200, render(user, req.base))
