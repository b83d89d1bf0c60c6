"""Pose QA operators: evaluate predictions against ground truth with COCO's
OKS, show a run's report, open a view of the suspects, and tag them and send
them to CVAT with the request operator. The logic lives in ``posekit.qa``."""
import fiftyone as fo
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import tagging
from posekit.qa import evaluation as qev
from posekit.qa import views as qv
from posekit.qa.matching import IOU_THRS
from posekit.qa import compare as qc
from posekit.qa.report import agreement_markdown, to_markdown

from ._annotation_forms import _progress
from ._datasets import own_dataset

PLUGIN = "@posekit/skeletons"
DEFAULT_FIX_TAG = "pose-fix"


def _fields(dataset, doc_type):
    return sorted(dataset.get_field_schema(embedded_doc_type=doc_type))


def _dropdown(inputs, name, choices, default, label, required=True, none=None):
    view = types.DropdownView()
    if none:
        view.add_choice("", label=none)
    for c in choices:
        view.add_choice(c, label=c)
    return inputs.enum(name, view.values(), default=default, required=required,
                       label=label, view=view)


def _on(dataset, view):
    """``view``'s samples on ``dataset`` (a private instance), in order."""
    if isinstance(view, fo.Dataset):
        return dataset
    return dataset.select(view.values("id"), ordered=True)


