"""The ``pre_annotate`` operator: run a pose model over the target view and
write a keypoints field in the target skeleton's order, to correct in CVAT.

With ``num_slices`` K > 1 the operator queues K delegated operations over
disjoint sample-id slices (one per ``fiftyone delegated launch`` worker);
they share one run key, so a failed slice can be rerun alone (FiftyOne's
"Re-run") and redoes only what it had not written.
"""
import fiftyone.operators as foo
import fiftyone.operators.types as types

from posekit.cvat.runs import validate_field_name
from posekit.preannotate import mapping as pmapping
from posekit.preannotate import models as pmodels
from posekit.preannotate import run as prun
from posekit.templates import get_template, template_ids

from ._datasets import own_dataset

AUTO_SKELETON = "_field"
WHOLE_IMAGE = "_whole_image"
MAX_SLICES = 64


def parse_mapping(text):
    """``"snout=nose, tail="`` -> ``{"snout": "nose", "tail": None}``."""
    out = {}
    for part in (text or "").replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError("Mapping entry %r is not model_node=skeleton_node" % part)
        src, dst = (s.strip() for s in part.split("=", 1))
        out[src] = dst or None
    return out


def _detection_fields(dataset):
    import fiftyone as fo

    return sorted(dataset.get_field_schema(embedded_doc_type=fo.Detections))


def _keypoint_fields(dataset):
    import fiftyone as fo

    return sorted(dataset.get_field_schema(embedded_doc_type=fo.Keypoints))


def _invalid(prop, message):
    prop.invalid = True
    prop.error_message = message


def _model_labels(model_name):
    """The node names of a registered model, without loading its weights."""
    if model_name == "mediapipe_pose":
        return get_template("mediapipe33").labels
    if model_name == "mediapipe_hands":
        return get_template("hand21").labels
    return pmodels.load_model(model_name).labels


def _kwargs(params):
    """pre_annotate's keyword arguments from the operator's params."""
    skeleton = params.get("skeleton") or AUTO_SKELETON
    classes = [c.strip() for c in (params.get("classes") or "").split(",") if c.strip()]
    return dict(
        model=params.get("model") or "mediapipe_pose",
        skeleton=None if skeleton == AUTO_SKELETON else skeleton,
        mapping=parse_mapping(params.get("mapping")) or None,
        detections_field=_detections_field(params),
        classes=classes or None,
        margin=float(params.get("margin", prun.DEFAULT_MARGIN)),
        threshold=float(params.get("threshold", prun.DEFAULT_THRESHOLD)),
        overwrite=bool(params.get("overwrite", True)),
    )


def _detections_field(params):
    value = params.get("detections_field")
    return None if value in (None, "", WHOLE_IMAGE) else value


