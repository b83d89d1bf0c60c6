"""Form and save helpers shared by the skeleton operators (target choice,
checks against the dataset, flags on invalid inputs, the saved summary)."""
import time

import fiftyone.operators.types as types

from posekit import skeleton as pk
from posekit import skeleton_store as store
from posekit.markdown import md_escape

from ._datasets import own_dataset

ICON = "/assets/icon.svg"


# --- shared helpers ------------------------------------------------------------


def _target(ctx):
    """``(target, field)`` from the params; ``field`` is None for default."""
    target = ctx.params.get("target") or "default"
    field = (ctx.params.get("field") or "").strip() or None
    return target, (field if target == "field" else None)


def _target_name(field):
    return f"field {field!r}" if field else "the default skeleton"


def _has_skeleton(ds, field):
    return (field in ds.skeletons) if field else ds.default_skeleton is not None


def _target_inputs(inputs, ctx, existing_only=False):
    """Adds ``target`` and ``field``; returns ``(target, field, field_prop)``."""
    ds = ctx.dataset
    if existing_only:
        fields = sorted(ds.skeletons)
    else:
        fields = store.keypoint_fields(ds)
    inputs.enum(
        "target",
        ["default", "field"],
        default="default",
        label="Skeleton of",
        view=types.RadioGroup(
            choices=[
                types.Choice("default", label="Dataset default skeleton"),
                types.Choice("field", label="A keypoints field"),
            ]
        ),
    )
    target, field = _target(ctx)
    field_prop = None
    if target == "field":
        choices = [types.Choice(f, label=f) for f in fields]
        if existing_only:
            field_prop = inputs.enum(
                "field",
                fields,
                required=True,
                label="Field",
                default=fields[0] if fields else None,
                view=types.DropdownView(choices=choices),
            )
        else:
            field_prop = inputs.str(
                "field",
                required=True,
                label="Keypoints field",
                description="An existing Keypoints field, or a new field name",
                default=fields[0] if fields else None,
                view=types.AutocompleteView(choices=choices),
            )
        if field is None and fields:
            field = fields[0]
    return target, field, field_prop


def _existing_target_inputs(inputs, ctx):
    """Adds ``target``/``field`` choosing an existing skeleton, flagged when
    there is none; returns ``(field, exists)``."""
    _, field, field_prop = _target_inputs(inputs, ctx, existing_only=True)
    exists = _has_skeleton(ctx.dataset, field)
    if not exists:
        prop = field_prop or inputs.view("nothing", types.Notice())
        prop.invalid = True
        prop.error_message = f"No skeleton is set for {_target_name(field)}"
    return field, exists


_COUNTS_TTL = 30.0
_FORM_SCAN_LIMIT = 2000
_counts_cache = {}


def _stored_counts(ds, field, fresh):
    """Point counts stored under the target. Saving (``fresh``) scans every
    sample; forms scan the first ``_FORM_SCAN_LIMIT`` samples and reuse that
    for ``_COUNTS_TTL`` seconds, so they stay fast on big datasets."""
    if fresh:
        return store.counts_for_target(ds, field)
    key = (ds.name, ds.created_at, field)
    hit = _counts_cache.get(key)
    if hit and time.monotonic() - hit[0] < _COUNTS_TTL:
        return hit[1]
    counts = store.counts_for_target(ds, field, limit=_FORM_SCAN_LIMIT)
    _counts_cache[key] = (time.monotonic(), counts)
    return counts


def _check_target(ctx, skeleton, field, fresh):
    """Validation problems of ``skeleton`` for this dataset target."""
    ds = ctx.dataset
    bad_name = store.field_name_error(field) if field else None
    if bad_name:
        problem = pk.Problem("field", "bad_field_name", bad_name)
        return [problem] + pk.validate(skeleton), False
    kind = store.field_kind(ds, field) if field else None
    counts = _stored_counts(ds, field, fresh) if kind is None else set()
    on_mismatch = ctx.params.get("on_mismatch") or "refuse"
    problems = pk.validate(
        skeleton, field_kind=kind, stored_counts=counts, on_mismatch=on_mismatch
    )
    mismatch = any(c != len(skeleton.labels) for c in counts)
    return problems, mismatch


def _mismatch_input(inputs, mismatch):
    if mismatch:
        inputs.enum(
            "on_mismatch",
            ["refuse", "keep"],
            default="refuse",
            label="Stored keypoints have another number of points",
            view=types.RadioGroup(
                choices=[
                    types.Choice("refuse", label="Refuse: fix the skeleton"),
                    types.Choice(
                        "keep",
                        label="Save anyway, keep the stored keypoints as they are",
                    ),
                ]
            ),
        )


def _flag(prop, problems):
    if prop is not None and problems:
        prop.invalid = True
        prop.error_message = "; ".join(p.message for p in problems)


def _refuse(problems, what="Skeleton not saved"):
    raise ValueError(f"{what}: " + "; ".join(p.message for p in problems))


def _saved(ctx, field, skeleton):
    with own_dataset(ctx) as dataset:
        store.save_skeleton(dataset, skeleton, field)
    if not ctx.delegated:
        ctx.trigger("reload_dataset")
    return {
        "target": "field" if field else "default",
        "field": field,
        "num_nodes": len(skeleton.labels),
        "num_edges": len(skeleton.edges),
        "edge_groups": [g.name for g in skeleton.edge_groups],
    }



def _summary_md(skeleton):
    labels = skeleton.labels
    used = {x for e in skeleton.edges for x in e}
    lonely = [x for x in labels if x and x not in used]
    groups = ", ".join(
        f"{md_escape(g.name)} ({len(g.edges)})" for g in skeleton.edge_groups
    )
    md = (
        f"**{len(labels)} nodes, {len(skeleton.edges)} edges** in "
        f"{len(skeleton.edge_groups)} group(s){': ' + groups if groups else ''}"
    )
    if lonely:
        shown = ", ".join(md_escape(x) for x in lonely[:20])
        more = f" and {len(lonely) - 20} more" if len(lonely) > 20 else ""
        md += f"\n\nNodes with no edge: {shown}{more}"
    return md

