"""Field-for-field comparison of what the emulator serves with what a real
CVAT 2.23.1 answered (our recordings, ``tests/recordings/2.23.1/``): every
field a real record has, ours has, with the same JSON type. CVAT's own older
skeleton label/annotation test assets are compared too where they exist
(``../shared/cvat/``; minus ``score``, which 2.23.1 no longer returns on
shapes: see its recorded job annotations)."""
import io
import json
import os
import re

import pytest
from PIL import Image

from real_cvat import (RECORDINGS, cvat_asset, recorded, served_skeleton_annotations,
                       served_skeleton_labels)

RECORDED = os.path.join(RECORDINGS, "2.23.1")
NOT_IN_2_23_1 = {"score"}



def assert_same_shape(real, ours, path="$", skip=()):
    """Every key of ``real`` is in ``ours`` with the same JSON type, recursively."""
    if real is None:
        assert ours is None, f"{path}: real is null, ours {ours!r}"
        return
    assert type(ours) is type(real), (
        f"{path}: real {type(real).__name__} {real!r:.60}, ours {type(ours).__name__} {ours!r:.60}")
    if isinstance(real, dict):
        for key, value in real.items():
            if key in skip:
                continue
            assert key in ours, f"{path}: missing field {key!r} (ours: {sorted(ours)})"
            assert_same_shape(value, ours[key], f"{path}.{key}", skip)
    elif isinstance(real, list) and real:
        assert ours, f"{path}: real list has items, ours is empty"
        for i, item in enumerate(real):
            assert_same_shape(item, ours[min(i, len(ours) - 1)], f"{path}[{i}]", skip)


def flow_sections():
    """{"METHOD /path": parsed JSON} of the recorded skeleton flow."""
    text = open(os.path.join(RECORDED, "skeleton_flow.txt")).read()
    out = {}
    for block in re.split(r"^--- ", text, flags=re.M)[1:]:
        head, _, body = block.partition("\n")
        if body.lstrip().startswith("{"):
            out[head.strip()] = json.loads(body[: body.rindex("}") + 1])
    return out


def recorded_calls():
    """[(method, path, status, keys or None)] of the FiftyOne client recording."""
    rows = []
    pattern = re.compile(r"^OK\s+(\w+)\s+(\S+) -> (\d+) (\[.*\])?")
    for line in open(os.path.join(RECORDED, "fiftyone_client_calls.txt")):
        m = pattern.match(line)
        if m:
            keys = json.loads(m.group(4).replace("'", '"')) if m.group(4) else None
            rows.append((m.group(1), m.group(2), int(m.group(3)), keys))
    return rows


def jpeg(width, height):
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "gray").save(buf, "JPEG")
    return buf.getvalue()


SKELETON = {
    "name": "person", "color": "#ff0000", "type": "skeleton",
    "sublabels": [{"name": n, "type": "points"} for n in ("head", "hip", "foot")],
    "svg": (
        '<line x1="30" y1="20" x2="30" y2="50" data-type="edge" data-node-from="1" data-node-to="2"></line>'
        '<line x1="30" y1="50" x2="50" y2="80" data-type="edge" data-node-from="2" data-node-to="3"></line>'
        '<circle r="1.5" cx="30" cy="20" data-type="element node" data-element-id="1" data-node-id="1" data-label-name="head"></circle>'
        '<circle r="1.5" cx="30" cy="50" data-type="element node" data-element-id="2" data-node-id="2" data-label-name="hip"></circle>'
        '<circle r="1.5" cx="50" cy="80" data-type="element node" data-element-id="3" data-node-id="3" data-label-name="foot"></circle>'),
}


