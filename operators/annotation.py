"""Annotation operators: send samples to CVAT as native skeletons and load
the results. All annotation operators are listed here (tagging in
:mod:`.tag`, run management in :mod:`.annotation_runs`).

CVAT's URL and credentials come from the plugin secrets (or environment
variables) ``FIFTYONE_CVAT_URL``, ``FIFTYONE_CVAT_USERNAME``,
``FIFTYONE_CVAT_PASSWORD`` and ``FIFTYONE_CVAT_EMAIL``; they are never form
fields, so they never land in saved params or run records.
"""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import tagging
from posekit.cvat import runs
from posekit.cvat.backend import MODES
from posekit.cvat.plan import resolve_skeleton, validate_skeleton
from posekit.markdown import md_escape
from posekit.cvat.progress import progress_callback

from ._annotation_forms import (
    _chosen_run,
    _clean_errors,
    _credentials,
    _default_request_target,
    _delegation_config,
    _keypoint_fields,
    _missing_credentials,
    _organization_input,
    _progress,
    _request_target,
    _run_choice,
    _secrets_notice,
    _showing_form,
    _size_problem,
)
from ._datasets import own_dataset
from .annotation_runs import (
    DeleteAnnotationRun,
    ListAnnotationRuns,
    OpenAnnotationRun,
    RenameAnnotationRun,
)
from .tag import TagForAnnotation, UntagForAnnotation


# -- request ----------------------------------------------------------------------

_NO_SAMPLES = "No samples to send: the chosen samples are empty"
_SIZE_NAMES = {"task_size": "Max samples per task", "segment_size": "Max samples per job"}