class EvaluatePoses(foo.Operator):
    """COCO keypoint evaluation (pycocotools-exact) of two Keypoints fields."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="evaluate_poses",
            label="Evaluate poses (COCO OKS)",
            description="Pose evaluation: AP/AR as pycocotools computes them, per-label OKS and "
            "tp/fp/fn, error mining (jitter, inversion, swap, miss)",
            icon="query_stats",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
            default_choice_to_delegated=False,
            risk_level="medium",
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        form = types.View(label="Evaluate poses (COCO OKS)")
        ctx.target_view()
        fields = _fields(ctx.dataset, fo.Keypoints)
        if len(fields) < 2:
            inputs.view("no_fields", types.Error(
                label="Needs two Keypoints fields (ground truth and predictions)"))
            return types.Property(inputs, view=form)
        gt_default = "ground_truth" if "ground_truth" in fields else fields[0]
        gt = ctx.params.get("gt_field") or gt_default
        pred_default = next((f for f in fields if f != gt), fields[0])
        _dropdown(inputs, "gt_field", fields, gt_default, "Ground truth")
        pred_prop = _dropdown(inputs, "pred_field", fields, pred_default, "Predictions")
        pred = ctx.params.get("pred_field") or pred_default
        if pred == gt:
            pred_prop.invalid = True
            pred_prop.error_message = "Pick two different fields"
        key_prop = inputs.str("eval_key", required=True, default="eval_poses",
                              label="Evaluation key",
                              description="Names the run and the fields written "
                              "on the labels (<key>, <key>_id, <key>_oks)")
        key = ctx.params.get("eval_key", "eval_poses")
        try:
            qev.validate_eval_key(ctx.dataset, key)
            if key in ctx.dataset.list_evaluations():
                inputs.view("overwrite", types.Warning(
                    label=f"Evaluation '{key}' exists and will be replaced"))
        except ValueError as e:
            key_prop.invalid = True
            key_prop.error_message = str(e)
        k = qev.num_points(ctx.dataset, gt)
        try:
            _, source = qev.resolve_sigmas(ctx.dataset, gt, None, k)
            known = True
        except ValueError:
            source, known = None, False
        sig_prop = inputs.str(
            "sigmas", label="OKS sigmas (optional)" if known else "OKS sigmas",
            description=f"{k} numbers separated by commas, in skeleton order"
            + (f"; empty: the {source}'s" if known else ""))
        try:
            typed = qev.parse_sigmas(ctx.params.get("sigmas"), k)
        except ValueError as e:
            sig_prop.invalid = True
            sig_prop.error_message = str(e)
            typed = None
        if typed is None and known:
            inputs.view("sigma_source", types.Notice(
                label=f"OKS sigmas: the {source}'s ({k} values)"))
        elif typed is None and not sig_prop.invalid:
            inputs.view("sigma_default", types.Warning(
                label=f"No sigmas for this {k}-point skeleton: a uniform "
                f"{qev.UNIFORM_SIGMA} is used",
                description="Numbers are then not comparable with COCO's; "
                "enter per-keypoint sigmas, or estimate them from double "
                "annotations"))
        crowd = _fields(ctx.dataset, fo.Detections)
        _dropdown(inputs, "crowd_field", crowd, "", "Crowd regions (optional)",
                  required=False, none="none")
        thr = types.DropdownView()
        for t in IOU_THRS:
            thr.add_choice(round(float(t), 2), label=f"{t:.2f}")
        inputs.enum("iou", thr.values(), default=0.5, label="OKS threshold for "
                    "the per-label tp/fp/fn", view=thr)
        inputs.bool("errors", default=True, label="Mine errors (jitter, "
                    "inversion, swap, miss) and AP if each were fixed")
        return types.Property(inputs, view=form)

    def execute(self, ctx):
        p = ctx.params
        gt, pred = p["gt_field"], p["pred_field"]
        key = qev.validate_eval_key(ctx.dataset, p.get("eval_key"))
        k = qev.num_points(ctx.dataset, gt)
        sigmas = qev.parse_sigmas(p.get("sigmas"), k)
        if sigmas is None:
            try:
                qev.resolve_sigmas(ctx.dataset, gt, None, k)
            except ValueError:
                sigmas = qev.UNIFORM_SIGMA
        target = ctx.target_view()
        with own_dataset(ctx) as dataset:
            res = qev.evaluate(
                _on(dataset, target), pred, gt, eval_key=key, sigmas=sigmas,
                iou=float(p.get("iou") or 0.5), crowd_field=p.get("crowd_field") or None,
                errors=bool(p.get("errors", True)), progress=_progress(ctx))
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return _report_output(key, res.report())

    def resolve_output(self, ctx):
        return _report_property(ctx, "evaluation")


def _report_output(key, report):
    return {"eval_key": key, "stats": report["stats"],
            "counts": report["counts"], "report": to_markdown(report)}


def _report_property(ctx, what):
    outputs = types.Object()
    key = (ctx.results or {}).get("eval_key") or ctx.params.get("eval_key")
    outputs.str("report", label=f"Pose {what} '{key}'", view=types.MarkdownView())
    for mode, label in (("worst", "Show worst OKS first"),
                        ("swap", "Show swaps"), ("inversion", "Show inversions")):
        outputs.view(f"show_{mode}", types.Button(
            label=label, operator=f"{PLUGIN}/show_pose_errors",
            params={"eval_key": key, "mode": mode}))
    outputs.obj("stats", label="COCO metrics", view=types.JSONView())
    return types.Property(outputs)


def _run_input(inputs, ctx):
    keys = qv.pose_runs(ctx.dataset)
    if not keys:
        inputs.view("no_runs", types.Error(
            label="This dataset has no pose evaluation: run Evaluate poses first"))
        return None
    _dropdown(inputs, "eval_key", keys, keys[-1], "Pose evaluation")
    return ctx.params.get("eval_key") or keys[-1]


def _mode_input(inputs, ctx, default="worst"):
    view = types.RadioGroup()
    for m in qv.MODES:
        view.add_choice(m, label=qv.MODE_LABELS[m])
    inputs.enum("mode", view.values(), default=default, label="Show", view=view)
    return ctx.params.get("mode") or default


class PoseEvaluationReport(foo.Operator):
    """Shows the report of a pose evaluation run."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="pose_evaluation_report", label="Pose evaluation report",
            icon="assessment", dynamic=True, risk_level="low")

    def resolve_input(self, ctx):
        inputs = types.Object()
        _run_input(inputs, ctx)
        return types.Property(inputs, view=types.View(label="Pose evaluation report"))

    def execute(self, ctx):
        key = ctx.params["eval_key"]
        qv.run_fields(ctx.dataset, key)
        return _report_output(key, ctx.dataset.load_evaluation_results(key).report())

    def resolve_output(self, ctx):
        return _report_property(ctx, "evaluation")