@pytest.fixture
def flow(cvat_server):
    """Replays the recorded skeleton flow; returns {section: our answer}."""
    s = cvat_server.session()
    ours = {}
    login = s.post("/api/auth/login", json={"username": cvat_server.username,
                                             "password": cvat_server.password})
    ours["login"] = login
    s.headers["X-CSRFToken"] = login.cookies["csrftoken"]  # rotated on login
    ours["GET /api/server/about"] = s.get("/api/server/about").json()
    ours["self"] = s.get("/api/users/self").json()
    project = s.post("/api/projects", json={"name": "smoke", "labels": [SKELETON]}).json()
    ours["POST /api/projects ->"] = project
    task = s.post("/api/tasks", json={"name": "smoke", "project_id": project["id"]}).json()
    ours["task_created"] = task
    tid = task["id"]
    r = s.post(f"/api/tasks/{tid}/data", data={"image_quality": 75},
               files={"client_files[0]": ("smoke.jpg", jpeg(320, 240))})
    ours[f"POST /api/tasks/{{tid}}/data"] = {"body": r.json(), "status": r.status_code}
    ours["GET /api/requests/{rq}"] = cvat_server.wait_for_request(s, r.json()["rq_id"])
    ours["GET /api/tasks/{tid}/data/meta"] = s.get(f"/api/tasks/{tid}/data/meta").json()
    labels = s.get(f"/api/labels?task_id={tid}").json()
    ours["GET /api/labels?task_id={tid}"] = labels
    ids = {sub["name"]: sub["id"] for sub in labels["results"][0]["sublabels"]}
    pts = {"head": [160, 50], "hip": [160, 150], "foot": [0, 0]}
    put = s.put(f"/api/tasks/{tid}/annotations", json={"version": 0, "tags": [], "tracks": [], "shapes": [{
        "type": "skeleton", "frame": 0, "label_id": labels["results"][0]["id"], "points": [],
        "elements": [{"type": "points", "frame": 0, "label_id": ids[n], "points": pts[n],
                      "outside": n == "foot"} for n in pts]}]})
    assert put.status_code == 200, put.text
    job_id = s.get(f"/api/jobs?task_id={tid}").json()["results"][0]["id"]
    ours["GET /api/jobs/{jid}/annotations"] = s.get(f"/api/jobs/{job_id}/annotations").json()
    ours["task"] = s.get(f"/api/tasks/{tid}").json()
    return ours


def _real(section_prefix):
    for head, body in flow_sections().items():
        if re.sub(r"\d+", "{}", head).startswith(re.sub(r"\d+", "{}", section_prefix)):
            return body
    raise AssertionError(f"no recorded section {section_prefix!r}")


@pytest.mark.parametrize("section", [
    "GET /api/server/about", "POST /api/projects ->", "POST /api/tasks/{tid}/data",
    "GET /api/requests/{rq}", "GET /api/tasks/{tid}/data/meta",
    "GET /api/labels?task_id={tid}", "GET /api/jobs/{jid}/annotations",
])
def test_skeleton_flow_records_match(flow, section):
    prefix = (section.replace("{tid}", "5").replace("{jid}", "5")
              .replace("{rq}", "create:task-5"))
    assert_same_shape(_real(prefix), flow[section])


def test_about_is_2_23_1_verbatim(flow):
    assert flow["GET /api/server/about"] == _real("GET /api/server/about")


def test_login_sets_the_recorded_cookies(flow):
    real = _real("POST /api/auth/login")
    login = flow["login"]
    assert login.status_code == real["status"]
    assert sorted(login.json()) == real["body_keys"]
    assert sorted(login.cookies.keys()) == real["cookies"]


def test_skeleton_label_svg_rewritten_like_cvat(flow):
    real = _real("GET /api/labels?task_id=5")["results"][0]
    ours = flow["GET /api/labels?task_id={tid}"]["results"][0]
    swap = {str(r["id"]): str(o["id"]) for r, o in zip(real["sublabels"], ours["sublabels"])}
    expected = re.sub(r'data-label-id="(\d+)"',
                      lambda m: f'data-label-id="{swap[m.group(1)]}"', real["svg"])
    assert ours["svg"] == expected
    assert sorted(ours) == sorted(real)  # project_id only, no task_id key


def test_skeleton_shape_ids_and_values_match(flow):
    real = _real("GET /api/jobs/5/annotations")["shapes"][0]
    ours = flow["GET /api/jobs/{jid}/annotations"]["shapes"][0]
    # the parent takes the first id, its elements the next ones
    assert sorted(e["id"] for e in ours["elements"]) == list(
        range(ours["id"] + 1, ours["id"] + 4))
    norm = lambda s: sorted((e["points"], e["outside"], e["occluded"]) for e in s["elements"])  # noqa: E731
    assert norm(ours) == norm(real)
    assert flow["GET /api/jobs/{jid}/annotations"]["version"] == 0  # as recorded


