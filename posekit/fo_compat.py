"""posekit's one seam to FiftyOne's private names.

Everything posekit needs from FiftyOne that is not public API lives here, each
with why it is needed; ``tests/test_fo_compat.py`` checks each against the
pinned FiftyOne (>=1.22.1,<1.23) and fails loudly when a release changes one.
Outside this module posekit uses public FiftyOne API only (a test greps for
it).
"""
import fiftyone as fo
import fiftyone.utils.cvat as fouc


def private_dataset(name):
    """A new, unshared instance of the dataset ``name``.

    Why: the App server shares one dataset object (``fo.load_dataset``'s
    singleton) between concurrent requests and reloads it at each one; a
    reload landing between a change of the dataset document (skeletons, run
    records) and its save drops the change. Writing through an instance of
    our own avoids that; FiftyOne has no public way to make one
    (``fo.Dataset(name)`` refuses an existing name, ``fo.load_dataset``
    returns the shared singleton).
    """
    return fo.Dataset._make_instance(name, False)


def forget_cached_runs(dataset):
    """Drops ``dataset``'s cached annotation run results.

    Why: runs written through :func:`private_dataset` leave the shared
    object's cached results stale (FiftyOne's ``load_annotations`` would use
    an old id map or a deleted run's tasks). ``Dataset.clear_cache()`` would do
    it publicly but also forgets the in-memory samples, which then no longer
    follow ``reload()``.
    """
    dataset._annotation_cache.clear()


def view_on(dataset, view):
    """``view``'s stages applied to another instance of its dataset.

    Why: a request from the App comes with a view on the shared dataset
    object; registering a run must happen on :func:`private_dataset`, and the
    run records the view's stages. FiftyOne has no public "same view, other
    dataset object".
    """
    if not isinstance(view, fo.DatasetView):
        return dataset.view()
    return fo.DatasetView._build(dataset, view._serialize())


def raw_values(samples, paths):
    """``samples.values(paths)`` as database dicts, not label objects.

    Why: building ``fo.Keypoints`` objects costs several times the query on
    big runs (load, upload, panel); ``values(_raw=True)`` skips it.
    """
    return samples.values(paths, _raw=True)


def root_dataset(samples):
    """The dataset object a view (or dataset) is built on.

    Why: a view on a :func:`private_dataset` instance must write through that
    instance, not the shared singleton ``fo.load_dataset(samples.dataset_name)``
    would give.
    """
    return samples._root_dataset


def bulk_update_samples(dataset, ops):
    """Runs pymongo ``UpdateOne`` ops on ``dataset``'s sample collection;
    returns pymongo's ``BulkWriteResult`` (``None`` for no ops).

    Why: ``set_values`` on a label list attribute issues one update per label
    and per attribute (25,000 labels x 6 attributes = 150,000 round trips for
    a pose evaluation); one positional ``$set`` per sample writes them all.
    FiftyOne has no public bulk update of raw documents.
    """
    if not ops:
        return None
    return dataset._sample_collection.bulk_write(ops, ordered=False)


def element_id_path(list_path, index):
    """The database path of the id of element ``index`` of a label list
    (``"gt.keypoints"``, 3 -> ``"gt.keypoints.3._id"``).

    Why: :func:`bulk_update_samples` filters on the stored ids; FiftyOne
    stores a label's ``id`` as ``_id`` in the database.
    """
    return f"{list_path}.{index}._id"


# -- FiftyOne's CVAT client (fiftyone.utils.cvat.CVATAnnotationAPI) ---------


class CVATAnnotationAPI(fouc.CVATAnnotationAPI):
    """FiftyOne's CVAT client with public names for the private helpers and
    hooks posekit's client (:class:`posekit.cvat.api.PosekitCVATAPI`) uses.

    Why: posekit reuses FiftyOne's login, session, URL building and user
    lookup, and must put timeouts and credential-free errors on *every* HTTP
    request FiftyOne's methods make, which all go through the private
    ``_make_request``. Subclasses override :meth:`make_request` and
    :meth:`is_empty_project` instead of the private hooks.
    """

    def _make_request(self, request_method, url, print_error_info=True, **kwargs):
        return self.make_request(request_method, url, **kwargs)

    def make_request(self, request_method, url, **kwargs):
        """Sends one HTTP request; override to change how."""
        return fouc.CVATAnnotationAPI._make_request(self, request_method, url, **kwargs)

    def _is_empty_project(self, project_id):
        return self.is_empty_project(project_id)

    def _setup(self):
        return self.setup()

    def setup(self):
        """Connects (FiftyOne's: log in, then read the version); override to
        change how.

        Why: posekit reads the server version *before* signing in (it decides
        between a token and a password) and signs in with a token."""
        return fouc.CVATAnnotationAPI._setup(self)

    def new_session(self):
        """A fresh ``requests.Session`` with the client's extra headers,
        made the client's session."""
        import requests

        self._session = requests.Session()
        if self._headers:
            self._session.headers.update(self._headers)
        return self._session

    def set_server_version(self, version):
        """Sets the ``packaging`` Version the URLs are built for."""
        self._server_version = version

    def password_login(self):
        """FiftyOne's username (or email) + password login."""
        self._login(self._username, self._password, email=self._email)

    def finish_setup(self):
        """FiftyOne's last setup steps: the Referer and ``X-Organization``
        headers."""
        self._add_referer()
        self._add_organization()

    @property
    def organization(self):
        """The organization (slug) every request names, or None."""
        return self._organization

    def is_empty_project(self, project_id):
        """Whether the project has no tasks; override to change how."""
        return fouc.CVATAnnotationAPI._is_empty_project(self, project_id)

    @property
    def server_url(self):
        """The CVAT server URL the client was made with."""
        return self._url

    @property
    def session(self):
        """The logged-in ``requests.Session``, or None before login."""
        return getattr(self, "_session", None)

    def task_labels(self, task_id):
        """The task's labels (skeleton sublabels included) as CVAT serves them."""
        return self._get_task_labels(task_id)

    def project_labels(self, project_id):
        """The project's labels as CVAT serves them."""
        return self._get_project_labels(project_id)

    def job_ids(self, task_id):
        """The task's job ids, first frames first (CVAT lists them newest
        first; editor links and the assignee round robin follow this)."""
        jobs = self.paginated_results(self.jobs_url(task_id))
        return [j["id"] for j in sorted(
            jobs, key=lambda j: (j.get("start_frame") or 0, j["id"]))]

    def _get_job_ids(self, task_id):
        # FiftyOne's own (points mode) upload walks the jobs in this order too
        return self.job_ids(task_id)

    def batch_size(self, samples, task_size):
        """Samples per task for ``task_size`` (FiftyOne's rule)."""
        return self._get_batch_size(samples, task_size)

    def frame_id_map(self, samples):
        """``{frame: {"sample_id": id}}`` for the samples of one task."""
        return self._build_frame_id_map(samples)

    def open_local_files(self, paths):
        """``(files, open_files)``: the multipart files for ``paths``."""
        return self._parse_local_files(paths)

    def paginated_results(self, url):
        """All pages of a CVAT list endpoint, as one list."""
        return self._get_paginated_results(url)

    def lookup_user_id(self, username):
        """The CVAT user id of ``username`` (cached), or None."""
        return self._get_value_update_map(
            username, self._user_id_map, "username", self.user_search_url
        )
