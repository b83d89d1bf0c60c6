"""The ``define_skeleton`` operator: an editor of labels and named edge
groups, started from the current skeleton, a template or scratch, with a live
summary and drawing."""
import functools
import re

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import skeleton as pk
from posekit import skeleton_store as store
from posekit import templates as pk_templates
from posekit.markdown import md_escape
from posekit.preview import skeleton_drawing

from . import _skeleton_text as text
from ._skeleton_forms import (
    ICON,
    _check_target,
    _flag,
    _has_skeleton,
    _mismatch_input,
    _refuse,
    _saved,
    _summary_md,
    _target_inputs,
)

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
        return store.load_skeleton(ctx.dataset, field) or pk.Skeleton(labels=[])
    if start == "template":
        return pk_templates.get_template(template_id).to_model()
    return pk.Skeleton(labels=[], edge_groups=[pk.EdgeGroup("edges", [])])


def _draft_key(start, template_id):
    key = f"draft_{start}" + (f"_{template_id}" if start == "template" else "")
    return re.sub(r"\W", "_", key)


def _renames(old_labels, labels):
    """``{old: new}`` for the start skeleton's labels renamed in the
    editor: at the same position, the old name gone and the new name new (a
    label removed and another added elsewhere is no rename)."""
    old, new = list(old_labels), list(labels)
    gone = {x for x in old if x not in new}
    came = {x for x in new if x and x not in old}
    return {a: b for a, b in zip(old, new) if a in gone and b in came}


def _model_from_editor(labels, groups, source, params):
    """``(skeleton, notes)``: the skeleton the editor describes (normalises
    ``groups`` in place). Edges, flip pairs, sigmas and layout follow the
    start skeleton's renamed labels; ``notes`` say what could not follow."""
    labels = [("" if x is None else str(x)) for x in (labels or [])]
    renames = _renames(source.labels, labels)
    known = set(labels)

    def name(x):
        return renames.get(x, x) if x not in known else x

    model_groups = []
    for i, g in enumerate(groups or []):
        g["edges"] = _edges_as_dicts(g.get("edges"))
        edges = [(name(e.get("from")), name(e.get("to"))) for e in g["edges"]]
        group = (g.get("name") or "").strip() or f"group {i + 1}"
        model_groups.append(pk.EdgeGroup(group, edges))
    notes = []
    flip_pairs = params.get("flip_pairs")
    if flip_pairs is None and source.flip_pairs:
        pairs = [[name(a), name(b)] for a, b in source.flip_pairs]
        flip_pairs = [p for p in pairs if set(p) <= known] or None
        lost = len(pairs) - len(flip_pairs or [])
        if lost:
            notes.append(f"{lost} left/right flip pair(s) of the start skeleton "
                         "are dropped (a node was removed)")
    sigmas = params.get("sigmas")
    if sigmas is None and source.sigmas:
        by_name = {name(x): s for x, s in zip(source.labels, source.sigmas)}
        if all(x in by_name for x in labels):
            sigmas = [by_name[x] for x in labels]
        else:
            notes.append("The start skeleton's COCO sigmas are dropped: "
                         "new nodes have none")
    old_pos = dict(zip(source.labels, source.layout or []))
    layout = [old_pos.get(x) or old_pos.get(_inverse(renames).get(x)) for x in labels]
    skeleton = pk.Skeleton(labels, model_groups, flip_pairs=flip_pairs, sigmas=sigmas,
                           layout=layout if any(layout) else None)
    return skeleton, notes, renames


def _inverse(renames):
    return {b: a for a, b in renames.items()}


@functools.lru_cache(maxsize=16)
def _edge_group_type(labels, renames=()):
    """The element type of ``edge_groups``: a name and edges whose ends are
    dropdowns of ``labels`` (a tuple; cached, as forms re-render often). A
    label renamed from the start skeleton's keeps its old value (the value
    the edges hold) under its new name: the edges show the new name."""
    shown = list(dict.fromkeys(x for x in labels if x))
    old_of = {new: old for old, new in renames}
    dropdown = [types.Choice(old_of.get(x, x), label=x) for x in shown]
    values = shown + [old for old, _ in renames]
    edge = types.Object()
    edge.enum(
        "from", values, label="From",
        view=types.DropdownView(choices=dropdown, space=6),
    )
    edge.enum(
        "to", values, label="To",
        view=types.DropdownView(choices=dropdown, space=6),
    )
    group = types.Object()
    group.str("name", label="Group name")
    group.list("edges", edge, label="Edges (by label)")
    return group