def test_task_fields_after_data(flow):
    task = flow["task"]
    assert task["size"] == 1 and task["mode"] == "annotation"
    assert task["jobs"]["count"] == 1 and sorted(task["jobs"]) == [
        "completed", "count", "url", "validation"]
    assert task["status"] == "annotation"


def test_user_self_fields(flow):
    real_keys = recorded_calls()[0][3]
    assert sorted(flow["self"])[: len(real_keys)] == real_keys
    assert flow["self"]["id"] == 1 and flow["self"]["is_superuser"] is True


def _fiftyone_replay(cvat_server):
    """Our answers to each recorded FiftyOne call, in recorded order (the
    recorded project/task/job ids are mapped to the ones we assigned)."""
    s = cvat_server.session()
    cvat_server.instant_processing()  # FiftyOne's client polls the job list
    ids = {}  # kind -> our id

    def ours(path):
        for kind, pattern in (("project", r"(/projects/|projects\?id=|project_id=)\d+"),
                              ("task", r"(/tasks/|tasks\?id=|task_id=)\d+"),
                              ("job", r"(/jobs/)\d+")):
            if kind in ids:
                path = re.sub(pattern, lambda m: f"{m.group(1)}{ids[kind]}", path)
        return path

    def body_for(method, path):
        if method == "POST" and path.endswith("/projects"):
            return {"json": {"name": "fo-shape-check", "labels": [SKELETON]}}
        if method == "PATCH" and "/projects/" in path:
            return {"json": {"labels": [{"name": "extra", "attributes": [
                {"name": "label_id", "input_type": "text", "mutable": True, "values": []}]}]}}
        if method == "POST" and path.endswith("/tasks"):
            return {"json": {"name": "fo-task", "image_quality": 75, "labels": [],
                             "project_id": ids["project"]}}
        if method == "PATCH" and "/tasks/" in path:
            return {"json": {"assignee_id": 1}}
        if method == "POST" and path.endswith("/data"):
            return {"data": {"image_quality": 75, "use_cache": True, "use_zip_chunks": True,
                             "sorting_method": "predefined"},
                    "files": {"client_files[0]": ("smoke.jpg", jpeg(320, 240))}}
        if method == "PATCH" and "/jobs/" in path:
            return {"json": {"assignee": 1}}
        if method == "PUT":
            return {"json": {"version": 0, "shapes": [], "tags": [], "tracks": []}}
        return {}

    answers = []
    for method, path, status, keys in recorded_calls():
        if "format=" in path:
            continue  # annotation export: deliberately not emulated (README)
        r = s.request(method, ours(path), **body_for(method, path))
        body = r.json() if "json" in r.headers.get("Content-Type", "") and r.content else None
        if method == "POST" and path.endswith("/projects"):
            ids["project"] = body["id"]
        elif method == "POST" and path.endswith("/tasks"):
            ids["task"] = body["id"]
        elif method == "GET" and path.startswith("/api/jobs?task_id"):
            ids["job"] = body["results"][0]["id"]
        answers.append((method, ours(path), status, keys, r, body))
    return answers


def test_every_fiftyone_call_answers_like_2_23_1(cvat_server):
    """Status and (sorted, possibly truncated) top-level keys of every call
    FiftyOne 1.22.1's CVATAnnotationAPI makes, as recorded on 2.23.1."""
    for method, path, status, keys, r, body in _fiftyone_replay(cvat_server):
        where = f"{method} {path}"
        assert r.status_code == status, f"{where}: {r.status_code} {r.text[:200]}"
        if keys is not None:
            assert isinstance(body, dict), where
            assert sorted(body)[: len(keys)] == keys, f"{where}: {sorted(body)}"


def _real_labels():
    return cvat_asset("skeleton_labels.json")["skeleton_labels"]


def _real_annotations():
    return cvat_asset("skeleton_annotations.json")


