"""posekit's FiftyOne annotation backend: CVAT with native skeleton labels.

Importing ``posekit.cvat`` registers it as ``"posekit_cvat"``::

    import posekit.cvat
    view.annotate("run1", backend="posekit_cvat", label_field="kps",
                  label_type="keypoints")
    dataset.load_annotations("run1")

In ``mode="skeleton"`` (default) the field's skeleton becomes one CVAT skeleton
label per class (one sublabel per node, in order, with an SVG of nodes and
edges); existing keypoints go up as skeleton shapes (NaN nodes as ``outside``
elements) and come back in skeleton order, matched by sublabel id. In
``mode="points"`` it behaves like FiftyOne's stock ``"cvat"`` backend.
"""
import logging
import os

import fiftyone as fo
import fiftyone.core.media as fom
import fiftyone.utils.cvat as fouc

from posekit import fo_compat

from . import convert, leftovers
from .api import TOKEN_ENV_VAR, CVATError, PosekitCVATAPI, safe_url
from .download import download_skeleton_annotations, forget_tasks, set_aside_gone_tasks
from .plan import _check_points_upload, plan_skeleton_upload
from .tls import SSL_VERIFY_ENV_VAR, parse_ssl_verify
from .upload import upload_skeleton_samples
from .video import download_video_skeletons, is_frame_field, upload_video_samples

logger = logging.getLogger(__name__)

BACKEND_NAME = "posekit_cvat"
MODES = ("skeleton", "points")
CREDENTIAL_ENV_VARS = {
    # credential -> the plugin secret / environment variable holding it
    "url": "FIFTYONE_CVAT_URL",
    "username": "FIFTYONE_CVAT_USERNAME",
    "password": "FIFTYONE_CVAT_PASSWORD",
    "email": "FIFTYONE_CVAT_EMAIL",
    "api_token": TOKEN_ENV_VAR,  # instead of username/password (CVAT >= 2.48)
}

def _ssl_verify(value, name):
    """TLS verification: the run's ``ssl_verify``, else the backend's
    FiftyOne config, else ``FIFTYONE_CVAT_SSL_VERIFY``, else on."""
    if value is None:
        value = fo.annotation_config.backends.get(name, {}).get("ssl_verify")
    if value is None:
        value = os.environ.get(SSL_VERIFY_ENV_VAR)
    return parse_ssl_verify(value)


def register_backend(name=BACKEND_NAME):
    """Adds this backend to ``fo.annotation_config.backends`` (idempotent)."""
    params = fo.annotation_config.backends.setdefault(name, {})
    params.setdefault("config_cls", "%s.PosekitCVATBackendConfig" % __name__)
    return params


def _credential(key, value, name):
    if value:
        return value
    params = fo.annotation_config.backends.get(name, {})
    return params.get(key) or os.environ.get(CREDENTIAL_ENV_VARS[key]) or None


class PosekitCVATBackendConfig(fouc.CVATBackendConfig):
    """Config for :class:`PosekitCVATBackend`. Takes every argument of
    ``fiftyone.utils.cvat.CVATBackendConfig`` plus:

    Args:
        mode ("skeleton"): ``"skeleton"`` (native CVAT skeleton labels) or
            ``"points"`` (FiftyOne's stock points upload)
        skeleton (None): ``{"labels": [...], "edges": [[...], ...]}``; by
            default the field's skeleton or the dataset's default skeleton
        node_occluded_attr ("occluded"): keypoint attribute holding the
            per-node occlusion flags (list of bools), or None to skip them
        request_timeout (30): seconds per HTTP request
        processing_timeout (600): seconds CVAT may take to process media
        max_workers (8): concurrent job downloads
        api_token (None): a CVAT personal access token, used instead of a
            username and password (never stored with the run)
        ssl_verify (None): TLS verification of the server: True, False (a
            self-signed server) or a CA bundle path; by default the backend's
            ``ssl_verify`` parameter, else ``FIFTYONE_CVAT_SSL_VERIFY``, else
            True
    """

    def __init__(
        self,
        name,
        label_schema,
        mode="skeleton",
        skeleton=None,
        node_occluded_attr=convert.DEFAULT_OCCLUDED_ATTR,
        request_timeout=30,
        processing_timeout=600,
        max_workers=8,
        api_token=None,
        ssl_verify=None,
        **kwargs,
    ):
        if mode not in MODES:
            raise ValueError(
                "Unknown mode %r; choose one of %s" % (mode, list(MODES))
            )
        super().__init__(name, label_schema, **kwargs)
        self.mode = mode
        self.skeleton = skeleton
        self.node_occluded_attr = node_occluded_attr or None
        self.request_timeout = request_timeout
        self.processing_timeout = processing_timeout
        self.max_workers = max_workers
        self._api_token = api_token  # private: never serialized
        self.ssl_verify = ssl_verify
        if self.url:
            self.url = safe_url(self.url)  # never user:password@ in a run

    @property
    def api_token(self):
        return self._api_token

    @api_token.setter
    def api_token(self, value):
        self._api_token = value

    def load_credentials(
        self, url=None, username=None, password=None, email=None, headers=None,
        api_token=None, ssl_verify=None,
    ):
        """Credentials: given values, else the backend's FiftyOne config,
        else ``FIFTYONE_CVAT_*`` environment variables. The server URL stored
        with a run is kept unless another is given."""
        name = self.name or BACKEND_NAME
        url = url or self.url or _credential("url", None, name)
        self.url = safe_url(url) if url else url
        self.username = _credential("username", username or self.username, name)
        self.password = _credential("password", password or self.password, name)
        self.email = _credential("email", email or self.email, name)
        self.api_token = _credential("api_token", api_token or self.api_token, name)
        if headers is not None:
            self.headers = headers
        if ssl_verify is not None:
            self.ssl_verify = ssl_verify


