"""CVAT's rules as the emulator enforces them: auth, permissions, label and
annotation validation (400 with field-keyed errors), pagination, filters,
job ranges, PATCH actions, skeleton elements and tracks."""
import io
import zipfile

import pytest
import requests
from PIL import Image

NODES = ["nose", "left_eye", "right_eye", "neck"]


def _png(w, h):
    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, "PNG")
    return buf.getvalue()


def skeleton_spec(name="person", nodes=NODES):
    svg = "".join(
        f'<circle r="1.5" cx="{10 * i}" cy="10" data-type="element node" data-element-id="{i + 1}" '
        f'data-node-id="{i + 1}" data-label-name="{n}"></circle>' for i, n in enumerate(nodes))
    return {"name": name, "type": "skeleton", "svg": svg,
            "sublabels": [{"name": n, "type": "points"} for n in nodes]}


@pytest.fixture
def s(cvat_server):
    return cvat_server.session()


@pytest.fixture
def task(s, cvat_server):
    """A task with a skeleton, a box label, 6 frames in jobs of 3."""
    body = s.post("/api/tasks", json={"name": "v", "segment_size": 3, "labels": [
        skeleton_spec(), {"name": "box", "type": "rectangle",
                          "attributes": [{"name": "kind", "input_type": "select",
                                          "mutable": False, "values": ["a", "b"]}]}]}).json()
    r = s.post(f"/api/tasks/{body['id']}/data/", data={"image_quality": 70, "sorting_method": "natural"},
               files={f"client_files[{i}]": (f"f{i}.png", _png(20 + i, 10)) for i in range(6)})
    assert r.status_code == 202
    assert cvat_server.wait_for_request(s, r.json()["rq_id"])["status"] == "finished"
    labels = s.get(f"/api/labels?task_id={body['id']}").json()["results"]
    served = s.get(f"/api/jobs?task_id={body['id']}").json()["results"]
    jobs = sorted(served, key=lambda j: j["start_frame"])
    assert served == jobs[::-1]  # CVAT lists a task's jobs newest first
    return {"id": body["id"], "skeleton": labels[0], "box": labels[1], "jobs": jobs}


def skeleton_shape(task, frame=0, **over):
    sk = task["skeleton"]
    shape = {"type": "skeleton", "frame": frame, "label_id": sk["id"], "points": [],
             "elements": [{"type": "points", "frame": frame, "label_id": sub["id"],
                           "points": [float(i), float(i + 1)], "outside": i == 3}
                          for i, sub in enumerate(sk["sublabels"])]}
    shape.update(over)
    return shape


# auth and permissions


def test_requests_without_credentials_get_401(cvat_server):
    r = requests.get(cvat_server.url + "/api/tasks")
    assert r.status_code == 401
    assert r.json() == {"detail": "Authentication credentials were not provided."}
    r = requests.get(cvat_server.url + "/api/tasks", headers={"Authorization": "Token nope"})
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token."})


def test_login_token_basic_and_csrf(cvat_server):
    url = cvat_server.url
    bad = requests.post(url + "/api/auth/login", json={"username": cvat_server.username, "password": "wrong"})
    assert bad.status_code == 400 and "non_field_errors" in bad.json()
    assert cvat_server.password not in bad.text
    r = requests.post(url + "/api/auth/login", json={"email": cvat_server.email, "password": cvat_server.password})
    assert r.status_code == 200 and {"sessionid", "csrftoken", "sessionfresh"} <= set(r.cookies.keys())
    token = r.json()["key"]
    assert requests.get(url + "/api/users/self", headers={"Authorization": f"Token {token}"}).json()["username"] == "admin"
    assert requests.get(url + "/api/users/self", auth=(cvat_server.username, cvat_server.password)).status_code == 200
    # session cookie without the CSRF header may read but not write
    sess = requests.Session()
    sess.post(url + "/api/auth/login", json={"username": cvat_server.username, "password": cvat_server.password})
    assert sess.get(url + "/api/tasks").status_code == 200
    r = sess.post(url + "/api/tasks", json={"name": "x", "labels": [{"name": "a"}]})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]


def test_other_users_task_is_forbidden(cvat_server, s, task):
    other = cvat_server.other_session()
    assert other.get("/api/tasks").json()["count"] == 0
    assert other.get(f"/api/tasks/{task['id']}").status_code == 403
    r = other.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": []})
    assert r.status_code == 403
    assert other.get("/api/tasks/999").status_code == 404
    # assigning a job makes the task visible to the assignee
    s.patch(f"/api/jobs/{task['jobs'][0]['id']}", json={"assignee": 2})
    assert other.get(f"/api/tasks/{task['id']}").status_code == 200
    assert other.delete(f"/api/tasks/{task['id']}").status_code == 403


