"""Operators that import a skeleton from a COCO keypoints category and
export one to COCO.

Files are chosen with FiftyOne's file explorer input, as FiftyOne's own io
plugin does: ``.json`` only; the form reads a file only once it is picked in
the explorer (a path typed into the box is read when the operator runs, so
typing probes nothing); an export goes into an existing folder the user
chose, under a bare ``.json`` file name, and replaces a file only when
"Overwrite" is ticked in the form. From Python, ``path`` / ``folder`` may
be plain strings.
"""
import json
import os

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import coco as pk_coco
from posekit import skeleton as pk
from posekit import skeleton_store as store
from posekit.markdown import md_escape

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


def _chosen(value):
    """``(path, picked)`` of a file input's value: ``picked`` is False for
    a path typed into the explorer's box (the App marks it ``exists:
    False``), True for an entry chosen in the explorer or a Python string."""
    if isinstance(value, dict):
        return (value.get("absolute_path") or "").strip(), value.get("exists") is not False
    return (str(value).strip() if value else ""), True


def _file_input(inputs, ctx, name, **kwargs):
    """A file explorer input; a plain string value (from Python) gets a
    string input, which FiftyOne's schema check accepts."""
    if isinstance(ctx.params.get(name), str):
        kwargs.pop("view")
        return inputs.str(name, **kwargs)
    return inputs.file(name, **kwargs)


_read_cache = {}


def _read_picked(path):
    """The parsed file, reused while its size and time are unchanged (forms
    re-resolve at each edit)."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _read_cache:
        _read_cache.clear()
        _read_cache[key] = pk_coco.read_json(path)
    return _read_cache[key]


def _read_coco_source(ctx, executing):
    """``(obj or None, problem or None)`` from the ``path`` or ``json``
    params; in the form only a picked file of at most 5 MB is read."""
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
    path, picked = _chosen(params.get("path"))
    if not path:
        return None, pk.Problem("path", "empty", "Choose a COCO .json file")
    if not path.lower().endswith(".json"):
        return None, pk.Problem("path", "not_json", "Choose a .json file")
    if not os.path.isabs(path):
        return None, pk.Problem("path", "relative", "Choose the file with the file explorer")
    try:
        if executing:
            return pk_coco.read_json(path, max_bytes=None), None
        if not picked or os.path.getsize(path) > pk_coco.MAX_FILE_BYTES:
            return None, None  # read when the operator runs
        return _read_picked(path), None
    except OSError:
        return None, pk.Problem("path", "unreadable", "Cannot read that file")
    except pk_coco.CocoError as e:
        return None, pk.Problem("path", "bad_json", str(e))


class ImportCocoSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="import_coco_skeleton",
            label="Import skeleton from COCO",
            description="Pose skeleton from a COCO keypoints file: set the "
            "keypoint labels and edges from a COCO category (.json file or pasted JSON)",
            dynamic=True,
            icon=ICON,
            allow_delegated_execution=True,
            allow_immediate_execution=True,
            risk_level=types.RiskLevel.MEDIUM,
        )

    def _plan(self, ctx, inputs, executing):
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
            src_prop = _file_input(
                inputs, ctx, "path", required=True, label="COCO keypoints file",
                description="A .json COCO keypoints annotation file on the App's server",
                view=types.FileExplorerView(button_label="Choose a .json file..."),
            )
        obj, problem = _read_coco_source(ctx, executing)
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
            more, mismatch = _check_target(ctx, skeleton, field, executing)
            _mismatch_input(inputs, mismatch)
            problems += more
            _flag(field_prop, [p for p in more if p.input == "field"])
            inputs.md(_summary_md(skeleton), name="summary")
        elif obj is None and not problems:
            inputs.md("The file is read when the operator runs.", name="summary")
        if target == "field" and field is None:
            problems.append(pk.Problem("field", "no_field", "Pick or name a field"))
        _flag(src_prop, [p for p in problems if p.input in ("source", "json", "path")])
        rest = [p for p in problems if p.input not in ("source", "json", "path", "field")]
        if rest:
            inputs.view(
                "problems",
                types.Error(
                    label="Not saved",
                    description="\n".join(md_escape(p.message) for p in rest),
                ),
                invalid=True,
                error_message="; ".join(p.message for p in rest),
            )
        return field, skeleton, problems

    def resolve_input(self, ctx):
        inputs = types.Object()
        self._plan(ctx, inputs, executing=False)
        return types.Property(inputs, view=types.View(label="Import COCO skeleton"))

    def execute(self, ctx):
        field, skeleton, problems = self._plan(ctx, types.Object(), executing=True)
        if problems:
            _refuse(problems)
        return _saved(ctx, field, skeleton)


def _export_plan(ctx, inputs):
    """Builds the export form; returns ``(path or None, problems)``: no
    path when nothing is to be written (the result is only shown)."""
    folder, picked = _chosen(ctx.params.get("folder"))
    folder_prop = _file_input(
        inputs, ctx, "folder", label="Write into folder (optional)",
        description="Choose an existing folder; without one the COCO JSON is only shown",
        view=types.FileExplorerView(choose_dir=True, button_label="Choose a folder..."),
    )
    if not folder:
        return None, []
    name_prop = inputs.str(
        "filename", required=True, default="skeleton.json", label="File name",
        description="A .json file name in that folder",
    )
    problems = []
    if not picked:
        problems.append(pk.Problem(
            "folder", "typed", "Choose the folder with the file explorer (Choose a folder...)"))
    else:
        try:
            path = pk_coco.export_path(folder, ctx.params.get("filename") or "skeleton.json")
        except pk_coco.CocoError as e:
            problems.append(pk.Problem(e.input or "filename", "bad_path", str(e)))
        else:
            if os.path.lexists(path):
                inputs.bool(
                    "overwrite", default=False, view=types.CheckboxView(),
                    label=f"{os.path.basename(path)} already exists. Overwrite it?",
                )
                if not ctx.params.get("overwrite"):
                    problems.append(pk.Problem(
                        "filename", "exists", "The file exists: tick Overwrite or change the name"))
    _flag(folder_prop, [p for p in problems if p.input == "folder"])
    _flag(name_prop, [p for p in problems if p.input == "filename"])
    return (None if problems else path), problems


class ExportCocoSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="export_coco_skeleton",
            label="Export skeleton to COCO",
            description="Pose skeleton to a COCO keypoints category: write the "
            "keypoint labels and edges to a .json file and/or show them",
            dynamic=True,
            icon=ICON,
            risk_level=types.RiskLevel.HIGH,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _existing_target_inputs(inputs, ctx)
        inputs.str("category_name", default="person", label="Category name")
        _export_plan(ctx, inputs)
        return types.Property(inputs, view=types.View(label="Export COCO skeleton"))

    def execute(self, ctx):
        _, field = _target(ctx)
        skeleton = store.load_skeleton(ctx.dataset, field)
        if skeleton is None:
            raise ValueError(f"No skeleton is set for {_target_name(field)}")
        path, problems = _export_plan(ctx, types.Object())
        if problems:
            _refuse(problems, "Not written")
        name = ctx.params.get("category_name") or "person"
        result = {"categories": [pk_coco.skeleton_to_coco(skeleton, name=name)]}
        if path:
            pk_coco.write_json(path, result, overwrite=bool(ctx.params.get("overwrite")))
        return {"coco": result, "path": path}

    def resolve_output(self, ctx):
        outputs = types.Object()
        if (ctx.results or {}).get("path"):
            outputs.str("path", label="Written to")
        outputs.obj("coco", label="COCO categories", view=types.JSONView())
        return types.Property(outputs, view=types.View(label="COCO skeleton"))
