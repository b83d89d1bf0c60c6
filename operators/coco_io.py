"""Operators that import a skeleton from a COCO keypoints category and
export one to COCO."""
import json
import os

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import coco as pk_coco
from posekit import skeleton as pk
from posekit import skeleton_store as store

from ._skeleton_forms import (
    ICON,
    _check_target,
    _existing_target_inputs,
    _flag,
    _mismatch_input,
    _refuse,
    _saved,
    _summary_md,
    _target,
    _target_inputs,
    _target_name,
)


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
        skeleton = store.load_skeleton(ctx.dataset, field)
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


