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
import contextlib
import contextvars
import logging
import os

import numpy as np
from bson import ObjectId

import fiftyone as fo
import fiftyone.core.media as fom
import fiftyone.utils.cvat as fouc

from . import convert, svg
from .api import CVATError, PosekitCVATAPI

logger = logging.getLogger(__name__)

BACKEND_NAME = "posekit_cvat"
MODES = ("skeleton", "points")
CREDENTIAL_ENV_VARS = {
    # credential -> the plugin secret / environment variable holding it
    "url": "FIFTYONE_CVAT_URL",
    "username": "FIFTYONE_CVAT_USERNAME",
    "password": "FIFTYONE_CVAT_PASSWORD",
    "email": "FIFTYONE_CVAT_EMAIL",
}
_PROGRESS = contextvars.ContextVar("posekit_cvat_progress", default=None)


@contextlib.contextmanager
def progress_callback(fn):
    """Within this context, uploads and downloads call ``fn(fraction, label)``."""
    token = _PROGRESS.set(fn)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _report(fraction, label):
    fn = _PROGRESS.get()
    if fn is not None:
        fn(min(1.0, max(0.0, float(fraction))), label)


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

    def load_credentials(
        self, url=None, username=None, password=None, email=None, headers=None
    ):
        """Credentials: given values, else the backend's FiftyOne config,
        else ``FIFTYONE_CVAT_*`` environment variables. The server URL stored
        with a run is kept unless another is given."""
        name = self.name or BACKEND_NAME
        self.url = url or self.url or _credential("url", None, name)
        self.username = _credential("username", username or self.username, name)
        self.password = _credential("password", password or self.password, name)
        self.email = _credential("email", email or self.email, name)
        if headers is not None:
            self.headers = headers


class PosekitCVATBackend(fouc.CVATBackend):
    """CVAT annotation backend that sends keypoints as native skeletons."""

    @property
    def _skeleton_mode(self):
        return self.config.mode == "skeleton"

    @property
    def supported_media_types(self):
        if self._skeleton_mode:
            return [fom.IMAGE]
        return super().supported_media_types

    @property
    def supported_label_types(self):
        if self._skeleton_mode:
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
            request_timeout=c.request_timeout,
            processing_timeout=c.processing_timeout,
            max_workers=c.max_workers,
        )

    def upload_annotations(self, samples, anno_key, launch_editor=False):
        """Validates, then creates the CVAT task(s). On any failure the tasks
        created so far are deleted and the run is unregistered."""
        api = None
        try:
            if self._skeleton_mode:
                plan = plan_skeleton_upload(samples, self.config)
            else:
                plan = None
                _check_points_upload(samples, self.config)
            api = self.connect_to_api()
            if plan is not None:
                results = upload_skeleton_samples(api, samples, anno_key, self, plan)
            else:
                results = api.upload_samples(samples, anno_key, self)
                results.__class__ = PosekitCVATAnnotationResults
        except Exception:
            if api is not None:
                api.rollback()
            self._api = None
            _forget_run(self, samples, anno_key)
            raise

        api.created_task_ids = []
        api.created_project_ids = []
        if launch_editor:
            results.launch_editor()
        return results

    def download_annotations(self, results):
        api = self.connect_to_api()
        if not self._skeleton_mode:
            return super().download_annotations(results)
        return download_skeleton_annotations(api, results)


class PosekitCVATAnnotationResults(fouc.CVATAnnotationResults):
    """Results of a posekit CVAT run (task, job and frame maps)."""

    def get_status(self):
        """Status per label field and task: name, status, and per-job state,
        stage and assignee."""
        return self._get_status()


def _forget_run(backend, samples, anno_key):
    if anno_key is None:
        return
    try:
        if anno_key in samples._root_dataset.list_annotation_runs():
            backend.delete_run(samples, anno_key, cleanup=False)
    except Exception as e:  # never mask the original error
        logger.warning("Could not unregister run %r: %s", anno_key, e)


# -- validation ------------------------------------------------------------


