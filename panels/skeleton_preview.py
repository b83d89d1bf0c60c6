"""The "Skeleton preview" panel: the current sample's image with its
keypoints and the skeleton's edges drawn over it.

It follows the sample open in the modal and, in the grid, steps through the
current view one sample at a time (each step fetches that one sample only).
The preview itself is :mod:`posekit.preview`; the rendered picture is an SVG
data URI in panel data (bounded to 200 KB; the App sends panel data back with
each event), the small settings live in panel state:

``field``, ``fields``, ``show_labels``, ``conf_threshold``, ``skeleton_only``,
``sample_id``, ``index`` (position in the view, ``None`` when unknown),
``count`` (view size), ``view_key`` (fingerprint of the view last shown),
``skeleton_key`` (fingerprint of the skeleton last drawn), ``compare``
(the pose evaluation key compared with, or ``None``) and ``compare_runs``
(posekit's pose evaluations of the dataset); on videos
(``frames.<field>``) also ``frame`` (frame number shown) and ``frame_count``.
The panel steps through frames with its own buttons and follows the modal's
frame when the App tells it one (selecting a label on a video frame in the
modal sends its ``frame_number``).

Panel data: ``image`` (the SVG data URI), ``summary`` (markdown, numbers and
escaped label text only) and ``scene`` (:meth:`posekit.scene.Scene.to_json`
plus ``sample_id``, ``field``, ``display_size``, ``payload_bytes``).
"""
import hashlib
import json

import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit.preview import (
    comparison_fields, comparison_runs, fetch, preview, resolve_skeleton,
)
from posekit.skeleton_store import keypoint_fields
from posekit.video_frames import fetch_frame, frame_fields, is_frame_field

PANEL_NAME = "skeleton_preview"
DEFAULT_THRESHOLD = 0.0
NO_COMPARISON = "-"  # the "Compare with" choice of no run (not a valid key)


