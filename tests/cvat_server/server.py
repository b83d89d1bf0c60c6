"""The CVAT 2.23.1 emulator: a threaded HTTP server on 127.0.0.1 serving the
REST API FiftyOne's ``CVATAnnotationAPI`` and ``cvat-sdk`` use.

    from cvat_server.server import CVATServer
    server = CVATServer().start()   # server.url -> "http://127.0.0.1:PORT"
    ...
    server.stop()
"""
import base64
import contextlib
import gc
import json
import re
import secrets
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from . import annotations as ann
from . import media
from .faults import Faults
from .httputil import HttpError, not_found_html, parse_body, parse_cookies, server_error_html
from .labels import LabelError, apply_label_changes, create_label, validate_label_spec
from .state import ABOUT_DESCRIPTION, VERSION, State, TaskAnnotations, basic_user, full_user, job_json, now, project_json, task_json

PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ANONYMOUS = {("POST", "/api/auth/login"), ("GET", "/api/server/about")}
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

ROUTES = []


def route(methods, pattern):
    def wrap(fn):
        ROUTES.append((set(methods.split()), re.compile(pattern + "$"), fn))
        return fn
    return wrap


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic GC while building large annotation payloads (it would
    otherwise rescan the growing heap over and over)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Response:
    def __init__(self, status, body=None, content_type="application/vnd.cvat+json", headers=()):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = list(headers)


def _get(store, key, what):
    try:
        return store[int(key)]
    except (KeyError, ValueError):
        raise HttpError(404, {"detail": f"No {what} matches the given query."}) from None


def _int_param(query, name, default=None):
    value = query.get(name, default)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise HttpError(400, {name: ["A valid integer is required."]}) from None


