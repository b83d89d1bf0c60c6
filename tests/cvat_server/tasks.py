"""Projects, tasks and labels: create (labels validated first), list
(filtered by the request's org context, see ``orgs.py``), retrieve, PATCH,
DELETE."""
from .httputil import HttpError
from .labels import apply_label_changes, create_label, validate_label_spec
from .orgs import PERSONAL, project_listed, request_context, task_listed
from .render import project_json, task_json
from .routes import ApiBase, Response, forbidden, get_or_404, route
from .state import TaskAnnotations, now

SAME_ORG = ["The task and its project should be in the same organization."]


class TaskRoutes(ApiBase):
    # projects

    def _project(self, req, pid):
        project = get_or_404(self.state.projects, pid, "Project")
        if not self.state.can_see_project(req.user, project):
            raise forbidden()
        return project

    @route("GET POST", r"/api/projects")
    def projects(self, req):
        if req.method == "POST":
            return self._create_project(req)
        ctx = request_context(self.state, req)
        self.check_list_context(req, ctx)
        items = [p for p in self.state.projects.values()
                 if project_listed(self.state, req.user, p, ctx)]
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
            "assignee_id": self.user_id(body.get("assignee_id"), "assignee_id"),
            "assignee_updated_date": None, "bug_tracker": body.get("bug_tracker", "") or "",
            "created_date": stamp, "updated_date": stamp, "label_ids": [],
            "org_id": self.context_org_id(req),
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
        task = get_or_404(self.state.tasks, tid, "Task")
        if not self.state.can_see_task(req.user, task):
            raise forbidden()
        return task

    @route("GET POST", r"/api/tasks")
    def tasks(self, req):
        if req.method == "POST":
            return self._create_task(req)
        ctx = request_context(self.state, req)
        self.check_list_context(req, ctx)
        items = [t for t in self.state.tasks.values() if task_listed(self.state, req.user, t, ctx)]
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
            if self.state.projects[project_id].get("org_id") != self.context_org_id(req):
                raise HttpError(400, list(SAME_ORG))
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
            "assignee_id": self.user_id(body.get("assignee_id"), "assignee_id"),
            "assignee_updated_date": None, "bug_tracker": body.get("bug_tracker", "") or "",
            "created_date": stamp, "updated_date": stamp, "subset": body.get("subset", "") or "",
            "segment_size": segment_size, "overlap": body.get("overlap"), "mode": "",
            "data": None, "size": 0, "image_quality": None, "chunk_size": None,
            "frame_filter": "", "chunks_updated_date": None, "label_ids": [], "job_ids": [],
            "org_id": self.context_org_id(req),
            "consensus_replicas": self._replicas(body),
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
            updated["assignee_id"] = self.user_id(body["assignee_id"], "assignee_id")
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
        """Deleting or uploading needs the owner (or an org owner/maintainer)."""
        if not (req.user.is_superuser or req.user.id == task["owner_id"]
                or task.get("org_id") is not None
                and self.state.role(req.user, task["org_id"]) in ("owner", "maintainer")):
            raise forbidden()

    def _delete_task(self, task):
        for jid in task["job_ids"]:
            self.state.jobs.pop(jid, None)
            self.state.annotations.pop(("job", jid), None)
        for lid in task["label_ids"]:
            self._drop_label(lid)
        for key in ("frames", "annotations", "uploads"):
            getattr(self.state, key).pop(task["id"], None)
        del self.state.tasks[task["id"]]

    # labels

    @route("GET", r"/api/labels")
    def labels(self, req):
        q = req.query
        if "task_id" in q:
            task = self._task(req, q["task_id"])
            items = self.state.task_labels(task) if self.labels_in_context(req, task) else []
        elif "job_id" in q:
            _, task = self._job(req, q["job_id"])
            items = self.state.task_labels(task) if self.labels_in_context(req, task) else []
        elif "project_id" in q:
            project = self._project(req, q["project_id"])
            items = self.state.project_labels(project) if self.labels_in_context(req, project) else []
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
        label = get_or_404(self.state.labels, lid, "Label")
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

    # org context

    def context_org_id(self, req):
        """The org id new objects go to (None: the personal workspace)."""
        ctx = request_context(self.state, req)
        return ctx["id"] if isinstance(ctx, dict) else None

    def labels_in_context(self, req, owner):
        """A label list asked for with a context the owner is not in is empty."""
        ctx = request_context(self.state, req)
        org = owner.get("org_id")
        hidden = ctx == PERSONAL and org is not None and self.profile.personal_context_hides_labels
        return not (hidden or isinstance(ctx, dict) and org != ctx["id"])

    def _replicas(self, body):
        replicas = body.get("consensus_replicas", 0) or 0
        if not self.profile.consensus_fields:
            return 0
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0 or replicas == 1:
            raise HttpError(400, {"consensus_replicas": ["Ensure this value is 0 or greater than 1."]})
        return replicas
