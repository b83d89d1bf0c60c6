"""Operators that manage annotation runs: list (with CVAT status), open in
CVAT, delete, rename."""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit.cvat import runs
from posekit.cvat.backend import BACKEND_NAME
from posekit.markdown import md_escape

from ._annotation_forms import (
    _chosen_run,
    _clean_errors,
    _clean_message,
    _credentials,
    _run_choice,
)
from ._datasets import own_dataset


class ListAnnotationRuns(foo.Operator):
    """Lists the dataset's annotation runs, with CVAT task/job status."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="list_annotation_runs",
            label="List annotation runs",
            description="Pose annotation runs: list the CVAT annotation runs "
            "of keypoints with their task and job status",
            icon="list",
            risk_level=types.RiskLevel.LOW,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        inputs.bool("status", default=True, label="Fetch CVAT status")
        return types.Property(inputs, view=types.View(label="List annotation runs"))

    def execute(self, ctx):
        creds = _credentials(ctx)
        out = []
        for run in runs.list_runs(ctx.dataset):
            if ctx.params.get("status", True) and run["backend"] == BACKEND_NAME:
                try:
                    run["status"] = runs.run_status(ctx.dataset, run["anno_key"], creds)
                except Exception as e:
                    run["status_error"] = _clean_message(ctx, e)
            out.append(run)
        return {"runs": out, "table": _runs_table(out)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("table", label="Annotation runs", view=types.MarkdownView())
        outputs.list("runs", types.Object(), label="Details", view=types.JSONView())
        return types.Property(outputs)


def _runs_table(run_list):
    """A markdown table: one row per run, with its CVAT progress."""
    if not run_list:
        return "This dataset has no annotation runs."
    rows = [
        "| run | backend | fields | created | CVAT tasks | jobs done |",
        "|---|---|---|---|---|---|",
    ]
    for run in run_list:
        status = run.get("status")
        if status:
            jobs = [j for t in status["tasks"] for j in t["jobs"]]
            states = ", ".join(
                md_escape(s) for s in sorted({t["status"] or "?" for t in status["tasks"]}))
            cvat = "%d (%s)" % (len(status["tasks"]), states)
            done = "%d%% of %d" % (round(100 * status["progress"]), len(jobs))
        else:
            cvat = "unavailable" if run.get("status_error") else "-"
            done = "-"
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            md_escape(run["anno_key"]), md_escape(run["backend"]),
            ", ".join(md_escape(f) for f in run["label_fields"]),
            run["timestamp"][:19], cvat, done,
        ))
    return "\n".join(rows)


class OpenAnnotationRun(foo.Operator):
    """Gives the CVAT editor link of a run."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="open_annotation_run",
            label="Open annotation run in CVAT",
            description="Pose annotation runs: open a run's first job in CVAT "
            "to annotate its keypoints",
            icon="open_in_new",
            risk_level=types.RiskLevel.LOW,
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _run_choice(inputs, ctx)
        return types.Property(inputs, view=types.View(label="Open annotation run"))

    def execute(self, ctx):
        with _clean_errors(ctx):
            url = runs.editor_url(ctx.dataset, _chosen_run(ctx), _credentials(ctx))
        return {"editor_url": url}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("editor_url", label="Open in CVAT", view=types.LinkView())
        return types.Property(outputs)


class DeleteAnnotationRun(foo.Operator):
    """Deletes a run, optionally with its CVAT tasks."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="delete_annotation_run",
            label="Delete annotation run",
            description="Pose annotation runs: delete a CVAT annotation run "
            "record, optionally with its CVAT tasks",
            icon="delete",
            risk_level=types.RiskLevel.HIGH,
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _run_choice(inputs, ctx)
        inputs.bool("delete_tasks", default=False, label="Also delete its CVAT tasks")
        inputs.view("warning", types.Warning(
            label="The run record is deleted; labels already loaded stay"))
        return types.Property(inputs, view=types.View(label="Delete annotation run"))

    def execute(self, ctx):
        anno_key = _chosen_run(ctx)
        with _clean_errors(ctx), own_dataset(ctx) as dataset:
            runs.delete_run(dataset, anno_key,
                            delete_tasks=bool(ctx.params.get("delete_tasks")),
                            credentials=_credentials(ctx))
        return {"deleted": anno_key}


class RenameAnnotationRun(foo.Operator):
    """Renames a run."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="rename_annotation_run",
            label="Rename annotation run",
            description="Pose annotation runs: rename a CVAT annotation run",
            icon="edit",
            risk_level=types.RiskLevel.MEDIUM,
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _run_choice(inputs, ctx)
        prop = inputs.str("new_anno_key", required=True, label="New key")
        new_key = ctx.params.get("new_anno_key")
        if new_key:
            try:
                runs.validate_anno_key(ctx.dataset, new_key)
            except ValueError as e:
                prop.invalid = True
                prop.error_message = str(e)
        return types.Property(inputs, view=types.View(label="Rename annotation run"))

    def execute(self, ctx):
        with own_dataset(ctx) as dataset:
            runs.rename_run(dataset, _chosen_run(ctx), ctx.params["new_anno_key"])
        return {"anno_key": ctx.params["new_anno_key"]}

