"""Contract test: drive the emulator with ``cvat-sdk==2.23.1`` (an independent
client generated from CVAT's OpenAPI schema, which type-checks every answer)."""
import os

import pytest
from PIL import Image

import cvat_sdk
from cvat_sdk import make_client, models

NODES = ["head", "hip", "foot"]
SVG = (
    '<line x1="30" y1="20" x2="30" y2="50" data-type="edge" data-node-from="1" data-node-to="2"></line>'
    '<line x1="30" y1="50" x2="50" y2="80" data-type="edge" data-node-from="2" data-node-to="3"></line>'
    + "".join(
        f'<circle r="1.5" cx="30" cy="{20 + 30 * i}" data-type="element node" '
        f'data-element-id="{i + 1}" data-node-id="{i + 1}" data-label-name="{n}"></circle>'
        for i, n in enumerate(NODES)
    )
)


def test_sdk_version_is_the_pinned_one():
    assert cvat_sdk.__version__ == "2.23.1"


@pytest.fixture
def client(cvat_server):
    with make_client(cvat_server.url, credentials=(cvat_server.username,
                                                   cvat_server.password)) as c:
        c.config.status_check_period = 0.01
        yield c


def test_skeleton_round_trip_with_cvat_sdk(client, cvat_server, tmp_path):
    path = os.path.join(tmp_path, "smoke.jpg")
    Image.new("RGB", (320, 240), "gray").save(path)
    client.check_server_version(fail_if_unsupported=True)

    spec = models.TaskWriteRequest(name="sdk-skeleton", labels=[
        models.PatchedLabelRequest(
            name="person", type="skeleton", svg=SVG,
            sublabels=[models.SublabelRequest(name=n, type="points") for n in NODES])])
    task = client.tasks.create_from_data(
        spec, resources=[path], data_params={"image_quality": 75})
    assert task.size == 1

    (skeleton,) = task.get_labels()
    ids = {s.name: s.id for s in skeleton.sublabels}
    assert [s.name for s in skeleton.sublabels] == NODES
    for name, sid in ids.items():
        assert f'data-label-id="{sid}"' in skeleton.svg
    assert "data-label-name" not in skeleton.svg

    (frame,) = task.get_meta().frames
    assert (frame.width, frame.height, frame.name) == (320, 240, "smoke.jpg")

    points = {"head": [160.0, 50.0], "hip": [160.0, 150.0], "foot": [0.0, 0.0]}
    task.set_annotations(models.LabeledDataRequest(shapes=[
        models.LabeledShapeRequest(
            type="skeleton", frame=0, label_id=skeleton.id, points=[],
            elements=[models.SubLabeledShapeRequest(
                type="points", frame=0, label_id=ids[n], points=points[n],
                outside=n == "foot", occluded=n == "hip") for n in NODES])]))

    (job,) = task.get_jobs()
    for source in (task, job):
        (shape,) = source.get_annotations().shapes
        assert shape.type.value == "skeleton" and shape.label_id == skeleton.id
        by_label = {e.label_id: e for e in shape.elements}
        assert set(by_label) == set(ids.values())
        for n in NODES:
            el = by_label[ids[n]]
            assert el.points == points[n]
            assert (el.outside, el.occluded) == (n == "foot", n == "hip")
        # CVAT does not promise sublabel order; neither does the emulator
        assert [e.label_id for e in shape.elements] != [ids[n] for n in NODES]

    task.remove()
    assert task.id not in cvat_server.state.tasks
    with pytest.raises(cvat_sdk.exceptions.ApiException) as e:
        client.tasks.retrieve(task.id)
    assert e.value.status == 404


def test_sdk_project_with_skeleton_and_task_inside(client):
    project = client.projects.create(models.ProjectWriteRequest(
        name="proj", labels=[models.PatchedLabelRequest(
            name="person", type="skeleton", svg=SVG,
            sublabels=[models.SublabelRequest(name=n, type="points") for n in NODES])]))
    task = client.tasks.create(models.TaskWriteRequest(name="t", project_id=project.id))
    (label,) = task.get_labels()
    assert label.project_id == project.id and label.name == "person"
    assert [t.id for t in project.get_tasks()] == [task.id]
    project.remove()
    assert client.tasks.list() == []


def test_sdk_job_patch_and_user_lookup(client, cvat_server, tmp_path):
    paths = []
    for i in range(5):
        paths.append(os.path.join(tmp_path, f"f{i}.png"))
        Image.new("RGB", (10 + i, 10)).save(paths[-1])
    task = client.tasks.create_from_data(
        models.TaskWriteRequest(name="jobs", segment_size=2,
                                labels=[models.PatchedLabelRequest(name="cat")]),
        resources=paths, data_params={"sorting_method": "predefined"})
    # CVAT lists a task's jobs newest first
    assert [(j.start_frame, j.stop_frame) for j in task.get_jobs()] == [(4, 4), (2, 3), (0, 1)]
    jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
    (other,) = [u for u in client.users.list() if u.username == cvat_server.other_username]
    jobs[1].update(models.PatchedJobWriteRequest(assignee=other.id, stage="validation"))
    job = client.jobs.retrieve(jobs[1].id)
    assert job.assignee.username == cvat_server.other_username
    assert str(getattr(job.stage, "value", job.stage)) == "validation"
    assert [f.name for f in task.get_meta().frames] == [f"f{i}.png" for i in range(5)]
