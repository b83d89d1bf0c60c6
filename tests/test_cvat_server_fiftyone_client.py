"""FiftyOne's own CVAT client (``CVATAnnotationAPI``, FiftyOne 1.22.1) against
the emulator: log in, create a task, upload data, read annotations back, and
the full ``annotate()`` -> annotator edits -> ``load_annotations()`` loop."""
import os

import pytest
from PIL import Image


@pytest.fixture
def images(tmp_path):
    paths = []
    for i, size in enumerate([(64, 48), (80, 60), (32, 32), (50, 40)]):
        path = os.path.join(tmp_path, f"img{i}.png")
        Image.new("RGB", size, (i * 40, 0, 0)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def api(cvat_server):
    from fiftyone.utils.cvat import CVATAnnotationAPI

    api = CVATAnnotationAPI("cvat", cvat_server.url,
                            username=cvat_server.username,
                            password=cvat_server.password)
    yield api
    api.close()


def test_login_reads_server_version(api, cvat_server):
    assert str(api._server_version) == "2.23.1"
    assert ("POST", "/api/auth/login") in cvat_server.calls
    assert api.get_user_id(cvat_server.other_username) == 2


def test_login_by_email(cvat_server):
    from fiftyone.utils.cvat import CVATAnnotationAPI

    api = CVATAnnotationAPI("cvat", cvat_server.url, username="",
                            email=cvat_server.email,
                            password=cvat_server.password)
    assert api.get(api.about_url).json()["version"] == "2.23.1"


def test_create_task_upload_and_read_annotations(api, cvat_server, images):
    schema = {"person": {}}
    task_id, class_ids, _ = api.create_task("fo-task", schema=schema,
                                            segment_size=3,
                                            task_assignee=cvat_server.other_username)
    job_ids = api.upload_data(task_id, images,
                              job_assignees=[cvat_server.other_username])
    assert len(job_ids) == 2  # 4 images, segments of 3
    meta = api.get(api.task_data_meta_url(task_id)).json()
    assert [(f["width"], f["height"]) for f in meta["frames"]] == [
        (64, 48), (80, 60), (32, 32), (50, 40)]
    assert [f["name"] for f in meta["frames"]] == [
        os.path.basename(p) for p in images]

    # CVAT lists jobs newest first: FiftyOne's ids come in that order
    starts = {j: api.get(api.taskless_job_url(j)).json()["start_frame"] for j in job_ids}
    assert [starts[j] for j in job_ids] == [3, 0]
    job_ids = sorted(job_ids, key=starts.get)
    job = api.get(api.taskless_job_url(job_ids[0])).json()
    assert job["assignee"]["username"] == cvat_server.other_username
    assert api.get(api.task_url(task_id)).json()["assignee"]["id"] == 2

    # the annotator draws a box on frame 3 (second job)
    label_id = class_ids["person"]
    annotator = cvat_server.other_session()
    r = annotator.put(f"/api/jobs/{job_ids[1]}/annotations", json={
        "shapes": [{"type": "rectangle", "frame": 3, "label_id": label_id,
                    "points": [1, 2, 10, 20]}]})
    assert r.status_code == 200, r.text
    read = [api.get(api.job_annotation_url(j)).json() for j in job_ids]
    assert read[0]["shapes"] == []
    assert read[1]["shapes"][0]["points"] == [1.0, 2.0, 10.0, 20.0]

    api.delete_task(task_id)
    assert not api.task_exists(task_id)


def test_annotate_and_load_annotations_round_trip(cvat_server, dataset, images):
    import fiftyone as fo

    dataset.add_samples([fo.Sample(filepath=p) for p in images])
    dataset.compute_metadata()
    results = dataset.annotate(
        "round", backend="cvat", label_field="people",
        label_type="detections", classes=["person"],
        url=cvat_server.url, username=cvat_server.username,
        password=cvat_server.password,
    )
    task_id = results.task_ids[0]
    labels = cvat_server.session().get(f"/api/labels?task_id={task_id}").json()
    label_id = {lab["name"]: lab["id"] for lab in labels["results"]}["person"]
    job_id = cvat_server.session().get(f"/api/jobs?task_id={task_id}").json()["results"][0]["id"]
    r = cvat_server.session().put(f"/api/jobs/{job_id}/annotations", json={
        "shapes": [{"type": "rectangle", "frame": 1, "label_id": label_id,
                    "points": [8, 6, 40, 30]}]})
    assert r.status_code == 200, r.text

    dataset.load_annotations("round", url=cvat_server.url,
                             username=cvat_server.username,
                             password=cvat_server.password, cleanup=True)
    sample = dataset.skip(1).first()
    (det,) = sample.people.detections
    assert det.label == "person"
    assert det.bounding_box == pytest.approx([8 / 80, 6 / 60, 32 / 80, 24 / 60])
    assert ("DELETE", f"/api/tasks/{task_id}") in cvat_server.calls
    assert task_id not in cvat_server.state.tasks


def test_annotate_keypoints_in_a_project(cvat_server, dataset, images):
    """The project path: FiftyOne creates a project, a task inside it, reuses
    the project's labels and reads points back from the job."""
    import fiftyone as fo

    dataset.add_samples([fo.Sample(filepath=p) for p in images[:2]])
    dataset.compute_metadata()
    results = dataset.annotate(
        "kp", backend="cvat", label_field="kps", label_type="keypoints",
        classes=["hand"], project_name="fo-project",
        url=cvat_server.url, username=cvat_server.username,
        password=cvat_server.password,
    )
    s = cvat_server.session()
    (project,) = s.get("/api/projects?search=fo-project").json()["results"]
    task_id = results.task_ids[0]
    task = s.get(f"/api/tasks/{task_id}").json()
    assert task["project_id"] == project["id"]
    labels = s.get(f"/api/labels?task_id={task_id}").json()["results"]
    assert [lab["project_id"] for lab in labels] == [project["id"]]
    job_id = s.get(f"/api/jobs?task_id={task_id}").json()["results"][0]["id"]
    r = s.put(f"/api/jobs/{job_id}/annotations", json={"shapes": [
        {"type": "points", "frame": 0, "label_id": labels[0]["id"],
         "points": [32, 24, 16, 12]}]})
    assert r.status_code == 200, r.text

    dataset.load_annotations("kp", url=cvat_server.url,
                             username=cvat_server.username,
                             password=cvat_server.password)
    (kp,) = dataset.first().kps.keypoints
    assert kp.label == "hand"
    assert kp.points == [pytest.approx((0.5, 0.5)), pytest.approx((0.25, 0.25))]
