"""Annotation runs of the ``posekit_cvat`` backend: request, load, list with
CVAT status, open, delete, rename. App-independent; the operators call these.
"""
import keyword
import math
import logging

from .. import fo_compat
from .api import CVATError, safe_url
from .backend import BACKEND_NAME, register_backend
from .load import UNEXPECTED, load_run
from .video_merge import load_video_run

logger = logging.getLogger(__name__)

DEFAULT_CLASS = "person"


def validate_anno_key(dataset, anno_key, new=True):
    """Raises ValueError unless ``anno_key`` is a valid (and, if ``new``,
    unused) annotation key."""
    if not isinstance(anno_key, str) or not anno_key.isidentifier() or keyword.iskeyword(anno_key):
        raise ValueError(
            "Annotation key %r must be a valid identifier (letters, digits "
            "and underscores, not starting with a digit)" % (anno_key,)
        )
    exists = anno_key in dataset.list_annotation_runs()
    if new and exists:
        raise ValueError("An annotation run '%s' already exists" % anno_key)
    if not new and not exists:
        raise ValueError("No annotation run '%s'" % anno_key)
    return anno_key


def validate_field_name(dataset, field):
    """Raises ValueError unless ``field`` can hold (or holds) fo.Keypoints."""
    import fiftyone as fo

    from posekit.skeleton_store import field_name_error

    video_field = isinstance(field, str) and field.startswith("frames.")
    error = field_name_error(field[len("frames."):] if video_field else field)
    if error:
        raise ValueError(error)
    if video_field and dataset.media_type != "video":
        raise ValueError("Only video datasets have frame fields ('%s')" % field)
    if dataset.has_field(field):
        f = dataset.get_field(field)
        if getattr(f, "document_type", None) is not fo.Keypoints:
            raise ValueError("Field '%s' exists and does not hold fo.Keypoints" % field)
    return field


def default_classes(samples, label_field):
    """The field's distinct keypoint labels, or ``["person"]``."""
    if samples.has_field(label_field):
        classes = [c for c in samples.distinct("%s.keypoints.label" % label_field) if c]
        if classes:
            return classes
    return [DEFAULT_CLASS]


def credentials_kwargs(credentials):
    """Only the non-empty url/username/password/email/api_token/ssl_verify entries."""
    keys = ("url", "username", "password", "email", "api_token", "ssl_verify")
    return {k: credentials[k] for k in keys if credentials and credentials.get(k)}


def list_organizations(credentials):
    """The CVAT user's organizations, ``[{"slug", "name"}]`` (a call to CVAT)."""
    from .api import PosekitCVATAPI

    creds = credentials_kwargs(credentials)
    api = PosekitCVATAPI(
        BACKEND_NAME, creds.get("url"), username=creds.get("username"),
        email=creds.get("email"), password=creds.get("password"),
        api_token=creds.get("api_token"), request_timeout=10,
    )
    try:
        return api.list_organizations()
    finally:
        api.close()


