"""The skeleton preview of one sample, independent of the App: the sample's
raw record, its keypoint instances, the skeleton to draw (the field's or the
default, with flip pairs), and the panel data (``image`` SVG data URI,
``summary`` Markdown, ``scene``)."""
from dataclasses import dataclass

from posekit import drawing, fo_compat, scene as pk_scene
from posekit.layout import default_layout
from posekit.markdown import md_escape
from posekit.skeleton_store import resolve_skeleton
from posekit.templates import find_template


@dataclass
class SampleRecord:
    """The little of a sample the panel needs, read raw from the database."""

    id: str
    filepath: str
    value: dict  # the raw Keypoints/Keypoint document of the field, or None
    width: int = None
    height: int = None


def fetch(collection, field, sample_id=None, index=0):
    """One sample of ``collection``, by id or by position, as a
    :class:`SampleRecord`; ``None`` if there is none.

    A single raw ``values()`` aggregation over a one-sample view: no sample
    documents are built (that costs several times more than the query).
    """
    if sample_id is not None:
        view = collection.select(sample_id)
    else:
        view = collection.skip(max(int(index), 0)).limit(1)
    paths = ["_id", "filepath", "metadata"] + ([field] if field else [])
    columns = fo_compat.raw_values(view, paths)
    if not columns[0]:
        return None
    meta = columns[2][0] or {}
    return SampleRecord(
        id=str(columns[0][0]),
        filepath=columns[1][0],
        value=columns[3][0] if field else None,
        width=meta.get("width"),
        height=meta.get("height"),
    )


def skeleton_for_drawing(dataset, field):
    """``(labels, edge_groups, flip_pairs)`` of the skeleton that applies to
    ``field`` (:func:`posekit.skeleton_store.resolve_skeleton`); flip pairs from posekit's record, else from the template
    with the same labels; ``None`` when there is none."""
    sk = resolve_skeleton(dataset, field)
    if sk is None:
        return None
    template = find_template(sk.labels)
    flip_pairs = sk.flip_pairs or (template.flip_pairs if template else None)
    index = {label: i for i, label in enumerate(sk.labels)}
    edge_groups = [
        (g.name, [(index[a], index[b]) for a, b in g.edges])
        for g in sk.edge_groups
    ]
    return sk.labels, edge_groups, flip_pairs


def instances_of(value):
    """:class:`posekit.scene.Instance` list from a raw ``Keypoints`` or
    ``Keypoint`` document (``occluded`` is posekit's per-node list)."""
    if not value:
        return []
    kps = value.get("keypoints") or [] if "keypoints" in value else [value]
    out = []
    for kp in kps:
        conf = kp.get("confidence")
        occluded = kp.get("occluded")
        out.append(
            pk_scene.Instance(
                points=kp.get("points") or [],
                confidence=conf if isinstance(conf, list) else None,
                occluded=occluded if isinstance(occluded, list) else None,
                label=kp.get("label"),
                index=kp.get("index"),
            )
        )
    return out


def comparison_runs(dataset):
    """The posekit pose evaluation runs of ``dataset`` (keys), for "Compare
    with"; other kinds of evaluation are not listed."""
    from posekit.qa.views import pose_runs

    return pose_runs(dataset) if dataset is not None else []


def comparison_fields(dataset, eval_key):
    """``(pred_field, gt_field)`` of the pose evaluation ``eval_key``, or
    ``None`` when it is not one (anymore)."""
    if not eval_key or eval_key not in comparison_runs(dataset):
        return None
    config = dataset.get_evaluation_info(eval_key).config
    return config.pred_field, config.gt_field


def comparison_report(dataset, eval_key):
    """The report of the pose evaluation ``eval_key`` as Markdown (the
    evaluate operator's output, laid out for the narrow panel), headed with
    what was compared; ``""`` when it is not a pose evaluation (anymore)."""
    fields = comparison_fields(dataset, eval_key)
    if fields is None:
        return ""
    results = dataset.load_evaluation_results(eval_key)
    pred, gt = fields
    head = (f"#### Evaluation {md_escape(eval_key)}: {md_escape(pred)} "
            f"vs {md_escape(gt)}")
    return head + "\n\n" + results.markdown(compact=True)


def comparison_of(dataset, sample, eval_key, width, height):
    """The :class:`posekit.scene.Comparison` of ``sample`` (its ``value`` is
    the run's prediction field) from what the run stored on the labels:
    ``<key>`` (tp/fp/fn), ``<key>_id`` (matched ground truth) and
    ``<key>_classes`` (per-keypoint error classes). Nothing is re-evaluated."""
    from posekit.qa.errors import KEYPOINT_SUFFIX

    _, gt_field = comparison_fields(dataset, eval_key)
    gt_value = fo_compat.raw_values(dataset.select(sample.id), [gt_field])[0]
    gt = (gt_value[0] or {}).get("keypoints") or [] if gt_value else []
    pos = {str(kp.get("_id")): i for i, kp in enumerate(gt)}
    pred = (sample.value or {}).get("keypoints") or []
    return pk_scene.compute_comparison(
        width, height,
        [(kp.get("points"), kp.get(eval_key)) for kp in gt],
        [(kp.get("points"), kp.get(eval_key), pos.get(kp.get(f"{eval_key}_id")),
          kp.get(f"{eval_key}{KEYPOINT_SUFFIX}")) for kp in pred],
    )