def _single_field(config):
    schema = config.label_schema or {}
    if len(schema) != 1:
        raise ValueError(
            "Skeleton mode annotates exactly one keypoints field; got %d"
            % len(schema)
        )
    return next(iter(schema.items()))


def _class_names(classes, label_field):
    names = []
    for c in classes or []:
        for n in [c] if isinstance(c, str) else c.get("classes", []):
            if n not in names:
                names.append(n)
    return names or [label_field]


def resolve_skeleton(samples, label_field, skeleton=None):
    """``{"labels", "edges"}`` from ``skeleton`` (dict or KeypointSkeleton),
    else the field's skeleton, else the dataset's default skeleton."""
    if skeleton is None:
        ds = samples._root_dataset
        skeleton = (ds.skeletons or {}).get(label_field) or ds.default_skeleton
    if skeleton is None:
        raise ValueError(
            "No skeleton for field '%s': define one for the field or a "
            "default skeleton first" % label_field
        )
    if not isinstance(skeleton, dict):
        skeleton = {"labels": skeleton.labels, "edges": skeleton.edges}
    return {
        "labels": list(skeleton.get("labels") or []),
        "edges": [list(map(int, e)) for e in skeleton.get("edges") or []],
    }


def validate_skeleton(skeleton):
    """Raises ValueError unless the skeleton can become a CVAT skeleton label."""
    labels = skeleton["labels"]
    if not labels:
        raise ValueError(
            "The skeleton has no node names; CVAT skeletons need one name "
            "per keypoint"
        )
    for name in labels:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("Skeleton node names must be non-empty strings")
        if len(name) > 64:
            raise ValueError(
                "Skeleton node name '%s' exceeds CVAT's 64 characters" % name
            )
    dups = sorted({n for n in labels if labels.count(n) > 1})
    if dups:
        raise ValueError("Duplicate skeleton node names: %s" % ", ".join(dups))
    for edge in skeleton["edges"]:
        for idx in edge:
            if not 0 <= idx < len(labels):
                raise ValueError(
                    "Skeleton edge %s refers to node %d, but the skeleton has "
                    "%d nodes" % (edge, idx, len(labels))
                )


def _layout(labels, edges):
    from posekit.layout import default_layout

    return default_layout(labels, edges)


def plan_skeleton_upload(samples, config):
    """Validates a skeleton upload before anything is created in CVAT.

    Returns a dict with the field, classes, skeleton, svg, CVAT attribute
    specs and whether the field exists.
    """
    label_field, info = _single_field(config)
    if samples.media_type != fom.IMAGE:
        raise ValueError("Skeleton mode supports image datasets only")
    if samples._is_clips or samples._is_frames or samples._is_patches:
        raise ValueError("Skeleton mode needs a plain view of samples")

    skeleton = resolve_skeleton(samples, label_field, config.skeleton)
    validate_skeleton(skeleton)
    num_nodes = len(skeleton["labels"])
    classes = _class_names(info.get("classes"), label_field)
    for name in classes:
        if len(name) > 64:
            raise ValueError("Class name '%s' exceeds CVAT's 64 characters" % name)

    attributes = dict(info.get("attributes") or {})
    node_attr = config.node_occluded_attr
    attributes.pop(node_attr, None)
    if "label_id" in attributes:
        raise ValueError("The attribute name 'label_id' is reserved")
    api_attrs, occluded_name, group_name = fouc.CVATAnnotationAPI._to_cvat_attributes(
        None, attributes
    )
    api_attrs["label_id"] = {
        "name": "label_id", "input_type": "text", "mutable": True, "values": []
    }

    existing = bool(info.get("existing_field")) and samples.has_field(label_field)
    if existing:
        field = samples.get_field(label_field)
        if getattr(field, "document_type", None) is not fo.Keypoints:
            raise ValueError(
                "Field '%s' does not hold fo.Keypoints" % label_field
            )
        per_sample = samples.values("%s.keypoints.points" % label_field)
        too_long = [
            len(pts) for kps in per_sample if kps for pts in kps
            if pts is not None and len(pts) > num_nodes
        ]
        if too_long:
            raise ValueError(
                "Field '%s' has keypoints with %d points but the skeleton has "
                "%d nodes" % (label_field, max(too_long), num_nodes)
            )

    paths = samples.values(config.media_field)
    missing = [p for p in paths if not p or not os.path.isfile(p)]
    if missing:
        raise ValueError(
            "%d media file(s) not found, e.g. %s" % (len(missing), missing[0])
        )

    svg_text = svg.build_svg(
        skeleton["labels"], skeleton["edges"],
        _layout(skeleton["labels"], skeleton["edges"]),
    )
    if node_attr:
        # so FiftyOne's merge copies the per-node flags onto existing labels
        info.setdefault("attributes", {})[node_attr] = {"type": "occluded"}

    config.skeleton = skeleton
    return {
        "label_field": label_field,
        "classes": classes,
        "skeleton": skeleton,
        "svg": svg_text,
        "attributes": list(api_attrs.values()),
        "occluded_name": occluded_name,
        "group_name": group_name,
        "existing": existing,
    }