def test_other_users_project_is_forbidden(cvat_server, s):
    p = s.post("/api/projects", json={"name": "mine", "labels": [skeleton_spec()]}).json()
    other = cvat_server.other_session()
    assert other.get("/api/projects").json()["count"] == 0
    assert other.get(f"/api/projects/{p['id']}").status_code == 403
    assert other.get(f"/api/labels?project_id={p['id']}").status_code == 403
    assert other.delete(f"/api/projects/{p['id']}").status_code == 403
    assert s.get(f"/api/projects/{p['id']}").status_code == 200


def test_unknown_paths_and_methods(s, task):
    assert s.get(f"/api/tasks/{task['id']}/jobs").status_code == 404
    assert s.put(f"/api/tasks/{task['id']}/data/meta").status_code == 405


# labels


def test_skeleton_label_record(s, task):
    sk = task["skeleton"]
    assert sk["type"] == "skeleton" and sk["task_id"] == task["id"] and "project_id" not in sk
    assert [sub["name"] for sub in sk["sublabels"]] == NODES
    assert all(set(sub) == {"attributes", "color", "has_parent", "id", "name", "type"}
               for sub in sk["sublabels"])
    for sub in sk["sublabels"]:
        assert f'data-label-id="{sub["id"]}"' in sk["svg"]
    assert task["box"]["attributes"][0]["default_value"] == "a"


@pytest.mark.parametrize("spec, field", [
    ({"name": "s", "type": "skeleton", "svg": "<circle/>", "sublabels": []}, "sublabels"),
    ({"name": "s", "type": "skeleton", "sublabels": [{"name": "a"}]}, "svg"),
    ({"name": "s", "type": "wheel"}, "type"),
    ({"name": "s", "attributes": [{"name": "a", "mutable": True, "input_type": "slider", "values": []}]}, "attributes"),
    ({"name": "", "type": "any"}, "name"),
])
def test_invalid_labels_are_refused(s, spec, field):
    r = s.post("/api/tasks", json={"name": "t", "labels": [spec]})
    assert r.status_code == 400
    assert field in r.json()["labels"][0]
    assert s.get("/api/tasks").json()["count"] == 0


def test_duplicate_label_names_refused(s):
    r = s.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}, {"name": "a"}]})
    assert r.status_code == 400 and "name" in r.json()["labels"][0]


def test_project_patch_adds_and_deletes_labels(s):
    p = s.post("/api/projects", json={"name": "p", "labels": [skeleton_spec()]}).json()
    s.patch(f"/api/projects/{p['id']}", json={"labels": [{"name": "extra"}]})
    labels = s.get(f"/api/labels?project_id={p['id']}").json()["results"]
    assert [lab["name"] for lab in labels] == ["person", "extra"]
    s.patch(f"/api/projects/{p['id']}", json={"labels": [{"id": labels[1]["id"], "deleted": True}]})
    assert s.get(f"/api/labels?project_id={p['id']}").json()["count"] == 1


# data


def test_meta_frames_and_chunks(s, task):
    meta = s.get(f"/api/tasks/{task['id']}/data/meta").json()
    assert [f["width"] for f in meta["frames"]] == [20, 21, 22, 23, 24, 25]
    assert meta["size"] == 6 and meta["stop_frame"] == 5
    frame = s.get(f"/api/tasks/{task['id']}/data?type=frame&quality=original&number=2")
    assert frame.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(frame.content)).size == (22, 10)
    chunk = s.get(f"/api/tasks/{task['id']}/data?type=chunk&quality=original&number=0")
    assert len(zipfile.ZipFile(io.BytesIO(chunk.content)).namelist()) == 6
    assert [(j["start_frame"], j["stop_frame"]) for j in task["jobs"]] == [(0, 2), (3, 5)]
    assert s.get(f"/api/tasks/{task['id']}/status").json()["state"] == "Finished"


def test_upload_of_non_images_fails_processing(s, cvat_server):
    tid = s.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()["id"]
    r = s.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
               files={"client_files[0]": ("x.jpg", b"not an image")})
    rq = cvat_server.wait_for_request(s, r.json()["rq_id"])
    assert rq["status"] == "failed" and "x.jpg" in rq["message"]
    r = s.post(f"/api/tasks/{tid}/data", files={"client_files[0]": ("y.png", _png(4, 4))})
    assert r.status_code == 400 and "image_quality" in r.json()


# annotations