class PosekitCVATBackend(fouc.CVATBackend):
    """CVAT annotation backend that sends keypoints as native skeletons."""

    @property
    def skeleton_mode(self):
        """Whether the run sends native skeletons (else FiftyOne's points)."""
        return self.config.mode == "skeleton"

    @property
    def supported_media_types(self):
        if self.skeleton_mode:
            return [fom.IMAGE, fom.VIDEO]
        return super().supported_media_types

    @property
    def supported_label_types(self):
        if self.skeleton_mode:
            return ["keypoint", "keypoints"]
        return super().supported_label_types

    def recommend_attr_tool(self, name, value):
        if name == self.config.node_occluded_attr:
            return {"type": "occluded"}
        return super().recommend_attr_tool(name, value)

    def requires_attr_values(self, attr_type):
        # CVAT >= 2.5 semantics, without a server round trip before validation
        return attr_type in ("select", "radio", "text", "checkbox")

    def _connect_to_api(self):
        c = self.config
        name = c.name or BACKEND_NAME
        return PosekitCVATAPI(
            name,
            c.url or _credential("url", None, name),
            username=_credential("username", c.username, name),
            email=_credential("email", c.email, name),
            password=_credential("password", c.password, name),
            headers=c.headers,
            organization=c.organization,
            api_token=_credential("api_token", c.api_token, name),
            request_timeout=c.request_timeout,
            processing_timeout=c.processing_timeout,
            max_workers=c.max_workers,
            ssl_verify=_ssl_verify(getattr(c, "ssl_verify", None), name),
        )

    def upload_annotations(self, samples, anno_key, launch_editor=False):
        """Validates, then creates the CVAT task(s). On any failure the tasks
        created so far are deleted and the run is unregistered."""
        api = None
        dataset = fo_compat.root_dataset(samples)
        try:
            if self.skeleton_mode:
                plan = plan_skeleton_upload(samples, self.config)
            else:
                plan = None
                _check_points_upload(samples, self.config)
            api = self.connect_to_api()
            api.require_write()
            leftovers.clean(api, dataset)
            if plan is not None and plan["video"]:
                results = upload_video_samples(api, samples, anno_key, self, plan)
            elif plan is not None:
                results = upload_skeleton_samples(api, samples, anno_key, self, plan)
            else:
                results = _posekit_results(api.upload_samples(samples, anno_key, self))
        except Exception as e:
            left = api.rollback() if api is not None else {}
            _forget_run(self, samples, anno_key)
            if left.get("tasks") or left.get("projects"):
                try:
                    leftovers.remember(dataset, api.server_url, left["tasks"], left["projects"])
                except Exception as err:  # never mask the original error
                    logger.warning("Could not record CVAT leftovers: %s", err)
                note = leftovers.describe(api.server_url, left["tasks"], left["projects"])
                raise CVATError("%s. %s" % (str(e).rstrip("."), note)) from None
            raise

        api.created_task_ids = []
        api.created_project_ids = []
        if launch_editor:
            results.launch_editor()
        return results

    def download_annotations(self, results):
        """What FiftyOne's ``load_annotations`` merges: in skeleton mode
        posekit's download (:func:`posekit.cvat.download.download_skeleton_annotations`),
        the same one posekit's own load path
        (:func:`posekit.cvat.load.load_run`) merges in bulk."""
        api = self.connect_to_api()
        if not self.skeleton_mode:
            set_aside_gone_tasks(api, results)
            try:
                return super().download_annotations(results)
            except Exception:
                results.restore_tasks(force=True)  # a failed load changes nothing
                raise
        if is_frame_field(next(iter(self.config.label_schema or {}), None)):
            return download_video_skeletons(api, results)
        return download_skeleton_annotations(api, results)

    @classmethod
    def save_run_results(cls, samples, key, run_results, **kwargs):
        """Saves the results, with the CVAT tasks a load found deleted
        still listed unless ``run_results.forget_gone_tasks``."""
        if isinstance(run_results, PosekitCVATAnnotationResults):
            run_results.restore_tasks()
        super().save_run_results(samples, key, run_results, **kwargs)


