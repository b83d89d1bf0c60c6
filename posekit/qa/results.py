"""The evaluation run posekit records on a dataset, through FiftyOne's public
evaluation-run classes (``fiftyone.core.evaluation``): it is listed by
``list_evaluations()``, loaded by ``load_evaluation_results(key)`` and removed
(with its fields) by ``delete_evaluation(key)``, like FiftyOne's own.
"""
import fiftyone.core.evaluation as foe

from posekit import fo_compat
from posekit.qa import errors as qe
from posekit.qa.report import to_markdown

METHOD = "posekit-coco-oks"
LABEL_SUFFIXES = ("", "_id", "_oks")
ERROR_SUFFIXES = tuple(f"_{c}" for c in qe.ERRORS) + (qe.KEYPOINT_SUFFIX,)


class PoseEvaluationConfig(foe.EvaluationMethodConfig):
    """Parameters of a ``posekit.qa.evaluate`` run."""

    def __init__(self, pred_field, gt_field, sigmas=None, iou=0.5,
                 crowd_field=None, sigmas_source=None, **kwargs):
        super().__init__(**kwargs)
        self.pred_field = pred_field
        self.gt_field = gt_field
        self.sigmas = sigmas
        self.iou = iou
        self.crowd_field = crowd_field
        self.sigmas_source = sigmas_source

    @property
    def method(self):
        return METHOD


class PoseEvaluation(foe.EvaluationMethod):
    """The run class FiftyOne calls to list, rename and clean up the fields."""

    def get_fields(self, samples, eval_key):
        c = self.config
        fields = [f"{eval_key}_tp", f"{eval_key}_fp", f"{eval_key}_fn"]
        for f in (c.pred_field, c.gt_field):
            fields += [f"{f}.keypoints.{eval_key}{s}" for s in LABEL_SUFFIXES]
        fields += [f"{c.pred_field}.keypoints.{eval_key}{s}" for s in ERROR_SUFFIXES]
        return [f for f in fields if samples.get_field(f) is not None]

    def rename(self, samples, eval_key, new_eval_key):
        ds = fo_compat.root_dataset(samples)
        old = self.get_fields(ds, eval_key)
        new = [f.replace(f".{eval_key}", f".{new_eval_key}", 1)
               if "." in f else f.replace(eval_key, new_eval_key, 1) for f in old]
        ds.rename_sample_fields(dict(zip(old, new)))

    def cleanup(self, samples, eval_key):
        ds = fo_compat.root_dataset(samples)
        fields = self.get_fields(ds, eval_key)
        top = [f for f in fields if "." not in f]
        nested = [f for f in fields if "." in f]
        if top:
            ds.delete_sample_fields(top)
        for f in nested:
            ds.delete_sample_field(f)


class PoseEvaluationResults(foe.EvaluationResults):
    """The result of ``posekit.qa.evaluate``: ``.report()``, ``.print_report()``,
    ``.per_keypoint()``, ``.errors()``, ``.metrics()`` and ``.markdown()``."""

    def __init__(self, samples, config, eval_key, data, backend=None):
        super().__init__(samples, config, eval_key, backend=backend)
        data = dict(data)
        err = data.get("errors")
        if err is not None and "_rows" in err:
            err = dict(err)
            err.pop("_rows")  # row indices: not stored with the run
            data["errors"] = err
        self.data = data

    def attributes(self):
        return ["cls", "data"]

    @classmethod
    def _from_dict(cls, d, samples, config, eval_key, **kwargs):
        return cls(samples, config, eval_key, d["data"], **kwargs)

    def metrics(self):
        """COCO's ten numbers by name (AP, AP50, AP75, AP_medium, ...)."""
        return dict(self.data["stats"])

    def report(self):
        """Everything measured, as plain data (a dict)."""
        return self.data

    def per_keypoint(self):
        """Per keypoint: sigma, count, mean similarity, median error and,
        when mined, the error-class counts."""
        rows = [dict(r) for r in self.data["per_keypoint"]]
        err = self.data.get("errors")
        if err:
            for r, e in zip(rows, err["per_keypoint"]):
                r.update({c: e[c] for c in qe.CLASSES})
        return rows

    def errors(self):
        """The error mining: per-class and per-keypoint counts, AP if each
        class were fixed, PCK; ``None`` when run with ``errors=False``."""
        return self.data.get("errors")

    def markdown(self, plots=True, compact=False):
        """The report as Markdown (tables, SVG bar charts); ``compact``: for
        a narrow panel (metrics in one column, per keypoint as a chart)."""
        return to_markdown(self.data, plots=plots, compact=compact)

    def print_report(self):
        """Prints the summary numbers, the per-keypoint table and the error
        classes."""
        print(to_markdown(self.data, plots=False, plain=True))
