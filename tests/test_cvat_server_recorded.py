"""The emulator, on each profile, against what the real CVAT of that version
answered (``tests/recordings/<version>/``): every call posekit makes, field
for field (same keys, same JSON types, no more, no fewer), and the
behaviours the recordings probed (job order, processing polls, ids on PUT,
PATCH with unknown ids, scores, points shapes' ``elements``)."""
import io
import json
import os
import time

import pytest
import requests
from PIL import Image

from cvat_server.fixtures import PROFILES

RECORDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recordings")
pytestmark = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)

NODES = ["a", "b", "c"]
SKELETON = {
    "name": "skel", "type": "skeleton",
    "attributes": [{"name": "label_id", "input_type": "text", "mutable": True, "values": []}],
    "sublabels": [{"name": n, "type": "points", "attributes": []} for n in NODES],
    "svg": "".join(f'<circle r="1.5" cx="{10 * i}" cy="10" data-type="element node" '
                   f'data-element-id="{i + 1}" data-node-id="{i + 1}" data-label-name="{n}"></circle>'
                   for i, n in enumerate(NODES)),
}


def recorded(version, name):
    with open(os.path.join(RECORDINGS, version, name)) as f:
        return json.load(f)


def png(w=32, h=24):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), "gray").save(buf, "PNG")
    return buf.getvalue()


def matches(schema, value):
    """Whether ``value`` has exactly the recorded schema ("..." = any)."""
    if schema == "...":
        return True
    if isinstance(schema, str):
        return type(value).__name__ == schema
    if isinstance(schema, dict):
        return (isinstance(value, dict) and set(value) == set(schema)
                and all(matches(schema[k], value[k]) for k in schema))
    if not isinstance(value, list) or bool(schema) != bool(value):
        return False
    return all(matches(schema[0], item) for item in value)


def key_paths(schema, prefix=""):
    """The dotted key paths of a schema (``[]`` for list items)."""
    if isinstance(schema, dict):
        for k, v in schema.items():
            yield prefix + k
            yield from key_paths(v, prefix + k + ".")
    elif isinstance(schema, list) and schema:
        yield from key_paths(schema[0], prefix + "[].")


