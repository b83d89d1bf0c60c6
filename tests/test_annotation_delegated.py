"""The annotation round trip as delegated operations: same final dataset as
immediate execution, progress reported, and one run per operation even with
two workers on the same database."""
import threading

import numpy as np
import pytest
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionRunState

from annotation_flow import (
    FIELD, assert_loaded, play_annotator, request_params, run, set_credentials,
    tag_two,
)
from conftest import uri
from cvat_server.fixtures import PROFILES

pytestmark = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)  # 2.23.1 and 2.73.0


def _labels(ds):
    """Per tagged sample (in filepath order): sorted (label, points, occluded)."""
    ds.reload()
    out = []
    for sample in ds.match_tags("annotate").sort_by("filepath"):
        kps = sample[FIELD].keypoints if sample[FIELD] else []
        out.append(sorted(
            (k.label, str(np.round(np.asarray(k.points, float), 9).tolist()), str(k["occluded"]))
            for k in kps
        ))
    return out


def _work(operator, dataset, workers=1):
    """Runs the queued operations of ``operator`` with ``workers`` concurrent
    workers; returns every worker's results."""
    results = []

    def worker():
        results.extend(DelegatedOperationService().execute_queued_operations(
            operator=uri(operator), dataset_name=dataset.name))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def _flow(ds, server, delegate):
    tag_two(ds)
    queued = run("request_skeleton_annotation", ds, request_params("pose"), delegate=delegate)
    if delegate:
        assert queued.error is None, queued.error
        assert "pose" not in ds.list_annotation_runs()  # queued, not run yet
        done = _work("request_skeleton_annotation", ds, workers=2)
        assert len(done) == 1 and done[0].error is None, done[0].error
        # two workers, one execution: one CVAT task
        assert sum(1 for m, p in server.calls if m == "POST" and p == "/api/tasks") == 1
    else:
        assert queued.error is None, queued.error
    ds.reload()
    results = ds.load_annotation_results("pose")
    (task_id,) = results.task_ids
    expected = play_annotator(server.session(), task_id, seed=7)
    loaded = run("load_skeleton_annotation", ds, {"anno_key": "pose"}, delegate=delegate)
    assert loaded.error is None, loaded.error
    if delegate:
        done = _work("load_skeleton_annotation", ds, workers=2)
        assert len(done) == 1 and done[0].error is None, done[0].error
    assert_loaded(ds, "pose", expected)
    return _labels(ds)


def test_delegated_equals_immediate(demo_media_dir, cvat_server, monkeypatch):
    from posekit import demo

    set_credentials(monkeypatch, cvat_server)
    a = demo.build_dataset("pk-deleg-a", media_dir=demo_media_dir)
    b = demo.build_dataset("pk-deleg-b", media_dir=demo_media_dir)
    try:
        immediate = _flow(a, cvat_server, delegate=False)
        cvat_server.calls.clear()
        delegated = _flow(b, cvat_server, delegate=True)
        assert delegated == immediate

        ops = DelegatedOperationService().list_operations(dataset_name=b.name)
        assert len(ops) == 2
        for op in ops:
            assert op.run_state == ExecutionRunState.COMPLETED
            assert op.status is not None and op.status.progress == 1.0
        # the queued params carry no credentials
        for op in ops:
            assert cvat_server.password not in str(op.context.request_params)
    finally:
        a.delete()
        b.delete()
