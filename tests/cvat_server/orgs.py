"""Organizations, memberships, invitations, and the org context of a request
(``X-Organization`` header or ``?org=`` slug), as recorded on both versions
(``tests/recordings/*/organizations.json``):

- object endpoints (a task, job, its labels or annotations) take the org
  from the object: the owner and maintainers of its org get 200 in any
  context; a supervisor or worker needs to be staff (owner/assignee of the
  task or project; for a job, also the job's assignee); a non-member gets 403;
- list endpoints are filtered by the context: with the org, the org's
  objects; with ``X-Organization: ''`` (personal workspace), objects outside
  any org; with no context at all, what the user owns or is assigned to
  (everything for a superuser); a non-member asking with the org's context
  gets 403;
- an unknown slug is 404 ``"<slug> organization does not exist."`` everywhere.
"""
from .httputil import HttpError
from .routes import ApiBase, Response, forbidden, get_or_404, route
from .render import basic_user

ROLES = ("owner", "maintainer", "supervisor", "worker")
ABSENT, PERSONAL = "absent", "personal"


def request_context(state, req):
    """ABSENT, PERSONAL, or the organization dict the request names."""
    slug = req.headers.get("X-Organization")
    if slug is None:
        slug = req.query.get("org")
    if slug is None and "org_id" in req.query:
        org = state.organizations.get(int(req.query["org_id"] or 0))
        if org is None:
            raise HttpError(404, {"detail": f"{req.query['org_id']} organization does not exist."})
        return org
    if slug is None:
        return ABSENT
    if slug == "":
        return PERSONAL
    for org in state.organizations.values():
        if org["slug"] == slug:
            return org
    raise HttpError(404, {"detail": f"{slug} organization does not exist."})


def in_context(org_id, ctx):
    """Whether an object of org ``org_id`` belongs in a list under ``ctx``."""
    if ctx == ABSENT:
        return True
    if ctx == PERSONAL:
        return org_id is None
    return org_id == ctx["id"]


def org_json(state, org, base):
    return {
        "id": org["id"], "slug": org["slug"], "name": org["name"],
        "description": org["description"], "created_date": org["created_date"],
        "updated_date": org["updated_date"], "contact": {},
        "owner": basic_user(state.users[org["owner_id"]], base),
    }


def membership_json(state, m, base):
    return {
        "id": m["id"], "user": basic_user(state.users[m["user_id"]], base),
        "organization": m["org_id"], "is_active": True,
        "joined_date": m["joined_date"], "role": m["role"],
        "invitation": m["invitation"],
    }


class OrgRoutes(ApiBase):
    @route("GET POST", r"/api/organizations")
    def organizations(self, req):
        if req.method == "POST":
            body = req.json()
            slug = body.get("slug")
            if not isinstance(slug, str) or not slug.strip():
                raise HttpError(400, {"slug": ["This field is required."]})
            if any(o["slug"] == slug for o in self.state.organizations.values()):
                raise HttpError(400, {"slug": ["organization with this slug already exists."]})
            org = self.state.add_organization(slug, req.user, name=body.get("name") or slug,
                                              description=body.get("description", ""))
            return Response(201, org_json(self.state, org, req.base))
        items = [o for o in self.state.organizations.values()
                 if self.state.role(req.user, o["id"]) is not None]
        items = self.filter_common(sorted(items, key=lambda o: -o["id"]), req.query)
        return Response(200, self.paginate(req, items, lambda o: org_json(self.state, o, req.base)))

    @route("GET", r"/api/organizations/(\d+)")
    def organization(self, req, oid):
        org = get_or_404(self.state.organizations, oid, "Organization")
        if not req.user.is_superuser and self.state.role(req.user, org["id"]) is None:
            if self.profile.org_forbidden_status == 403:
                raise forbidden()
            raise HttpError(404, {"detail": "No Organization matches the given query."})
        return Response(200, org_json(self.state, org, req.base))

    @route("GET", r"/api/memberships")
    def memberships(self, req):
        ctx = request_context(self.state, req)
        self.check_list_context(req, ctx)
        mine = {oid for oid in self.state.organizations
                if self.state.role(req.user, oid) is not None}
        items = [m for m in self.state.memberships.values()
                 if (req.user.is_superuser or m["org_id"] in mine) and in_context(m["org_id"], ctx)]
        if "user" in req.query:
            items = [m for m in items if self.state.users[m["user_id"]].username == req.query["user"]]
        if "role" in req.query:
            items = [m for m in items if m["role"] == req.query["role"]]
        items.sort(key=lambda m: -m["id"])
        return Response(200, self.paginate(req, items, lambda m: membership_json(self.state, m, req.base)))

    @route("POST", r"/api/invitations")
    def invitations(self, req):
        ctx = request_context(self.state, req)
        if not isinstance(ctx, dict):
            raise HttpError(400, {"organization": ["This field is required."]})
        if self.state.role(req.user, ctx["id"]) not in ("owner", "maintainer") and not req.user.is_superuser:
            raise forbidden()
        body = req.json()
        role = body.get("role")
        if role not in ROLES[1:]:
            raise HttpError(400, {"role": [f'"{role}" is not a valid choice.']})
        user = next((u for u in self.state.users.values() if u.email == body.get("email")), None)
        if user is None:
            raise HttpError(400, {"email": ["No user with this email"]})
        m = self.state.add_member(ctx, user, role)
        return Response(201, {
            "key": m["invitation"], "created_date": m["joined_date"],
            "owner": basic_user(req.user, req.base), "role": role,
            "user": basic_user(user, req.base), "organization": ctx["id"],
            "expired": None, "accepted": True,
            "organization_info": {"id": ctx["id"], "slug": ctx["slug"]},
        })


def task_listed(state, user, task, ctx):
    """Whether a task appears in ``/api/tasks`` (and its labels/jobs lists)."""
    org = task.get("org_id")
    if not in_context(org, ctx):
        return False
    if user.is_superuser:
        return True
    if ctx == ABSENT and org is not None:
        return state.task_staff(user, task)
    return state.can_see_task(user, task)


def job_listed(state, user, job, task, ctx):
    org = task.get("org_id")
    if not in_context(org, ctx):
        return False
    if user.is_superuser:
        return True
    if ctx == ABSENT and org is not None:
        return state.task_staff(user, task) or job["assignee_id"] == user.id
    return state.can_see_job(user, job, task)


def project_listed(state, user, project, ctx):
    org = project.get("org_id")
    if not in_context(org, ctx):
        return False
    if user.is_superuser:
        return True
    if ctx == ABSENT and org is not None:
        return user.id in (project["owner_id"], project["assignee_id"])
    return state.can_see_project(user, project)