def ours_key_paths(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + k
            yield from ours_key_paths(v, prefix + k + ".")
    elif isinstance(value, list):
        for item in value:
            yield from ours_key_paths(item, prefix + "[].")


def posekit_flow(cvat_server):
    """What posekit's run does (skeleton and points mode), as plain calls;
    returns {(method, path template): [answer bodies]}."""
    s = requests.Session()
    url = cvat_server.url
    seen = {}

    def call(method, path, template, **kw):
        r = s.request(method, url + path, **kw)
        assert r.status_code < 400, (method, path, r.status_code, r.text[:300])
        seen.setdefault((method, template), []).append(r.json() if r.content else None)
        return r

    r = call("POST", "/api/auth/login", "/api/auth/login",
             json={"username": cvat_server.username, "password": cvat_server.password})
    s.headers["X-CSRFToken"] = r.cookies["csrftoken"]
    call("GET", "/api/server/about", "/api/server/about")
    for labels, shape in (([SKELETON], "skeleton"), ([{"name": "person", "attributes": []}], "points")):
        tid = call("POST", "/api/tasks", "/api/tasks", json={"name": "t", "labels": labels}).json()["id"]
        call("GET", f"/api/tasks/{tid}", "/api/tasks/{id}")
        (label,) = call("GET", "/api/labels", "/api/labels",
                        params={"task_id": tid, "page_size": 100}).json()["results"]
        rq = call("POST", f"/api/tasks/{tid}/data", "/api/tasks/{id}/data",
                  data={"image_quality": 75, "sorting_method": "predefined"},
                  files={"client_files[0]": ("a.png", png())}).json()["rq_id"]
        while call("GET", f"/api/requests/{rq}", "/api/requests/{rq_id}").json()["status"] != "finished":
            time.sleep(0.01)
        call("GET", f"/api/tasks/{tid}", "/api/tasks/{id}")
        (job,) = call("GET", "/api/jobs", "/api/jobs", params={"task_id": tid}).json()["results"]
        if shape == "skeleton":
            body = {"type": "skeleton", "frame": 0, "label_id": label["id"], "points": [],
                    "attributes": [{"spec_id": label["attributes"][0]["id"], "value": "x"}],
                    "elements": [{"type": "points", "frame": 0, "label_id": sub["id"],
                                  "points": [1.0, 2.0], "outside": False, "occluded": False}
                                 for sub in label["sublabels"]]}
            call("PUT", f"/api/tasks/{tid}/annotations", "/api/tasks/{id}/annotations",
                 json={"version": 0, "shapes": [body], "tags": [], "tracks": []})
        else:
            s.put(url + f"/api/tasks/{tid}/annotations", json={"shapes": [
                {"type": "points", "frame": 0, "label_id": label["id"], "points": [3.0, 4.0]}]})
        call("GET", f"/api/tasks/{tid}/data/meta", "/api/tasks/{id}/data/meta")
        call("GET", f"/api/jobs/{job['id']}/annotations", "/api/jobs/{id}/annotations")
        call("DELETE", f"/api/tasks/{tid}", "/api/tasks/{id}")
    return seen


def test_every_posekit_call_answers_field_for_field(cvat_server):
    ours = posekit_flow(cvat_server)
    real = recorded(cvat_server.version, "posekit_calls_schema.json")["calls"]
    assert {(c["method"], c["path"]) for c in real} == set(ours)
    for call in real:
        where = "%s %s on %s" % (call["method"], call["path"], cvat_server.version)
        variants = call["response_schemas"]
        for body in ours[(call["method"], call["path"])]:
            if not variants:
                assert body is None, where
                continue
            assert any(matches(v, body) for v in variants), (
                where, sorted(set(ours_key_paths(body)) ^ set(key_paths(variants[-1]))))
        recorded_keys = {k for v in variants for k in key_paths(v) if "..." not in k}
        our_keys = {k for b in ours[(call["method"], call["path"])] for k in ours_key_paths(b)}
        assert recorded_keys <= our_keys, (where, sorted(recorded_keys - our_keys))


def test_about_is_verbatim(cvat_server):
    real = recorded(cvat_server.version, "annotation_formats.json")["calls"][1]["response"]["json"]
    ours = requests.get(cvat_server.url + "/api/server/about").json()
    if "logo_url" in real:
        real = dict(real, logo_url=real["logo_url"].replace("http://127.0.0.1:8090", cvat_server.url))
    assert ours == real


@pytest.fixture
def probe(cvat_server):
    """The recorded behaviour probe of this version."""
    return recorded(cvat_server.version, "behaviour_probe.json")


def _task(cvat_server, s, frames=1, segment_size=0, labels=(SKELETON,)):
    tid = s.post("/api/tasks", json={"name": "p", "segment_size": segment_size,
                                     "labels": list(labels)}).json()["id"]
    r = s.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
               files={f"client_files[{i}]": (f"{i}.png", png()) for i in range(frames)})
    return tid, r


def test_errors_and_upload_answer_as_recorded(cvat_server, probe):
    s = cvat_server.session()
    bad = requests.post(cvat_server.url + "/api/auth/login", json={"username": "admin", "password": "x"})
    assert [bad.status_code, bad.text] == probe["bad_login"]
    anon = requests.get(cvat_server.url + "/api/tasks")
    assert [anon.status_code, anon.text] == probe["anon_tasks"]
    missing = s.get("/api/tasks/9999")
    assert [missing.status_code, missing.text] == probe["missing_task"]
    tid, r = _task(cvat_server, s)
    real_rq = probe["upload"][1]["rq_id"]  # the recorded task's id at its end
    assert r.status_code == probe["upload"][0]
    assert r.json()["rq_id"] == real_rq.rstrip("0123456789") + str(tid)


