"""Jobs in frame order and "Open CVAT when done" (issue 11, items 6 and 9):
real CVAT lists a task's jobs newest first; the editor link, "Open in CVAT"
and the job-assignee round robin follow ``start_frame``."""
import pytest

from annotation_flow import request_params, run, set_credentials, tag_two


@pytest.fixture
def newest_first(cvat_server):
    """The emulator lists jobs newest first, as CVAT 2.23/2.73 do."""
    return cvat_server


def _jobs(server, task_id):
    s = server.session()
    jobs = s.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    return sorted(jobs, key=lambda j: j["start_frame"])


def test_editor_link_and_assignees_follow_frames(demo_dataset, newest_first, monkeypatch):
    server = newest_first
    set_credentials(monkeypatch, server)
    ds = demo_dataset
    tag_two(ds)
    result = run("request_skeleton_annotation", ds, request_params(
        "jobs", segment_size=1, job_assignees=[server.username, server.other_username]))
    assert result.error is None, result.error
    (task_id,) = result.result["task_ids"]
    first, second = _jobs(server, task_id)
    assert server.session().get("/api/jobs", params={"task_id": task_id}).json()[
        "results"][0]["id"] == second["id"]  # listed newest first
    link = "%s/tasks/%d/jobs/%d" % (server.url, task_id, first["id"])
    assert result.result["editor_url"] == link
    assert run("open_annotation_run", ds, {"anno_key": "jobs"}).result["editor_url"] == link
    assert first["assignee"]["username"] == server.username
    assert second["assignee"]["username"] == server.other_username
    ds.reload()
    assert ds.load_annotation_results("jobs").job_ids[task_id] == [first["id"], second["id"]]


def test_open_cvat_when_done_opens_the_first_job(demo_dataset, newest_first, monkeypatch):
    import webbrowser

    server = newest_first
    set_credentials(monkeypatch, server)
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    ds = demo_dataset
    tag_two(ds)
    result = run("request_skeleton_annotation", ds, request_params("quiet", segment_size=1))
    assert result.error is None, result.error
    assert opened == []
    result = run("request_skeleton_annotation", ds,
                 request_params("open", segment_size=1, launch_editor=True))
    assert result.error is None, result.error
    assert opened == [result.result["editor_url"]]
    (task_id,) = result.result["task_ids"]
    assert opened[0].endswith("/jobs/%d" % _jobs(server, task_id)[0]["id"])
