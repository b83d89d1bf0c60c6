"""Annotation operators: tag samples, send them to CVAT as native skeletons,
load the results, and manage the runs.

CVAT's URL and credentials come from the plugin secrets (or environment
variables) ``FIFTYONE_CVAT_URL``, ``FIFTYONE_CVAT_USERNAME``,
``FIFTYONE_CVAT_PASSWORD`` and ``FIFTYONE_CVAT_EMAIL``; they are never form
fields, so they never land in saved params or run records.
"""
import contextlib
import os

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import tagging
from posekit.cvat import runs
from posekit.cvat.api import CVATError
from posekit.cvat.backend import (
    BACKEND_NAME,
    CREDENTIAL_ENV_VARS,
    MODES,
    progress_callback,
    resolve_skeleton,
)

from ._datasets import own_dataset

SECRETS = CREDENTIAL_ENV_VARS
TARGETS = ("TAGGED", "SELECTED", "VIEW")


# -- helpers ------------------------------------------------------------------


@contextlib.contextmanager
def _clean_errors(ctx):
    """Re-raises failures with a plain message that never carries the
    CVAT password or session tokens."""
    try:
        yield
    except Exception as e:
        raise RuntimeError(_clean_message(ctx, e)) from None


def _clean_message(ctx, error):
    msg = str(error) or type(error).__name__
    if not isinstance(error, (CVATError, ValueError)):
        msg = "%s: %s" % (type(error).__name__, msg)
    password = _credentials(ctx).get("password")
    return msg.replace(password, "***") if password else msg


def _credentials(ctx):
    """CVAT credentials from the plugin secrets, else the environment."""
    out = {}
    for key, name in SECRETS.items():
        value = None
        try:
            value = ctx.secrets.get(name)
        except Exception:
            value = None
        out[key] = value or os.environ.get(name) or None
    return out


def _missing_credentials(creds):
    missing = []
    if not creds.get("url"):
        missing.append(SECRETS["url"])
    if not (creds.get("username") or creds.get("email")):
        missing.append(SECRETS["username"])
    if not creds.get("password"):
        missing.append(SECRETS["password"])
    return missing


def _tag_target(ctx):
    """The samples a tag operator touches: the chosen view target if any,
    else the selected samples, else the current view."""
    if ctx.params.get("view_target") or ctx.request_params.get("view_target"):
        return ctx.target_view()
    if ctx.selected:
        return ctx.view.select(ctx.selected)
    return ctx.view


def _request_target(ctx, dataset=None):
    """The samples to send, on ``dataset`` (default: the shared one)."""
    import fiftyone as fo

    if dataset is None:
        dataset, view = ctx.dataset, ctx.view
    else:
        stages = ctx.view._serialize() if isinstance(ctx.view, fo.DatasetView) else []
        view = fo.DatasetView._build(dataset, stages)
    target = ctx.params.get("target") or _default_request_target(ctx)
    if target == "SELECTED":
        if not ctx.selected:
            raise ValueError("No samples are selected")
        return view.select(ctx.selected)
    if target == "TAGGED":
        tag = tagging.validate_tag(ctx.params.get("tag") or tagging.DEFAULT_TAG)
        return dataset.match_tags(tag)
    return view


def _showing_form(ctx):
    """True while the App resolves the form for display; False when FiftyOne
    re-resolves it to validate an execution (then counts are skipped)."""
    return getattr(ctx, "executor", None) is None


def _default_request_target(ctx):
    return "SELECTED" if ctx.selected else "TAGGED"


def _progress(ctx):
    def report(fraction, label):
        try:
            ctx.set_progress(progress=fraction, label=label)
        except Exception:
            pass

    return report


def _keypoint_fields(dataset):
    import fiftyone as fo

    schema = dataset.get_field_schema(embedded_doc_type=fo.Keypoints)
    return sorted(schema)


def _posekit_runs(dataset):
    return [
        r["anno_key"] for r in runs.list_runs(dataset) if r["backend"] == BACKEND_NAME
    ]


def _run_choice(inputs, ctx, name="anno_key", label="Annotation run"):
    keys = _posekit_runs(ctx.dataset)
    if not keys:
        inputs.view(
            "no_runs",
            types.Warning(label="This dataset has no posekit CVAT annotation runs"),
        )
        return None
    choices = types.DropdownView()
    for key in keys:
        choices.add_choice(key, label=key)
    inputs.enum(name, choices.values(), required=True, label=label,
                default=keys[-1], view=choices)
    return ctx.params.get(name) or keys[-1]


def _secrets_notice(inputs, ctx):
    creds = _credentials(ctx)
    missing = _missing_credentials(creds)
    if missing:
        inputs.view(
            "credentials_missing",
            types.Error(
                label="CVAT credentials missing",
                description="Set %s as plugin secrets or environment variables"
                % ", ".join(missing),
            ),
        )
        return False
    inputs.view(
        "server",
        types.Notice(label="CVAT server: %s (from %s)" % (creds["url"], SECRETS["url"])),
    )
    return True


