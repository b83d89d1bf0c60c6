"""Skeleton-mode upload: CVAT project/task creation with one native skeleton
label per class, media upload, and existing keypoints as skeleton shapes."""
import fiftyone as fo

from posekit import fo_compat
from posekit.preannotate.run import RUN_ATTR as PRE_ANNOTATION_ATTR

from . import convert, svg
from .attributes import stringify_value
from .api import CVATError
from .progress import report as _report


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
        order = [by_name[n] for n in names]
        # raises if CVAT left a node unmatched (it rewrites names literally)
        if svg.node_order(label) != order:
            raise CVATError(
                "CVAT label '%s' put the skeleton's nodes in another order "
                "than %s" % (label["name"], names)
            )
        specs = {a["name"]: a["id"] for a in label.get("attributes") or []}
        out[label["name"]] = (label["id"], order, specs)
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
        _skeleton_labels(api.project_labels(project_id), plan)
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
            attrs.append({"spec_id": spec_id, "value": stringify_value(value)})
    return attrs


def upload_skeleton_samples(api, samples, anno_key, backend, plan):
    """Creates the CVAT task(s) for a planned skeleton upload."""
    config = backend.config
    label_field = plan["label_field"]
    node_attr = config.node_occluded_attr

    samples.compute_metadata()
    num_samples = len(samples)
    batch_size = api.batch_size(samples, config.task_size)
    num_batches = max(1, -(-num_samples // batch_size))

    project_id, created_project = _project_id(api, config, plan)
    project_ids = [project_id] if created_project else []

    task_ids, job_ids, frame_id_map = [], {}, {}
    id_map = {label_field: {}}
    dataset_name = samples.name if isinstance(samples, fo.Dataset) else samples.dataset_name
    base_name = config.task_name or "FiftyOne_%s" % dataset_name.replace(" ", "_")
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
        labels = _skeleton_labels(api.task_labels(task_id), plan)

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
        frame_id_map[task_id] = api.frame_id_map(batch)
        _report((3 * b + 2) / steps, "Uploaded media of task %d" % task_id)

        shapes = []
        if plan["existing"]:
            sample_ids, kps, widths, heights = fo_compat.raw_values(
                batch, ["_id", label_field, "metadata.width", "metadata.height"]
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
                        source="auto" if doc.get(PRE_ANNOTATION_ATTR) else "manual",
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

    from .backend import PosekitCVATAnnotationResults

    results = PosekitCVATAnnotationResults(
        samples, config, anno_key, id_map,
        server_id_map={}, project_ids=project_ids, task_ids=task_ids,
        job_ids=job_ids, frame_id_map=frame_id_map,
        labels_task_map={label_field: list(task_ids)}, backend=backend,
    )
    results.save_config()
    return results

