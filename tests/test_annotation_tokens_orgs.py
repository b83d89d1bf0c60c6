"""posekit against today's CVAT: a personal access token instead of a
username and password (2.73), and runs inside a CVAT organization."""
import logging

import pytest

from annotation_flow import (
    FIELD, assert_loaded, form_text, play_annotator, request_params, run,
    set_credentials, set_token, snapshot, tag_two,
)
from posekit.cvat import runs
from posekit.templates import get_template


@pytest.fixture
def ds(demo_dataset):
    demo_dataset.default_skeleton = get_template("coco17").to_skeleton()
    demo_dataset.save()
    tag_two(demo_dataset)
    return demo_dataset


def _stored(ds):
    """Everything posekit keeps about runs, as text."""
    ds.reload()
    return str({k: v.to_dict() for k, v in ds._doc.annotation_runs.items()})


@pytest.mark.parametrize("cvat_server", ["2.73.0"], indirect=True)
def test_token_only_round_trip(ds, cvat_server, monkeypatch, caplog):
    token = cvat_server.access_token(read_only=False)
    set_token(monkeypatch, cvat_server, token)
    caplog.set_level(logging.DEBUG)
    form = form_text("request_skeleton_annotation", ds)
    assert "signed in with the API token" in form and token not in form

    result = run("request_skeleton_annotation", ds, request_params("tok"))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    # no login at all: every call carried the token
    assert ("POST", "/api/auth/login") not in cvat_server.calls
    expected = play_annotator(cvat_server.session(), task_id, seed=5)
    result = run("load_skeleton_annotation", ds, {"anno_key": "tok"})
    assert result.error is None, result.error
    assert_loaded(ds, "tok", expected)
    assert token not in _stored(ds) and token not in caplog.text
    assert token not in str(result.result)


@pytest.mark.parametrize("cvat_server", ["2.73.0"], indirect=True)
def test_read_only_token_is_refused_before_anything_is_uploaded(ds, cvat_server, monkeypatch):
    token = cvat_server.access_token(read_only=True)
    set_token(monkeypatch, cvat_server, token)
    before = snapshot(ds)
    result = run("request_skeleton_annotation", ds, request_params("ro"))
    assert "this token cannot write: create a read-write token" in result.error_message.lower()
    assert token not in result.error_message
    assert cvat_server.state.tasks == {} and cvat_server.state.projects == {}
    assert not [c for c in cvat_server.calls if c[0] != "GET"]
    assert snapshot(ds) == before


@pytest.mark.parametrize("cvat_server", ["2.73.0"], indirect=True)
def test_revoked_token_is_named_as_the_problem(ds, cvat_server, monkeypatch):
    set_token(monkeypatch, cvat_server, "deadbeef.0123456789abcdef0123456789abcdef")
    result = run("request_skeleton_annotation", ds, request_params("bad"))
    assert "rejected the API token" in result.error_message
    assert "deadbeef" not in result.error_message
    assert cvat_server.state.tasks == {}


def test_a_token_on_2_23_says_use_a_username_and_password(ds, cvat_server, monkeypatch):
    assert cvat_server.version == "2.23.1"
    set_token(monkeypatch, cvat_server, "deadbeef.0123456789abcdef0123456789abcdef")
    result = run("request_skeleton_annotation", ds, request_params("old"))
    assert "this CVAT has no API tokens (2.23.1): use a username and password" in \
        result.error_message.replace("This", "this")
    assert "deadbeef" not in result.error_message
    assert cvat_server.state.tasks == {}
    # the version was read once, anonymously, and decided: no login, no Bearer try
    assert cvat_server.calls == [("GET", "/api/server/about")]


@pytest.mark.parametrize("cvat_server", ["2.23.1", "2.73.0"], indirect=True)
def test_run_in_an_organization_loads_from_the_personal_context(ds, cvat_server, monkeypatch):
    """Alice requests into her organization; Bob, a maintainer there but not
    the tasks' owner, loads the run. Lists without the org answer nothing to
    Bob (as recorded), so every later call (load, status, delete) must send
    the run's organization."""
    alice, bob = cvat_server.add_user("alice"), cvat_server.add_user("bob")
    org = cvat_server.add_organization("lab", owner=alice, members=[(bob, "maintainer")])
    set_credentials(monkeypatch, cvat_server, username="alice", password="alice-password-9")

    form = form_text("request_skeleton_annotation", ds)
    assert "Personal workspace" in form and '"lab"' in form

    result = run("request_skeleton_annotation", ds, request_params("org", organization="lab"))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    assert cvat_server.state.tasks[task_id]["org_id"] == org["id"]
    assert ds.get_annotation_info("org").config.organization == "lab"

    set_credentials(monkeypatch, cvat_server, username="bob", password="bob-password-9")
    bob_session = cvat_server.session("bob", "bob-password-9")
    assert bob_session.get("/api/jobs", params={"task_id": task_id}).json()["count"] == 0

    expected = play_annotator(cvat_server.session(), task_id, seed=2)
    result = run("load_skeleton_annotation", ds, {"anno_key": "org"})
    assert result.error is None, result.error
    assert_loaded(ds, "org", expected)

    status = runs.run_status(ds, "org", credentials={
        "url": cvat_server.url, "username": "bob", "password": "bob-password-9"})
    assert [len(t["jobs"]) for t in status["tasks"]] == [1]
    result = run("delete_annotation_run", ds, {"anno_key": "org", "delete_tasks": True})
    assert result.error is None, result.error
    assert task_id not in cvat_server.state.tasks