def _delegation_config(name, label, description, icon="edit_note"):
    return foo.OperatorConfig(
        name=name,
        label=label,
        description=description,
        icon=icon,
        dynamic=True,
        allow_immediate_execution=True,
        allow_delegated_execution=True,
        default_choice_to_delegated=False,
    )


# -- tagging --------------------------------------------------------------------


class _TagOperator(foo.Operator):
    _untag = False

    def resolve_input(self, ctx):
        inputs = types.Object()
        ctx.target_view()  # offers the system's dataset/view/selection choice
        inputs.str(
            "tag",
            default=tagging.DEFAULT_TAG,
            required=True,
            label="Tag",
            description="The sample tag that marks samples for annotation",
        )
        tag = ctx.params.get("tag", tagging.DEFAULT_TAG)
        try:
            tag = tagging.validate_tag(tag)
        except ValueError as e:
            inputs.view("bad_tag", types.Error(label=str(e)))
            return types.Property(inputs, view=types.View(label=self.config.label))
        if _showing_form(ctx):
            view = _tag_target(ctx)
            if self._untag:
                n = tagging.count_tagged(view, tag)
                msg = "Removes tag '%s' from %d sample(s)" % (tag, n)
            else:
                n = tagging.count_untagged(view, tag)
                msg = "Tags %d sample(s) with '%s'" % (n, tag)
            inputs.view("summary", types.Notice(label=msg))
        return types.Property(inputs, view=types.View(label=self.config.label))

    def execute(self, ctx):
        tag = tagging.validate_tag(ctx.params.get("tag") or tagging.DEFAULT_TAG)
        view = _tag_target(ctx)
        if self._untag:
            tagging.untag(view, tag)
        else:
            tagging.tag(view, tag)
        if not ctx.delegated:
            ctx.trigger("reload_samples")
        return {"tag": tag, "untag": self._untag}


