"""A failing CVAT (down, 401, 500, timeouts, dropped connections, failed or
stalled processing) mid-upload or mid-download: a clear message without
secrets, the dataset's labels and runs unchanged, and a retry that works."""
import pytest

import fiftyone as fo

from annotation_flow import play_annotator, request_params, run, set_credentials, snapshot, tag_two
from cvat_server.fixtures import PROFILES

BOTH = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)  # 2.23.1 and 2.73.0

TIMEOUTS = {"request_timeout": 1.5, "processing_timeout": 2}


@pytest.fixture
def setup(demo_dataset, cvat_server, monkeypatch):
    set_credentials(monkeypatch, cvat_server)
    params = fo.annotation_config.backends.setdefault("posekit_cvat", {})
    for k, v in TIMEOUTS.items():
        monkeypatch.setitem(params, k, v)
    tag_two(demo_dataset)
    return demo_dataset, cvat_server


def _assert_clean_failure(result, server, *needles):
    assert result.error is not None, "the operation should have failed"
    msg = result.error_message or ""
    for needle in needles:
        assert needle.lower() in msg.lower(), msg
    for text in (msg, result.error):
        assert server.password not in text
        assert "Token " not in text and "csrftoken=" not in text


def _tasks(server):
    s = server.session()
    return s.get("/api/tasks").json()["count"]


UPLOAD_FAULTS = {
    "down": (lambda f: f.refuse_connections(), ["cannot reach"]),
    "401_at_login": (lambda f: f.unauthorized_after(0), ["401", "password"]),
    "401_mid_upload": (lambda f: f.unauthorized_after(6), ["401"]),
    "500_on_annotations": (
        lambda f: f.error(r"/api/tasks/\d+/annotations", 500, method="PUT"), ["500"]),
    "500_on_data": (lambda f: f.error(r"/api/tasks/\d+/data", 500, method="POST"), ["500"]),
    "timeout_on_data": (
        lambda f: f.delay(r"/api/tasks/\d+/data", 4, method="POST"), ["did not answer"]),
    "dropped_labels": (lambda f: f.drop(r"/api/labels"), ["dropped"]),
    "processing_failed": (lambda f: f.fail_processing(), ["failed to process"]),
    "processing_stalled": (lambda f: f.stall_processing(), ["did not finish processing"]),
}


@BOTH
@pytest.mark.parametrize("fault", sorted(UPLOAD_FAULTS))
def test_request_fault(setup, fault):
    ds, server = setup
    switch, needles = UPLOAD_FAULTS[fault]
    before = snapshot(ds)
    switch(server.faults)
    result = run("request_skeleton_annotation", ds, request_params("pose"))
    _assert_clean_failure(result, server, *needles)
    server.faults.clear()
    assert snapshot(ds) == before
    if fault not in ("401_mid_upload",):  # with 401, the rollback cannot delete
        assert _tasks(server) == 0, "created tasks are rolled back"

    result = run("request_skeleton_annotation", ds, request_params("pose"))
    assert result.error is None, result.error
    assert "pose" in ds.list_annotation_runs()


DOWNLOAD_FAULTS = {
    "down": (lambda f: f.refuse_connections(), ["cannot reach"]),
    "401": (lambda f: f.unauthorized_after(3), ["401"]),
    "500_on_job": (
        lambda f: f.error(r"/api/jobs/\d+/annotations", 500, method="GET"), ["500"]),
    "timeout_on_job": (
        lambda f: f.delay(r"/api/jobs/\d+/annotations", 4, method="GET"), ["did not answer"]),
    "dropped_job": (lambda f: f.drop(r"/api/jobs/\d+/annotations", method="GET"), ["dropped"]),
    "500_on_meta": (lambda f: f.error(r"/data/meta", 500), ["500"]),
}


@BOTH
@pytest.mark.parametrize("fault", sorted(DOWNLOAD_FAULTS))
def test_load_fault(setup, fault):
    ds, server = setup
    result = run("request_skeleton_annotation", ds, request_params("pose"))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    play_annotator(server.session(), task_id, seed=1)
    before = snapshot(ds)
    results_before = ds.load_annotation_results("pose").serialize()

    switch, needles = DOWNLOAD_FAULTS[fault]
    switch(server.faults)
    result = run("load_skeleton_annotation", ds, {"anno_key": "pose", "cleanup": True})
    _assert_clean_failure(result, server, *needles)
    server.faults.clear()
    assert snapshot(ds) == before
    ds._annotation_cache.clear()
    assert ds.load_annotation_results("pose").serialize() == results_before

    result = run("load_skeleton_annotation", ds, {"anno_key": "pose"})
    assert result.error is None, result.error
    assert snapshot(ds) != before


def test_missing_credentials_message(demo_dataset, monkeypatch):
    for k in ("URL", "USERNAME", "PASSWORD", "EMAIL"):
        monkeypatch.delenv("FIFTYONE_CVAT_" + k, raising=False)
    tag_two(demo_dataset)
    result = run("request_skeleton_annotation", demo_dataset, request_params("pose"))
    assert result.error is not None
    assert "FIFTYONE_CVAT_PASSWORD" in result.error_message
    assert demo_dataset.list_annotation_runs() == []


@BOTH
def test_wrong_password_is_not_echoed(setup, monkeypatch):
    ds, server = setup
    monkeypatch.setenv("FIFTYONE_CVAT_PASSWORD", "wrong-secret-123")
    result = run("request_skeleton_annotation", ds, request_params("pose"))
    assert result.error is not None
    assert "401" in result.error_message or "password" in result.error_message.lower()
    assert "wrong-secret-123" not in result.error_message
    assert "wrong-secret-123" not in result.error
    assert ds.list_annotation_runs() == []