def test_processing_takes_several_polls_with_null_dates(cvat_server, probe):
    s = cvat_server.session()
    _, r = _task(cvat_server, s)
    polls = []
    while not polls or polls[-1]["status"] != "finished":
        polls.append(s.get(f"/api/requests/{r.json()['rq_id']}").json())
    assert len(polls) >= 3 and probe["rq_polls"] >= 3
    assert sorted({p["status"] for p in polls}, reverse=True) == sorted(probe["rq_states"], reverse=True)
    for pending in polls[:-1]:
        assert pending["finished_date"] is None and pending["expiry_date"] is None
    assert polls[-1]["finished_date"] and polls[-1]["expiry_date"]


def test_jobs_are_listed_newest_first(cvat_server, probe):
    s = cvat_server.session()
    tid, r = _task(cvat_server, s, frames=3, segment_size=1)
    cvat_server.wait_for_request(s, r.json()["rq_id"])
    jobs = s.get(f"/api/jobs?task_id={tid}").json()["results"]
    assert [j["start_frame"] for j in jobs] == [start for _, start in probe["jobs_order"]]
    assert [j["id"] for j in jobs] == sorted((j["id"] for j in jobs), reverse=True)


def test_task_fields_before_data(cvat_server, probe):
    s = cvat_server.session()
    task = s.post("/api/tasks", json={"name": "p", "labels": [SKELETON]}).json()
    assert sorted(task) == probe["task_fields_before_data"]
    assert sorted(s.get(f"/api/tasks/{task['id']}").json()) == probe["task_fields_before_data"]


def test_annotation_keys_ids_and_unknown_deletes(cvat_server, probe):
    s = cvat_server.session()
    tid, r = _task(cvat_server, s, labels=(SKELETON, {"name": "pt", "type": "points"}))
    cvat_server.wait_for_request(s, r.json()["rq_id"])
    skel, pt = s.get(f"/api/labels?task_id={tid}").json()["results"]
    shape = {"type": "skeleton", "frame": 0, "label_id": skel["id"], "points": [],
             "elements": [{"type": "points", "frame": 0, "label_id": sub["id"], "points": [1, 2]}
                          for sub in reversed(skel["sublabels"])]}
    points = {"type": "points", "frame": 0, "label_id": pt["id"], "points": [1, 1]}
    assert s.put(f"/api/tasks/{tid}/annotations", json={"shapes": [shape, points]}).status_code == \
        probe["put_task_annotations"]
    (job,) = s.get(f"/api/jobs?task_id={tid}").json()["results"]
    served = s.get(f"/api/jobs/{job['id']}/annotations").json()
    assert sorted(served) == probe["annotations_top_keys"]
    got_skel = next(x for x in served["shapes"] if x["type"] == "skeleton")
    got_pt = next(x for x in served["shapes"] if x["type"] == "points")
    assert sorted(got_skel) == probe["skeleton_shape_keys"]
    assert all(sorted(e) == probe["element_keys"] for e in got_skel["elements"])
    assert got_pt["elements"] == probe["points_shape_elements"]
    # a PUT of what was served (ids in it)
    status, text = probe["put_with_ids"]
    r = s.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": [got_skel]})
    assert r.status_code == status
    if status == 400:
        assert r.text == text
    else:
        assert r.json()["shapes"][0]["id"] == got_skel["id"]  # 2.23.1 keeps the ids
    # PATCH ?action=delete with an unknown id: 200, echoed, nothing removed
    before = s.get(f"/api/jobs/{job['id']}/annotations").json()["shapes"]
    r = s.patch(f"/api/jobs/{job['id']}/annotations?action=delete",
                json={"shapes": [dict(points, id=987654)]})
    assert r.status_code == probe["patch_delete_unknown_id"][0]
    assert r.json()["shapes"][0]["id"] == 987654
    assert s.get(f"/api/jobs/{job['id']}/annotations").json()["shapes"] == before


FIVE = {"name": "skel", "type": "skeleton", "attributes": [],
        "sublabels": [{"name": n, "type": "points", "attributes": []} for n in "abcde"],
        "svg": "".join(f'<circle r="1.5" cx="{10 * i}" cy="10" data-type="element node" '
                       f'data-element-id="{i + 1}" data-node-id="{i + 1}" data-label-name="{n}"></circle>'
                       for i, n in enumerate("abcde"))}