def _check_points_upload(samples, config):
    for label_field, info in (config.label_schema or {}).items():
        if not (info.get("existing_field") and samples.has_field(label_field)):
            continue
        if info.get("type") not in ("keypoint", "keypoints"):
            continue
        path = label_field + (
            ".keypoints.points" if info["type"] == "keypoints" else ".points"
        )
        for pts in samples.values(path, unwind=True):
            if pts is not None and np.isnan(np.asarray(pts, dtype=float)).any():
                raise ValueError(
                    "Field '%s' has keypoints with missing (NaN) nodes, which "
                    "CVAT points cannot carry; use mode='skeleton'"
                    % label_field
                )


# -- upload ----------------------------------------------------------------


def _skeleton_label_json(name, plan):
    return {
        "name": name,
        "type": "skeleton",
        "attributes": plan["attributes"],
        "sublabels": [
            {"name": n, "type": "points", "attributes": []}
            for n in plan["skeleton"]["labels"]
        ],
        "svg": plan["svg"],
    }


def _skeleton_labels(labels, plan):
    """Maps the server's labels: class -> (label id, sublabel ids in skeleton
    order, {attr name: spec id}); raises if a skeleton is missing/different."""
    names = plan["skeleton"]["labels"]
    out = {}
    for label in labels:
        if label.get("type") != "skeleton" or label["name"] not in plan["classes"]:
            continue
        by_name = {s["name"]: s["id"] for s in label.get("sublabels") or []}
        if [n for n in names if n not in by_name] or len(by_name) != len(names):
            raise CVATError(
                "CVAT label '%s' is a skeleton with nodes %s, not the skeleton's "
                "%s" % (label["name"], sorted(by_name), names)
            )
        specs = {a["name"]: a["id"] for a in label.get("attributes") or []}
        out[label["name"]] = (label["id"], [by_name[n] for n in names], specs)
    missing = [c for c in plan["classes"] if c not in out]
    if missing:
        raise CVATError(
            "CVAT has no skeleton label for class(es) %s" % ", ".join(missing)
        )
    return out


def _project_id(api, config, plan):
    project_id = config.project_id
    if project_id is None and config.project_name:
        project_id = api.get_project_id(config.project_name)
    if project_id is not None:
        _skeleton_labels(api._get_project_labels(project_id), plan)
        return project_id, False
    if config.project_name:
        return api.post_project({
            "name": config.project_name,
            "labels": [_skeleton_label_json(c, plan) for c in plan["classes"]],
        }), True
    return None, False


def _shape_attributes(doc, specs):
    attrs = [{"spec_id": specs["label_id"], "value": str(doc["_id"])}]
    for name, spec_id in specs.items():
        if name == "label_id":
            continue
        value = doc.get(name)
        if value is not None:
            attrs.append({"spec_id": spec_id, "value": fouc._stringify_value(value)})
    return attrs