def test_put_get_skeleton_ids_and_element_order(s, task):
    r = s.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": [skeleton_shape(task)]})
    assert r.status_code == 200
    (shape,) = r.json()["shapes"]
    assert isinstance(shape["id"], int) and shape["points"] == []
    sub_ids = [sub["id"] for sub in task["skeleton"]["sublabels"]]
    assert sorted(e["label_id"] for e in shape["elements"]) == sorted(sub_ids)
    assert [e["label_id"] for e in shape["elements"]] != sub_ids
    by_label = {e["label_id"]: e for e in shape["elements"]}
    assert by_label[sub_ids[3]]["outside"] is True and by_label[sub_ids[0]]["points"] == [0.0, 1.0]
    got = s.get(f"/api/tasks/{task['id']}/annotations").json()
    assert got["shapes"] == [shape] and got["version"] == 0


def test_job_sees_only_its_frames(s, task):
    shapes = [skeleton_shape(task, frame=f) for f in (0, 2, 3, 5)]
    s.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": shapes})
    j1, j2 = task["jobs"]
    assert [x["frame"] for x in s.get(f"/api/jobs/{j1['id']}/annotations").json()["shapes"]] == [0, 2]
    assert [x["frame"] for x in s.get(f"/api/jobs/{j2['id']}/annotations/").json()["shapes"]] == [3, 5]
    # a job PUT replaces only its own range
    s.put(f"/api/jobs/{j2['id']}/annotations", json={"shapes": []})
    assert len(s.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"]) == 2
    r = s.put(f"/api/jobs/{j1['id']}/annotations", json={"shapes": [skeleton_shape(task, frame=4)]})
    assert r.status_code == 400 and "frame" in r.json()["shapes"][0]


def test_patch_actions(s, task):
    j1 = task["jobs"][0]["id"]
    url = f"/api/jobs/{j1}/annotations"
    created = s.patch(url + "?action=create", json={"shapes": [skeleton_shape(task)], "tags": [
        {"frame": 1, "label_id": task["box"]["id"]}]}).json()
    shape = created["shapes"][0]
    moved = dict(shape, frame=1, elements=[dict(e, frame=1) for e in shape["elements"]])
    r = s.patch(url + "?action=update", json={"shapes": [moved]})
    assert r.status_code == 200
    (now,) = s.get(url).json()["shapes"]
    assert now["id"] == shape["id"] and now["frame"] == 1
    assert {e["id"] for e in now["elements"]} == {e["id"] for e in shape["elements"]}
    # an unknown parent id with taken element ids: CVAT's database refuses it
    r = s.patch(url + "?action=update", json={"shapes": [dict(moved, id=9999)]})
    assert r.status_code == 400 and "duplicate key value" in r.json()
    r = s.patch(url, json={"shapes": []})
    assert (r.status_code, r.json()) == (400, ["Please specify a correct 'action' for the request"])
    # a delete is validated like a create: the id alone is not enough
    r = s.patch(url + "?action=delete", json={"shapes": [{"id": shape["id"]}]})
    assert r.status_code == 400 and sorted(r.json()["shapes"][0]) == ["frame", "label_id", "type"]
    assert s.patch(url + "?action=delete", json={"shapes": [now]}).status_code == 200
    got = s.get(url).json()
    assert got["shapes"] == [] and len(got["tags"]) == 1
    assert s.delete(url).status_code == 204
    assert s.get(url).json()["tags"] == []


def test_skeleton_track_with_element_tracks(s, task):
    sk = task["skeleton"]
    track = {"frame": 0, "label_id": sk["id"],
             "shapes": [{"type": "skeleton", "frame": 0, "points": []}],
             "elements": [{"frame": 0, "label_id": sub["id"], "shapes": [
                 {"type": "points", "frame": 0, "points": [1.0, 2.0]},
                 {"type": "points", "frame": 2, "points": [3.0, 4.0], "outside": True}]}
                 for sub in sk["sublabels"]]}
    r = s.patch(f"/api/tasks/{task['id']}/annotations?action=create", json={"tracks": [track]})
    assert r.status_code == 200, r.text
    (got,) = s.get(f"/api/jobs/{task['jobs'][0]['id']}/annotations").json()["tracks"]
    assert len(got["elements"]) == 4
    assert all(len(e["shapes"]) == 2 and e["shapes"][1]["outside"] for e in got["elements"])
    assert s.get(f"/api/jobs/{task['jobs'][1]['id']}/annotations").json()["tracks"] == []


def _put(s, task, shape):
    return s.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": [shape]})


def test_unknown_label_id(s, task):
    r = _put(s, task, skeleton_shape(task, label_id=4242))
    assert r.status_code == 400 and "label_id" in r.json()["shapes"][0]


def test_skeleton_missing_extra_and_duplicate_elements(s, task):
    shape = skeleton_shape(task)
    missing = dict(shape, elements=shape["elements"][:-1])
    r = _put(s, task, missing)
    assert r.status_code == 400 and "elements" in r.json()["shapes"][0]
    dup = dict(shape, elements=shape["elements"] + shape["elements"][:1])
    assert _put(s, task, dup).status_code == 400
    foreign = dict(shape, elements=shape["elements"][:-1] + [dict(shape["elements"][0], label_id=task["box"]["id"])])
    r = _put(s, task, foreign)
    assert r.status_code == 400 and r.json()["shapes"][0]["elements"][3]["label_id"]
    assert _put(s, task, dict(shape, label_id=task["box"]["id"])).status_code == 400
    assert s.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"] == []


@pytest.mark.parametrize("over, field", [
    ({"frame": 6}, "frame"),
    ({"frame": -1}, "frame"),
    ({"frame": "x"}, "frame"),
    ({"occluded": "yes"}, "occluded"),
    ({"type": "blob"}, "type"),
    ({"rotation": 400}, "rotation"),
    ({"attributes": [{"spec_id": 999, "value": "a"}]}, "attributes"),
])
def test_wrong_fields_are_400_with_field_keys(s, task, over, field):
    r = _put(s, task, skeleton_shape(task, **over))
    assert r.status_code == 400
    assert field in r.json()["shapes"][0]


def test_wrong_element_points_and_collection_type(s, task):
    shape = skeleton_shape(task)
    shape["elements"][1]["points"] = ["a", 1]
    r = _put(s, task, shape)
    assert r.status_code == 400 and "points" in r.json()["shapes"][0]["elements"][1]
    r = s.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": {"not": "a list"}})
    assert r.status_code == 400 and "shapes" in r.json()


def test_box_attributes_round_trip(s, task):
    box = task["box"]
    spec_id = box["attributes"][0]["id"]
    r = _put(s, task, {"type": "rectangle", "frame": 1, "label_id": box["id"], "points": [0, 0, 5, 5],
                       "attributes": [{"spec_id": spec_id, "value": "b"}]})
    assert r.json()["shapes"][0]["attributes"] == [{"spec_id": spec_id, "value": "b"}]


# lists


def test_pagination_and_filters(s, cvat_server):
    p = s.post("/api/projects", json={"name": "proj", "labels": [{"name": "a"}]}).json()
    for i in range(5):
        s.post("/api/tasks", json={"name": f"task-{i}", "project_id": p["id"] if i < 2 else None,
                                   "labels": [] if i < 2 else [{"name": "a"}]})
    page1 = s.get("/api/tasks?page_size=2").json()
    assert page1["count"] == 5 and len(page1["results"]) == 2 and page1["previous"] is None
    assert page1["next"].startswith(cvat_server.url + "/api/tasks?")
    page2 = requests.get(page1["next"], auth=(cvat_server.username, cvat_server.password)).json()
    assert page2["previous"] and page2["results"][0]["id"] != page1["results"][0]["id"]
    assert s.get("/api/tasks?page=9").status_code == 404
    assert [t["name"] for t in s.get("/api/tasks?name=task-3").json()["results"]] == ["task-3"]
    assert s.get("/api/tasks?search=TASK").json()["count"] == 5
    assert s.get(f"/api/tasks?project_id={p['id']}").json()["count"] == 2
    tid = page1["results"][0]["id"]
    assert [t["id"] for t in s.get(f"/api/tasks?id={tid}").json()["results"]] == [tid]
    assert s.get("/api/projects?search=pro").json()["count"] == 1
    assert s.get("/api/users?search=annot").json()["results"][0]["username"] == "annotator"


def test_served_json_matches_stored_records(s, cvat_server, task):
    """The cached JSON text (fast and slow validation paths) says what the
    stored records say."""
    import json

    shape = skeleton_shape(task)
    shape["elements"][0]["points"] = ["1.5", 2]  # numeric strings: slow path
    shape["elements"][1].update(group=None, z_order=3, occluded=True)
    assert _put(s, task, shape).status_code == 200
    got = s.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"]
    stored = cvat_server.state.annotations[task["id"]].shapes[0]
    assert got == json.loads(json.dumps(stored))
    by_label = {e["label_id"]: e for e in got[0]["elements"]}
    first, second = (by_label[sub["id"]] for sub in task["skeleton"]["sublabels"][:2])
    assert first["points"] == [1.5, 2.0]
    assert (second["group"], second["z_order"], second["occluded"]) == (0, 3, True)