class RequestSkeletonAnnotation(foo.Operator):
    """Sends samples to CVAT with the skeleton as a native skeleton label."""

    @property
    def config(self):
        return _delegation_config(
            "request_skeleton_annotation",
            "Request skeleton annotation in CVAT",
            "Pose annotation: annotate keypoints in CVAT. Sends samples to "
            "CVAT tasks with the skeleton as a native CVAT skeleton label",
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        form = types.View(label="Request skeleton annotation in CVAT")
        if _secrets_notice(inputs, ctx) and _showing_form(ctx):
            _organization_input(inputs, ctx)

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
            tag_prop = inputs.str("tag", default=tagging.DEFAULT_TAG, label="Tag")
            try:
                tagging.validate_tag(ctx.params.get("tag", tagging.DEFAULT_TAG))
            except ValueError as e:
                tag_prop.invalid = True
                tag_prop.error_message = str(e)
        try:
            n = len(_request_target(ctx))
            if n:
                inputs.view("count", types.Notice(
                    label="%d sample(s) will be sent to CVAT" % n))
            else:
                inputs.view("count", types.Error(label=_NO_SAMPLES),
                            invalid=True, error_message=_NO_SAMPLES)
        except ValueError as e:
            inputs.view("bad_target", types.Error(label=md_escape(str(e))),
                        invalid=True, error_message=str(e))

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
                validate_skeleton(sk)
                own = label_field in (ctx.dataset.skeletons or {})
                inputs.view("skeleton", types.Notice(
                    label="Skeleton: %s (%d nodes: %s)" % (
                        "the field's" if own else "the dataset default",
                        len(sk["labels"]), ", ".join(md_escape(x) for x in sk["labels"][:6])
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
        sizes = {
            "task_size": inputs.int("task_size", label="Max samples per task (optional)"),
            "segment_size": inputs.int("segment_size", label="Max samples per job (optional)"),
        }
        inputs.str("task_assignee", label="Task assignee (optional username)")
        inputs.list("job_assignees", types.String(), label="Job assignees (optional)")
        inputs.bool("launch_editor", default=False, label="Open CVAT when done")
        for name, prop in sizes.items():
            problem = _size_problem(ctx.params.get(name), _SIZE_NAMES[name])
            if problem:
                prop.invalid = True
                prop.error_message = problem
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
        for name, what in _SIZE_NAMES.items():
            problem = _size_problem(params.get(name), what)
            if problem:
                raise ValueError(problem)
        if not params.get("anno_key"):
            raise ValueError("Give an annotation key")
        with own_dataset(ctx) as dataset:
            view = _request_target(ctx, dataset)
            if not len(view):
                raise ValueError(_NO_SAMPLES)
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
                    organization=params.get("organization") or None,
                    # opens a browser tab where the operator runs; delegated
                    # runs only give the link
                    launch_editor=bool(params.get("launch_editor")) and not ctx.delegated,
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
            "Pose annotation: load the keypoints annotated in CVAT back into "
            "the dataset, in skeleton order",
            icon="download",
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        _secrets_notice(inputs, ctx)
        _run_choice(inputs, ctx)
        dest_prop = inputs.str(
            "dest_field", label="Load into another field (optional)",
            description="A new or existing Keypoints field; empty loads into "
            "the run's field",
        )
        dest_field = (ctx.params.get("dest_field") or "").strip()
        if dest_field:
            try:
                runs.validate_field_name(ctx.dataset, dest_field)
            except ValueError as e:
                dest_prop.invalid = True
                dest_prop.error_message = str(e)
        unexpected = types.RadioGroup()
        unexpected.add_choice(
            "keep", label="Keep unexpected labels in a new field",
            description="Boxes, polygons and polylines drawn in CVAT go to "
            "fields named 'detections' and 'polylines'")
        unexpected.add_choice("ignore", label="Ignore unexpected labels")
        inputs.enum("unexpected", unexpected.values(), default="keep",
                    label="Unexpected labels", view=unexpected)
        inputs.bool("cleanup", default=False, label="Delete the CVAT tasks after loading")
        inputs.bool("forget_deleted_tasks", default=False,
                    label="Forget CVAT tasks that were deleted",
                    description="Drop tasks deleted in CVAT from the run's record "
                    "(by default the run keeps them and the load says which are gone)")
        return types.Property(inputs, view=types.View(label="Load skeleton annotations"))

    def execute(self, ctx):
        anno_key = _chosen_run(ctx)
        creds = _credentials(ctx)
        missing = _missing_credentials(creds)
        if missing:
            raise ValueError("CVAT credentials missing: set %s" % ", ".join(missing))
        # on the shared dataset object: labels and the run's results are
        # their own documents (no dataset-document save to race with), and
        # the results get cached where FiftyOne's load_annotations looks
        with _clean_errors(ctx), progress_callback(_progress(ctx)):
            report = runs.load_annotation(
                ctx.dataset,
                anno_key,
                dest_field=(ctx.params.get("dest_field") or "").strip() or None,
                unexpected=ctx.params.get("unexpected") or "keep",
                cleanup=bool(ctx.params.get("cleanup")),
                credentials=creds,
                forget_deleted_tasks=bool(ctx.params.get("forget_deleted_tasks")),
            )
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return dict(report, summary=_load_summary(report))

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("summary", label="Loaded", view=types.MarkdownView())
        outputs.obj("changes", label="Changes per field", view=types.JSONView())
        return types.Property(outputs)


def _load_summary(report):
    """What a load changed, and which CVAT tasks are gone, as Markdown."""
    lines = []
    for field, c in report["changes"].items():
        lines.append("- %s: %d added, %d updated, %d deleted" % (
            md_escape(field), c["added"], c["updated"], c["deleted"]))
    gone = report["deleted_tasks"]
    if gone:
        ids = ", ".join(map(str, gone))
        if report["forgot_deleted_tasks"]:
            lines.append("\nCVAT task(s) %s no longer exist and were removed "
                         "from the run." % ids)
        else:
            lines.append("\n**CVAT task(s) %s no longer exist**: their samples "
                         "were left as they are and the run still lists them "
                         "(tick \"Forget CVAT tasks that were deleted\" to drop "
                         "them)." % ids)
    return "\n".join(lines) or "Nothing to load."


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
