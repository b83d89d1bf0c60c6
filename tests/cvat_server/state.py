"""In-memory state of the CVAT emulator: users, projects, tasks, labels, jobs,
frames, requests and annotations, plus the JSON renderings CVAT 2.23.1 serves.

All access goes through ``State.lock`` (the HTTP server is multi-threaded).
Stored annotation objects are never mutated after creation (updates replace
them), so a handler may encode a list it collected under the lock after
releasing it.
"""
import datetime
import itertools
import secrets
import threading

ABOUT_DESCRIPTION = (
    "CVAT is completely re-designed and re-implemented version of Video "
    "Annotation Tool from Irvine, California tool. It is free, online, "
    "interactive video and image annotation tool for computer vision. It is "
    "being used by our team to annotate million of objects with different "
    "properties. Many UI and UX decisions are based on feedbacks from "
    "professional data annotation team."
)
VERSION = "2.23.1"


def now():
    """A CVAT-style UTC timestamp string."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


class User:
    """A CVAT user account."""

    def __init__(self, id, username, password, email, is_superuser):
        self.id = id
        self.username = username
        self.password = password
        self.email = email
        self.is_superuser = is_superuser
        self.date_joined = now()
        self.last_login = None

    def __repr__(self):  # never show the password
        return f"User({self.id}, {self.username!r})"


class TaskAnnotations:
    """A task's annotations, indexed by frame so a job reads only its range."""

    def __init__(self):
        self.shapes = {}  # frame -> list of shape dicts
        self.tags = {}  # frame -> list of tag dicts
        self.tracks = []  # list of track dicts

    def in_range(self, start, stop):
        """(tags, shapes, tracks) lists for frames start..stop inclusive."""
        tags, shapes = [], []
        if stop - start + 1 > len(self.shapes) + len(self.tags):
            frames = sorted(set(self.shapes) | set(self.tags))
            frames = [f for f in frames if start <= f <= stop]
        else:
            frames = range(start, stop + 1)
        for f in frames:
            tags.extend(self.tags.get(f, ()))
            shapes.extend(self.shapes.get(f, ()))
        tracks = [t for t in self.tracks if _track_overlaps(t, start, stop)]
        return tags, shapes, tracks

    def clear_range(self, start, stop):
        """Remove everything on frames start..stop inclusive."""
        for index in (self.shapes, self.tags):
            for f in [f for f in index if start <= f <= stop]:
                del index[f]
        self.tracks = [
            t for t in self.tracks if not _track_overlaps(t, start, stop)
        ]

    def count(self):
        """Number of (tags, shapes, tracks)."""
        return (
            sum(map(len, self.tags.values())),
            sum(map(len, self.shapes.values())),
            len(self.tracks),
        )


def _track_overlaps(track, start, stop):
    frames = [s["frame"] for s in track["shapes"]] or [track["frame"]]
    return min(frames) <= stop and max(frames) >= start


class State:
    """Everything the server knows; ``reset()`` returns it to a fresh install."""

    ADMIN = ("admin", "admin-password-1", "admin@example.com")
    OTHER = ("annotator", "annotator-password-2", "annotator@example.com")

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.users = {}
            self.tokens = {}  # token key -> user id
            self.sessions = {}  # sessionid -> (user id, csrftoken)
            self.projects = {}
            self.tasks = {}
            self.labels = {}  # id -> label (top-level and sublabels)
            self.jobs = {}
            self.frames = {}  # task id -> list of frame dicts (with bytes)
            self.requests = {}  # rq_id -> request dict
            self.annotations = {}  # task id -> TaskAnnotations
            self.uploads = {}  # task id -> list of (name, bytes) pending
            self._ids = {
                k: itertools.count(1)
                for k in (
                    "user", "project", "task", "label", "attribute", "job",
                    "shape", "tag", "track", "tracked_shape",
                )
            }
            for creds, admin in ((self.ADMIN, True), (self.OTHER, False)):
                self.add_user(*creds, is_superuser=admin)

    def next_id(self, kind):
        return next(self._ids[kind])

    # users and auth

    def add_user(self, username, password, email, is_superuser=False):
        """Create a user account; returns it."""
        with self.lock:
            user = User(self.next_id("user"), username, password, email,
                        is_superuser)
            self.users[user.id] = user
            return user

    def find_login(self, username, email, password):
        """The user matching CVAT's login rules (username or email), or None."""
        for user in self.users.values():
            if (username and username in (user.username, user.email)) or (
                email and not username and email == user.email
            ):
                if secrets.compare_digest(user.password, password or ""):
                    return user
        return None

    def token_for(self, user):
        """The user's (single, reusable) auth token, as DRF authtoken does."""
        for key, uid in self.tokens.items():
            if uid == user.id:
                return key
        key = secrets.token_hex(20)
        self.tokens[key] = user.id
        return key

    # access rules

    def can_see_task(self, user, task):
        if user.is_superuser or user.id in (task["owner_id"],
                                            task["assignee_id"]):
            return True
        if task["project_id"] is not None:
            project = self.projects.get(task["project_id"])
            if project and self.can_see_project(user, project):
                return True
        return any(j["assignee_id"] == user.id for j in self.task_jobs(task))

    def can_see_project(self, user, project):
        return user.is_superuser or user.id in (project["owner_id"],
                                                project["assignee_id"])

    def task_jobs(self, task):
        return [self.jobs[j] for j in task["job_ids"]]

    def task_labels(self, task):
        """Top-level labels a task uses (its project's when in a project)."""
        if task["project_id"] is not None:
            return self.project_labels(self.projects[task["project_id"]])
        return [self.labels[i]["json"] for i in task["label_ids"]]

    def project_labels(self, project):
        return [self.labels[i]["json"] for i in project["label_ids"]]