class IdMap:
    """Recorded ids <-> ours, learned by pairing recorded answers with ours
    (shapes by frame, elements by label)."""

    def __init__(self, labels):
        self.to_ours, self.to_real = {}, {}
        self.labels = labels  # recorded label id -> ours

    def learn(self, real, ours):
        def order(shapes):
            return sorted(shapes, key=lambda x: (x["frame"], x["id"] is None))
        for r, o in zip(order(real), order(ours)):
            self._pair(r["id"], o["id"])
            els = {e["label_id"]: e for e in o.get("elements") or []}
            for e in r.get("elements") or []:
                if self.labels[e["label_id"]] in els:
                    self._pair(e["id"], els[self.labels[e["label_id"]]]["id"])

    def _pair(self, real_id, our_id):
        if real_id is not None and our_id is not None:
            self.to_ours[real_id], self.to_real[our_id] = our_id, real_id

    def request(self, body):
        """A recorded request body with our label and object ids."""
        def walk(obj):
            if isinstance(obj, list):
                return [walk(v) for v in obj]
            if not isinstance(obj, dict):
                return obj
            out = {k: walk(v) for k, v in obj.items()}
            if "label_id" in obj:
                out["label_id"] = self.labels[obj["label_id"]]
            if obj.get("id") is not None:
                out["id"] = self.to_ours.get(obj["id"], obj["id"])
            return out
        return walk(body)

    def view(self, body, ours):
        """An answer for comparison: recorded ids, sorted shapes/elements."""
        inverse = {v: k for k, v in self.labels.items()}

        def shape(s):
            out = dict(s)
            if ours:
                out["id"] = self.to_real.get(s["id"], s["id"])
                out["label_id"] = inverse[s["label_id"]]
            if "elements" in s:
                out["elements"] = sorted((shape(e) for e in s["elements"]), key=lambda e: e["label_id"])
            return out
        return dict(body, shapes=sorted((shape(s) for s in body["shapes"]),
                                        key=lambda s: (s["frame"], s["id"] or 0)))


def test_image_skeleton_shapes_replay(cvat_server):
    """Every annotation call of the recorded scenario (PUTs with and without
    ids, every PATCH action with known and unknown ids, score validation):
    same status, same error bodies, same stored result."""
    rec = recorded(cvat_server.version, "image_skeleton_shapes.json")
    s = cvat_server.session()
    tid = s.post("/api/tasks", json={"name": "image-skel-shapes", "labels": [FIVE]}).json()["id"]
    r = s.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
               files={f"client_files[{i}]": (f"img{i}.png", png()) for i in range(3)})
    cvat_server.wait_for_request(s, r.json()["rq_id"])
    (label,) = s.get(f"/api/labels?task_id={tid}").json()["results"]
    ids = rec["extra"]["ids"]
    labels = {ids["labels"]["skel"]: label["id"]}
    labels.update({ids["labels"]["skel." + sub["name"]]: sub["id"] for sub in label["sublabels"]})
    (job,) = s.get(f"/api/jobs?task_id={tid}").json()["results"]
    idmap = IdMap(labels)
    replayed = 0
    for call in rec["calls"]:
        req, real = call["request"], call["response"]
        if not req["path"].endswith(f"/jobs/{ids['job']}/annotations") or req["method"] == "DELETE":
            continue
        query = dict(req.get("query") or [])
        if "format" in query:
            continue
        where = "%s on %s: %s" % (call["label"], cvat_server.version, req["method"])
        body = idmap.request(req["json"]) if req.get("json") is not None else None
        ours = s.request(req["method"], f"/api/jobs/{job['id']}/annotations", params=query, json=body)
        assert ours.status_code == real["status"], (where, ours.text[:400])
        replayed += 1
        if real["status"] >= 400:
            if isinstance(real["json"], str):  # CVAT's database error
                assert ours.json().split("\n")[0] == real["json"].split("\n")[0], where
            else:
                assert ours.json() == real["json"], where
            continue
        if req["method"] in ("PUT", "PATCH") and query.get("action") != "delete":
            idmap.learn(real["json"]["shapes"], ours.json()["shapes"])
        assert idmap.view(ours.json(), True) == idmap.view(real["json"], False), where
    assert replayed >= 25