ATTR_KEYS = ("name", "mutable", "input_type", "values", "default_value")


def _spec_from_served(real):
    """The label spec a client would send to get ``real`` served back."""
    def attrs(owner):
        return [{k: a[k] for k in ATTR_KEYS} for a in owner["attributes"]]
    names = {str(sub["id"]): sub["name"] for sub in real["sublabels"]}
    return {
        "name": real["name"], "type": "skeleton", "attributes": attrs(real),
        "sublabels": [{"name": sub["name"], "type": "points", "color": sub["color"],
                       "attributes": attrs(sub)} for sub in real["sublabels"]],
        "svg": re.sub(r'data-label-id="(\d+)"',
                      lambda m: 'data-label-name="%s"' % names[m.group(1)], real["svg"]),
    }


def assert_label_served_like(cvat_server, real):
    s = cvat_server.session()
    spec = _spec_from_served(real)
    owner = "project_id" if "project_id" in real else "task_id"
    if owner == "project_id":
        oid = s.post("/api/projects", json={"name": "p", "labels": [spec]}).json()["id"]
    else:
        oid = s.post("/api/tasks", json={"name": "t", "labels": [spec]}).json()["id"]
    (ours,) = s.get(f"/api/labels?{owner}={oid}").json()["results"]
    assert_same_shape(real, ours)
    assert sorted(ours) == sorted(real)
    for r_sub, o_sub in zip(real["sublabels"], ours["sublabels"]):
        assert sorted(o_sub) == sorted(r_sub)
    return ours


RECORDED_LABELS = served_skeleton_labels("2.23.1")


def test_recordings_hold_task_and_project_skeleton_labels():
    owners = {"project_id" in label for _, label in RECORDED_LABELS}
    assert owners == {True, False}


@pytest.mark.parametrize("where,real", RECORDED_LABELS, ids=[w for w, _ in RECORDED_LABELS])
def test_recorded_skeleton_labels_have_our_shape(cvat_server, where, real):
    assert_label_served_like(cvat_server, real)


def test_label_attributes_have_the_recorded_fields(cvat_server):
    """posekit's run recorded a real label with attributes: the attribute and
    sublabel field sets are the same in ours."""
    with open(recorded("2.23.1", "posekit_calls_schema.json")) as f:
        calls = json.load(f)["calls"]
    (schema,) = [c for c in calls if c["method"] == "GET" and c["path"] == "/api/labels"]
    real = next(r["results"][0] for r in schema["response_schemas"]
                if r["results"][0]["attributes"])
    s = cvat_server.session()
    attr = {"name": "crowd", "mutable": False, "input_type": "checkbox",
            "values": ["false"], "default_value": "false"}
    spec = dict(SKELETON, attributes=[attr])
    tid = s.post("/api/tasks", json={"name": "t", "labels": [spec]}).json()["id"]
    (ours,) = s.get(f"/api/labels?task_id={tid}").json()["results"]
    assert sorted(ours) == sorted(real)
    assert sorted(ours["attributes"][0]) == sorted(real["attributes"][0])
    assert sorted(ours["sublabels"][0]) == sorted(real["sublabels"][0])


def _remap(obj, ids):
    if isinstance(obj, dict):
        out = {k: _remap(v, ids) for k, v in obj.items() if k not in ("id",) + tuple(NOT_IN_2_23_1)}
        if "label_id" in obj:
            out["label_id"] = ids[obj["label_id"]]
        if "spec_id" in obj:
            out["spec_id"] = ids[("attr", obj["spec_id"])]
        return out
    return [_remap(v, ids) for v in obj] if isinstance(obj, list) else obj