class PreAnnotate(foo.Operator):
    """Pre-annotates keypoints with an offline pose model."""

    @property
    def config(self):
        return foo.OperatorConfig(
            name="pre_annotate",
            label="Pre-annotate keypoints with a pose model",
            description="Pose pre-annotation: run MediaPipe (offline) or another "
            "pose model and write keypoints in the skeleton's order, to correct in CVAT",
            icon="auto_fix_high",
            dynamic=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
            default_choice_to_delegated=False,
            risk_level=types.RiskLevel.MEDIUM,
        )

    def resolve_input(self, ctx):
        inputs = types.Object()
        form = types.View(label="Pre-annotate keypoints")
        params = ctx.params
        ctx.target_view()  # the system's dataset / view / selection choice
        if params.get("slice"):  # a queued slice: its params were checked when split
            return types.Property(inputs, view=form)

        names = pmodels.model_names()
        model_choices = types.DropdownView()
        for name, desc in names.items():
            model_choices.add_choice(name, label=desc)
        model_prop = inputs.enum("model", model_choices.values(), default="mediapipe_pose",
                                 label="Model", view=model_choices)
        model_name = params.get("model") or "mediapipe_pose"
        model_labels = None
        if model_name.startswith("mediapipe") and not pmodels.mediapipe_available():
            _invalid(model_prop, "MediaPipe is not installed: install posekit's pose "
                     "extra (pip install -r requirements-pose.txt)")
        elif model_name in names:
            model_labels = _model_labels(model_name)

        fields = _keypoint_fields(ctx.dataset)
        field_view = types.AutocompleteView()
        for f in fields:
            field_view.add_choice(f, label=f)
        field_prop = inputs.str("label_field", required=True, default="pre_annotations",
                                label="Keypoints field (new or existing)", view=field_view)

        sk_choices = types.DropdownView()
        sk_choices.add_choice(AUTO_SKELETON, label="The field's skeleton (else the dataset default)")
        for tid in template_ids():
            sk_choices.add_choice(tid, label="Template: %s" % get_template(tid).name)
        sk_prop = inputs.enum("skeleton", sk_choices.values(), default=AUTO_SKELETON,
                              label="Target skeleton", view=sk_choices)
        map_prop = inputs.str("mapping", label="Node mapping (optional)",
                              description="model_node=skeleton_node, comma separated; "
                              "other nodes map by name")

        label_field = params.get("label_field") or "pre_annotations"
        labels, user_mapping = None, {}
        try:
            user_mapping = parse_mapping(params.get("mapping"))
        except ValueError as e:
            _invalid(map_prop, str(e))
            model_labels = None
        try:
            validate_field_name(ctx.dataset, label_field)
            skeleton = params.get("skeleton") or AUTO_SKELETON
            skeleton = None if skeleton == AUTO_SKELETON else skeleton
            labels = prun.target_labels(ctx.dataset, label_field, skeleton, model_labels)
        except ValueError as e:
            _invalid(sk_prop if "skeleton" in str(e) else field_prop, str(e))
        if labels and model_labels:
            try:
                m = pmapping.build_mapping(model_labels, labels, user_mapping)
                missing = [t for t, s in m.as_dict().items() if s is None]
                inputs.view("mapping_summary", types.Notice(
                    label="%d of %d skeleton nodes come from the model%s" % (
                        m.num_mapped, len(labels),
                        "; no source for: " + ", ".join(missing[:8]) if missing else "")))
            except ValueError as e:
                _invalid(map_prop if params.get("mapping") else sk_prop, str(e))

        det_fields = _detection_fields(ctx.dataset)
        det_choices = types.DropdownView()
        det_choices.add_choice(WHOLE_IMAGE, label="None: the whole image")
        for f in det_fields:
            det_choices.add_choice(f, label=f)
        inputs.enum("detections_field", det_choices.values(), default=WHOLE_IMAGE,
                    label="Top-down over person boxes (optional)", view=det_choices)
        if _detections_field(params):
            inputs.str("classes", default="person", label="Box labels (comma separated; empty: all)")
            margin = inputs.float("margin", default=prun.DEFAULT_MARGIN, label="Crop margin",
                                  description="Fraction of the box size added on each side")
            if float(params.get("margin", 0) or 0) < 0:
                _invalid(margin, "The margin must not be negative")

        thr = inputs.float("threshold", default=prun.DEFAULT_THRESHOLD, label="Confidence threshold",
                           description="Nodes below it are written as NaN (missing)")
        value = params.get("threshold", prun.DEFAULT_THRESHOLD)
        if value is None or not 0 <= float(value) <= 1:
            _invalid(thr, "The threshold must be between 0 and 1")
        inputs.bool("overwrite", default=True, label="Replace existing values",
                    description="Off: samples that already have the field are skipped")
        slices = inputs.int("num_slices", default=1, label="Split into K delegated operations",
                            description="K > 1 queues K operations over disjoint slices, "
                            "one per 'fiftyone delegated launch' worker")
        k = params.get("num_slices")
        if k is not None and not 1 <= int(k) <= MAX_SLICES:
            _invalid(slices, "K must be between 1 and %d" % MAX_SLICES)
        if getattr(ctx, "executor", None) is None:  # showing the form: counts
            n = len(ctx.target_view())
            inputs.view("count", types.Notice(label="%d sample(s) will be pre-annotated" % n))
        return types.Property(inputs, view=form)

    def resolve_run_name(self, ctx):
        part = ctx.params.get("slice_index")
        if part is None:
            return "pre_annotate"
        return "pre_annotate slice %d/%d" % (part + 1, ctx.params.get("num_slices"))

    def execute(self, ctx):
        params = ctx.params
        kw = _kwargs(params)
        label_field = params.get("label_field") or "pre_annotations"
        k = params.get("num_slices")
        k = 1 if k is None else int(k)
        if not 1 <= k <= MAX_SLICES:
            raise ValueError("K must be between 1 and %d" % MAX_SLICES)
        view = ctx.target_view()
        if params.get("slice") is None and k > 1:
            return self._split(ctx, view, label_field, kw, k)

        def progress(fraction, label):
            ctx.set_progress(progress=fraction, label=label)

        if params.get("slice") is None:  # unsplit: field and skeleton first, privately
            with own_dataset(ctx) as dataset:
                self._prepare(dataset, label_field, kw)
        out = prun.pre_annotate(
            view, label_field, run_key=params.get("run_key"), bounds=params.get("slice"),
            progress=progress, **kw)
        if not ctx.delegated:
            ctx.trigger("reload_dataset")
        return dict(out, label_field=label_field)

    @staticmethod
    def _prepare(dataset, label_field, kw):
        validate_field_name(dataset, label_field)
        model_labels = _model_labels(kw["model"])
        labels = prun.target_labels(dataset, label_field, kw["skeleton"], model_labels)
        pmapping.build_mapping(model_labels, labels, kw["mapping"])
        prun.prepare(dataset, label_field, labels)
        return labels

    def _split(self, ctx, view, label_field, kw, k):
        from fiftyone.operators.delegated import DelegatedOperationService
        from fiftyone.operators.executor import ExecutionContext

        with own_dataset(ctx) as dataset:
            self._prepare(dataset, label_field, kw)
        bounds = prun.slice_bounds(view, k)
        run_key = prun.new_run_key()
        service = DelegatedOperationService()
        queued = []
        for i, b in enumerate(bounds):
            request = dict(ctx.request_params)
            request["params"] = dict(
                ctx.params, slice=b, slice_index=i, num_slices=len(bounds),
                run_key=run_key, label_field=label_field,
            )
            request["delegated"] = True
            op = service.queue_operation(
                operator=self.uri,
                label="pre_annotate slice %d/%d" % (i + 1, len(bounds)),
                context=ExecutionContext(request_params=request),
                delegation_target=ctx.request_params.get("delegation_target"),
            )
            ctx.set_progress(progress=(i + 1) / len(bounds),
                             label="Queued %d of %d slices" % (i + 1, len(bounds)))
            queued.append(str(op.id))
        return {"run_key": run_key, "label_field": label_field, "queued": queued,
                "num_slices": len(bounds), "samples": len(view)}

    def resolve_output(self, ctx):
        outputs = types.Object()
        outputs.str("label_field", label="Field")
        outputs.int("samples", label="Samples")
        outputs.int("instances", label="Instances found")
        outputs.int("unreadable", label="Unreadable images")
        outputs.list("queued", types.String(), label="Queued delegated operations")
        outputs.str("run_key", label="Run key (a rerun with it resumes)")
        return types.Property(outputs)


OPERATORS = [PreAnnotate]
