"""Jobs and annotations (of a task, or of one job's frame range).

Job lists come newest first, as on the recorded servers. A consensus
replica job (``parent_job_id`` set, 2.73) keeps its own annotations; the
task's annotations are its parent jobs'.
"""
from . import annotation_ops as ops
from . import annotations as ann
from . import video, video_tracks
from .httputil import HttpError
from .orgs import job_listed, request_context
from .render import job_json
from .routes import ApiBase, Response, forbidden, gc_paused, get_or_404, route
from .state import TaskAnnotations, now

BAD_ACTION = ["Please specify a correct 'action' for the request"]
_NO_EXPORT = {"detail": "Exporting annotation files is not implemented by the test server"}


class JobRoutes(ApiBase):
    def _job(self, req, jid):
        job = get_or_404(self.state.jobs, jid, "Job")
        task = self.state.tasks[job["task_id"]]
        if not self.state.can_see_job(req.user, job, task):
            raise forbidden()
        return job, task

    @route("GET", r"/api/jobs")
    def jobs(self, req):
        q = req.query
        ctx = request_context(self.state, req)
        self.check_list_context(req, ctx)
        items = sorted(self.state.jobs.values(), key=lambda j: -j["id"])
        if "task_id" in q:
            items = [j for j in items if str(j["task_id"]) == q["task_id"]]
        if "project_id" in q:
            items = [j for j in items if str(self.state.tasks[j["task_id"]]["project_id"]) == q["project_id"]]
        for key in ("stage", "state", "id", "parent_job_id"):
            if key in q:
                items = [j for j in items if str(j.get(key)) == q[key]]
        if "type" in q:
            items = [j for j in items if j.get("type", "annotation") == q["type"]]
        items = [j for j in items
                 if job_listed(self.state, req.user, j, self.state.tasks[j["task_id"]], ctx)]
        return Response(200, self.paginate(req, items, lambda j: job_json(self.state, j, req.base)))

    @route("GET PATCH", r"/api/jobs/(\d+)")
    def job(self, req, jid):
        job, task = self._job(req, jid)
        if req.method == "PATCH":
            body = req.json()
            updated = dict(job)
            if "assignee" in body:
                updated["assignee_id"] = self.user_id(body["assignee"], "assignee")
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

    # annotations

    @route("GET PUT PATCH DELETE", r"/api/tasks/(\d+)/annotations")
    def task_annotations(self, req, tid):
        task = self._task(req, tid)
        if "format" in req.query:
            raise HttpError(405, _NO_EXPORT)
        return self._annotations(req, task, self.state.annotations[task["id"]],
                                 0, max(task["size"] - 1, 0))

    @route("GET PUT PATCH DELETE", r"/api/jobs/(\d+)/annotations")
    def job_annotations(self, req, jid):
        job, task = self._job(req, jid)
        if "format" in req.query:
            raise HttpError(405, _NO_EXPORT)
        if job.get("parent_job_id") is not None:
            store = self.state.annotations.setdefault(("job", job["id"]), TaskAnnotations())
        else:
            store = self.state.annotations[task["id"]]
        return self._annotations(req, task, store, job["start_frame"], job["stop_frame"],
                                 job if job.get("parent_job_id") is None else False)

    def _annotations(self, req, task, store, start, stop, job=None):
        if video.is_video_task(task) and job is not False:  # tracks per job
            return video_tracks.handle(self, req, task, store, job)
        intervals = self.profile.intervals
        if req.method == "GET":
            text = ann.encode(*store.in_range(start, stop), intervals=intervals)
            return Response(200, ann.as_served(text) if self.profile.scores else text)
        if task["data"] is None and req.method != "DELETE":
            raise HttpError(400, {"detail": "The task has no data; annotations cannot be saved"})
        if req.method == "DELETE":
            store.clear_range(start, stop)
            return Response(204)
        with gc_paused():
            tags, shapes, tracks = self._write_annotations(req, task, store, start, stop)
        task["updated_date"] = now()
        return Response(200, ann.encode(tags, shapes, tracks, intervals=intervals))

    def _write_annotations(self, req, task, store, start, stop):
        payload = req.json()
        strict = self.profile.strict_ids
        ctx = ann.Context(self.state.task_labels(task), start, stop,
                          scores=self.profile.scores, strict=strict)
        action = req.query.get("action") if req.method == "PATCH" else "put"
        if action not in ("put", "create", "update", "delete"):
            raise HttpError(400, list(BAD_ACTION))
        if strict and action in ("put", "create"):
            ops.check_ids(payload, present=False)
        if strict and action == "delete":
            ops.check_ids(payload, present=True)
        ids = {"put": "keep", "create": "keep", "update": "keep", "delete": "echo"}[action]
        partial = action in ("update", "delete")
        tags, shapes, tracks = ann.normalize(self.state, ctx, payload, ids=ids, partial=partial)
        if action == "put":
            ops.put(store, start, stop, tags, shapes, tracks)
        elif action == "delete":
            ops.remove(store, tags, shapes, tracks)
        else:
            if action == "update":
                ops.remove(store, tags, shapes, tracks)
            ops.check_unique(store, tags, shapes, tracks)
            ops.add(store, tags, shapes, tracks)
        return tags, shapes, tracks
