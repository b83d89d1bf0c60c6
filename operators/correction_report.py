"""The ``correction_report`` operator: how much annotators corrected a
pre-annotation, per skeleton node (see :mod:`posekit.preannotate.effort`)."""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit.markdown import md_escape
from posekit.preannotate.effort import correction_effort


def _keypoint_fields(dataset):
    import fiftyone as fo

    return sorted(dataset.get_field_schema(embedded_doc_type=fo.Keypoints))


def _px(value):
    return "-" if value is None else "%.1f" % value


def report_table(report):
    """The report as a Markdown table, one row per node."""
    inst = report["instances"]
    rows = [
        "Instances: %d matched, %d added, %d deleted by annotators; mean node "
        "displacement %s px; mean OKS of the guess against the correction %s"
        % (inst["matched"], inst["added"], inst["deleted"], _px(report["mean_px"]),
           "-" if report["mean_oks"] is None else "%.3f" % report["mean_oks"]),
        "",
        "| node | kept | moved | mean px | median px | max px | added | removed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in report["nodes"]:
        rows.append("| %s | %d | %d | %s | %s | %s | %d | %d |" % (
            md_escape(n["node"]), n["kept"], n["moved"], _px(n["mean_px"]),
            _px(n["median_px"]), _px(n["max_px"]), n["added"], n["removed"]))
    return "\n".join(rows)


class CorrectionReport(foo.Operator):
    """Per-node correction effort between a pre-annotated field and the
    field loaded back from CVAT."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="correction_report",
            label="Correction effort of a pre-annotation",
            description="Pose pre-annotation: how far annotators moved each node "
            "of the model's keypoints, and how many they added or removed",
            icon="rule",
            dynamic=True,
            risk_level=types.RiskLevel.LOW,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        ctx.target_view()
        fields = _keypoint_fields(ctx.dataset)
        if len(fields) < 2:
            inputs.view("no_fields", types.Error(
                label="Needs two keypoints fields: the pre-annotation and the corrected one"))
            return types.Property(inputs, view=types.View(label="Correction effort"))
        choices = types.DropdownView()
        for f in fields:
            choices.add_choice(f, label=f)
        inputs.enum("pre_field", choices.values(), required=True, label="Pre-annotated field",
                    default="pre_annotations" if "pre_annotations" in fields else fields[0],
                    view=choices)
        post = inputs.enum("corrected_field", choices.values(), required=True,
                           label="Corrected field (loaded from CVAT)", view=choices)
        pre_f, post_f = ctx.params.get("pre_field"), ctx.params.get("corrected_field")
        if pre_f and post_f and pre_f == post_f:
            post.invalid = True
            post.error_message = "Pick two different fields"
        return types.Property(inputs, view=types.View(label="Correction effort"))

    def execute(self, ctx):
        pre_f, post_f = ctx.params["pre_field"], ctx.params["corrected_field"]
        if pre_f == post_f:
            raise ValueError("Pick two different fields")
        report = correction_effort(ctx.target_view(), pre_f, post_f)
        return {"table": report_table(report), "report": report}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("table", label="Correction effort per node", view=types.MarkdownView())
        outputs.obj("report", label="Details", view=types.JSONView())
        return types.Property(outputs)


OPERATORS = [CorrectionReport]