def _graph_svg(skeleton):
    """The skeleton drawn as the preview panel draws it, as a data URI."""
    labels = tuple(skeleton.labels)
    index = {x: i for i, x in enumerate(labels)}
    groups = tuple(
        (g.name, tuple((index[a], index[b]) for a, b in g.edges
                       if a in index and b in index and a != b))
        for g in skeleton.edge_groups
    )
    kept = tuple(tuple(p) if p else None for p in (skeleton.layout or ()))
    return _svg_uri(labels, groups, kept)


@functools.lru_cache(maxsize=16)
def _svg_uri(labels, groups, kept=()):
    """The drawing; ``kept`` positions (from the start skeleton, by name)
    win over the generic layout."""
    return skeleton_drawing(labels, [(n, list(e)) for n, e in groups], kept=kept)[1]


class DefineSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="define_skeleton",
            label="Define skeleton",
            description="Pose skeleton: define or edit the keypoints' labels "
            "and named edge groups (start from COCO-17 and other templates)",
            dynamic=True,
            icon=ICON,
            risk_level=types.RiskLevel.MEDIUM,
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
        as_text = False
        if not explicit:
            inputs.bool(
                "as_text", default=len(source.labels) > text.COMPACT_AT,
                label="Edit as text (faster for big skeletons)", view=types.SwitchView(),
            )
            as_text = bool(params.get("as_text", len(source.labels) > text.COMPACT_AT))
        key = None if explicit else _draft_key(start, template_id) + ("_text" if as_text else "")
        editor = params if explicit else (params.get(key) or {})
        line_problems = []
        if as_text:
            labels = editor.get("labels_text")
            labels = list(source.labels) if labels is None else text.parse_labels(labels)
            groups = editor.get("edges_text")
            groups, line_problems = (
                (_groups_as_dicts(source), []) if groups is None else text.parse_edges(groups))
        else:
            labels = editor.get("labels")
            if labels is None:
                labels = list(source.labels)
            groups = editor.get("edge_groups")
            if groups is None:
                groups = _groups_as_dicts(source)
        skeleton, notes, renames = _model_from_editor(labels, groups, source, params)
        problems, mismatch = _check_target(ctx, skeleton, field, fresh)
        problems = line_problems + problems
        if target == "field" and field is None:
            problems.append(pk.Problem("field", "no_field", "Pick or name a field"))

        # the live summary and drawing sit above the editor, so they stay in view
        _mismatch_input(inputs, mismatch)
        inputs.md(_summary_md(skeleton), name="summary")
        inputs.view(
            "preview",
            types.ImageView(alt="Skeleton preview", height=360, width=513),
            default=_graph_svg(skeleton),
        )
        if notes:
            inputs.view("dropped", types.Warning(
                label="Dropped from the start skeleton",
                description="; ".join(md_escape(n) for n in notes)))
        if problems:
            inputs.view(
                "problems",
                types.Error(
                    label=f"Not saved: {len(problems)} problem(s)",
                    description="; ".join(md_escape(p.message) for p in problems),
                ),
            )

        obj = inputs
        if not explicit:
            obj = types.Object()
            inputs.define_property(key, obj, label="Skeleton")
        if as_text:
            labels_prop = obj.str(
                "labels_text", default=text.labels_text(source.labels),
                label="Keypoint labels, in order, one per line",
                description="The i-th label names the i-th point of each Keypoint",
                view=types.TextFieldView(multiline=True, rows=12),
            )
            groups_prop = obj.str(
                "edges_text", default=text.edges_text(_groups_as_dicts(source)),
                label="Edges, one per line",
                description=f"A line `[group name]` starts a group; then one edge "
                f"per line: `from {text.ARROW} to`, by label name",
                view=types.TextFieldView(multiline=True, rows=12),
            )
        else:
            labels_prop = obj.list(
                "labels",
                types.String(),
                default=list(source.labels),
                label="Keypoint labels, in order",
                description="The i-th label names the i-th point of each Keypoint",
            )
            groups_prop = obj.list(
                "edge_groups",
                _edge_group_type(tuple(skeleton.labels), tuple(sorted(renames.items()))),
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


