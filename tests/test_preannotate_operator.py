"""The pre_annotate operator through FiftyOne's own execution path: from
Python, its form (bad input marked invalid, nothing written), delegated with
progress, and split into K delegated operations over disjoint slices, one of
which fails and is rerun alone."""
import threading

import fiftyone as fo
import fiftyone.operators as foo
import numpy as np
import pytest
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionContext, ExecutionError, ExecutionRunState
from fiftyone.operators.registry import OperatorRegistry

from conftest import uri
from posekit.preannotate import RUN_ATTR, pre_annotate, register_model, unregister_model
from preannotate_models import BlobModel, add_blob_samples

OP = uri("pre_annotate")


class _Shared:
    """The registered test model's state (the registry makes fresh models)."""

    fail_on = set()
    calls = []


def _factory():
    model = BlobModel(confidence=(0.9, 0.9, 0.9), fail_on=_Shared.fail_on)

    def predict(image, _orig=model.predict):
        _Shared.calls.append(int(image[0, 0, 1]))
        return _orig(image)

    model.predict = predict
    return model


@pytest.fixture
def blob_model():
    _Shared.fail_on, _Shared.calls = set(), []
    register_model("test_blobs", _factory, "Blobs (test)")
    yield _Shared
    unregister_model("test_blobs")


@pytest.fixture
def blobs(dataset, tmp_path):
    add_blob_samples(dataset, tmp_path, n=9)
    return dataset


def _form(dataset, **params):
    op = OperatorRegistry().get_operator(OP)
    ctx = ExecutionContext(request_params={"dataset_name": dataset.name, "params": params})
    return op.resolve_input(ctx).to_json()["type"]["properties"]


def _work(dataset, workers=1):
    results = []

    def worker():
        results.extend(DelegatedOperationService().execute_queued_operations(
            operator=OP, dataset_name=dataset.name))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def _points(ds, field):
    ds.reload()
    return {s.key: str(np.asarray(s[field].keypoints[0].points).round(9).tolist())
            for s in ds if s[field] is not None and s[field].keypoints}


def test_from_python_equals_the_function_on_the_demo(demo_dataset):
    ds = demo_dataset
    result = foo.execute_operator(OP, dataset=ds, params={"label_field": "pre"})
    assert result.error is None, result.error
    assert result.result["samples"] == 4 and result.result["instances"] == 3
    pre_annotate(ds, "direct")
    for s in ds:
        a = [kp.points for kp in s.pre.keypoints]
        b = [kp.points for kp in s.direct.keypoints]
        assert np.allclose(np.asarray(a, float), np.asarray(b, float), equal_nan=True)
    assert "pre" not in (ds.skeletons or {})  # it is COCO-17, the default skeleton


