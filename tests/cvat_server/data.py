"""Task data: upload (one multipart request or the SDK's Upload-Start /
Upload-Multiple / Upload-Finish), the processing request and its polls,
meta, frames and chunks.

Processing is asynchronous by default, as on the recorded servers: the
request answers ``started`` (finished/expiry dates null) to the first
``processing_polls`` polls and is done at the next one, or after
``processing_delay`` seconds for clients that do not poll it.
"""
import threading

from . import media, video
from .httputil import HttpError
from .render import request_json
from .routes import ApiBase, Response, int_param, route
from .state import now


class DataRoutes(ApiBase):
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
        rq_id = self.profile.rq_id(task["id"])
        files = self.state.uploads.pop(task["id"], [])
        self.state.requests[rq_id] = {
            "created_date": now(), "expiry_date": None, "finished_date": None,
            "id": rq_id, "message": "",
            "operation": {"format": None, "function_id": None, "job_id": None,
                          "lightweight": None, "org_id": task.get("org_id"),
                          "project_id": task["project_id"], "target": "task",
                          "task_id": task["id"], "type": "create:task"},
            "owner": {"id": req.user.id, "username": req.user.username},
            "progress": 0.0, "result_id": None, "result_url": None,
            "started_date": None, "status": "queued",
        }
        self.server.processing.schedule(rq_id, task, files, params)
        return Response(202, {"rq_id": rq_id})

    def _request_for(self, tid):
        return self.state.requests.get(self.profile.rq_id(tid))

    def _download(self, req, task):
        frames = self.state.frames.get(task["id"])
        if not frames:
            raise HttpError(400, {"detail": "The task has no data"})
        number = int_param(req.query, "number", 0)
        kind = req.query.get("type", "frame")
        if kind == "frame":
            if not 0 <= number < len(frames):
                raise HttpError(400, {"detail": f"The frame number should be in the [0, {len(frames) - 1}] range"})
            return Response(200, frames[number]["data"], content_type=frames[number]["mime"])
        if kind == "chunk":
            chunk = task["chunk_size"]
            if not 0 <= number * chunk < len(frames):
                raise HttpError(400, {"detail": "The chunk number is out of range"})
            if video.is_video_task(task):
                return Response(200, frames.chunk(number, chunk), content_type="video/mp4")
            return Response(200, media.chunk_zip(frames, number, chunk), content_type="application/zip")
        raise HttpError(400, {"type": [f'"{kind}" is not a valid choice.']})

    @route("GET", r"/api/tasks/(\d+)/data/meta")
    def data_meta(self, req, tid):
        task = self._task(req, tid)
        if task["data"] is None:
            raise HttpError(404, {"detail": "No Data matches the given query."})
        return Response(200, self._meta(task))

    @route("GET", r"/api/jobs/(\d+)/data/meta")
    def job_data_meta(self, req, jid):
        job, task = self._job(req, jid)
        return Response(200, self._meta(task, job["start_frame"], job["stop_frame"]))

    @route("GET", r"/api/tasks/(\d+)/status")
    def task_status(self, req, tid):
        task = self._task(req, tid)
        rq = self._request_for(task["id"])
        if rq is not None:
            self.server.processing.poll(rq["id"])
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
        return Response(200, self.paginate(req, items, lambda rq: request_json(self.state, rq)))

    @route("GET", r"/api/requests/([^/]+)")
    def request(self, req, rq_id):
        rq = self.state.requests.get(rq_id)
        if rq is None or not (req.user.is_superuser or rq["owner"]["id"] == req.user.id):
            raise HttpError(404, {"detail": "Not found."})
        self.server.processing.poll(rq_id)
        return Response(200, request_json(self.state, rq))


    def _meta(self, task, start=None, stop=None):
        meta = media.data_meta(task, self.state.frames[task["id"]], start, stop)
        if self.profile.consensus_fields:
            meta.update(chapters=None, cloud_storage_id=None, storage="local")
        return meta


class Processing:
    """What CVAT's worker does after ``POST .../data``."""

    def __init__(self, server):
        self.server = server
        self.state = server.state
        self.pending = {}  # rq_id -> {tid, files, params, mode, polls}
        self.timers = []

    def reset(self):
        for timer in self.timers:
            timer.cancel()
        self.timers = []
        self.pending = {}

    def schedule(self, rq_id, task, files, params):
        server = self.server
        mode, polls, delay = server.faults.processing, server.processing_polls, server.processing_delay
        if mode == "normal" and not polls and delay <= 0:
            self._process(rq_id, task["id"], files, params, mode)
            return
        self.pending[rq_id] = {"tid": task["id"], "files": files, "params": params,
                               "mode": mode, "polls": polls}
        if delay > 0:
            start = threading.Timer(delay / 2, self._timed, (rq_id, False))
            finish = threading.Timer(delay, self._timed, (rq_id, True))
            self.timers += [start, finish]
            start.start()
            finish.start()

    def poll(self, rq_id):
        """A client asked about the request (called under the state lock)."""
        job = self.pending.get(rq_id)
        if job is None:
            return
        if job["polls"] is None:  # finished by time alone
            return
        self._set_started(rq_id)
        if job["mode"] == "stall":
            return
        if job["polls"] > 0:
            job["polls"] -= 1
            return
        self._finish(rq_id)

    def _timed(self, rq_id, finish):
        with self.state.lock:
            if rq_id not in self.pending:
                return
            self._set_started(rq_id)
            if finish and self.pending[rq_id]["mode"] != "stall":
                self._finish(rq_id)

    def _set_started(self, rq_id):
        rq = self.state.requests.get(rq_id)
        if rq and rq["status"] == "queued":
            rq.update(status="started", started_date=now())

    def _finish(self, rq_id):
        job = self.pending.pop(rq_id)
        self._process(rq_id, job["tid"], job["files"], job["params"], job["mode"])

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