class TagForAnnotation(_TagOperator):
    """Tags the selected samples (or the current view) for annotation."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="tag_for_annotation",
            label="Tag samples for annotation",
            description="Add a tag (default 'annotate') to the selection or view",
            icon="label",
            dynamic=True,
        )


class UntagForAnnotation(_TagOperator):
    """Removes the annotation tag from the selected samples (or view)."""

    _untag = True

    @property
    def config(self):
        return foo.OperatorConfig(
            name="untag_for_annotation",
            label="Untag samples for annotation",
            description="Remove a tag (default 'annotate') from the selection or view",
            icon="label_off",
            dynamic=True,
        )


# -- request ----------------------------------------------------------------------


class RequestSkeletonAnnotation(foo.Operator):
    """Sends samples to CVAT with the skeleton as a native skeleton label."""

    @property
    def config(self):
        return _delegation_config(
            "request_skeleton_annotation",
            "Request skeleton annotation in CVAT",
            "Create CVAT tasks with a native skeleton label for keypoints",
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        form = types.View(label="Request skeleton annotation in CVAT")
        _secrets_notice(inputs, ctx)

        target_choices = types.RadioGroup()
        target_choices.add_choice("TAGGED", label="Samples with a tag")
        if ctx.selected:
            target_choices.add_choice("SELECTED", label="Selected samples")
        target_choices.add_choice("VIEW", label="Current view")
        default_target = _default_request_target(ctx)
        inputs.enum("target", target_choices.values(), default=default_target,
                    label="Samples", view=target_choices)
        target = ctx.params.get("target") or default_target
        if target == "TAGGED":
            inputs.str("tag", default=tagging.DEFAULT_TAG, label="Tag")
        if _showing_form(ctx):
            try:
                n = len(_request_target(ctx))
                inputs.view("count", types.Notice(
                    label="%d sample(s) will be sent to CVAT" % n))
            except ValueError as e:
                inputs.view("bad_target", types.Error(label=str(e)))

        key_prop = inputs.str("anno_key", required=True, label="Annotation key",
                              description="A new, unique name for this run (an identifier)")
        anno_key = ctx.params.get("anno_key")
        if anno_key:
            try:
                runs.validate_anno_key(ctx.dataset, anno_key)
            except ValueError as e:
                key_prop.invalid = True
                key_prop.error_message = str(e)

        fields = _keypoint_fields(ctx.dataset)
        field_choices = types.AutocompleteView()
        for f in fields:
            field_choices.add_choice(f, label=f)
        field_prop = inputs.str("label_field", required=True, default=fields[0] if fields else None,
                                label="Keypoints field (existing or new)", view=field_choices)
        label_field = ctx.params.get("label_field") or (fields[0] if fields else None)
        if label_field:
            try:
                runs.validate_field_name(ctx.dataset, label_field)
                if (ctx.params.get("mode") or "skeleton") != "skeleton":
                    raise LookupError  # points mode needs no skeleton
                sk = resolve_skeleton(ctx.dataset, label_field)
                own = label_field in (ctx.dataset.skeletons or {})
                inputs.view("skeleton", types.Notice(
                    label="Skeleton: %s (%d nodes: %s)" % (
                        "the field's" if own else "the dataset default",
                        len(sk["labels"]), ", ".join(sk["labels"][:6])
                        + (", ..." if len(sk["labels"]) > 6 else ""))))
            except LookupError:
                pass
            except ValueError as e:
                field_prop.invalid = True
                field_prop.error_message = str(e)

        mode_choices = types.RadioGroup()
        mode_choices.add_choice("skeleton", label="Skeleton (CVAT 2.x native skeleton)")
        mode_choices.add_choice("points", label="Points (FiftyOne's stock upload)")
        inputs.enum("mode", mode_choices.values(), default="skeleton",
                    label="Mode", view=mode_choices)
        inputs.bool("occluded", default=True, label="Per-node 'occluded' flags",
                    description="Send and load each node's occluded flag "
                    "(keypoint attribute 'occluded')")
        inputs.str("project_name", label="CVAT project (optional)")
        inputs.int("task_size", label="Max samples per task (optional)")
        inputs.int("segment_size", label="Max samples per job (optional)")
        inputs.str("task_assignee", label="Task assignee (optional username)")
        inputs.list("job_assignees", types.String(), label="Job assignees (optional)")
        inputs.bool("launch_editor", default=False, label="Open CVAT when done")
        for name in ("task_size", "segment_size"):
            value = ctx.params.get(name)
            if value is not None and value < 1:
                inputs.view(name + "_error", types.Error(label="%s must be positive" % name))
        return types.Property(inputs, view=form)

    def execute(self, ctx):
        params = ctx.params
        creds = _credentials(ctx)
        missing = _missing_credentials(creds)
        if missing:
            raise ValueError("CVAT credentials missing: set %s" % ", ".join(missing))
        mode = params.get("mode") or "skeleton"
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % list(MODES))
        with own_dataset(ctx) as dataset:
            view = _request_target(ctx, dataset)
            with _clean_errors(ctx), progress_callback(_progress(ctx)):
                results = runs.request_annotation(
                    view,
                    params["anno_key"],
                    params["label_field"],
                    mode=mode,
                    node_occluded_attr="occluded" if params.get("occluded", True) else None,
                    project_name=params.get("project_name"),
                    task_size=params.get("task_size"),
                    segment_size=params.get("segment_size"),
                    task_assignee=params.get("task_assignee"),
                    job_assignees=params.get("job_assignees"),
                    credentials=creds,
                )
                url = runs.editor_url(dataset, params["anno_key"], creds)
        return {
            "anno_key": params["anno_key"],
            "num_samples": len(view),
            "task_ids": list(results.task_ids),
            "editor_url": url,
            "launch_editor": bool(params.get("launch_editor")),
        }

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("anno_key", label="Annotation key")
        outputs.int("num_samples", label="Samples sent")
        outputs.list("task_ids", types.Number(), label="CVAT tasks")
        outputs.str("editor_url", label="Open in CVAT", view=types.LinkView())
        return types.Property(outputs)


# -- load ------------------------------------------------------------------------


class LoadSkeletonAnnotation(foo.Operator):
    """Loads a run's CVAT annotations into the dataset."""

    @property
    def config(self):
        return _delegation_config(
            "load_skeleton_annotation",
            "Load skeleton annotations from CVAT",
            "Download a run's keypoints from CVAT into the dataset",
            icon="download",
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _secrets_notice(inputs, ctx)
        _run_choice(inputs, ctx)
        unexpected = types.RadioGroup()
        unexpected.add_choice("keep", label="Keep unexpected labels in a new field")
        unexpected.add_choice("ignore", label="Ignore unexpected labels")
        inputs.enum("unexpected", unexpected.values(), default="keep",
                    label="Unexpected labels", view=unexpected)
        inputs.bool("cleanup", default=False, label="Delete the CVAT tasks after loading")
        return types.Property(inputs, view=types.View(label="Load skeleton annotations"))

    def execute(self, ctx):
        anno_key = ctx.params["anno_key"]
        creds = _credentials(ctx)
        with _clean_errors(ctx), progress_callback(_progress(ctx)), \
                own_dataset(ctx) as dataset:
            runs.load_annotation(
                dataset,
                anno_key,
                unexpected=ctx.params.get("unexpected") or "keep",
                cleanup=bool(ctx.params.get("cleanup")),
                credentials=creds,
            )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {"anno_key": anno_key}


# -- runs -------------------------------------------------------------------------


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


OPERATORS = [
    TagForAnnotation,
    UntagForAnnotation,
    RequestSkeletonAnnotation,
    LoadSkeletonAnnotation,
    ListAnnotationRuns,
    OpenAnnotationRun,
    DeleteAnnotationRun,
    RenameAnnotationRun,
]
