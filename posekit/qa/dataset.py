"""Reading ``fo.Keypoints`` fields into :class:`~posekit.qa.oks.Poses` tables
and writing per-instance results back, in bulk (``values`` / ``set_values``).

Conventions (those of FiftyOne's COCO importer): points are relative
``[0, 1]`` coordinates, a NaN point is not labelled, a ``visible`` list with 0
also marks a point unlabelled (``occluded`` points are labelled: COCO's v=1).
Optional per-instance attributes: ``iscrowd``, ``area`` (pixels^2) and, for
predictions, ``score`` (else the mean of the points' ``confidence``, else 1).
A crowd region can also be a ``fo.Detection`` with ``iscrowd`` in a
``crowd_field`` (``fo.Detections``): it becomes ground truth without points.
"""
from dataclasses import dataclass

import numpy as np

from posekit import fo_compat
from posekit.qa.oks import Poses, extent_boxes


@dataclass
class FieldTable:
    """A :class:`Poses` table plus where each row came from."""

    poses: Poses
    label_ids: list      # per row
    sample_pos: np.ndarray   # per row: index of its sample
    label_pos: np.ndarray    # per row: index in its sample's label list (-1: crowd region)
    counts: list         # per sample: number of labels in the field
    labels: list         # category names (cat index -> name)


def _has(samples, path):
    return samples.get_field(path) is not None


def label_field_kind(samples, field):
    """``"keypoints"``, ``"detections"`` or ``None`` for a sample field."""
    import fiftyone as fo

    f = samples.get_field(field)
    doc = getattr(f, "document_type", None)
    if doc is fo.Keypoints:
        return "keypoints"
    if doc is fo.Detections:
        return "detections"
    return None


def image_sizes(samples):
    """``(ids, widths, heights)``; computes missing metadata first."""
    ids, w, h = samples.values(["id", "metadata.width", "metadata.height"])
    if any(x is None for x in w) or any(x is None for x in h):
        missing = samples.select([i for i, a, b in zip(ids, w, h)
                                  if a is None or b is None])
        missing.compute_metadata()
        ids, w, h = samples.values(["id", "metadata.width", "metadata.height"])
        bad = [i for i, a, b in zip(ids, w, h) if not a or not b]
        if bad:
            raise ValueError(
                f"{len(bad)} sample(s) have no image size (metadata), e.g. "
                f"{bad[0]}: their images cannot be read")
    return ids, np.asarray(w, dtype=float), np.asarray(h, dtype=float)


_ROWS = 256
"""Samples per database read: the values become Python lists before they
become arrays, so they are read a slice at a time."""

_PER_POINT = ("points", "visible", "confidence")
"""Label attributes with one value per point: read as one flat list per
sample (concatenated by the database; decoding one list of ~200 numbers is
~7x faster than decoding ~100 nested two-number lists) plus each label's
length."""


def _per_point_exprs(base, attr):
    """``(flat values per sample, per-label lengths per sample)`` expressions
    for the per-point ``attr`` of the labels in list ``base``; a label without
    a list counts 0 values."""
    from fiftyone import ViewField as F
    from fiftyone.core.expressions import VALUE

    this = F(attr).is_array().if_else(F(attr), [])
    if attr == "points":  # [[x, y], ...]: one level more
        this = this.reduce(VALUE.extend(F()), init_val=[])
    labels = F(base).is_array().if_else(F(base), [])
    flat = labels.reduce(VALUE.extend(this), init_val=[])
    lengths = labels.map(F(attr).is_array().if_else(F(attr).length(), -1))
    return flat, lengths


def _slices(samples, n, base, scalars, per_point):
    """Per slice of ``_ROWS`` samples: ``{attr: values}``, where a scalar
    attribute's values are per-sample lists of per-label values, and a
    per-point attribute's are ``(flat values, per-label lengths)``, both
    over the whole slice (a length -1: the label has no list)."""
    exprs = [f"{base}.{a}" for a in scalars]
    for a in per_point:
        exprs.extend(_per_point_exprs(base, a))

    def parse(vals):
        out = dict(zip(scalars, vals[:len(scalars)]))
        rest = vals[len(scalars):]
        for i, a in enumerate(per_point):
            flat, lengths = rest[2 * i], rest[2 * i + 1]
            out[a] = ([x for per in flat for x in per],
                      [x for per in lengths for x in per])
        return out

    if n <= _ROWS:
        yield parse(fo_compat.raw_values(samples, exprs))
        return
    for a in range(0, n, _ROWS):
        yield parse(fo_compat.raw_values(samples[a:a + _ROWS], exprs))