def request_annotation(
    samples,
    anno_key,
    label_field,
    mode="skeleton",
    skeleton=None,
    classes=None,
    node_occluded_attr="occluded",
    project_name=None,
    task_size=None,
    segment_size=None,
    task_assignee=None,
    job_assignees=None,
    launch_editor=False,
    credentials=None,
    **kwargs,
):
    """Sends ``samples`` to CVAT for keypoint annotation of ``label_field``.

    Validation happens first; if anything fails afterwards the created CVAT
    tasks are deleted and no run is left behind.

    Returns:
        the run's results
    """
    register_backend()
    validate_anno_key(samples, anno_key)
    validate_field_name(samples, label_field)
    if not len(samples):
        raise ValueError("There are no samples to annotate")
    for name, value in (("task_size", task_size), ("segment_size", segment_size)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError("%s must be a positive integer" % name)
    if classes is None:
        classes = default_classes(samples, label_field)
    options = dict(
        backend=BACKEND_NAME,
        label_field=label_field,
        label_type="keypoints",
        classes=list(classes),
        attributes=False,
        mode=mode,
        skeleton=skeleton,
        node_occluded_attr=node_occluded_attr if mode == "skeleton" else None,
        project_name=project_name or None,
        task_size=task_size or None,
        segment_size=segment_size or None,
        task_assignee=task_assignee or None,
        job_assignees=list(job_assignees) if job_assignees else None,
        launch_editor=launch_editor,
    )
    options.update(credentials_kwargs(credentials))
    options.update(kwargs)
    return samples.annotate(anno_key, **options)


def load_results(dataset, anno_key, credentials=None):
    """The run's results read from the database with these credentials
    (never a cached copy, which keeps the credentials it was loaded with)."""
    register_backend()
    validate_anno_key(dataset, anno_key, new=False)
    return dataset.load_annotation_results(
        anno_key, cache=False, **credentials_kwargs(credentials))


def load_annotation(dataset, anno_key, dest_field=None, unexpected="keep",
                    cleanup=False, credentials=None, forget_deleted_tasks=False):
    """Loads a run's annotations into the dataset (idempotent), as
    ``dataset.load_annotations(anno_key, dest_field=..., unexpected=...)``
    does; skeleton runs through posekit's load path
    (:func:`posekit.cvat.load.load_run`).

    Everything is downloaded before the dataset is touched, so a failing
    server leaves the dataset as it was. Use the dataset object later calls
    use (the App's shared one): the run's results are cached on it. Tasks
    deleted in CVAT are reported and their samples left as they are; the run
    keeps listing them unless ``forget_deleted_tasks``.

    Returns:
        ``{"anno_key", "changes": {field: {"added", "updated", "deleted"}},
        "deleted_tasks": [task ids gone from CVAT], "forgot_deleted_tasks"}``
    """
    if unexpected not in UNEXPECTED:
        raise ValueError("unexpected must be one of %s" % list(UNEXPECTED))
    if dest_field is not None:
        validate_field_name(dataset, dest_field)
    results = load_results(dataset, anno_key, credentials)
    results.forget_gone_tasks = bool(forget_deleted_tasks)
    fields = [
        dest_field.get(f, f) if isinstance(dest_field, dict) else (dest_field or f)
        for f in (getattr(results.config, "label_schema", None) or {})
    ]
    sample_ids = sorted({fd["sample_id"] for fmap in results.frame_id_map.values()
                         for fd in fmap.values()})
    before = _label_state(dataset, fields, sample_ids)
    video = str(next(iter(results.config.label_schema or {}), "")).startswith("frames.")
    if getattr(results.config, "mode", None) == "skeleton" and video:
        load_video_run(dataset, anno_key, results)
    elif getattr(results.config, "mode", None) == "skeleton":
        load_run(dataset, anno_key, results, dest_field=dest_field, unexpected=unexpected)
    else:
        results.backend.save_run_results(dataset, anno_key, results)  # these credentials
        dataset.load_annotations(anno_key, dest_field=dest_field,
                                 unexpected=unexpected, cleanup=False)
    gone = results.gone_task_ids
    after = _label_state(dataset, fields, sample_ids)
    if cleanup:
        results = dataset.load_annotation_results(anno_key)
        results.cleanup()
        results.backend.save_run_results(dataset, anno_key, results)
    return {
        "anno_key": anno_key,
        "changes": {f: _changes(before[f], after[f]) for f in fields},
        "deleted_tasks": gone,
        "forgot_deleted_tasks": bool(forget_deleted_tasks and gone),
    }


def _label_state(dataset, fields, sample_ids):
    """``{field: {label id: label doc}}`` of the given samples."""
    view = dataset.select(sample_ids)
    out = {}
    for field in fields:
        out[field] = {}
        if not dataset.has_sample_field(field):
            continue
        for value in fo_compat.raw_values(view, field):
            for doc in _label_docs(value):
                out[field][str(doc["_id"])] = doc
    return out


def _label_docs(value):
    if not isinstance(value, dict):
        return []
    if "_id" in value:
        return [value]
    return [d for v in value.values() if isinstance(v, list)
            for d in v if isinstance(d, dict) and "_id" in d]


def _same(a, b):
    """Equal values, NaN equal to NaN (missing keypoints), 1 equal to 1.0,
    an absent attribute equal to None."""
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_same(a.get(k), b.get(k)) for k in set(a) | set(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _changes(before, after):
    return {
        "added": sum(1 for k in after if k not in before),
        "updated": sum(1 for k in after if k in before and not _same(after[k], before[k])),
        "deleted": sum(1 for k in before if k not in after),
    }


def _job_summary(job):
    return {
        "id": job.get("id"),
        "state": job.get("state"),
        "stage": job.get("stage"),
        "status": job.get("status"),
        "assignee": (job.get("assignee") or {}).get("username")
        if isinstance(job.get("assignee"), dict) else job.get("assignee"),
        "frames": [job.get("start_frame"), job.get("stop_frame")],
    }


def run_status(dataset, anno_key, credentials=None):
    """Per task: name, status, size, url, and per-job state/stage/assignee;
    plus a progress fraction (completed jobs / jobs)."""
    results = load_results(dataset, anno_key, credentials)
    api = results.connect_to_api()
    tasks = []
    for task_id in results.task_ids:
        try:
            task = api.get(api.task_url(task_id)).json()
        except CVATError as e:
            if getattr(e, "response", None) is not None and e.response.status_code == 404:
                tasks.append({"id": task_id, "status": "deleted", "jobs": []})
                continue
            raise
        jobs = api.get_jobs(task_id)
        tasks.append({
            "id": task_id,
            "name": task.get("name"),
            "status": task.get("status"),
            "size": task.get("size"),
            "url": api.base_task_url(task_id),
            "jobs": [_job_summary(j) for j in jobs],
        })
    jobs = [j for t in tasks for j in t["jobs"]]
    done = sum(1 for j in jobs if j["state"] == "completed" or j["stage"] == "acceptance")
    return {
        "anno_key": anno_key,
        "tasks": tasks,
        "progress": (done / len(jobs)) if jobs else 0.0,
    }


def list_runs(dataset):
    """The dataset's annotation runs: key, backend, field, timestamp."""
    out = []
    for key in dataset.list_annotation_runs():
        info = dataset.get_annotation_info(key)
        config = info.config
        schema = getattr(config, "label_schema", None) or {}
        out.append({
            "anno_key": key,
            "backend": getattr(config, "name", None) or getattr(config, "method", None),
            "mode": getattr(config, "mode", None),
            "label_fields": list(schema),
            "timestamp": str(info.timestamp),
            "url": getattr(config, "url", None),
        })
    return out


def editor_url(dataset, anno_key, credentials=None):
    """The CVAT URL of the run's first job (lowest ``start_frame``) of its
    first task, or of the task."""
    results = load_results(dataset, anno_key, credentials)
    if not results.task_ids:
        raise ValueError("Run '%s' has no CVAT tasks left" % anno_key)
    base = safe_url(results.config.url).rstrip("/")
    task_id = results.task_ids[0]
    jobs = results.job_ids.get(task_id) or []
    try:
        jobs = [j["id"] for j in results.connect_to_api().get_jobs(task_id)] or jobs
    except CVATError as e:  # offline: CVAT numbers a task's jobs in frame order
        logger.info("Could not list the jobs of CVAT task %s: %s", task_id, e)
        jobs = sorted(jobs)
    if jobs:
        return "%s/tasks/%d/jobs/%d" % (base, task_id, jobs[0])
    return "%s/tasks/%d" % (base, task_id)


def delete_run(dataset, anno_key, delete_tasks=False, credentials=None):
    """Deletes the run, and with ``delete_tasks`` its CVAT tasks first (if
    that fails, the run is kept)."""
    validate_anno_key(dataset, anno_key, new=False)
    if delete_tasks:
        results = load_results(dataset, anno_key, credentials)
        results.cleanup()
    dataset.delete_annotation_run(anno_key)


def rename_run(dataset, anno_key, new_anno_key):
    """Renames a run."""
    validate_anno_key(dataset, anno_key, new=False)
    validate_anno_key(dataset, new_anno_key)
    dataset.rename_annotation_run(anno_key, new_anno_key)
