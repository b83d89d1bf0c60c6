"""Operators that tag samples for annotation and remove the tag."""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit import tagging
from posekit.markdown import md_escape

from ._annotation_forms import _tag_target


class _TagOperator(foo.Operator):
    _untag = False

    def resolve_input(self, ctx):
        inputs = types.Object()
        ctx.target_view()  # offers the system's dataset/view/selection choice
        tag_prop = inputs.str(
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
            tag_prop.invalid = True
            tag_prop.error_message = str(e)
            return types.Property(inputs, view=types.View(label=self.config.label))
        view = _tag_target(ctx)
        if self._untag:
            n = tagging.count_tagged(view, tag)
            msg = "Removes tag '%s' from %d sample(s)" % (md_escape(tag), n)
        else:
            n = tagging.count_untagged(view, tag)
            msg = "Tags %d sample(s) with '%s'" % (n, md_escape(tag))
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
            ctx.trigger("reload_dataset")
        return {"tag": tag, "untag": self._untag}


class TagForAnnotation(_TagOperator):
    """Tags the selected samples (or the current view) for annotation."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="tag_for_annotation",
            label="Tag samples for annotation",
            description="Pose annotation: tag the selected samples (or the "
            "view) to annotate their keypoints in CVAT (tag 'annotate')",
            icon="label",
            dynamic=True,
            risk_level=types.RiskLevel.MEDIUM,
        )


class UntagForAnnotation(_TagOperator):
    """Removes the annotation tag from the selected samples (or view)."""

    _untag = True

    @property
    def config(self):
        return foo.OperatorConfig(
            name="untag_for_annotation",
            label="Untag samples for annotation",
            description="Pose annotation: remove the annotate tag (default "
            "'annotate') from the selection or view",
            icon="label_off",
            dynamic=True,
            risk_level=types.RiskLevel.MEDIUM,
        )

