"""Operator that opens the skeleton preview panel."""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from ..panels.skeleton_preview import PANEL_NAME


class OpenSkeletonPreview(foo.Operator):
    """Opens the "Skeleton preview" panel beside the grid or modal."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="open_skeleton_preview",
            label="Open skeleton preview",
            description="Pose preview: show the keypoints and skeleton edges "
            "over the sample's image",
            risk_level=types.RiskLevel.LOW,
            icon="accessibility_new",
            light_icon="accessibility_new",
            dark_icon="accessibility_new",
            unlisted=False,
        )

    def resolve_placement(self, ctx):
        return types.Placement(
            types.Places.SAMPLES_GRID_SECONDARY_ACTIONS,
            types.Button(
                label="Skeleton preview",
                icon="accessibility_new",
                prompt=False,
            ),
        )

    def execute(self, ctx):
        ctx.ops.open_panel(PANEL_NAME, is_active=True, layout="horizontal")


OPERATORS = [OpenSkeletonPreview]