class Api:
    """The request handlers; ``self.state`` is locked by the caller."""

    def __init__(self, server):
        self.server = server
        self.state = server.state

    # pagination and filters

    def paginate(self, req, items, render):
        query = req.query
        page = _int_param(query, "page", 1)
        size = min(max(_int_param(query, "page_size", PAGE_SIZE) or PAGE_SIZE, 1), MAX_PAGE_SIZE)
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

    # auth, server, users

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
        return Response(200, {"description": ABOUT_DESCRIPTION,
                              "name": "Computer Vision Annotation Tool",
                              "version": VERSION})

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
        user = _get(self.state.users, uid, "User")
        render = full_user if req.user.is_superuser or user is req.user else basic_user
        return Response(200, render(user, req.base))

    # projects

    def _project(self, req, pid):
        project = _get(self.state.projects, pid, "Project")
        if not self.state.can_see_project(req.user, project):
            raise HttpError(403, {"detail": "You do not have permission to perform this action."})
        return project

    @route("GET POST", r"/api/projects")
    def projects(self, req):
        if req.method == "POST":
            return self._create_project(req)
        items = [p for p in self.state.projects.values()
                 if self.state.can_see_project(req.user, p)]
        items = self.filter_common(sorted(items, key=lambda p: -p["id"]), req.query)
        return Response(200, self.paginate(
            req, items, lambda p: project_json(self.state, p, req.base)))

    def _create_project(self, req):
        body = req.json()
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HttpError(400, {"name": ["This field is required." if name is None else "This field may not be blank."]})
        specs = body.get("labels", [])
        self._check_new_labels(specs)
        stamp = now()
        pid = self.state.next_id("project")
        project = {
            "id": pid, "name": name, "owner_id": req.user.id,
            "assignee_id": self._user_id(body.get("assignee_id"), "assignee_id"),
            "assignee_updated_date": None, "bug_tracker": body.get("bug_tracker", "") or "",
            "created_date": stamp, "updated_date": stamp, "label_ids": [],
        }
        for spec in specs:
            project["label_ids"].append(create_label(self.state, spec, "project_id", pid)["json"]["id"])
        self.state.projects[pid] = project
        return Response(201, project_json(self.state, project, req.base))

    def _check_new_labels(self, specs):
        if not isinstance(specs, list):
            raise HttpError(400, {"labels": ['Expected a list of items but got type "%s".' % type(specs).__name__]})
        names = set()
        for spec in specs:
            validate_label_spec(spec, names)
            names.add(spec["name"])

    def _user_id(self, value, field):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value not in self.state.users:
            raise HttpError(400, {field: [f'Invalid pk "{value}" - object does not exist.']})
        return value

    @route("GET PATCH DELETE", r"/api/projects/(\d+)")
    def project(self, req, pid):
        project = self._project(req, pid)
        if req.method == "DELETE":
            for task in [t for t in self.state.tasks.values() if t["project_id"] == project["id"]]:
                self._delete_task(task)
            for lid in project["label_ids"]:
                self._drop_label(lid)
            del self.state.projects[project["id"]]
            return Response(204)
        if req.method == "PATCH":
            body = req.json()
            updated = dict(project, label_ids=list(project["label_ids"]))
            self._patch_name_and_assignee(updated, body)
            if "bug_tracker" in body:
                updated["bug_tracker"] = body["bug_tracker"] or ""
            if "labels" in body:
                apply_label_changes(self.state, body["labels"], "project_id", project["id"], updated["label_ids"])
            updated["updated_date"] = now()
            project.update(updated)
        return Response(200, project_json(self.state, project, req.base))

    def _drop_label(self, lid):
        label = self.state.labels.pop(lid, None)
        if label:
            for sub in label["json"]["sublabels"]:
                self.state.labels.pop(sub["id"], None)

    # tasks

    def _task(self, req, tid):
        task = _get(self.state.tasks, tid, "Task")
        if not self.state.can_see_task(req.user, task):
            raise HttpError(403, {"detail": "You do not have permission to perform this action."})
        return task

    @route("GET POST", r"/api/tasks")
    def tasks(self, req):
        if req.method == "POST":
            return self._create_task(req)
        items = [t for t in self.state.tasks.values() if self.state.can_see_task(req.user, t)]
        items = sorted(items, key=lambda t: -t["id"])
        if "project_id" in req.query:
            items = [t for t in items if str(t["project_id"]) == req.query["project_id"]]
        items = self.filter_common(items, req.query)
        return Response(200, self.paginate(req, items, lambda t: task_json(self.state, t, req.base)))

    def _create_task(self, req):
        body = req.json()
        if not isinstance(body, dict):
            raise HttpError(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HttpError(400, {"name": ["This field is required." if name is None else "This field may not be blank."]})
        project_id = body.get("project_id")
        specs = body.get("labels", []) or []
        if project_id is not None:
            if project_id not in self.state.projects:
                raise HttpError(400, {"project_id": [f'Invalid pk "{project_id}" - object does not exist.']})
            if specs:
                raise HttpError(400, {"labels": ["Labels of a task inside a project are the project's labels"]})
        else:
            if not specs:
                raise HttpError(400, {"label_set": ["Label set must not be empty"]})
            self._check_new_labels(specs)
        segment_size = body.get("segment_size", 0) or 0
        if isinstance(segment_size, bool) or not isinstance(segment_size, int) or segment_size < 0:
            raise HttpError(400, {"segment_size": ["A valid integer is required."]})
        stamp = now()
        tid = self.state.next_id("task")
        task = {
            "id": tid, "name": name, "project_id": project_id, "owner_id": req.user.id,
            "assignee_id": self._user_id(body.get("assignee_id"), "assignee_id"),
            "assignee_updated_date": None, "bug_tracker": body.get("bug_tracker", "") or "",
            "created_date": stamp, "updated_date": stamp, "subset": body.get("subset", "") or "",
            "segment_size": segment_size, "overlap": body.get("overlap"), "mode": "",
            "data": None, "size": 0, "image_quality": None, "chunk_size": None,
            "frame_filter": "", "chunks_updated_date": None, "label_ids": [], "job_ids": [],
        }
        for spec in specs if project_id is None else []:
            task["label_ids"].append(create_label(self.state, spec, "task_id", tid)["json"]["id"])
        self.state.tasks[tid] = task
        self.state.annotations[tid] = TaskAnnotations()
        return Response(201, task_json(self.state, task, req.base))

    def _patch_name_and_assignee(self, updated, body):
        """Applies ``name`` and ``assignee_id`` of a project or task PATCH."""
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise HttpError(400, {"name": ["This field may not be blank."]})
            updated["name"] = body["name"]
        if "assignee_id" in body:
            updated["assignee_id"] = self._user_id(body["assignee_id"], "assignee_id")
            updated["assignee_updated_date"] = now()

    @route("GET PATCH DELETE", r"/api/tasks/(\d+)")
    def task(self, req, tid):
        task = self._task(req, tid)
        if req.method == "DELETE":
            self._require_owner(req, task)
            self._delete_task(task)
            return Response(204)
        if req.method == "PATCH":
            body = req.json()
            updated = dict(task, label_ids=list(task["label_ids"]))
            self._patch_name_and_assignee(updated, body)
            for key in ("bug_tracker", "subset"):
                if key in body:
                    updated[key] = body[key] or ""
            if "labels" in body:
                if task["project_id"] is not None:
                    raise HttpError(400, {"labels": ["Labels of a task inside a project are the project's labels"]})
                apply_label_changes(self.state, body["labels"], "task_id", task["id"], updated["label_ids"])
            updated["updated_date"] = now()
            task.update(updated)
        return Response(200, task_json(self.state, task, req.base))

    def _require_owner(self, req, task):
        if not (req.user.is_superuser or req.user.id == task["owner_id"]):
            raise HttpError(403, {"detail": "You do not have permission to perform this action."})

    def _delete_task(self, task):
        for jid in task["job_ids"]:
            self.state.jobs.pop(jid, None)
        for lid in task["label_ids"]:
            self._drop_label(lid)
        for key in ("frames", "annotations", "uploads"):
            getattr(self.state, key).pop(task["id"], None)
        del self.state.tasks[task["id"]]

    # data

    @route("POST GET", r"/api/tasks/(\d+)/data")
    def data(self, req, tid):
        task = self._task(req, tid)
        if req.method == "GET":
            return self._download(req, task)
        self._require_owner(req, task)
        if task["data"] is not None or self._request_for(task["id"]) is not None and \
                self._request_for(task["id"])["status"] in ("queued", "started"):
            raise HttpError(400, {"detail": "Adding more data is not supported"})
        fields, files = req.form()
        pending = self.state.uploads.setdefault(task["id"], [])
        pending.extend((name.rsplit("/", 1)[-1], data) for field, name, data in files
                       if field.startswith("client_files"))
        if "Upload-Start" in req.headers:
            return Response(202, None)
        if "Upload-Multiple" in req.headers:
            return Response(200, None)
        params = dict(fields)
        if "image_quality" not in params:
            raise HttpError(400, {"image_quality": ["This field is required."]})
        try:
            quality = int(params["image_quality"])
            if not 0 <= quality <= 100:
                raise ValueError
        except (TypeError, ValueError):
            raise HttpError(400, {"image_quality": ["Ensure this value is between 0 and 100."]}) from None
        rq_id = f"create:task-{task['id']}"
        files = self.state.uploads.pop(task["id"], [])
        self.state.requests[rq_id] = {
            "created_date": now(), "expiry_date": None, "finished_date": None,
            "id": rq_id, "message": "",
            "operation": {"format": None, "function_id": None, "job_id": None,
                          "project_id": task["project_id"], "target": "task",
                          "task_id": task["id"], "type": "create:task"},
            "owner": {"id": req.user.id, "username": req.user.username},
            "progress": 0.0, "result_id": None, "result_url": None,
            "started_date": None, "status": "queued",
        }
        self.server.schedule_processing(rq_id, task, files, params)
        return Response(202, {"rq_id": rq_id})

    def _request_for(self, tid):
        return self.state.requests.get(f"create:task-{tid}")

    def _download(self, req, task):
        frames = self.state.frames.get(task["id"])
        if not frames:
            raise HttpError(400, {"detail": "The task has no data"})
        number = _int_param(req.query, "number", 0)
        kind = req.query.get("type", "frame")
        if kind == "frame":
            if not 0 <= number < len(frames):
                raise HttpError(400, {"detail": f"The frame number should be in the [0, {len(frames) - 1}] range"})
            return Response(200, frames[number]["data"], content_type=frames[number]["mime"])
        if kind == "chunk":
            chunk = task["chunk_size"]
            if not 0 <= number * chunk < len(frames):
                raise HttpError(400, {"detail": "The chunk number is out of range"})
            return Response(200, media.chunk_zip(frames, number, chunk), content_type="application/zip")
        raise HttpError(400, {"type": [f'"{kind}" is not a valid choice.']})

    @route("GET", r"/api/tasks/(\d+)/data/meta")
    def data_meta(self, req, tid):
        task = self._task(req, tid)
        if task["data"] is None:
            raise HttpError(404, {"detail": "No Data matches the given query."})
        return Response(200, media.data_meta(task, self.state.frames[task["id"]]))

    @route("GET", r"/api/jobs/(\d+)/data/meta")
    def job_data_meta(self, req, jid):
        job, task = self._job(req, jid)
        return Response(200, media.data_meta(task, self.state.frames[task["id"]],
                                             job["start_frame"], job["stop_frame"]))

    @route("GET", r"/api/tasks/(\d+)/status")
    def task_status(self, req, tid):
        task = self._task(req, tid)
        rq = self._request_for(task["id"])
        if rq is None:
            return Response(200, {"message": "", "progress": 0.0, "state": "Unknown"})
        state = rq["status"].capitalize()
        return Response(200, {"message": rq["message"], "progress": rq["progress"] * 100, "state": state})

    @route("GET", r"/api/requests")
    def requests_list(self, req):
        items = [r for r in self.state.requests.values()
                 if req.user.is_superuser or r["owner"]["id"] == req.user.id]
        if "task_id" in req.query:
            items = [r for r in items if str(r["operation"]["task_id"]) == req.query["task_id"]]
        if "action" in req.query:
            items = [r for r in items if r["operation"]["type"].startswith(req.query["action"])]
        return Response(200, self.paginate(req, items, dict))

    @route("GET", r"/api/requests/([^/]+)")
    def request(self, req, rq_id):
        rq = self.state.requests.get(rq_id)
        if rq is None or not (req.user.is_superuser or rq["owner"]["id"] == req.user.id):
            raise HttpError(404, {"detail": "Not found."})
        return Response(200, dict(rq, operation=dict(rq["operation"])))

    # jobs

    def _job(self, req, jid):
        job = _get(self.state.jobs, jid, "Job")
        task = self.state.tasks[job["task_id"]]
        if not (self.state.can_see_task(req.user, task)):
            raise HttpError(403, {"detail": "You do not have permission to perform this action."})
        return job, task

    @route("GET", r"/api/jobs")
    def jobs(self, req):
        q = req.query
        items = sorted(self.state.jobs.values(), key=lambda j: j["id"])
        if "task_id" in q:
            items = [j for j in items if str(j["task_id"]) == q["task_id"]]
        if "project_id" in q:
            items = [j for j in items if str(self.state.tasks[j["task_id"]]["project_id"]) == q["project_id"]]
        for key in ("stage", "state", "id"):
            if key in q:
                items = [j for j in items if str(j[key]) == q[key]]
        items = [j for j in items if req.user.is_superuser or j["assignee_id"] == req.user.id
                 or self.state.can_see_task(req.user, self.state.tasks[j["task_id"]])]
        return Response(200, self.paginate(req, items, lambda j: job_json(self.state, j, req.base)))

    @route("GET PATCH", r"/api/jobs/(\d+)")
    def job(self, req, jid):
        job, task = self._job(req, jid)
        if req.method == "PATCH":
            body = req.json()
            updated = dict(job)
            if "assignee" in body:
                updated["assignee_id"] = self._user_id(body["assignee"], "assignee")
                updated["assignee_updated_date"] = now()
            if "stage" in body:
                if body["stage"] not in ("annotation", "validation", "acceptance"):
                    raise HttpError(400, {"stage": [f'"{body["stage"]}" is not a valid choice.']})
                updated["stage"] = body["stage"]
            if "state" in body:
                if body["state"] not in ("new", "in progress", "completed", "rejected"):
                    raise HttpError(400, {"state": [f'"{body["state"]}" is not a valid choice.']})
                updated["state"] = body["state"]
            updated["updated_date"] = now()
            job.update(updated)
        return Response(200, job_json(self.state, job, req.base))

    # labels

    @route("GET", r"/api/labels")
    def labels(self, req):
        q = req.query
        if "task_id" in q:
            task = self._task(req, q["task_id"])
            items = self.state.task_labels(task)
        elif "job_id" in q:
            _, task = self._job(req, q["job_id"])
            items = self.state.task_labels(task)
        elif "project_id" in q:
            items = self.state.project_labels(self._project(req, q["project_id"]))
        else:
            items = [lab["json"] for lab in self.state.labels.values()
                     if lab["parent_id"] is None and self._label_visible(req, lab)]
        items = sorted(items, key=lambda j: j["id"])
        if "type" in q:
            items = [lab for lab in items if lab["type"] == q["type"]]
        items = self.filter_common(items, q)
        return Response(200, self.paginate(req, items, lambda lab: lab))

    def _label_visible(self, req, label):
        j = label["json"]
        if "task_id" in j:
            return self.state.can_see_task(req.user, self.state.tasks[j["task_id"]])
        return self.state.can_see_project(req.user, self.state.projects[j["project_id"]])

    @route("GET DELETE", r"/api/labels/(\d+)")
    def label(self, req, lid):
        label = _get(self.state.labels, lid, "Label")
        if label["parent_id"] is not None or not self._label_visible(req, label):
            raise HttpError(404, {"detail": "No Label matches the given query."})
        if req.method == "DELETE":
            j = label["json"]
            owner = (self.state.tasks[j["task_id"]] if "task_id" in j
                     else self.state.projects[j["project_id"]])
            owner["label_ids"].remove(j["id"])
            self._drop_label(j["id"])
            return Response(204)
        return Response(200, label["json"])

    # annotations

    @route("GET PUT PATCH DELETE", r"/api/tasks/(\d+)/annotations")
    def task_annotations(self, req, tid):
        task = self._task(req, tid)
        if "format" in req.query:
            raise HttpError(405, {"detail": "Exporting annotation files is not implemented by the test server"})
        return self._annotations(req, task, 0, max(task["size"] - 1, 0))

    @route("GET PUT PATCH DELETE", r"/api/jobs/(\d+)/annotations")
    def job_annotations(self, req, jid):
        job, task = self._job(req, jid)
        if "format" in req.query:
            raise HttpError(405, {"detail": "Exporting annotation files is not implemented by the test server"})
        return self._annotations(req, task, job["start_frame"], job["stop_frame"])

    def _annotations(self, req, task, start, stop):
        store = self.state.annotations[task["id"]]
        if req.method == "GET":
            return Response(200, ann.encode(*store.in_range(start, stop)))
        if task["data"] is None and req.method != "DELETE":
            raise HttpError(400, {"detail": "The task has no data; annotations cannot be saved"})
        if req.method == "DELETE":
            store.clear_range(start, stop)
            return Response(204)
        with _gc_paused():
            return self._write_annotations(req, task, store, start, stop)

    def _write_annotations(self, req, task, store, start, stop):
        payload = req.json()
        ctx = ann.Context(self.state.task_labels(task), start, stop)
        if req.method == "PUT":
            tags, shapes, tracks = ann.normalize(self.state, ctx, payload)
            ann.put(store, start, stop, tags, shapes, tracks)
        else:
            action = req.query.get("action")
            if action not in ("create", "update", "delete"):
                raise HttpError(400, {"action": ["This field is required." if action is None else f'"{action}" is not a valid choice.']})
            if action == "create":
                tags, shapes, tracks = ann.normalize(self.state, ctx, payload)
                ann.add(store, tags, shapes, tracks)
            else:
                ann.check_ids_exist(store, payload)
                if action == "update":
                    tags, shapes, tracks = ann.normalize(self.state, ctx, payload, keep_ids=True)
                    ann.remove(store, tags, shapes, tracks)
                    ann.add(store, tags, shapes, tracks)
                else:
                    tags, shapes, tracks = ([{"id": o["id"]} for o in payload.get(k) or []]
                                            for k in ("tags", "shapes", "tracks"))
                    ann.remove(store, tags, shapes, tracks)
        task["updated_date"] = now()
        return Response(200, ann.encode(tags, shapes, tracks))


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
            resp = Response(400, e.body)
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
    """A CVAT 2.23.1 emulator on 127.0.0.1. ``start()``/``stop()``, ``url``."""

    def __init__(self, host="127.0.0.1", port=0):
        self.host, self.port = host, port
        self._httpd = self._thread = None
        self.state = State()
        self.faults = Faults(self)
        self.api = Api(self)
        self.calls = []  # (method, path) of every request, in arrival order
        self.call_log = []  # (method, path, full target incl. query)
        self.processing_delay = 0.0  # seconds data processing takes
        self.generation = 0  # bumped by reset(); late delayed requests are dropped
        self._timers = []

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
        for timer in self._timers:
            timer.cancel()

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

    def reset(self):
        """Fresh state, no faults, empty call logs."""
        self.generation += 1
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        self.faults.clear()
        self.state.reset()
        self.calls.clear()
        self.call_log.clear()
        self.processing_delay = 0.0

    def record(self, method, path, target):
        self.calls.append((method, path))
        self.call_log.append((method, path, target))

    # dispatch

    def dispatch(self, req, expired=False):
        path_known = False
        for methods, pattern, fn in ROUTES:
            m = pattern.match(req.path)
            if not m:
                continue
            path_known = True
            if req.method not in methods:
                continue
            if (req.method, req.path) not in ANONYMOUS:
                if expired:
                    raise HttpError(401, {"detail": "Invalid token."})
                self.authenticate(req)
            with self.state.lock:
                return fn(self.api, req, *m.groups())
        if path_known:
            raise HttpError(405, {"detail": f'Method "{req.method}" not allowed.'})
        raise not_found_html()

    def authenticate(self, req):
        state = self.state
        auth = req.headers.get("Authorization", "")
        with state.lock:
            if auth.startswith("Token "):
                uid = state.tokens.get(auth[6:].strip())
                if uid is None:
                    raise HttpError(401, {"detail": "Invalid token."})
                req.user = state.users[uid]
                return
            if auth.startswith("Basic "):
                try:
                    username, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    raise HttpError(401, {"detail": "Invalid basic header. Credentials not correctly base64 encoded."}) from None
                user = state.find_login(username, None, password)
                if user is None:
                    raise HttpError(401, {"detail": "Invalid username/password."})
                req.user = user
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
            req.user = state.users[uid]

    # data processing (what CVAT's worker does after POST .../data)

    def schedule_processing(self, rq_id, task, files, params):
        mode = self.faults.processing
        if mode == "normal" and self.processing_delay <= 0:
            self._process(rq_id, task["id"], files, params, mode)
            return
        delay = self.processing_delay
        start = threading.Timer(delay / 2, self._set_started, (rq_id,))
        finish = threading.Timer(delay, self._process, (rq_id, task["id"], files, params, mode))
        self._timers += [start, finish]
        start.start()
        if mode == "stall":
            return
        finish.start()

    def _set_started(self, rq_id):
        with self.state.lock:
            rq = self.state.requests.get(rq_id)
            if rq and rq["status"] == "queued":
                rq.update(status="started", started_date=now())

    def _process(self, rq_id, tid, files, params, mode):
        with self.state.lock:
            rq, task = self.state.requests.get(rq_id), self.state.tasks.get(tid)
            if rq is None or task is None:
                return
            stamp = now()
            rq.update(started_date=rq["started_date"] or stamp)
            try:
                if mode == "fail":
                    raise media.MediaError("Data processing failed (fault injected by the test)")
                media.attach_data(self.state, task, files, params)
            except media.MediaError as e:
                rq.update(status="failed", message=str(e), finished_date=stamp)
                return
            rq.update(status="finished", finished_date=stamp, expiry_date=stamp)
