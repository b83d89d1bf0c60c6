"""A request that fails mid-upload and cannot delete what it created
(issue 11, item 7): the user's message names the CVAT tasks left behind and
how to remove them, and the next request deletes them first."""
import re

import fiftyone as fo
import pytest

from annotation_flow import request_params, run, set_credentials, snapshot, tag_two


@pytest.fixture
def setup(demo_dataset, cvat_server, monkeypatch):
    set_credentials(monkeypatch, cvat_server)
    params = fo.annotation_config.backends.setdefault("posekit_cvat", {})
    monkeypatch.setitem(params, "request_timeout", 1.5)
    monkeypatch.setitem(params, "processing_timeout", 2)
    tag_two(demo_dataset)
    return demo_dataset, cvat_server


def _task_ids(server):
    return [t["id"] for t in server.session().get("/api/tasks").json()["results"]]


def test_tasks_left_behind_are_named_and_the_retry_deletes_them(setup):
    ds, server = setup
    before = snapshot(ds)
    server.faults.unauthorized_after(6)  # dies after the task is created
    result = run("request_skeleton_annotation", ds, request_params("pose"))
    assert result.error is not None
    server.faults.clear()
    left = _task_ids(server)
    assert left, "the fault should leave a task the rollback cannot delete"
    msg = result.error_message
    assert "401" in msg
    assert re.search(r"CVAT task\(s\) %s\b" % ", ".join(map(str, sorted(left))), msg), msg
    assert "left on the CVAT server at %s" % server.url in msg
    assert "retrying the request deletes them" in msg
    assert server.password not in msg
    assert snapshot(ds) == before  # no run, labels untouched

    result = run("request_skeleton_annotation", ds, request_params("pose"))
    assert result.error is None, result.error
    assert _task_ids(server) == result.result["task_ids"]  # leftovers gone
    ds.reload()
    assert not (ds.info.get("posekit") or {}).get("cvat_leftovers")