# JSON renderings (2.23.1 field sets)


def basic_user(user, base):
    if user is None:
        return None
    return {
        "first_name": "",
        "id": user.id,
        "last_name": "",
        "url": f"{base}/api/users/{user.id}",
        "username": user.username,
    }


def full_user(user, base):
    return {
        "date_joined": user.date_joined,
        "email": user.email,
        "first_name": "",
        "groups": ["admin"] if user.is_superuser else ["user"],
        "has_analytics_access": user.is_superuser,
        "id": user.id,
        "is_active": True,
        "is_staff": user.is_superuser,
        "is_superuser": user.is_superuser,
        "last_login": user.last_login,
        "last_name": "",
        "url": f"{base}/api/users/{user.id}",
        "username": user.username,
    }


def project_json(state, p, base):
    tasks = [t for t in state.tasks.values() if t["project_id"] == p["id"]]
    return {
        "assignee": basic_user(state.users.get(p["assignee_id"]), base),
        "assignee_updated_date": p["assignee_updated_date"],
        "bug_tracker": p["bug_tracker"],
        "created_date": p["created_date"],
        "dimension": "2d" if any(t["size"] for t in tasks) else None,
        "guide_id": None,
        "id": p["id"],
        "labels": {"url": f"{base}/api/labels?project_id={p['id']}"},
        "name": p["name"],
        "organization": None,
        "owner": basic_user(state.users.get(p["owner_id"]), base),
        "source_storage": None,
        "status": "annotation",
        "target_storage": None,
        "task_subsets": sorted({t["subset"] for t in tasks if t["subset"]}),
        "tasks": {
            "count": len(tasks),
            "url": f"{base}/api/tasks?project_id={p['id']}",
        },
        "updated_date": p["updated_date"],
        "url": f"{base}/api/projects/{p['id']}",
    }


def task_json(state, t, base):
    jobs = state.task_jobs(t)
    out = {
        "assignee": basic_user(state.users.get(t["assignee_id"]), base),
        "assignee_updated_date": t["assignee_updated_date"],
        "bug_tracker": t["bug_tracker"],
        "created_date": t["created_date"],
        "dimension": "2d",
        "guide_id": None,
        "id": t["id"],
        "jobs": {
            "completed": sum(j["state"] == "completed" for j in jobs),
            "count": len(jobs),
            "url": f"{base}/api/jobs?task_id={t['id']}",
            "validation": sum(j["stage"] == "validation" for j in jobs),
        },
        "labels": {"url": f"{base}/api/labels?task_id={t['id']}"},
        "mode": t["mode"],
        "name": t["name"],
        "organization": None,
        "overlap": t["overlap"],
        "owner": basic_user(state.users.get(t["owner_id"]), base),
        "project_id": t["project_id"],
        "segment_size": t["segment_size"],
        "source_storage": None,
        "status": "annotation",
        "subset": t["subset"],
        "target_storage": None,
        "updated_date": t["updated_date"],
        "url": f"{base}/api/tasks/{t['id']}",
        "validation_mode": None,
    }
    if t["data"] is not None:  # CVAT omits data-sourced fields until then
        out.update(
            data=t["data"],
            data_chunk_size=t["chunk_size"],
            data_compressed_chunk_type="imageset",
            data_original_chunk_type="imageset",
            image_quality=t["image_quality"],
            size=t["size"],
        )
    return out


def job_json(state, j, base):
    task = state.tasks[j["task_id"]]
    return {
        "assignee": basic_user(state.users.get(j["assignee_id"]), base),
        "assignee_updated_date": j["assignee_updated_date"],
        "bug_tracker": task["bug_tracker"] or None,
        "created_date": j["created_date"],
        "data_chunk_size": task["chunk_size"],
        "data_compressed_chunk_type": "imageset",
        "data_original_chunk_type": "imageset",
        "dimension": "2d",
        "frame_count": j["stop_frame"] - j["start_frame"] + 1,
        "guide_id": None,
        "id": j["id"],
        "issues": {"count": 0, "url": f"{base}/api/issues?job_id={j['id']}"},
        "labels": {"url": f"{base}/api/labels?job_id={j['id']}"},
        "mode": task["mode"],
        "organization": None,
        "project_id": task["project_id"],
        "source_storage": None,
        "stage": j["stage"],
        "start_frame": j["start_frame"],
        "state": j["state"],
        "status": j["stage"],
        "stop_frame": j["stop_frame"],
        "target_storage": None,
        "task_id": j["task_id"],
        "type": "annotation",
        "updated_date": j["updated_date"],
        "url": f"{base}/api/jobs/{j['id']}",
    }