class SkeletonPreviewPanel(foo.Panel):
    """Previews a keypoints field and its skeleton over the sample's image."""

    @property
    def config(self):
        return foo.PanelConfig(
            name=PANEL_NAME,
            label="Skeleton preview",
            icon="accessibility_new",
            surfaces="grid modal",
            help_markdown=(
                "Shows the current sample's keypoints and skeleton edges over "
                "its image. Opens on the sample in the modal; in the grid, "
                "step with the arrows."
            ),
        )

    # --- events ------------------------------------------------------------

    def on_load(self, ctx):
        state = ctx.panel.state
        fields = keypoint_fields(ctx.dataset)
        if ctx.dataset.media_type == "video":
            fields = frame_fields(ctx.dataset) + fields
        field = state.field if state.field in fields else None
        ctx.panel.state.set(
            {
                "fields": fields,
                "field": field or (fields[0] if fields else None),
                "show_labels": bool(state.show_labels),
                "conf_threshold": float(state.conf_threshold or DEFAULT_THRESHOLD),
                "skeleton_only": bool(state.skeleton_only),
                "compare": state.compare,
            }
        )
        if ctx.current_sample:
            self._show(ctx, sample_id=ctx.current_sample)
        elif state.sample_id and state.index is not None:
            self._show(ctx, index=state.index)
        else:
            self._show(ctx, index=0)

    def _loading(self, ctx):
        """True (after loading) when an event comes before the panel state
        exists: the App sends view events alongside ``on_load``, with an
        empty state, and whichever answer lands last is what users see."""
        if ctx.panel.state.fields is None:
            self.on_load(ctx)
            return True
        return False

    def on_change_current_sample(self, ctx):
        if self._loading(ctx):
            return
        if ctx.current_sample and ctx.current_sample != ctx.panel.state.sample_id:
            self._show(ctx, sample_id=ctx.current_sample)

    def on_change_view(self, ctx):
        if self._loading(ctx):
            return
        # the App also sends this event when nothing changed: compare; it
        # also sends it after a dataset reload (a skeleton saved or deleted)
        if _view_key(ctx) != ctx.panel.state.view_key and not ctx.current_sample:
            self._show(ctx, index=0)
        elif _skeleton_key(ctx.dataset, ctx.panel.state.field) != ctx.panel.state.skeleton_key:
            self._redraw(ctx)

    def on_change_dataset(self, ctx):
        ctx.panel.state.set({"field": None, "sample_id": None, "index": None})
        self.on_load(ctx)

    def on_change_field(self, ctx):
        field = ctx.params.get("value")
        if field == ctx.panel.state.field:
            return  # the App announces each input's value on first render
        if field not in (ctx.panel.state.fields or []):
            ctx.ops.notify(f"{field!r} is not a keypoints field", variant="error")
            return
        ctx.panel.state.field = field
        self._redraw(ctx)

    def on_change_show_labels(self, ctx):
        self._set_option(ctx, "show_labels", bool(ctx.params.get("value")))

    def on_change_threshold(self, ctx):
        value = ctx.params.get("value")
        try:
            value = min(max(float(value), 0.0), 1.0)
        except (TypeError, ValueError):
            value = DEFAULT_THRESHOLD
        self._set_option(ctx, "conf_threshold", value)

    def on_change_skeleton_only(self, ctx):
        self._set_option(ctx, "skeleton_only", bool(ctx.params.get("value")))

    def on_change_compare(self, ctx):
        key = ctx.params.get("value")
        key = None if key in (None, "", NO_COMPARISON) else key
        if key is not None and key not in comparison_runs(ctx.dataset):
            ctx.ops.notify(f"{key!r} is not a pose evaluation", variant="error")
            return
        self._set_option(ctx, "compare", key)

    def on_change_selected_labels(self, ctx):
        if self._loading(ctx):
            return
        state = ctx.panel.state
        for label in ctx.selected_labels or []:
            frame = label.get("frame_number")
            if frame and label.get("sample_id") in (state.sample_id, ctx.current_sample):
                if frame != state.frame or label.get("sample_id") != state.sample_id:
                    self._show(ctx, sample_id=label["sample_id"], index=state.index,
                               frame=int(frame))
                return

    def next_frame(self, ctx):
        self._step_frame(ctx, +1)

    def previous_frame(self, ctx):
        self._step_frame(ctx, -1)

    def _step_frame(self, ctx, delta):
        state = ctx.panel.state
        count = state.frame_count or 1
        frame = min(max((state.frame or 1) + delta, 1), count)
        if frame == state.frame:
            return
        state.frame = frame
        self._redraw(ctx)

    def next_sample(self, ctx):
        self._step(ctx, +1)

    def previous_sample(self, ctx):
        self._step(ctx, -1)

    # --- work --------------------------------------------------------------

    def _set_option(self, ctx, key, value):
        if ctx.panel.state.get(key) == value:
            return  # unchanged (the App announces values on first render)
        ctx.panel.state.set(key, value)
        self._redraw(ctx)

    def _step(self, ctx, delta):
        state = ctx.panel.state
        index = state.index
        if index is None and state.sample_id:
            # came from the modal: find the sample's position once
            ids = ctx.view.values("id")
            index = ids.index(state.sample_id) if state.sample_id in ids else 0
        index = (index or 0) + delta
        count = ctx.view.count()
        if count:
            index = min(max(index, 0), count - 1)
        sample = self._show(ctx, index=index)
        if sample is not None and ctx.current_sample:
            ctx.ops.open_sample(id=sample.id)

    def _redraw(self, ctx):
        state = ctx.panel.state
        if state.sample_id:
            self._show(ctx, sample_id=state.sample_id, index=state.index)
        else:
            self._show(ctx, index=state.index or 0)

    def _show(self, ctx, sample_id=None, index=None, frame=None):
        """Fetches one sample (by id, else by position in the view), draws it
        into panel data and records where it is in panel state."""
        state = ctx.panel.state
        field = state.field
        view = ctx.view
        sample, frames = None, None
        runs = comparison_runs(ctx.dataset)
        compare = state.compare if state.compare in runs else None
        fields = comparison_fields(ctx.dataset, compare)
        if fields is not None:
            field = fields[0]  # the run's predictions, over its ground truth
        if is_frame_field(field):
            # a new sample opens on its first frame; a redraw keeps the frame
            if frame is None:
                same = sample_id is not None and sample_id == state.sample_id
                frame = (state.frame or 1) if same else 1
            get = lambda coll, **kw: fetch_frame(coll, field, frame_number=frame, **kw)
        else:
            get = lambda coll, **kw: (fetch(coll, field, **kw), None)
        if sample_id is not None:
            sample, frames = get(view, sample_id=sample_id)
            if sample is None:
                sample, frames = get(ctx.dataset, sample_id=sample_id)
        else:
            sample, frames = get(view, index=index or 0)
        state.set(
            {
                "field": field,  # comparing: the run's predictions, as drawn
                "sample_id": sample.id if sample is not None else None,
                "index": index,
                "count": view.count(),
                "view_key": _view_key(ctx),
                "skeleton_key": _skeleton_key(ctx.dataset, field),
                "frame": min(frame or 1, frames) if frames else None,
                "frame_count": frames,
                "compare": compare,
                "compare_runs": runs,
            }
        )
        ctx.panel.data.set(
            preview(
                ctx.dataset,
                sample,
                field,
                show_labels=bool(state.show_labels),
                conf_threshold=float(state.conf_threshold or 0.0),
                skeleton_only=bool(state.skeleton_only),
                compare=compare,
            )
        )
        return sample

    def render(self, ctx):
        panel = types.Object()
        state = ctx.panel.state
        fields = state.fields or []

        bar = panel.h_stack("controls", align_x="left", align_y="center", gap=2)
        if fields:
            dropdown = types.DropdownView()
            for f in fields:
                dropdown.add_choice(f, label=f)
            bar.enum(
                "field",
                fields,
                label="Keypoints field",
                default=state.field,
                view=dropdown,
                on_change=self.on_change_field,
            )
        bar.btn(
            "previous",
            label="Previous",
            icon="arrow_back",
            on_click=self.previous_sample,
            disabled=(state.index or 0) <= 0 and state.index is not None,
        )
        bar.btn(
            "next",
            label="Next",
            icon="arrow_forward",
            on_click=self.next_sample,
            disabled=state.index is not None
            and (state.index or 0) >= (state.count or 0) - 1,
        )
        where = (
            f"{state.index + 1} / {state.count}"
            if state.index is not None and state.count
            else ("modal sample" if state.sample_id else "no sample")
        )
        bar.md(where, name="position")
        if state.frame_count:
            frames = panel.h_stack("frames", align_x="left", align_y="center", gap=2)
            frames.btn("previous_frame", label="Previous frame", icon="skip_previous",
                       on_click=self.previous_frame, disabled=(state.frame or 1) <= 1)
            frames.btn("next_frame", label="Next frame", icon="skip_next",
                       on_click=self.next_frame,
                       disabled=(state.frame or 1) >= state.frame_count)
            frames.md(f"frame {state.frame} / {state.frame_count}", name="frame_position")

        opts = panel.h_stack("options", align_x="left", align_y="center", gap=2)
        opts.bool(
            "show_labels",
            label="Node labels",
            default=bool(state.show_labels),
            view=types.SwitchView(),
            on_change=self.on_change_show_labels,
        )
        opts.bool(
            "skeleton_only",
            label="Skeleton only",
            default=bool(state.skeleton_only),
            view=types.SwitchView(),
            on_change=self.on_change_skeleton_only,
        )
        runs = state.compare_runs or []
        if runs:  # posekit's pose evaluations only; none: no option
            choices = types.DropdownView()
            choices.add_choice(NO_COMPARISON, label="No comparison")
            for key in runs:
                choices.add_choice(key, label=key)
            opts.enum(
                "compare",
                [NO_COMPARISON] + list(runs),
                label="Compare with",
                default=state.compare or NO_COMPARISON,
                view=choices,
                on_change=self.on_change_compare,
            )
        threshold = panel.v_stack("threshold", width=100, gap=0)
        # A label of its own: the slider's value bubble covers a slider label
        threshold.md(
            "Fade nodes with confidence below", name="threshold_label"
        )
        threshold.float(
            "conf_threshold",
            min=0.0,
            max=1.0,
            default=float(state.conf_threshold or 0.0),
            view=types.SliderView(
                value_precision=2,
                view_multiple_of=0.05,
            ),
            on_change=self.on_change_threshold,
        )

        panel.view("image", types.ImageView(width="100%", alt="skeleton preview"))
        panel.str("summary", view=types.MarkdownView())
        if state.compare:  # the compared evaluation's report, below the picture
            panel.str("report", view=types.MarkdownView())
        return types.Property(
            panel,
            view=types.GridView(orientation="vertical", align_x="center", gap=2),
        )


def _skeleton_key(dataset, field):
    """A fingerprint of the skeleton the panel draws for ``field``."""
    skeleton = resolve_skeleton(dataset, field)
    return hashlib.sha1(
        json.dumps(skeleton, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]


def _view_key(ctx):
    """A fingerprint of the App's current view (stages, filters, extended)."""
    rp = ctx.request_params
    key = [rp.get(k) for k in ("view", "view_name", "filters", "extended")]
    return hashlib.sha1(
        json.dumps(key, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]


PANELS = [SkeletonPreviewPanel]