class ShowPoseErrors(foo.Operator):
    """Opens a view of a pose evaluation's suspects in the grid."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="show_pose_errors", label="Show pose errors",
            description="Pose errors: a view sorted by worst OKS, or filtered to swaps, "
            "inversions, misses, false positives or missed people",
            icon="filter_alt", dynamic=True, risk_level="low")

    def resolve_input(self, ctx):
        inputs = types.Object()
        if _run_input(inputs, ctx):
            _mode_input(inputs, ctx)
        return types.Property(inputs, view=types.View(label="Show pose errors"))

    def execute(self, ctx):
        view = qv.error_view(ctx.dataset, ctx.params["eval_key"],
                             ctx.params.get("mode") or "worst")
        ctx.ops.set_view(view=view)
        return {"num_samples": len(view)}


class SendPoseErrorsToCvat(foo.Operator):
    """Tags a pose evaluation's suspects and opens the CVAT request form,
    prefilled with that tag and the ground-truth field to correct."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="send_pose_errors_to_cvat",
            label="Tag pose errors and request annotation",
            icon="send", dynamic=True, risk_level="medium")

    def resolve_input(self, ctx):
        inputs = types.Object()
        key = _run_input(inputs, ctx)
        if not key:
            return types.Property(inputs)
        mode = _mode_input(inputs, ctx)
        prop = inputs.str("tag", default=DEFAULT_FIX_TAG, required=True, label="Tag")
        try:
            tagging.validate_tag(ctx.params.get("tag", DEFAULT_FIX_TAG))
            n = len(qv.error_view(ctx.dataset, key, mode))
            inputs.view("count", types.Notice(
                label=f"{n} sample(s) will be tagged, then the CVAT request opens"))
        except ValueError as e:
            prop.invalid = True
            prop.error_message = str(e)
        return types.Property(inputs, view=types.View(
            label="Tag pose errors and request annotation"))

    def execute(self, ctx):
        key = ctx.params["eval_key"]
        tag = tagging.validate_tag(ctx.params.get("tag") or DEFAULT_FIX_TAG)
        _, gt = qv.run_fields(ctx.dataset, key)
        view = qv.error_view(ctx.dataset, key, ctx.params.get("mode") or "worst")
        ids = view.values("id")
        tagging.tag(ctx.dataset.select(ids), tag)
        if not ctx.delegated:
            ctx.trigger("reload_samples")
            ctx.prompt(f"{PLUGIN}/request_skeleton_annotation", params={
                "target": "TAGGED", "tag": tag, "label_field": gt})
        return {"tag": tag, "num_samples": len(ids), "label_field": gt}


class CompareAnnotations(foo.Operator):
    """Inter-annotator OKS of two Keypoints fields, sigma estimation from
    them, and adopting the estimate as the skeleton's sigmas."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="compare_annotations",
            label="Compare two pose annotations",
            description="Pose annotation agreement: inter-annotator OKS per instance and keypoint; "
            "per-keypoint sigmas estimated from double annotations",
            icon="compare", dynamic=True, allow_immediate_execution=True,
            allow_delegated_execution=True, risk_level="medium")

    def resolve_input(self, ctx):
        inputs = types.Object()
        form = types.View(label="Compare two pose annotations")
        ctx.target_view()
        fields = _fields(ctx.dataset, fo.Keypoints)
        if len(fields) < 2:
            inputs.view("no_fields", types.Error(label="Needs two Keypoints fields"))
            return types.Property(inputs, view=form)
        _dropdown(inputs, "field_a", fields, fields[0], "First annotation")
        b_prop = _dropdown(inputs, "field_b", fields, fields[1], "Second annotation")
        if (ctx.params.get("field_a") or fields[0]) == (ctx.params.get("field_b") or fields[1]):
            b_prop.invalid = True
            b_prop.error_message = "Pick two different fields"
        key_prop = inputs.str("oks_key", label="Write the OKS on the labels as (optional)")
        key = ctx.params.get("oks_key")
        if key:
            try:
                qev.validate_eval_key(ctx.dataset, key)
            except ValueError as e:
                key_prop.invalid = True
                key_prop.error_message = str(e)
        inputs.bool("adopt", default=False, label="Adopt the estimated sigmas "
                    "as the skeleton's", description="Needs every keypoint "
                    "marked in at least 10 paired instances")
        return types.Property(inputs, view=form)

    def execute(self, ctx):
        p = ctx.params
        key = p.get("oks_key") or None
        if key:
            qev.validate_eval_key(ctx.dataset, key)
        target = ctx.target_view()
        with own_dataset(ctx) as dataset:
            rep = qc.compare_fields(_on(dataset, target), p["field_a"], p["field_b"],
                                    oks_key=key)
            adopted = False
            if p.get("adopt"):
                est = rep["estimated_sigmas"]
                if any(s is None for s in est):
                    raise ValueError("Too few paired points to estimate every "
                                     "sigma; nothing adopted")
                qc.adopt_sigmas(dataset, p["field_a"], est)
                adopted = True
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return {"report": agreement_markdown(rep), "adopted": adopted,
                "estimated_sigmas": rep["estimated_sigmas"],
                "mean_oks": rep["mean_oks"]}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("report", label="Agreement", view=types.MarkdownView())
        outputs.bool("adopted", label="Sigmas adopted")
        return types.Property(outputs)


OPERATORS = [EvaluatePoses, PoseEvaluationReport, ShowPoseErrors,
             SendPoseErrorsToCvat, CompareAnnotations]