def test_the_form_marks_bad_input_invalid_and_execution_changes_nothing(blobs, blob_model):
    ds = blobs
    ds.add_sample_field("boxes", fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    ok = _form(ds, model="test_blobs", label_field="pre", skeleton="coco17")
    assert not any(p.get("invalid") for p in ok.values())
    assert "mapping_summary" in ok
    assert "3 of 17" in ok["mapping_summary"]["view"]["label"]  # nose and wrists
    cases = [
        (dict(threshold=1.5), "threshold", "between 0 and 1"),
        (dict(num_slices=0), "num_slices", "between 1 and 64"),
        (dict(label_field="boxes"), "label_field", "does not hold fo.Keypoints"),
        (dict(label_field="bad name"), "label_field", "not a usable field name"),
        (dict(mapping="nose"), "mapping", "not model_node=skeleton_node"),
        (dict(mapping="beak=nose"), "mapping", "model nodes ['beak']"),
        (dict(model="mediapipe_hands"), "skeleton", "hand skeleton to a body skeleton"),
        (dict(detections_field="boxes", margin=-1), "margin", "must not be negative"),
    ]
    for extra, prop, message in cases:
        params = dict(dict(model="test_blobs", label_field="pre", skeleton="coco17"), **extra)
        props = _form(ds, **params)
        assert props[prop].get("invalid"), (extra, prop)
        assert message in props[prop]["error_message"], props[prop]["error_message"]
        with pytest.raises(ExecutionError):
            foo.execute_operator(OP, dataset=ds, params=params)
    ds.reload()
    assert "pre" not in ds.get_field_schema() or ds.exists("pre").count() == 0
    assert blob_model.calls == []


def test_delegated_with_progress_equals_immediate(blobs, blob_model):
    ds = blobs
    now = foo.execute_operator(OP, dataset=ds, params={
        "model": "test_blobs", "label_field": "now", "skeleton": "coco17"})
    assert now.error is None, now.error
    queued = foo.execute_operator(OP, dataset=ds, request_delegation=True, params={
        "model": "test_blobs", "label_field": "later", "skeleton": "coco17"})
    assert queued.error is None and queued.delegated
    assert "later" not in ds.get_field_schema()
    done = _work(ds)
    assert len(done) == 1 and done[0].error is None, done[0].error
    assert _points(ds, "later") == _points(ds, "now") and len(_points(ds, "now")) == 9
    (op,) = DelegatedOperationService().list_operations(dataset_name=ds.name)
    assert op.run_state == ExecutionRunState.COMPLETED and op.status.progress == 1.0


def test_k_slices_are_k_delegated_operations_and_a_failed_one_reruns_alone(blobs, blob_model):
    ds = blobs
    split = foo.execute_operator(OP, dataset=ds, params={
        "model": "test_blobs", "label_field": "pre", "skeleton": "coco17", "num_slices": 3})
    assert split.error is None, split.error
    assert split.result["num_slices"] == 3 and len(split.result["queued"]) == 3
    run_key = split.result["run_key"]
    service = DelegatedOperationService()
    ops = service.get_queued_operations(operator=OP, dataset_name=ds.name)
    assert len(ops) == 3 and sorted(o.label for o in ops) == [
        "pre_annotate slice %d/3" % i for i in (1, 2, 3)]
    # the last sample of one slice breaks the model
    bounds = [o.context.request_params["params"]["slice"] for o in ops]
    from posekit.preannotate import slice_view
    keys = [sorted(slice_view(ds, b).values("key")) for b in bounds]
    assert sorted(k for ks in keys for k in ks) == list(range(1, 10))
    blob_model.fail_on.add(keys[1][-1])

    done = _work(ds, workers=2)
    assert len(done) == 3
    states = {o.id: o.run_state for o in service.list_operations(dataset_name=ds.name)}
    failed = [i for i, s in states.items() if s == ExecutionRunState.FAILED]
    assert len(failed) == 1 and list(states.values()).count(ExecutionRunState.COMPLETED) == 2
    ds.reload()
    assert ds.match(fo.ViewField("pre." + RUN_ATTR) == run_key).count() == 8

    blob_model.fail_on.clear()
    service.rerun_operation(failed[0])
    again = _work(ds)
    assert len(again) == 1 and again[0].error is None, again[0].error
    ds.reload()
    assert ds.match(fo.ViewField("pre." + RUN_ATTR) == run_key).count() == 9
    # every image predicted once, the failing one twice (failure + rerun)
    counts = {k: blob_model.calls.count(k) for k in range(1, 10)}
    assert counts == {k: (2 if k == keys[1][-1] else 1) for k in range(1, 10)}
    assert sorted(_points(ds, "pre")) == list(range(1, 10))


def test_top_down_from_the_operator(dataset, tmp_path, blob_model):
    from preannotate_models import write_blob_image

    path = write_blob_image(str(tmp_path / "two.png"), 1, {"nose": (40, 30)})
    boxes = [fo.Detection(label="person", bounding_box=[0.15, 0.2, 0.15, 0.3]),
             fo.Detection(label="person", bounding_box=[0.6, 0.6, 0.3, 0.3]),
             fo.Detection(label="dog", bounding_box=[0.1, 0.1, 0.4, 0.5])]
    dataset.add_sample(fo.Sample(filepath=path, people=fo.Detections(detections=boxes)))
    props = _form(dataset, model="test_blobs", label_field="pre", skeleton="coco17",
                  detections_field="people")
    assert props["classes"]["default"] == "person" and "margin" in props
    out = foo.execute_operator(OP, dataset=dataset, params={
        "model": "test_blobs", "label_field": "pre", "skeleton": "coco17",
        "detections_field": "people", "classes": "person"})
    assert out.error is None, out.error
    (kp,) = dataset.first().pre.keypoints  # the 2nd person box holds no blob
    assert kp.detection_id == boxes[0].id
    assert np.allclose(np.asarray(kp.points[0]) * [200, 100], [42.5, 32.5])
    assert blob_model.calls == [1, 1]  # two person crops, the dog skipped
