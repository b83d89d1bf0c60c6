"""Operators that manage annotation runs: list (with CVAT status), open in
CVAT, delete, rename."""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit.cvat import runs
from posekit.cvat.backend import BACKEND_NAME

from ._annotation_forms import _clean_errors, _clean_message, _credentials, _run_choice
from ._datasets import own_dataset


class ListAnnotationRuns(foo.Operator):
    """Lists the dataset's annotation runs, with CVAT task/job status."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="list_annotation_runs",
            label="List annotation runs",
            description="Annotation runs with their CVAT task and job status",
            icon="list",
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
            states = ", ".join(sorted({t["status"] or "?" for t in status["tasks"]}))
            cvat = "%d (%s)" % (len(status["tasks"]), states)
            done = "%d%% of %d" % (round(100 * status["progress"]), len(jobs))
        else:
            cvat = "unavailable" if run.get("status_error") else "-"
            done = "-"
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            run["anno_key"], run["backend"], ", ".join(run["label_fields"]),
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
            icon="open_in_new",
            dynamic=True,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _run_choice(inputs, ctx)
        return types.Property(inputs, view=types.View(label="Open annotation run"))

    def execute(self, ctx):
        with _clean_errors(ctx):
            url = runs.editor_url(ctx.dataset, ctx.params["anno_key"], _credentials(ctx))
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
            icon="delete",
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
        anno_key = ctx.params["anno_key"]
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
            icon="edit",
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
            runs.rename_run(dataset, ctx.params["anno_key"], ctx.params["new_anno_key"])
        return {"anno_key": ctx.params["new_anno_key"]}

