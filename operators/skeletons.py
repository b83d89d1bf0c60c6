"""Operators that define, import, export, delete and list skeletons.

Parameters shared by these operators (plain values, so the operators work the
same from the App, the operator browser and ``execute_operator``):

- ``target``: ``"default"`` (``dataset.default_skeleton``) or ``"field"``
- ``field``: the ``Keypoints`` field when ``target == "field"`` (a new field
  name is allowed where a skeleton is created)
- ``on_mismatch``: ``"refuse"`` (default) or ``"keep"`` when keypoints already
  stored in the target have another number of points than the skeleton

``define_skeleton`` also takes ``start`` (``"template"``, ``"current"`` or
``"scratch"``), ``template`` (a template id), ``labels`` (list of str) and
``edge_groups`` (list of ``{"name": str, "edges": [{"from": label, "to":
label}, ...]}``); optional ``flip_pairs`` and ``sigmas``. Without ``labels``
and ``edge_groups`` the start skeleton is saved as is. In the App the editor
lives under ``draft_<start>`` so that switching the start reloads it.
"""
import base64
import functools
import json
import os
import re
import time
from html import escape

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import coco as pk_coco
from posekit import skeleton as pk
from posekit import templates as pk_templates
from posekit.layout import default_layout

from ._datasets import own_dataset

ICON = "/assets/icon.svg"
_PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4",
            "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000"]


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
        fields = pk.keypoint_fields(ds)
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


_FIELD_NAME = re.compile(r"^[^\W_]\w*$")
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
        return pk.counts_for_target(ds, field)
    key = (ds._doc.id, field)
    hit = _counts_cache.get(key)
    if hit and time.monotonic() - hit[0] < _COUNTS_TTL:
        return hit[1]
    counts = pk.counts_for_target(ds, field, limit=_FORM_SCAN_LIMIT)
    _counts_cache[key] = (time.monotonic(), counts)
    return counts


def _check_target(ctx, skeleton, field, fresh):
    """Validation problems of ``skeleton`` for this dataset target."""
    ds = ctx.dataset
    if field and not _FIELD_NAME.match(field):
        problem = pk.Problem(
            "field", "bad_field_name",
            f"{field!r} is not a usable field name: use letters, digits and "
            "underscores, not starting with an underscore",
        )
        return [problem] + pk.validate(skeleton), False
    kind = pk.field_kind(ds, field) if field else None
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
        pk.save_skeleton(dataset, skeleton, field)
    if not ctx.delegated:
        ctx.trigger("reload_dataset")
    return {
        "target": "field" if field else "default",
        "field": field,
        "num_nodes": len(skeleton.labels),
        "num_edges": len(skeleton.edges),
        "edge_groups": [g.name for g in skeleton.edge_groups],
    }


# --- define_skeleton -----------------------------------------------------------


def _edges_as_dicts(edges):
    out = []
    for e in edges or []:
        if isinstance(e, (list, tuple)) and len(e) == 2:
            out.append({"from": e[0], "to": e[1]})
        elif isinstance(e, dict):
            out.append(e)
        else:
            out.append({"from": None, "to": None})
    return out


def _groups_as_dicts(skeleton):
    return [
        {"name": g.name, "edges": [{"from": a, "to": b} for a, b in g.edges]}
        for g in skeleton.edge_groups
    ]


def _start_skeleton(ctx, field, start, template_id):
    if start == "current":
        return pk.load_skeleton(ctx.dataset, field) or pk.Skeleton(labels=[])
    if start == "template":
        return pk_templates.get_template(template_id).to_model()
    return pk.Skeleton(labels=[], edge_groups=[pk.EdgeGroup("edges", [])])


def _draft_key(start, template_id):
    key = f"draft_{start}" + (f"_{template_id}" if start == "template" else "")
    return re.sub(r"\W", "_", key)


