"""In-memory state of the CVAT emulator: users, projects, tasks, labels, jobs,
frames, requests, annotations, organizations and access tokens, and the
access rules (renderings are in ``render.py``).

All access goes through ``State.lock`` (the HTTP server is multi-threaded).
Stored annotation objects are never mutated after creation (updates replace
them), so a handler may encode a list it collected under the lock after
releasing it.
"""
import datetime
import itertools
import secrets
import threading

from . import profiles


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
        self.track_jobs = {}  # video tasks: track id -> the job holding it

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

    def __init__(self, profile=profiles.DEFAULT):
        self.lock = threading.RLock()
        self.profile = profiles.get(profile)
        self.reset()

    def reset(self, profile=None):
        """A fresh install (of ``profile``'s version when given)."""
        with self.lock:
            if profile is not None:
                self.profile = profiles.get(profile)
            self.users = {}
            self.tokens = {}  # login key -> user id
            self.sessions = {}  # sessionid -> (user id, csrftoken)
            self.access_tokens = {}  # id -> personal access token record
            self.access_tokens_by_value = {}
            self.organizations = {}  # id -> org dict
            self.memberships = {}  # id -> {id, org_id, user_id, role, ...}
            self.projects = {}
            self.tasks = {}
            self.labels = {}  # id -> label (top-level and sublabels)
            self.jobs = {}
            self.frames = {}  # task id -> list of frame dicts (with bytes)
            self.requests = {}  # rq_id -> request dict
            self.annotations = {}  # task id (or ("job", id) of a replica) -> TaskAnnotations
            self.uploads = {}  # task id -> list of (name, bytes) pending
            self._ids = {
                k: itertools.count(1)
                for k in (
                    "user", "project", "task", "label", "attribute", "job",
                    "shape", "tag", "track", "tracked_shape", "organization",
                    "membership", "access_token",
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

    def add_access_token(self, user, name, read_only=True, expiry_date=None):
        """A personal access token (2.73); returns (record, secret value)."""
        with self.lock:
            value = "%s.%s" % (secrets.token_hex(4), secrets.token_hex(16))
            stamp = now()
            token = {
                "id": self.next_id("access_token"), "name": name,
                "created_date": stamp, "updated_date": stamp,
                "expiry_date": expiry_date, "last_used_date": None,
                "read_only": read_only, "owner_id": user.id, "revoked": False,
            }
            self.access_tokens[token["id"]] = token
            self.access_tokens_by_value[value] = token
            return token, value

    # organizations

    def add_organization(self, slug, owner, name=None, description=""):
        """An organization owned by ``owner`` (its first member)."""
        with self.lock:
            stamp = now()
            org = {"id": self.next_id("organization"), "slug": slug,
                   "name": name or slug, "description": description,
                   "owner_id": owner.id, "created_date": stamp,
                   "updated_date": stamp}
            self.organizations[org["id"]] = org
            self.add_member(org, owner, "owner", invitation=None)
            return org

    def add_member(self, org, user, role, invitation="<key>"):
        with self.lock:
            m = {"id": self.next_id("membership"), "org_id": org["id"],
                 "user_id": user.id, "role": role, "joined_date": now(),
                 "invitation": None if invitation is None else secrets.token_hex(8)}
            self.memberships[m["id"]] = m
            return m

    def role(self, user, org_id):
        """The user's role in the organization, or None for a non-member."""
        for m in self.memberships.values():
            if m["org_id"] == org_id and m["user_id"] == user.id:
                return m["role"]
        return None

    # access rules (see orgs.py for what the recordings show)

    def task_staff(self, user, task):
        """Owner or assignee of the task or of its project."""
        if user.id in (task["owner_id"], task["assignee_id"]):
            return True
        project = self.projects.get(task["project_id"])
        return bool(project and user.id in (project["owner_id"], project["assignee_id"]))

    def can_see_task(self, user, task):
        if user.is_superuser:
            return True
        org = task.get("org_id")
        if org is None:
            return self.task_staff(user, task) or any(
                j["assignee_id"] == user.id for j in self.task_jobs(task))
        role = self.role(user, org)
        if role is None:
            return False
        return role in ("owner", "maintainer") or self.task_staff(user, task)

    def can_see_job(self, user, job, task):
        if self.can_see_task(user, task):
            return True
        return job["assignee_id"] == user.id and (
            task.get("org_id") is None or self.role(user, task["org_id"]) is not None)

    def can_see_project(self, user, project):
        if user.is_superuser or user.id in (project["owner_id"], project["assignee_id"]):
            return True
        org = project.get("org_id")
        return org is not None and self.role(user, org) in ("owner", "maintainer")

    def add_replica_jobs(self, task, n):
        """``n`` consensus replica jobs per annotation job, as a 2.73 task
        created with ``consensus_replicas=n`` has: same frames, their own
        annotations, ``parent_job_id`` set."""
        with self.lock:
            for parent in [j for j in self.task_jobs(task) if j.get("parent_job_id") is None]:
                for _ in range(n):
                    jid = self.next_id("job")
                    self.jobs[jid] = dict(parent, id=jid, parent_job_id=parent["id"],
                                          type="consensus_replica", assignee_id=None)
                    task["job_ids"].append(jid)
            task["consensus_replicas"] = n

    def task_jobs(self, task):
        return [self.jobs[j] for j in task["job_ids"]]

    def task_labels(self, task):
        """Top-level labels a task uses (its project's when in a project)."""
        if task["project_id"] is not None:
            return self.project_labels(self.projects[task["project_id"]])
        return [self.labels[i]["json"] for i in task["label_ids"]]

    def project_labels(self, project):
        return [self.labels[i]["json"] for i in project["label_ids"]]