def preview(
    dataset, sample, field, show_labels=False, conf_threshold=0.0,
    skeleton_only=False, compare=None,
):
    """The panel data for one sample: ``image``, ``summary``, ``scene``.

    ``compare``: a pose evaluation key (``field`` is then its prediction
    field): the ground truth and the error lines are drawn too, and
    ``scene["comparison"]`` describes them."""
    skeleton = skeleton_for_drawing(dataset, field)
    labels, groups, flips = skeleton or ([], [], None)
    if skeleton_only:
        if not labels:
            return _empty("No skeleton is defined for this field or the dataset.")
        scene, uri = skeleton_drawing(labels, groups, flips)
        return _data(
            scene, uri, None, field,
            (scene.width, scene.height), _skeleton_summary(labels, groups),
        )
    if sample is None:
        return _empty("No sample in the current view.")
    if not field:
        return _empty("This dataset has no keypoints field.")

    instances = instances_of(sample.value)
    notes = [] if skeleton else ["No skeleton: nodes only."]
    cmp = None
    if compare and comparison_fields(dataset, compare) is None:
        compare = None
    try:
        if compare:
            w, h = drawing.image_size(sample.filepath)
            cmp = comparison_of(dataset, sample, compare, w, h)
        uri, scene, display = drawing.render_preview(
            sample.filepath, instances, labels, groups, flips,
            show_labels=show_labels, conf_threshold=conf_threshold,
            comparison=cmp,
        )
    except (OSError, ValueError) as e:
        w, h = sample.width or 1000, sample.height or 1000
        notes.append(
            f"Image unreadable ({type(e).__name__}): drawn on a blank canvas."
        )
        scene = pk_scene.compute_scene(
            w, h, instances, labels, groups, flips, conf_threshold
        )
        if compare:
            cmp = comparison_of(dataset, sample, compare, w, h)
        display = _fit((w, h))
        uri = drawing.svg_data_uri(drawing.render_svg(
            scene, None, display, show_labels=show_labels, comparison=cmp))
    summary = _summary(scene, conf_threshold, notes)
    if cmp is not None:
        summary += "\n\n" + _comparison_summary(compare, cmp)
    out = _data(scene, uri, sample.id, field, display, summary)
    if cmp is not None:
        out["scene"]["comparison"] = dict(cmp.to_json(), eval_key=compare)
        out["report"] = comparison_report(dataset, compare)
    return out


def _comparison_summary(key, cmp):
    parts = [f"{md_escape(c)}: {n}" for c, n in cmp.to_json()["classes"].items()]
    return (f"**Compared with {md_escape(key)}:** "
            + (" · ".join(parts) or "no matched keypoints")
            + f" · **false positives:** {len(cmp.fp)} · **missed:** {len(cmp.fn)}")


def skeleton_drawing(labels, edge_groups, flip_pairs=None, background="#202020", kept=()):
    """The skeleton on its own, at its default layout: ``(scene, data URI)``.

    ``edge_groups`` is ``[(name, [(i, j), ...]), ...]``. One drawing for the
    panel's "skeleton only" view and the define-skeleton form's preview, so
    both show the same colours. ``kept`` (optional, per label) positions
    win over the default layout.
    """
    labels = list(labels)
    layout = default_layout(labels, _polylines(edge_groups))
    # ``kept``: positions of nodes that kept their names after an edit
    layout = [list(k) if k else p for k, p in zip(kept, layout)] + layout[len(kept):]
    scene = pk_scene.layout_scene(layout, labels, edge_groups, flip_pairs)
    svg = drawing.render_svg(
        scene, show_labels=True, background=background,
        title=f"{len(labels)} nodes, {sum(len(e) for _, e in edge_groups)} edges",
    )
    return scene, drawing.svg_data_uri(svg)


def _polylines(groups):
    return [[a, b] for _, edges in groups for a, b in edges]


def _fit(size, max_side=drawing.MAX_SIDE):
    w, h = size
    k = min(1.0, max_side / max(w, h))
    return (max(1, round(w * k)), max(1, round(h * k)))


def _data(scene, uri, sample_id, field, display_size, summary):
    info = scene.to_json()
    info.update(
        sample_id=sample_id,
        field=field,
        display_size=list(display_size),
        payload_bytes=len(uri.encode("utf-8")),
    )
    # "report": the compared evaluation's report (set by :func:`preview`)
    return {"image": uri, "summary": summary, "scene": info, "report": ""}


def _empty(message):
    return {"image": None, "summary": md_escape(message), "scene": None, "report": ""}


def _summary(scene, conf_threshold, notes):
    c = scene.counts
    lines = [
        f"**Instances:** {c['instances']} · **visible:** {c['visible']} · "
        f"**occluded:** {c['occluded']} · **missing:** {c['missing']}"
    ]
    if conf_threshold > 0:
        lines.append(
            f"**Below confidence {conf_threshold:.2f}:** {c['low_confidence']}"
        )
    if scene.mismatched:
        lines.append(
            f"**⚠ {len(scene.mismatched)} instance(s) disagree with the "
            f"skeleton ({len(scene.labels)} nodes):**"
        )
        for m in scene.mismatched:
            label = f" ({md_escape(m['label'])})" if m["label"] else ""
            lines.append(
                f"- instance {m['instance'] + 1}{label}: {m['points']} points"
            )
    lines += [md_escape(n) for n in notes]
    return "\n\n".join(lines)


def _skeleton_summary(labels, groups):
    unused = set(range(len(labels))) - {i for _, e in groups for p in e for i in p}
    lines = [
        f"**Skeleton:** {len(labels)} nodes, "
        f"{sum(len(e) for _, e in groups)} edges in {len(groups)} group(s)"
    ]
    if unused:
        names = ", ".join(md_escape(labels[i]) for i in sorted(unused))
        lines.append(f"**Nodes with no edge:** {names}")
    return "\n\n".join(lines)
