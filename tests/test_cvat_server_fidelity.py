"""Field-for-field comparison of what the emulator serves with what a real
CVAT answered (``../shared/cvat/``): every field a real record has, ours has,
with the same JSON type. The 2.23.1 recordings come first; the older
skeleton label/annotation assets are compared too (minus ``score``, which
2.23.1 no longer returns on shapes: see its recorded job annotations)."""
import io
import json
import os
import re

import pytest
from PIL import Image

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "shared", "cvat")
RECORDED = os.path.join(SHARED, "recorded-2.23.1")
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
    ours["GET /api/requests/{rq}"] = s.get(f"/api/requests/{r.json()['rq_id']}").json()
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
    return json.load(open(os.path.join(SHARED, "skeleton_labels.json")))["skeleton_labels"]


def _real_annotations():
    return json.load(open(os.path.join(SHARED, "skeleton_annotations.json")))


@pytest.mark.parametrize("index", range(5))
def test_cvat_asset_skeleton_labels_have_our_shape(cvat_server, index):
    real = _real_labels()[index]
    spec = {"name": real["name"], "type": "skeleton", "attributes": [
        {k: a[k] for k in ("name", "mutable", "input_type", "values", "default_value")}
        for a in real["attributes"]],
        "sublabels": [{"name": sub["name"], "type": "points", "color": sub["color"],
                       "attributes": [{k: a[k] for k in ("name", "mutable", "input_type", "values", "default_value")}
                                      for a in sub["attributes"]]} for sub in real["sublabels"]],
        "svg": re.sub(r'data-label-id="(\d+)"', lambda m: 'data-label-name="%s"' % next(
            sub["name"] for sub in real["sublabels"] if str(sub["id"]) == m.group(1)), real["svg"])}
    s = cvat_server.session()
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


def test_cvat_asset_skeleton_shapes_and_tracks_have_our_shape(cvat_server):
    """Upload label 22's skeleton shapes and tracks (job 18) and compare."""
    real_label = next(lab for lab in _real_labels() if lab["id"] == 22)
    real_job = _real_annotations()["job"]["18"]
    s = cvat_server.session()
    spec = {"name": "s2", "type": "skeleton", "attributes": [
        {k: a[k] for k in ("name", "mutable", "input_type", "values", "default_value")}
        for a in real_label["attributes"]],
        "sublabels": [{"name": sub["name"], "type": "points", "attributes": [
            {k: a[k] for k in ("name", "mutable", "input_type", "values", "default_value")}
            for a in sub["attributes"]]} for sub in real_label["sublabels"]],
        "svg": "".join(f'<circle data-type="element node" data-node-id="{i + 1}" data-label-name="{sub["name"]}"></circle>'
                       for i, sub in enumerate(real_label["sublabels"]))}
    tid = s.post("/api/tasks", json={"name": "t", "labels": [spec]}).json()["id"]
    s.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
           files={f"client_files[{i}]": (f"{i}.jpg", jpeg(800, 600)) for i in range(8)})
    (ours_label,) = s.get(f"/api/labels?task_id={tid}").json()["results"]
    label_map = {real_label["id"]: ours_label["id"]}
    label_map.update({r["id"]: o["id"] for r, o in zip(real_label["sublabels"], ours_label["sublabels"])})
    attr_map = {r["id"]: o["id"] for r, o in zip(real_label["attributes"], ours_label["attributes"])}
    for r, o in zip(real_label["sublabels"], ours_label["sublabels"]):
        attr_map.update({ra["id"]: oa["id"] for ra, oa in zip(r["attributes"], o["attributes"])})

    def remap(obj):
        if isinstance(obj, dict):
            out = {k: remap(v) for k, v in obj.items() if k not in ("id",) + tuple(NOT_IN_2_23_1)}
            if "label_id" in obj:
                out["label_id"] = label_map[obj["label_id"]]
            if "spec_id" in obj:
                out["spec_id"] = attr_map[obj["spec_id"]]
            return out
        return [remap(v) for v in obj] if isinstance(obj, list) else obj

    r = s.put(f"/api/tasks/{tid}/annotations",
              json={"shapes": remap(real_job["shapes"]), "tracks": remap(real_job["tracks"])})
    assert r.status_code == 200, r.text
    job_id = s.get(f"/api/jobs?task_id={tid}").json()["results"][0]["id"]
    ours = s.get(f"/api/jobs/{job_id}/annotations").json()
    assert_same_shape(real_job["shapes"], ours["shapes"], "$.shapes", skip=NOT_IN_2_23_1)
    assert_same_shape(real_job["tracks"], ours["tracks"], "$.tracks", skip=NOT_IN_2_23_1)
    for real_shape, our_shape in zip(real_job["shapes"], ours["shapes"]):
        assert sorted(set(our_shape) | NOT_IN_2_23_1) == sorted(set(real_shape) | NOT_IN_2_23_1)