def _model_from_editor(labels, groups, source, params):
    """The skeleton the editor describes (normalises ``groups`` in place)."""
    labels = [("" if x is None else str(x)) for x in (labels or [])]
    model_groups = []
    for i, g in enumerate(groups or []):
        g["edges"] = _edges_as_dicts(g.get("edges"))
        edges = [(e.get("from"), e.get("to")) for e in g["edges"]]
        name = (g.get("name") or "").strip() or f"group {i + 1}"
        model_groups.append(pk.EdgeGroup(name, edges))
    flip_pairs = params.get("flip_pairs")
    sigmas = params.get("sigmas")
    if flip_pairs is None and source.flip_pairs:
        known = set(labels)
        flip_pairs = [p for p in source.flip_pairs if set(p) <= known] or None
    if sigmas is None and source.sigmas and labels == list(source.labels):
        sigmas = source.sigmas
    return pk.Skeleton(labels, model_groups, flip_pairs=flip_pairs, sigmas=sigmas)


@functools.lru_cache(maxsize=16)
def _edge_group_type(labels):
    """The element type of ``edge_groups``: a name and edges whose ends are
    dropdowns of ``labels`` (a tuple; cached, as forms re-render often)."""
    choices = list(dict.fromkeys(x for x in labels if x))
    dropdown = [types.Choice(x, label=x) for x in choices]
    edge = types.Object()
    edge.enum(
        "from", choices, label="From",
        view=types.DropdownView(choices=dropdown, space=6),
    )
    edge.enum(
        "to", choices, label="To",
        view=types.DropdownView(choices=dropdown, space=6),
    )
    group = types.Object()
    group.str("name", label="Group name")
    group.list("edges", edge, label="Edges (by label)")
    return group


def _graph_svg(skeleton):
    """A small SVG drawing of the skeleton, as a data URI."""
    labels = tuple(skeleton.labels)
    index = {x: i for i, x in enumerate(labels)}
    groups = tuple(
        tuple((index[a], index[b]) for a, b in g.edges if a in index and b in index and a != b)
        for g in skeleton.edge_groups
    )
    return _svg_uri(labels, groups)


@functools.lru_cache(maxsize=16)
def _svg_uri(labels, groups):
    polylines = [list(e) for es in groups for e in es]
    pos = default_layout(labels, polylines)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-5 -5 110 110" '
        'width="360" height="360"><rect x="-5" y="-5" width="110" '
        'height="110" fill="#fafafa"/>'
    ]
    for gi, es in enumerate(groups):
        color = _PALETTE[gi % len(_PALETTE)]
        for a, b in es:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            parts.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
                f'stroke="{color}" stroke-width="0.8"/>'
            )
    for (x, y), label in zip(pos, labels):
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="1.2" fill="#222"/>'
            f'<text x="{x + 1.5}" y="{y - 1}" font-size="2.4" '
            f'font-family="sans-serif" fill="#333">{escape(label)}</text>'
        )
    parts.append("</svg>")
    svg = "".join(parts).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _summary_md(skeleton):
    labels = skeleton.labels
    used = {x for e in skeleton.edges for x in e}
    lonely = [x for x in labels if x and x not in used]
    groups = ", ".join(
        f"{escape(g.name)} ({len(g.edges)})" for g in skeleton.edge_groups
    )
    md = (
        f"**{len(labels)} nodes, {len(skeleton.edges)} edges** in "
        f"{len(skeleton.edge_groups)} group(s){': ' + groups if groups else ''}"
    )
    if lonely:
        shown = ", ".join(f"`{x}`" for x in lonely[:20])
        more = f" and {len(lonely) - 20} more" if len(lonely) > 20 else ""
        md += f"\n\nNodes with no edge: {shown}{more}"
    return md


class DefineSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="define_skeleton",
            label="Define skeleton",
            description="Define or edit a keypoint skeleton: labels and named edge groups",
            dynamic=True,
            icon=ICON,
        )

    def _plan(self, ctx, inputs, fresh=False):
        """Reads the request, builds the form into ``inputs`` and returns
        ``(field, skeleton, problems)``; ``fresh`` recounts stored points."""
        ds = ctx.dataset
        params = ctx.params
        target, field, field_prop = _target_inputs(inputs, ctx)

        has_current = field is not None or target == "default"
        has_current = has_current and _has_skeleton(ds, field)
        start_choices = [types.Choice("template", label="A template")]
        if has_current:
            start_choices.insert(0, types.Choice("current", label="The current skeleton"))
        start_choices.append(types.Choice("scratch", label="Scratch"))
        start_default = "current" if has_current else "template"
        inputs.enum(
            "start",
            [c.value for c in start_choices],
            default=start_default,
            label="Start from",
            view=types.RadioGroup(choices=start_choices),
        )
        start = params.get("start") or start_default
        if start == "current" and not has_current:
            start = "template"
        template_id = None
        if start == "template":
            all_t = pk_templates.list_templates()
            inputs.enum(
                "template",
                [t.id for t in all_t],
                default="coco17",
                label="Template",
                view=types.DropdownView(
                    choices=[
                        types.Choice(t.id, label=t.name, description=t.source)
                        for t in all_t
                    ]
                ),
            )
            template_id = params.get("template") or "coco17"
        source = _start_skeleton(ctx, field, start, template_id)

        explicit = "labels" in params or "edge_groups" in params
        key = None if explicit else _draft_key(start, template_id)
        editor = params if explicit else (params.get(key) or {})
        labels = editor.get("labels")
        if labels is None:
            labels = list(source.labels)
        groups = editor.get("edge_groups")
        if groups is None:
            groups = _groups_as_dicts(source)
        skeleton = _model_from_editor(labels, groups, source, params)
        problems, mismatch = _check_target(ctx, skeleton, field, fresh)
        if target == "field" and field is None:
            problems.append(pk.Problem("field", "no_field", "Pick or name a field"))

        # the live summary and drawing sit above the editor, so they stay in view
        _mismatch_input(inputs, mismatch)
        inputs.md(_summary_md(skeleton), name="summary")
        inputs.view(
            "preview",
            types.ImageView(alt="Skeleton preview", height=360, width=360),
            default=_graph_svg(skeleton),
        )
        if problems:
            inputs.view(
                "problems",
                types.Error(
                    label=f"Not saved: {len(problems)} problem(s)",
                    description="; ".join(p.message for p in problems),
                ),
            )

        obj = inputs
        if not explicit:
            obj = types.Object()
            inputs.define_property(key, obj, label="Skeleton")
        labels_prop = obj.list(
            "labels",
            types.String(),
            default=list(source.labels),
            label="Keypoint labels, in order",
            description="The i-th label names the i-th point of each Keypoint",
        )
        groups_prop = obj.list(
            "edge_groups",
            _edge_group_type(tuple(skeleton.labels)),
            default=_groups_as_dicts(source),
            label="Edge groups",
            description="Each group is named; its edges join labels by name",
        )
        by_input = {}
        for p in problems:
            by_input.setdefault(p.input, []).append(p)
        _flag(labels_prop, by_input.get("labels"))
        _flag(groups_prop, by_input.get("edge_groups"))
        _flag(field_prop, by_input.get("field"))
        return field, skeleton, problems

    def resolve_input(self, ctx):
        inputs = types.Object()
        self._plan(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Define skeleton"))

    def execute(self, ctx):
        field, skeleton, problems = self._plan(ctx, types.Object(), fresh=True)
        if problems:
            _refuse(problems)
        return _saved(ctx, field, skeleton)

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.int("num_nodes", label="Nodes")
        outputs.int("num_edges", label="Edges")
        return types.Property(outputs, view=types.View(label="Skeleton saved"))


# --- import / export -----------------------------------------------------------

_MAX_PREVIEW_BYTES = 5 * 1024 * 1024


def _read_coco_source(ctx, parse_large):
    """``(obj or None, problem or None)`` from ``path`` or ``json`` params."""
    params = ctx.params
    source = params.get("source") or ("json" if params.get("json") else "file")
    if source == "json":
        text = params.get("json") or ""
        if not text.strip():
            return None, pk.Problem("json", "empty", "Paste COCO JSON")
        try:
            return json.loads(text), None
        except ValueError as e:
            return None, pk.Problem("json", "bad_json", f"Not valid JSON: {e}")
    path = params.get("path")
    if isinstance(path, dict):
        path = path.get("absolute_path")
    if not path:
        return None, pk.Problem("path", "empty", "Give the path of a COCO JSON file")
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        return None, pk.Problem("path", "missing", f"No file at {path}")
    if not parse_large and os.path.getsize(path) > _MAX_PREVIEW_BYTES:
        return None, None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except (OSError, ValueError) as e:
        return None, pk.Problem("path", "bad_json", f"Cannot read {path}: {e}")


class ImportCocoSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="import_coco_skeleton",
            label="Import skeleton from COCO",
            description="Set a skeleton from a COCO keypoints category (file or pasted JSON)",
            dynamic=True,
            icon=ICON,
            allow_delegated_execution=True,
            allow_immediate_execution=True,
        )

    def _plan(self, ctx, inputs, parse_large):
        params = ctx.params
        inputs.enum(
            "source",
            ["file", "json"],
            default="file",
            label="Read from",
            view=types.RadioGroup(
                choices=[
                    types.Choice("file", label="A COCO JSON file"),
                    types.Choice("json", label="Pasted JSON"),
                ]
            ),
        )
        source = params.get("source") or ("json" if params.get("json") else "file")
        if source == "json":
            src_prop = inputs.str(
                "json", required=True, label="COCO JSON",
                description="A COCO file, its categories list, or one category",
                view=types.TextFieldView(multiline=True, rows=8),
            )
        else:
            src_prop = inputs.str(
                "path", required=True, label="File path",
                description="A COCO keypoints annotation file on this machine",
            )
        obj, problem = _read_coco_source(ctx, parse_large)
        problems = [problem] if problem else []
        skeleton = None
        if obj is not None:
            try:
                cats = pk_coco.keypoint_categories(obj)
                names = [c.get("name") for c in cats]
                if len(cats) > 1:
                    inputs.enum(
                        "category", names, default=names[0], label="Category",
                        view=types.DropdownView(choices=[types.Choice(n, label=str(n)) for n in names]),
                    )
                category = params.get("category") or (names[0] if len(cats) > 1 else None)
                skeleton = pk_coco.skeleton_from_coco(cats, category=category)
            except pk_coco.CocoError as e:
                problems.append(pk.Problem("source", "bad_coco", str(e)))
        target, field, field_prop = _target_inputs(inputs, ctx)
        if skeleton is not None:
            more, mismatch = _check_target(ctx, skeleton, field, parse_large)
            _mismatch_input(inputs, mismatch)
            problems += more
            _flag(field_prop, [p for p in more if p.input == "field"])
            inputs.md(_summary_md(skeleton), name="summary")
        elif obj is None and not problems:
            inputs.md("Large file: it is read when the operator runs.", name="summary")
        if target == "field" and field is None:
            problems.append(pk.Problem("field", "no_field", "Pick or name a field"))
        _flag(src_prop, [p for p in problems if p.input in ("source", "json", "path")])
        rest = [p for p in problems if p.input not in ("source", "json", "path", "field")]
        if rest:
            inputs.view(
                "problems",
                types.Error(
                    label="Not saved",
                    description="\n".join(p.message for p in rest),
                ),
                invalid=True,
                error_message="; ".join(p.message for p in rest),
            )
        return field, skeleton, problems

    def resolve_input(self, ctx):
        inputs = types.Object()
        self._plan(ctx, inputs, parse_large=False)
        return types.Property(inputs, view=types.View(label="Import COCO skeleton"))

    def execute(self, ctx):
        field, skeleton, problems = self._plan(ctx, types.Object(), parse_large=True)
        if problems:
            _refuse(problems)
        return _saved(ctx, field, skeleton)


class ExportCocoSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="export_coco_skeleton",
            label="Export skeleton to COCO",
            description="Write a skeleton as a COCO keypoints category (file and/or shown)",
            dynamic=True,
            icon=ICON,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _existing_target_inputs(inputs, ctx)
        inputs.str("category_name", default="person", label="Category name")
        inputs.str(
            "path", label="Write to (optional)",
            description="A .json path; leave empty to only show the result",
        )
        inputs.bool("overwrite", default=False, label="Overwrite an existing file")
        return types.Property(inputs, view=types.View(label="Export COCO skeleton"))

    def execute(self, ctx):
        _, field = _target(ctx)
        skeleton = pk.load_skeleton(ctx.dataset, field)
        if skeleton is None:
            raise ValueError(f"No skeleton is set for {_target_name(field)}")
        name = ctx.params.get("category_name") or "person"
        cat = pk_coco.skeleton_to_coco(skeleton, name=name)
        result = {"categories": [cat]}
        path = (ctx.params.get("path") or "").strip()
        if path:
            path = os.path.abspath(os.path.expanduser(path))
            if os.path.exists(path) and not ctx.params.get("overwrite"):
                raise ValueError(f"{path} exists; set overwrite to replace it")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2, ensure_ascii=False)
        return {"coco": result, "path": path or None}

    def resolve_output(self, ctx):
        outputs = types.Object()
        if (ctx.results or {}).get("path"):
            outputs.str("path", label="Written to")
        outputs.obj("coco", label="COCO categories", view=types.JSONView())
        return types.Property(outputs, view=types.View(label="COCO skeleton"))