def assert_annotations_served_like(cvat_server, real_label, real_body, frames):
    """Uploads ``real_body``'s skeleton shapes and tracks under
    ``real_label`` on ``frames`` images; ours has the same fields."""
    s = cvat_server.session()
    tid = s.post("/api/tasks", json={"name": "t", "labels": [_spec_from_served(real_label)]}).json()["id"]
    r = s.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
               files={f"client_files[{i}]": (f"{i}.jpg", jpeg(80, 60)) for i in range(frames)})
    cvat_server.wait_for_request(s, r.json()["rq_id"])
    (ours_label,) = s.get(f"/api/labels?task_id={tid}").json()["results"]
    ids = {real_label["id"]: ours_label["id"]}
    ids.update({r["id"]: o["id"] for r, o in zip(real_label["sublabels"], ours_label["sublabels"])})
    for r, o in zip([real_label] + real_label["sublabels"], [ours_label] + ours_label["sublabels"]):
        ids.update({("attr", ra["id"]): oa["id"] for ra, oa in zip(r["attributes"], o["attributes"])})
    shapes = [sh for sh in real_body["shapes"] if sh["label_id"] in ids]
    tracks = [tr for tr in real_body["tracks"] if tr["label_id"] in ids]
    r = s.put(f"/api/tasks/{tid}/annotations",
              json={"shapes": _remap(shapes, ids), "tracks": _remap(tracks, ids)})
    assert r.status_code == 200, r.text
    job_id = s.get(f"/api/jobs?task_id={tid}").json()["results"][0]["id"]
    ours = s.get(f"/api/jobs/{job_id}/annotations").json()
    assert_same_shape(shapes, ours["shapes"], "$.shapes", skip=NOT_IN_2_23_1)
    assert_same_shape(tracks, ours["tracks"], "$.tracks", skip=NOT_IN_2_23_1)
    for real_shape, our_shape in zip(shapes, ours["shapes"]):
        assert sorted(set(our_shape) | NOT_IN_2_23_1) == sorted(set(real_shape) | NOT_IN_2_23_1)
    for real_track, our_track in zip(tracks, ours["tracks"]):
        assert sorted(our_track) == sorted(real_track)
    return shapes, tracks


# Single-job recordings: the whole task is one job, as in the replay. Not
# video_skeleton_tracks_variants: its track V2 has no element for node e,
# which real CVAT accepts and the emulator refuses (400), a gap of the
# emulator's track support (issue 15), not of the field shapes checked here.
RECORDED_ANNOTATIONS = [
    (w, labels, body) for w, labels, body in served_skeleton_annotations("2.23.1")
    if w.split(": ")[0].split("/")[1] in (
        "image_skeleton_shapes.json", "video_skeleton_tracks_single_job.json")
    and w.endswith("GET job annotations")
]


@pytest.mark.parametrize("where,labels,body", RECORDED_ANNOTATIONS,
                         ids=[w for w, _, _ in RECORDED_ANNOTATIONS])
def test_recorded_skeleton_shapes_and_tracks_have_our_shape(cvat_server, where, labels, body):
    (label,) = [l for l in labels.values() if l["type"] == "skeleton"]
    frames = 1 + max([sh["frame"] for sh in body["shapes"]] +
                     [sh["frame"] for tr in body["tracks"] for sh in tr["shapes"]])
    shapes, tracks = assert_annotations_served_like(cvat_server, label, body, max(frames, 30 if body["tracks"] else 1))
    assert shapes or tracks


def test_recorded_annotations_hold_shapes_and_tracks():
    assert any(body["shapes"] for _, _, body in RECORDED_ANNOTATIONS)
    assert any(body["tracks"] for _, _, body in RECORDED_ANNOTATIONS)
    # the tracks' elements carry their own keyframes, as skeleton tracks do
    assert any(tr["elements"] and tr["elements"][0]["shapes"]
               for _, _, body in RECORDED_ANNOTATIONS for tr in body["tracks"])


@pytest.mark.parametrize("index", range(5))
def test_cvat_asset_skeleton_labels_have_our_shape(cvat_server, index):
    assert_label_served_like(cvat_server, _real_labels()[index])


def test_cvat_asset_skeleton_shapes_and_tracks_have_our_shape(cvat_server):
    """Upload label 22's skeleton shapes and tracks (job 18) and compare."""
    real_label = next(lab for lab in _real_labels() if lab["id"] == 22)
    real_job = _real_annotations()["job"]["18"]
    shapes, tracks = assert_annotations_served_like(cvat_server, real_label, real_job, 8)
    assert shapes and tracks
