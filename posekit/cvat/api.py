"""A CVAT REST client for posekit: FiftyOne's ``CVATAnnotationAPI`` (through
:class:`posekit.fo_compat.CVATAnnotationAPI`) with
timeouts on every request, ``/api/requests/{rq_id}`` waits with a deadline,
errors that never carry credentials, and concurrent job downloads.

It reads the server's version once (``/api/server/about``, before logging
in) and lets it decide: a personal access token (``Authorization: Bearer``,
CVAT >= 2.48) is used instead of a username and password when given; an
``organization`` (slug) goes with every request as ``X-Organization``.
"""
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
import urllib3
from packaging.version import Version

from posekit.fo_compat import CVATAnnotationAPI

from .tls import SSL_VERIFY_ENV_VAR, parse_ssl_verify

logger = logging.getLogger(__name__)

TOKENS_SINCE = Version("2.48")  # CVAT's "Support for API access tokens"
TOKEN_ENV_VAR = "FIFTYONE_CVAT_API_TOKEN"


class CVATError(RuntimeError):
    """A CVAT request failed; the message is safe to show (no credentials)."""


class CVATHTTPError(CVATError, requests.exceptions.HTTPError):
    """CVAT answered with an HTTP error status."""

    def __init__(self, message, response=None):
        CVATError.__init__(self, message)
        self.response = response
        self.request = None


class CVATConnectionError(CVATError):
    """The CVAT server could not be reached."""


class CVATTimeoutError(CVATError):
    """CVAT did not answer, or did not finish processing, in time."""


class CVATTokenError(CVATError):
    """The API token cannot be used (this server has none, it was rejected,
    or it is read-only and a write is needed)."""