# --- delete / list -------------------------------------------------------------


class DeleteSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_skeleton",
            label="Delete skeleton",
            description="Delete the default skeleton or a field's skeleton",
            dynamic=True,
            icon=ICON,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        field, exists = _existing_target_inputs(inputs, ctx)
        if exists:
            inputs.view(
                "confirm",
                types.Warning(label=f"This deletes the skeleton of {_target_name(field)}"),
            )
        return types.Property(inputs, view=types.View(label="Delete skeleton"))

    def execute(self, ctx):
        _, field = _target(ctx)
        with own_dataset(ctx) as dataset:
            deleted = pk.delete_skeleton(dataset, field)
        if not deleted:
            raise ValueError(f"No skeleton is set for {_target_name(field)}")
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {"deleted": "field" if field else "default", "field": field}


def _skeleton_rows(ds):
    rows = []
    fields = [None] if ds.default_skeleton is not None else []
    for field in fields + sorted(ds.skeletons):
        sk = pk.load_skeleton(ds, field)
        rows.append(
            {
                "target": "field" if field else "default",
                "field": field,
                "num_nodes": len(sk.labels),
                "num_edges": len(sk.edges),
                "edge_groups": [g.name for g in sk.edge_groups],
                "labels": list(sk.labels),
            }
        )
    return rows


class ListSkeletons(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="list_skeletons",
            label="List skeletons",
            description="Show the dataset's default and per-field skeletons",
            icon=ICON,
        )

    def execute(self, ctx):
        rows = _skeleton_rows(ctx.dataset)
        lines = ["| Skeleton | Nodes | Edges | Edge groups |", "|---|---|---|---|"]
        for r in rows:
            name = f"field `{r['field']}`" if r["field"] else "default"
            lines.append(
                f"| {name} | {r['num_nodes']} | {r['num_edges']} | "
                f"{escape(', '.join(r['edge_groups']))} |"
            )
        if not rows:
            lines = ["This dataset has no skeleton yet."]
        return {"skeletons": rows, "table": "\n".join(lines)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("table", label="Skeletons", view=types.MarkdownView())
        return types.Property(outputs, view=types.View(label="Skeletons"))


OPERATORS = [
    DefineSkeleton,
    ImportCocoSkeleton,
    ExportCocoSkeleton,
    DeleteSkeleton,
    ListSkeletons,
]