def upload_skeleton_samples(api, samples, anno_key, backend, plan):
    """Creates the CVAT task(s) for a planned skeleton upload."""
    config = backend.config
    label_field = plan["label_field"]
    node_attr = config.node_occluded_attr

    samples.compute_metadata()
    num_samples = len(samples)
    batch_size = api._get_batch_size(samples, config.task_size)
    num_batches = max(1, -(-num_samples // batch_size))

    project_id, created_project = _project_id(api, config, plan)
    project_ids = [project_id] if created_project else []

    task_ids, job_ids, frame_id_map = [], {}, {}
    id_map = {label_field: {}}
    base_name = config.task_name or "FiftyOne_%s" % samples._root_dataset.name.replace(" ", "_")
    steps = num_batches * 3
    for b, offset in enumerate(range(0, num_samples, batch_size)):
        batch = samples[offset : offset + batch_size]
        task_name = base_name + ("_%d" % (b + 1) if num_batches > 1 else "")
        task_json = {"name": task_name, "image_quality": config.image_quality}
        if project_id is not None:
            task_json["project_id"] = project_id
        else:
            task_json["labels"] = [_skeleton_label_json(c, plan) for c in plan["classes"]]
        if config.segment_size:
            task_json["segment_size"] = config.segment_size
        if config.issue_tracker:
            tracker = config.issue_tracker
            task_json["bug_tracker"] = tracker if isinstance(tracker, str) else tracker[b % len(tracker)]
        task_id = api.post_task(task_json)
        task_ids.append(task_id)
        labels = _skeleton_labels(api._get_task_labels(task_id), plan)

        assignee = config.task_assignee
        if assignee and not isinstance(assignee, str):
            assignee = assignee[b % len(assignee)]
        if assignee:
            user_id = api.get_user_id(assignee)
            if user_id is None:
                raise CVATError("CVAT user '%s' not found" % assignee)
            api.patch(api.task_url(task_id), json={"assignee_id": user_id})
        _report((3 * b + 1) / steps, "Created CVAT task %d" % task_id)

        job_ids[task_id] = api.upload_data(
            task_id,
            batch.values(config.media_field),
            image_quality=config.image_quality,
            use_cache=config.use_cache,
            chunk_size=config.chunk_size,
            job_assignees=config.job_assignees,
        )
        frame_id_map[task_id] = api._build_frame_id_map(batch)
        _report((3 * b + 2) / steps, "Uploaded media of task %d" % task_id)

        shapes = []
        if plan["existing"]:
            sample_ids, kps, widths, heights = batch.values(
                ["_id", label_field, "metadata.width", "metadata.height"], _raw=True
            )
            for frame, (oid, keypoints, w, h) in enumerate(
                zip(sample_ids, kps, widths, heights)
            ):
                ids = []
                for doc in (keypoints or {}).get("keypoints") or []:
                    if doc.get("label") not in labels:
                        continue
                    label_id, sublabel_ids, specs = labels[doc["label"]]
                    shapes.append(convert.keypoint_to_shape(
                        doc, frame, (w, h), label_id, sublabel_ids,
                        attributes=_shape_attributes(doc, specs),
                        occluded_attr=node_attr,
                    ))
                    ids.append(str(doc["_id"]))
                if ids:
                    id_map[label_field][str(oid)] = ids
        if shapes:
            resp = api.put(
                api.task_annotation_url(task_id),
                json={"version": 0, "shapes": shapes, "tags": [], "tracks": []},
            ).json()
            if len(resp.get("shapes", [])) != len(shapes):
                raise CVATError(
                    "CVAT stored %d of %d skeleton shapes for task %d"
                    % (len(resp.get("shapes", [])), len(shapes), task_id)
                )
        _report((3 * b + 3) / steps, "Uploaded %d skeletons to task %d" % (len(shapes), task_id))

    results = PosekitCVATAnnotationResults(
        samples, config, anno_key, id_map, {}, project_ids, task_ids,
        job_ids, frame_id_map, {label_field: list(task_ids)}, backend=backend,
    )
    results.save_config()
    return results


# -- download ----------------------------------------------------------------


def _stable_id(task_id, shape_id):
    return str(ObjectId("%08x%016x" % (int(task_id) % 2**32, int(shape_id) % 2**64)))


def _task_context(api, task_id, classes):
    meta = api.get(api.task_data_meta_url(task_id)).json()
    start = meta.get("start_frame", 0) or 0
    sizes = {
        start + i: (f["width"], f["height"]) for i, f in enumerate(meta["frames"])
    }
    skeletons, orders, specs = {}, {}, {}
    for label in api._get_task_labels(task_id):
        if label.get("type") != "skeleton" or label["name"] not in classes:
            continue
        skeletons[label["id"]] = label["name"]
        orders[label["id"]] = svg.node_order(label)
        specs[label["id"]] = {
            a["id"]: (a["name"], a.get("input_type")) for a in label.get("attributes") or []
        }
    return sizes, skeletons, orders, specs


def _parse_job(body, task_id, context, frame_map, node_attr, occluded_name, seen_ids, annos):
    """Parses one job's skeleton shapes into ``annos[sample_id][label_id]``."""
    sizes, skeletons, orders, specs = context
    shapes = [
        s for s in body.get("shapes", [])
        if s.get("type") == "skeleton" and s.get("label_id") in skeletons
        and s.get("frame") in frame_map
    ]
    if any(t.get("elements") for t in body.get("tracks", [])):
        logger.warning("Ignoring skeleton tracks in task %d (images only)", task_id)
    points, occluded = convert.skeleton_arrays(shapes, orders, sizes)
    for i, shape in enumerate(shapes):
        label_spec = specs[shape["label_id"]]
        attrs, label_id = {}, None
        for a in shape.get("attributes") or []:
            name, itype = label_spec.get(a.get("spec_id"), (None, None))
            if name == "label_id":
                label_id = a.get("value")
            elif name is not None:
                value = fouc._parse_value(a.get("value"), attr_type=itype)
                if itype == "checkbox" and isinstance(value, str):
                    value = value.lower() == "true"
                attrs[name] = value
        if not (label_id and ObjectId.is_valid(label_id)) or label_id in seen_ids:
            label_id = _stable_id(task_id, shape.get("id") or i)
        seen_ids.add(label_id)
        if occluded_name:
            attrs[occluded_name] = bool(shape.get("occluded"))
        n = len(orders[shape["label_id"]])
        doc = convert.keypoint_doc(
            skeletons[shape["label_id"]], points[i, :n], occluded[i, :n],
            occluded_attr=node_attr, attributes=attrs, label_id=ObjectId(label_id),
        )
        sample_id = frame_map[shape["frame"]]["sample_id"]
        annos.setdefault(sample_id, {})[label_id] = doc


def download_skeleton_annotations(api, results, raw=False):
    """Downloads a skeleton run: ``{field: {"keypoints": {sample_id: {id: kp}}}}``
    with ``fo.Keypoint`` values (or their database dicts if ``raw``).

    Jobs are fetched concurrently, a few at a time, and each job's shapes are
    parsed (with numpy) as soon as it arrives, so raw JSON never piles up.
    Nothing is written to the dataset here.
    """
    config = results.config
    label_field, info = _single_field(config)
    classes = _class_names(info.get("classes"), label_field)
    node_attr = config.node_occluded_attr
    attr_schema = info.get("attributes") or {}
    occluded_name = next(
        (n for n, a in attr_schema.items() if a.get("type") == "occluded" and n != node_attr),
        None,
    )

    deleted, contexts = [], {}
    for task_id in results.task_ids:
        if not api.task_exists(task_id):
            logger.warning("Skipping CVAT task %d, which no longer exists", task_id)
            deleted.append(task_id)
            continue
        contexts[task_id] = (_task_context(api, task_id, classes), api._get_job_ids(task_id))
    _report(0.1, "Read %d CVAT task(s)" % len(contexts))

    annos, seen_ids = {}, set()
    pairs = [(t, j) for t, (_, jobs) in contexts.items() for j in jobs]
    bodies = api.iter_json_many(api.job_annotation_url(j) for _, j in pairs)
    for n, ((task_id, _), body) in enumerate(zip(pairs, bodies), 1):
        _parse_job(body, task_id, contexts[task_id][0], results.frame_id_map[task_id],
                   node_attr, occluded_name, seen_ids, annos)
        del body
        if n % max(1, api._max_workers) == 0 or n == len(pairs):
            _report(0.1 + 0.8 * n / len(pairs), "Downloaded %d/%d job(s)" % (n, len(pairs)))

    if deleted:
        results._forget_tasks(deleted)
    _report(0.9, "Parsed %d skeleton(s)" % sum(len(v) for v in annos.values()))
    if not raw:
        annos = {
            sid: {lid: fo.Keypoint.from_dict(doc) for lid, doc in docs.items()}
            for sid, docs in annos.items()
        }
    return {label_field: {"keypoints": annos}}


def _merge_into(doc, anno, attr_names, info):
    """Copies an annotated keypoint onto an existing one (database dicts), as
    FiftyOne's ``load_annotations`` does: label, index, points and the
    schema's attributes."""
    if info.get("allow_label_edits", True):
        doc["label"] = anno.get("label")
    if info.get("allow_index_edits", True):
        doc["index"] = anno.get("index")
    if info.get("allow_spatial_edits", True):
        doc["points"] = anno["points"]
    for name in attr_names:
        doc[name] = anno.get(name)


def merge_skeleton_annotations(dataset, results, annotations):
    """Merges downloaded skeletons (database dicts, see
    :func:`download_skeleton_annotations`) into the run's field with one bulk
    ``set_values``.

    Same outcome as ``dataset.load_annotations``: annotated labels update the
    existing ones (by id), uploaded labels missing from CVAT are deleted,
    new ones are added, other labels are kept; re-loading adds nothing.
    """
    import fiftyone as fo

    label_field, info = _single_field(results.config)
    annos = annotations.get(label_field, {}).get("keypoints", {})
    attr_names = [n for n, a in (info.get("attributes") or {}).items() if not a.get("read_only")]
    allow_additions = info.get("allow_additions", True)
    allow_deletions = info.get("allow_deletions", True)
    id_map = results.id_map.get(label_field, {})

    sample_ids = sorted({
        fd["sample_id"] for task_id in results.task_ids
        for fd in results.frame_id_map.get(task_id, {}).values()
    })
    if not dataset.has_sample_field(label_field):
        dataset.add_sample_field(label_field, fo.EmbeddedDocumentField,
                                 embedded_doc_type=fo.Keypoints)
    ids, current = dataset.select(sample_ids).values(["_id", label_field], _raw=True)

    new_values, added = {}, {}
    for oid, value in zip(ids, current):
        sample_id = str(oid)
        sample_annos = annos.get(sample_id, {})
        uploaded = id_map.get(sample_id) or []
        uploaded = {uploaded} if isinstance(uploaded, str) else set(uploaded)
        if value is None and not sample_annos:
            continue
        kept, seen = [], set()
        for doc in (value or {}).get("keypoints") or []:
            label_id = str(doc["_id"])
            anno = sample_annos.get(label_id)
            if anno is not None:
                _merge_into(doc, anno, attr_names, info)
                kept.append(doc)
                seen.add(label_id)
            elif label_id in uploaded and allow_deletions:
                continue
            else:
                kept.append(doc)
        if allow_additions:
            for label_id, anno in sample_annos.items():
                if label_id not in seen:
                    kept.append(anno)
                    added.setdefault(sample_id, []).append(label_id)
        value = dict(value or {"_cls": "Keypoints"})
        value["keypoints"] = kept
        new_values[sample_id] = value

    if new_values:
        dataset.set_values(label_field, new_values, key_field="id", validate=False)
    results._update_id_map(label_field, added)
    return len(new_values)


def load_skeleton_run(dataset, anno_key, results):
    """Downloads and merges a skeleton-mode run (operator path): all data is
    downloaded before the dataset is written, in one bulk write."""
    api = results.connect_to_api()
    annotations = download_skeleton_annotations(api, results, raw=True)
    merge_skeleton_annotations(dataset, results, annotations)
    results.backend.save_run_results(dataset, anno_key, results)
    _report(1.0, "Loaded run '%s'" % anno_key)