def _rows_of(flat, lengths, k, fill):
    """An ``(m, k)`` array, one row per label, from a flat list whose ``m``
    labels have ``lengths``: a label with exactly ``k`` values keeps them,
    another gets ``fill`` (``None`` in a list: NaN)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    vals = np.fromiter((np.nan if x is None else x for x in flat), float, len(flat))
    out = np.full((len(lengths), k), fill, dtype=float)
    ok = lengths == k
    if ok.all():
        return vals.reshape(len(lengths), k) if k else out
    starts = np.r_[0, np.cumsum(np.maximum(lengths, 0))[:-1]]
    for r in np.nonzero(ok)[0]:
        out[r] = vals[starts[r]:starts[r] + k]
    return out


def read_keypoints(samples, field, widths, heights, classes, gt, num_points=None):
    """The keypoints of ``field`` as a :class:`FieldTable` (pixel coordinates).

    ``classes``: dict label -> category index, extended with new labels.
    """
    base = f"{field}.keypoints"
    opt = ["visible", "iscrowd", "area"] if gt else ["score", "confidence"]
    opt = [a for a in opt if _has(samples, f"{base}.{a}")]
    if "score" in opt and "confidence" in opt:
        opt.remove("confidence")  # the score wins; mean confidences only without it
    scalars = ["id", "label"] + [a for a in opt if a not in _PER_POINT]
    per_point = ["points"] + [a for a in opt if a in _PER_POINT]
    counts, flat_ids, cats, lens = [], [], [], set()
    parts = {k: [] for k in ("xy", "visible", "iscrowd", "area", "score", "conf")}
    for vals in _slices(samples, len(widths), base, scalars, per_point):
        ids, labels = vals["id"], vals["label"]
        cnt = [len(x) if x else 0 for x in ids]
        counts.extend(cnt)
        flat_ids.extend(i for x in ids if x for i in x)
        cats.extend(classes.setdefault(lb, len(classes))
                    for x in labels if x for lb in x)
        pts, pt_lens = vals["points"]
        lens |= {max(x, 0) for x in pt_lens}
        if num_points is None and lens:
            num_points = max(lens)
        if lens - {num_points}:
            raise ValueError(
                f"'{field}' has instances with {sorted(lens)} points; the "
                f"skeleton has {num_points}")
        k = num_points or 0
        parts["xy"].append(_rows_of(pts, [2 * x for x in pt_lens], 2 * k, np.nan))

        def flat(name, default):
            out = []
            for x, c in zip(vals[name], cnt):
                out.extend(x if x is not None else [None] * c)
            return [default if v is None else v for v in out]

        if "visible" in vals:
            parts["visible"].append(_rows_of(*vals["visible"], k, 1) > 0)
        if "iscrowd" in vals:
            parts["iscrowd"].append(np.array([bool(c) for c in flat("iscrowd", 0)], dtype=bool))
        if "area" in vals:
            parts["area"].append(np.array(flat("area", np.nan), dtype=float))
        if "score" in vals:
            parts["score"].append(np.array(flat("score", np.nan), dtype=float))
        if "confidence" in vals:
            parts["conf"].append(_rows_of(*vals["confidence"], k, np.nan))
        del vals, ids, labels, pts
    k = num_points or 0
    n = len(flat_ids)
    cat_ = lambda name: np.concatenate(parts[name]) if parts[name] else None  # noqa: E731
    sample_pos = np.repeat(np.arange(len(counts)), counts)
    label_pos = np.concatenate([np.arange(c) for c in counts]) if n else np.zeros(0, int)
    xy = (cat_("xy") if n else np.zeros(0)).reshape(n, k, 2)
    xy[..., 0] *= widths[sample_pos][:, None]
    xy[..., 1] *= heights[sample_pos][:, None]
    cat = np.array(cats, dtype=np.int64)
    vis = np.isfinite(xy).all(axis=-1)
    kw = {}
    if gt:
        if "visible" in opt:
            vis &= cat_("visible").reshape(n, k)
        if "iscrowd" in opt:
            kw["iscrowd"] = cat_("iscrowd")
        kw["bbox"] = extent_boxes(xy, vis)
        if "area" in opt:
            area = cat_("area")
            box_area = kw["bbox"][:, 2] * kw["bbox"][:, 3]
            kw["area"] = np.where(np.isfinite(area), area, box_area)
        poses = Poses(sample_pos, cat, xy, vis, **kw)
    else:
        s = np.ones(n)
        if "confidence" in opt:
            c = cat_("conf").reshape(n, k)
            ok = np.isfinite(c)
            with np.errstate(invalid="ignore"):
                mean = np.where(ok, c, 0).sum(1) / ok.sum(1)
            s = np.where(ok.any(1), mean, 1.0)
        if "score" in opt:
            score = cat_("score")
            s = np.where(np.isfinite(score), score, s)
        poses = Poses(sample_pos, cat, xy, score=s)
    return FieldTable(poses, flat_ids, sample_pos, label_pos, counts, None)


def read_crowd_regions(samples, field, widths, heights, classes, num_points):
    """The ``iscrowd`` detections of ``field`` as ground truth without points."""
    base = f"{field}.detections"
    paths = [f"{base}.id", f"{base}.label", f"{base}.bounding_box",
             f"{base}.iscrowd"]
    has_area = _has(samples, f"{base}.area")
    vals = fo_compat.raw_values(samples, paths + ([f"{base}.area"] if has_area else []))
    rows = []
    for s, per in enumerate(zip(*vals)):
        if not per[0]:
            continue
        areas = per[4] if has_area and per[4] else [None] * len(per[0])
        for lid, lb, bb, crowd, area in zip(per[0], per[1], per[2], per[3] or
                                            [None] * len(per[0]), areas):
            if not crowd or bb is None:
                continue
            box = [bb[0] * widths[s], bb[1] * heights[s], bb[2] * widths[s],
                   bb[3] * heights[s]]
            rows.append((s, classes.setdefault(lb, len(classes)), lid, box,
                         box[2] * box[3] if area is None else float(area)))
    n = len(rows)
    poses = Poses(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.full((n, num_points, 2), np.nan), np.zeros((n, num_points), bool),
        np.array([r[4] for r in rows], dtype=float),
        np.array([r[3] for r in rows], dtype=float).reshape(n, 4),
        np.ones(n, dtype=bool),
    )
    return poses, [r[2] for r in rows]


def concat(a, b):
    """Rows of ``a`` then rows of ``b``."""
    return Poses(np.r_[a.img, b.img], np.r_[a.cat, b.cat],
                 np.concatenate([a.xy, b.xy]), np.concatenate([a.vis, b.vis]),
                 np.r_[a.area, b.area], np.concatenate([a.bbox, b.bbox]),
                 np.r_[a.iscrowd, b.iscrowd], np.r_[a.score, b.score])


def _declare(ds, paths, types):
    """Declares the missing ``paths`` (typed by their last name in
    ``types``: a field class, or ``(ListField, subfield)``) in one schema
    change per nesting level: ``add_sample_field`` reloads the dataset
    document at each call, which cost more than the writes themselves."""
    import fiftyone as fo

    schema = {}
    for path in paths:
        if ds.get_field(path) is None:
            kind = types[path.rsplit(".", 1)[-1]]
            if isinstance(kind, tuple):
                schema[path] = kind[0](field=kind[1]())
            else:
                schema[path] = kind()
    if schema:
        ds.add_dynamic_sample_fields(fields=schema)


def write_labels(samples, sample_ids, columns, sample_columns, types):
    """Writes per-label and per-sample values in one update per sample.

    ``columns``: ``[(field, table, {attr: per-row values})]``;
    ``sample_columns``: ``{name: per-sample values}``; ``types``: ``{attr or
    name: fo field class}`` (declared first). Each update also checks the
    sample still holds the labels read (same ids, same places); raises
    ``RuntimeError`` naming the samples whose labels changed meanwhile.
    """
    from datetime import datetime

    from bson import ObjectId
    from pymongo import UpdateOne

    ds = fo_compat.root_dataset(samples)
    _declare(ds, [f"{field}.keypoints.{attr}" for field, _, cols in columns
                  for attr in cols] + list(sample_columns), types)
    n = len(sample_ids)
    now = datetime.utcnow()
    n_ops = matched = 0
    bad = []
    for a in range(0, n, _ROWS):  # a slice at a time: the update dicts are big
        b = min(n, a + _ROWS)
        filters = [{"_id": ObjectId(i)} for i in sample_ids[a:b]]
        sets = [{} for _ in range(b - a)]
        for field, table, cols in columns:
            base = f"{field}.keypoints"
            r0, r1 = np.searchsorted(table.sample_pos, [a, b])
            for r in range(r0, r1):
                s, p = int(table.sample_pos[r]) - a, int(table.label_pos[r])
                if p < 0:
                    continue
                filters[s][fo_compat.element_id_path(base, p)] = ObjectId(table.label_ids[r])
                for attr, vals in cols.items():
                    sets[s][f"{base}.{p}.{attr}"] = vals[r]
        for name, vals in sample_columns.items():
            for s, v in enumerate(vals[a:b]):
                sets[s][name] = v
        ops = []
        for f, st in zip(filters, sets):
            if st:
                st["last_modified_at"] = now
                ops.append(UpdateOne(f, {"$set": st}))
        res = fo_compat.bulk_update_samples(ds, ops)
        n_ops += len(ops)
        if res is not None:
            matched += res.matched_count
            if res.matched_count != len(ops):
                bad.extend(str(f["_id"]) for f in filters)
        del filters, sets, ops
    if matched != n_ops:
        changed = [i for i in bad if ds.select(i).count() == 0][:5]
        raise RuntimeError(
            f"{n_ops - matched} sample(s) changed while being "
            f"evaluated (e.g. {', '.join(changed) or 'unknown'}); run it again")
    ds.reload()


def nest(flat_values, table):
    """Per-row values back into per-sample lists (for ``set_values``)."""
    out = [None if c == 0 else [None] * c for c in table.counts]
    for v, s, p in zip(flat_values, table.sample_pos, table.label_pos):
        if p >= 0:
            out[s][p] = v
    return out
