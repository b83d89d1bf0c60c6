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

``define_skeleton`` lives in :mod:`.define_skeleton`, the COCO import/export
in :mod:`.coco_io`, the shared form helpers in :mod:`._skeleton_forms`;
delete and list are here.
"""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import skeleton_store as store
from posekit.markdown import md_escape

from ._datasets import own_dataset
from ._skeleton_forms import (
    ICON,
    _existing_target_inputs,
    _target,
    _target_name,
)
from .coco_io import ExportCocoSkeleton, ImportCocoSkeleton
from .define_skeleton import DefineSkeleton


# --- delete / list -------------------------------------------------------------


class DeleteSkeleton(foo.Operator):
    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_skeleton",
            label="Delete skeleton",
            description="Pose skeleton: delete the default or a field's keypoint skeleton",
            dynamic=True,
            icon=ICON,
            risk_level=types.RiskLevel.HIGH,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        field, exists = _existing_target_inputs(inputs, ctx)
        if exists:
            inputs.view(
                "confirm",
                types.Warning(
                    label=f"This deletes the skeleton of {md_escape(_target_name(field))}"
                ),
            )
        return types.Property(inputs, view=types.View(label="Delete skeleton"))

    def execute(self, ctx):
        _, field = _target(ctx)
        with own_dataset(ctx) as dataset:
            deleted = store.delete_skeleton(dataset, field)
        if not deleted:
            raise ValueError(f"No skeleton is set for {_target_name(field)}")
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {"deleted": "field" if field else "default", "field": field}


def _skeleton_rows(ds):
    rows = []
    fields = [None] if ds.default_skeleton is not None else []
    for field in fields + sorted(ds.skeletons):
        sk = store.load_skeleton(ds, field)
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
            description="Pose skeletons: list the dataset's keypoint skeletons "
            "(default and per field)",
            icon=ICON,
            risk_level=types.RiskLevel.LOW,
        )

    def execute(self, ctx):
        rows = _skeleton_rows(ctx.dataset)
        lines = ["| Skeleton | Nodes | Edges | Edge groups |", "|---|---|---|---|"]
        for r in rows:
            name = f"field {md_escape(r['field'])}" if r["field"] else "default"
            lines.append(
                f"| {name} | {r['num_nodes']} | {r['num_edges']} | "
                f"{md_escape(', '.join(r['edge_groups']))} |"
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