class PosekitCVATAnnotationResults(fouc.CVATAnnotationResults):
    """Results of a posekit CVAT run (task, job and frame maps)."""

    @property
    def forget_gone_tasks(self):
        """Whether saving drops the tasks a load found deleted (default: keep
        them listed in the run)."""
        return getattr(self, "_forget_gone", False)

    @forget_gone_tasks.setter
    def forget_gone_tasks(self, value):
        self._forget_gone = bool(value)

    @property
    def gone_task_ids(self):
        """The tasks this load found deleted in CVAT."""
        return list(getattr(self, "_set_aside", {}).get("task_ids_gone", []))

    def set_aside_tasks(self, task_ids):
        """Takes ``task_ids`` out of this object (not of the saved run)."""
        task_ids = [t for t in task_ids if t in self.task_ids]
        aside = {
            "task_ids": list(self.task_ids),
            "task_ids_gone": task_ids,
            "job_ids": {t: self.job_ids.get(t) for t in task_ids},
            "frame_id_map": {t: self.frame_id_map.get(t) for t in task_ids},
            "id_map": {},
        }
        samples = {fd["sample_id"] for t in task_ids
                   for fd in (self.frame_id_map.get(t) or {}).values()}
        for field, field_map in self.id_map.items():
            aside["id_map"][field] = {s: field_map[s] for s in samples if s in field_map}
        forget_tasks(self, task_ids)
        self._set_aside = aside

    def restore_tasks(self, force=False):
        """Puts set-aside tasks back, unless ``forget_gone_tasks`` (and not
        ``force``)."""
        aside = getattr(self, "_set_aside", None)
        if not aside or "task_ids" not in aside or (self.forget_gone_tasks and not force):
            return
        for t in aside["task_ids_gone"]:
            if aside["job_ids"].get(t) is not None:
                self.job_ids[t] = aside["job_ids"][t]
            if aside["frame_id_map"].get(t) is not None:
                self.frame_id_map[t] = aside["frame_id_map"][t]
        for field, entries in aside["id_map"].items():
            self.id_map.setdefault(field, {}).update(entries)
        live = set(self.task_ids) | set(aside["task_ids_gone"])
        self.task_ids = [t for t in aside["task_ids"] if t in live]
        self._set_aside = {"task_ids_gone": aside["task_ids_gone"]}


def _posekit_results(stock):
    """FiftyOne's CVAT results of a points-mode upload as posekit's."""
    return PosekitCVATAnnotationResults(
        stock.samples, stock.config, stock.key, stock.id_map,
        server_id_map=stock.server_id_map, project_ids=stock.project_ids,
        task_ids=stock.task_ids, job_ids=stock.job_ids,
        frame_id_map=stock.frame_id_map, labels_task_map=stock.labels_task_map,
        backend=stock.backend,
    )



def _forget_run(backend, samples, anno_key):
    if anno_key is None:
        return
    try:
        if anno_key in samples.list_annotation_runs():
            backend.delete_run(samples, anno_key, cleanup=False)
    except Exception as e:  # never mask the original error
        logger.warning("Could not unregister run %r: %s", anno_key, e)