def safe_url(url):
    """``url`` without any user info (``user:pass@``), query or fragment."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = "[%s]" % host
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return "%s://%s%s" % (parts.scheme or "http", host, parts.path)


class PosekitCVATAPI(CVATAnnotationAPI):
    """FiftyOne's CVAT API with safe errors, timeouts and bounded waits.

    Args:
        name, url, username, email, password, headers, organization: as for
            ``fiftyone.utils.cvat.CVATAnnotationAPI`` (``organization`` is
            the org's slug; None or "" for the personal workspace)
        api_token (None): a CVAT personal access token, used instead of
            the username and password
        request_timeout (30): seconds to wait for any single HTTP answer
        processing_timeout (600): seconds to wait for CVAT to process
            uploaded media
        max_workers (8): concurrent requests when downloading jobs
        ssl_verify (True): verify the server's TLS certificate (True), not
            (False, for a self-signed server), or against this CA bundle path
    """

    def __init__(
        self,
        name,
        url,
        username=None,
        email=None,
        password=None,
        headers=None,
        organization=None,
        request_timeout=30,
        processing_timeout=600,
        max_workers=8,
        api_token=None,
        ssl_verify=True,
    ):
        try:
            self._verify = parse_ssl_verify(ssl_verify)
        except ValueError as e:
            raise CVATError(str(e)) from None
        self._request_timeout = request_timeout
        self._processing_timeout = processing_timeout
        self.max_workers = max(1, int(max_workers or 1))
        self._api_token = api_token or None
        self._token_info = None
        self._passwords = [s for s in (password, api_token) if s]
        self.created_task_ids = []
        self.created_project_ids = []
        if not url:
            raise CVATError(
                "No CVAT server URL: set FIFTYONE_CVAT_URL (plugin secret or "
                "environment variable)"
            )
        if not api_token and (not (username or email) or not password):
            raise CVATError(
                "No CVAT credentials: set %s, or FIFTYONE_CVAT_USERNAME (or "
                "FIFTYONE_CVAT_EMAIL) and FIFTYONE_CVAT_PASSWORD (plugin "
                "secrets or environment variables)" % TOKEN_ENV_VAR
            )
        if email and not username:
            # CVAT logs in by email + password (a blank username is allowed);
            # FiftyOne's client would prompt "Username:" on stdin without one
            username = ""
        super().__init__(
            name,
            safe_url(url),
            username=username,
            email=email,
            password=password,
            headers=headers,
            organization=organization,
        )

    # -- connecting -----------------------------------------------------------

    def setup(self):
        """Reads the server version (anonymously), then signs in with the
        token or the username and password."""
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.new_session()
        self.set_server_version(Version("2"))  # for base_api_url, until read
        about = self.get(self.about_url).json()
        try:
            self.set_server_version(Version(str(about["version"])))
        except Exception:
            raise CVATError(
                "CVAT at %s did not say which version it is (/api/server/about)"
                % safe_url(self.server_url)
            ) from None
        if self._api_token:
            self._token_login()
        else:
            self.password_login()
        self.finish_setup()
        logger.debug("CVAT server version: %s", self.server_version)

    @property
    def has_access_tokens(self):
        """Whether this server's version has personal access tokens."""
        return self.server_version >= TOKENS_SINCE

    def _token_login(self):
        if not self.has_access_tokens:
            raise CVATTokenError(
                "This CVAT has no API tokens (%s): use a username and "
                "password (FIFTYONE_CVAT_USERNAME / FIFTYONE_CVAT_PASSWORD) "
                "instead of %s" % (self.server_version, TOKEN_ENV_VAR)
            )
        self.session.headers["Authorization"] = "Bearer %s" % self._api_token
        try:
            self._token_info = self.get(
                "%s/auth/access_tokens/self" % self.base_api_url
            ).json()
        except CVATHTTPError as e:
            if e.response is not None and e.response.status_code == 401:
                raise CVATTokenError(
                    "CVAT at %s rejected the API token (%s): it may be "
                    "mistyped, revoked or expired; create a new one in CVAT "
                    "(user menu > Settings > Access tokens)"
                    % (safe_url(self.server_url), TOKEN_ENV_VAR)
                ) from None
            raise

    def require_write(self):
        """Raises CVATTokenError, before anything is written, when signed
        in with a read-only token."""
        if self._token_info is not None and self._token_info.get("read_only"):
            raise CVATTokenError(
                "This token cannot write: create a read-write token in CVAT "
                "(user menu > Settings > Access tokens, without 'Read only') "
                "and set it as %s" % TOKEN_ENV_VAR
            )

    def list_organizations(self):
        """The user's organizations: ``[{"slug", "name"}]``."""
        url = "%s/organizations?page_size=100" % self.base_api_url
        return [
            {"slug": o["slug"], "name": o.get("name") or o["slug"]}
            for o in self.paginated_results(url)
        ]

    # -- requests ---------------------------------------------------------

    def _scrub(self, text):
        text = str(text)
        for secret in self._passwords + self._session_secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    def _session_secrets(self):
        session = self.session
        if session is None:
            return []
        out = [v for k, v in session.headers.items() if k.lower() in (
            "authorization", "x-csrftoken")]
        out += [c.value for c in session.cookies]
        return [v for v in out if isinstance(v, str) and len(v) >= 8]

    def make_request(self, request_method, url, **kwargs):
        kwargs.setdefault("timeout", self._request_timeout)
        method = getattr(request_method, "__name__", "request").upper()
        where = "%s %s" % (method, urlsplit(url).path)
        server = safe_url(self.server_url)
        try:
            response = request_method(url, verify=self._verify, **kwargs)
        except requests.exceptions.SSLError:
            raise CVATConnectionError(
                "Could not verify the TLS certificate of CVAT at %s (%s); for "
                "a self-signed server set %s to the path of its CA bundle, or "
                "to false to skip verification" % (server, where, SSL_VERIFY_ENV_VAR)
            ) from None
        except requests.exceptions.Timeout:
            raise CVATTimeoutError(
                "CVAT at %s did not answer %s within %ss"
                % (server, where, kwargs["timeout"])
            ) from None
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ):
            raise CVATConnectionError(
                "CVAT at %s dropped the connection while answering %s"
                % (server, where)
            ) from None
        except requests.exceptions.ConnectionError:
            raise CVATConnectionError(
                "Cannot reach the CVAT server at %s (%s failed); is it "
                "running and is FIFTYONE_CVAT_URL right?" % (server, where)
            ) from None
        except requests.exceptions.RequestException as e:
            raise CVATError(
                "Request %s to CVAT at %s failed: %s"
                % (where, server, type(e).__name__)
            ) from None

        if response.status_code >= 400:
            status = response.status_code
            if "/auth/login" in url and status in (400, 401, 403):
                raise CVATHTTPError(
                    "CVAT at %s rejected the login (HTTP %d): check the CVAT "
                    "username and password (FIFTYONE_CVAT_USERNAME / "
                    "FIFTYONE_CVAT_PASSWORD)" % (server, status),
                    response=response,
                )
            if status == 401:
                hint = (
                    "; check the CVAT API token (%s)" % TOKEN_ENV_VAR
                    if self._api_token else
                    "; check the CVAT username and password "
                    "(FIFTYONE_CVAT_USERNAME / FIFTYONE_CVAT_PASSWORD)"
                )
            elif status == 403:
                hint = "; the CVAT user lacks permission"
                if self.organization:
                    hint += " in organization '%s'" % self.organization
            else:
                hint = ""
            detail = ""
            try:
                body = response.text or ""
                if body and "html" not in response.headers.get(
                    "Content-Type", ""
                ):
                    detail = ": " + self._scrub(body.strip()[:300])
            except Exception:
                pass
            raise CVATHTTPError(
                "CVAT at %s answered %d to %s%s%s"
                % (server, status, where, detail, hint),
                response=response,
            )

        return response

    # -- bookkeeping for rollback ------------------------------------------

    def create_task(self, *args, **kwargs):
        task_id, class_id_map, attr_id_map = super().create_task(*args, **kwargs)
        self.created_task_ids.append(task_id)
        return task_id, class_id_map, attr_id_map

    def create_project(self, name, schema=None):
        project_id = super().create_project(name, schema=schema)
        if project_id is not None:
            self.created_project_ids.append(project_id)
        return project_id

    def post_task(self, task_json):
        """Creates a task from a raw JSON body; returns its id."""
        task_id = self.post(self.tasks_url, json=task_json).json()["id"]
        self.created_task_ids.append(task_id)
        return task_id

    def post_project(self, project_json):
        """Creates a project from a raw JSON body; returns its id."""
        project_id = self.post(self.projects_url, json=project_json).json()["id"]
        self.created_project_ids.append(project_id)
        return project_id

    def rollback(self):
        """Deletes (best effort) the tasks and projects this client created.

        Returns:
            ``{"tasks": [...], "projects": [...]}``: the ids it could not
            delete (the server may be the thing that failed)
        """
        left = {"tasks": [], "projects": []}
        for kind, ids, url in (
            ("tasks", self.created_task_ids, self.task_url),
            ("projects", self.created_project_ids, self.project_url),
        ):
            for item_id in reversed(ids):
                try:
                    self.delete(url(item_id))
                except CVATHTTPError as e:
                    if e.response is None or e.response.status_code != 404:
                        left[kind].append(item_id)
                        logger.warning("Could not delete CVAT %s %s: %s", kind[:-1], item_id, e)
                except CVATError as e:
                    left[kind].append(item_id)
                    logger.warning("Could not delete CVAT %s %s: %s", kind[:-1], item_id, e)
        self.created_task_ids = []
        self.created_project_ids = []
        return {k: sorted(v) for k, v in left.items()}

    def is_empty_project(self, project_id):
        # CVAT 2.x reports ``tasks`` as ``{"count", "url"}``, which FiftyOne
        # 1.22 takes for "not empty"
        if not self.project_exists(project_id):
            return True
        tasks = self.get(self.project_url(project_id)).json().get("tasks")
        if isinstance(tasks, dict):
            return not tasks.get("count")
        return not tasks

    # -- media upload -------------------------------------------------------

    def request_url(self, rq_id):
        return "%s/requests/%s" % (self.base_api_url, rq_id)

    def wait_for_request(self, rq_id, task_id, timeout=None):
        """Waits for CVAT's background request ``rq_id`` to finish.

        Raises:
            CVATError: if CVAT reports the request failed
            CVATTimeoutError: if it is not finished after ``timeout`` seconds
        """
        timeout = self._processing_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            info = self.get(self.request_url(rq_id)).json()
            status = str(info.get("status", "")).lower()
            if status == "finished":
                return info
            if status == "failed":
                raise CVATError(
                    "CVAT failed to process the media of task %s: %s"
                    % (task_id, self._scrub(info.get("message") or "no reason given"))
                )
            if time.monotonic() + delay > deadline:
                raise CVATTimeoutError(
                    "CVAT did not finish processing the media of task %s "
                    "within %ss (last status: %s)" % (task_id, timeout, status or "?")
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def upload_data(
        self,
        task_id,
        paths,
        image_quality=75,
        use_cache=True,
        use_zip_chunks=True,
        chunk_size=None,
        job_assignees=None,
        job_reviewers=None,
        frame_start=None,
        frame_stop=None,
        frame_step=None,
    ):
        """Uploads media to a task and waits (bounded) for CVAT to process
        them; returns the task's job ids."""
        data = {
            "image_quality": image_quality,
            "use_cache": use_cache,
            "use_zip_chunks": use_zip_chunks,
            "sorting_method": "predefined",
        }
        if chunk_size:
            data["chunk_size"] = chunk_size
        if frame_start is not None:
            data["start_frame"] = frame_start
        if frame_stop is not None:
            data["stop_frame"] = frame_stop
        if frame_step is not None:
            data["frame_filter"] = "step=%d" % frame_step

        files, open_files = self.open_local_files(paths)
        try:
            resp = self.post(self.task_data_url(task_id), data=data, files=files)
        finally:
            for f in open_files:
                f.close()

        rq_id = None
        try:
            rq_id = resp.json().get("rq_id")
        except ValueError:
            pass
        if rq_id:
            self.wait_for_request(rq_id, task_id)

        job_ids = self.job_ids(task_id)
        deadline = time.monotonic() + self._processing_timeout
        while not job_ids:
            if time.monotonic() > deadline:
                raise CVATTimeoutError(
                    "CVAT created no jobs for task %s within %ss"
                    % (task_id, self._processing_timeout)
                )
            time.sleep(0.5)
            job_ids = self.job_ids(task_id)

        if job_assignees:
            for idx, job_id in enumerate(job_ids):
                assignee = job_assignees[idx % len(job_assignees)]
                user_id = self.get_user_id(assignee)
                if user_id is not None:
                    self.patch(
                        self.taskless_job_url(job_id),
                        json={self.assignee_key: user_id},
                    )

        return job_ids

    def annotation_job_ids(self, task_id):
        """``(job ids in frame order, number of consensus replica jobs)``:
        replicas (``parent_job_id`` set, CVAT >= 2.x consensus) repeat their
        parent's frames, so loads read the parent jobs only."""
        jobs = self.paginated_results(self.jobs_url(task_id))
        parents = [j for j in jobs if j.get("parent_job_id") is None]
        parents.sort(key=lambda j: (j.get("start_frame") or 0, j["id"]))
        return [j["id"] for j in parents], len(jobs) - len(parents)

    def get_jobs(self, task_id):
        """The task's jobs, first frames first (CVAT lists them newest first)."""
        jobs = self.paginated_results(self.jobs_url(task_id))
        return sorted(jobs, key=lambda j: (j.get("start_frame") or 0, j["id"]))

    def get_user_id(self, username):
        return self.lookup_user_id(username)

    # -- downloads ------------------------------------------------------------

    def iter_json_many(self, urls):
        """GETs several URLs concurrently and yields their decoded JSON bodies
        in order. Bodies wait as compact bytes and are decoded one at a time,
        so memory stays near one decoded body."""
        urls = list(urls)
        if len(urls) <= 1 or self.max_workers == 1:
            for u in urls:
                yield self.get(u).json()
            return
        workers = min(self.max_workers, len(urls))
        fetch = lambda u: self.get(u).content  # noqa: E731
        with ThreadPoolExecutor(workers) as pool:
            pending = [pool.submit(fetch, u) for u in urls[:workers]]
            for i in range(len(urls)):
                body = pending.pop(0).result()
                if i + workers < len(urls):
                    pending.append(pool.submit(fetch, urls[i + workers]))
                yield json.loads(body)
                del body
