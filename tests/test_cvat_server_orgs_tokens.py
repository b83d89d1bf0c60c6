"""Organizations and personal access tokens on each profile, replayed from
the recordings (``organizations.json``, ``auth_tokens.json``): every call
with the same actor, context (``X-Organization`` / ``?org=``) and body, same
status, same error body, same list counts."""
import json
import os
import re

import pytest
import requests

from cvat_server.fixtures import PROFILES

RECORDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recordings")
pytestmark = pytest.mark.parametrize("cvat_server", PROFILES, indirect=True)
ROLES = {"maint": "maintainer", "sup": "supervisor", "worker": "worker", "outsider": None}


def recorded(version, name):
    with open(os.path.join(RECORDINGS, version, name)) as f:
        return json.load(f)


def _actor(label):
    if label.startswith("organizations seen by "):
        return label.split()[-1].replace("supervisor", "sup")
    first = re.split(r"[ (]", label)[0]
    return {"maintainer": "maint", "supervisor": "sup"}.get(first, first if first in ROLES else "admin")


def test_organizations_replay(cvat_server):
    rec = recorded(cvat_server.version, "organizations.json")
    extra, suffix = rec["extra"], rec["extra"]["suffix"]
    sessions, real_user_ids = {"admin": cvat_server.session()}, {}
    for key in ROLES:
        name = f"rec_{key}_{suffix}"
        cvat_server.add_user(name, password="pw-" + name)
        sessions[key] = cvat_server.session(name, "pw-" + name)
    for call in rec["calls"]:
        if call["label"].startswith("self "):
            real_user_ids[call["response"]["json"]["id"]] = call["label"].split()[1]
    ours, labels = {}, {}  # recorded ids -> ours (objects per kind; labels)
    replayed = 0
    for call in rec["calls"]:
        req, real = call["request"], call["response"]
        if req["path"].startswith(("/api/auth/", "/api/requests/")) or call["label"].startswith("self "):
            continue
        path = req["path"]
        for kind, rid in (("task", extra["ids"]["task"]), ("job", extra["ids"]["job"]),
                          ("project", extra["ids"]["project"]), ("organization", extra["org"]["id"])):
            if kind in ours:
                path = re.sub(rf"/{kind}s/{rid}\b", f"/{kind}s/{ours[kind]}", path)
                path = path.replace(f"target_id={rid}", f"target_id={ours[kind]}")
        query = [(k, str(ours["task"]) if k == "task_id" else str(ours["job"]) if k == "job_id" else v)
                 for k, v in req.get("query") or []]
        headers = {k: v for k, v in req["headers"].items() if k == "X-Organization"}
        body = req.get("json")
        body = _map_labels(body, labels)
        if isinstance(body, dict) and "project_id" in body:
            body = dict(body, project_id=ours["project"])
        if isinstance(body, dict) and "assignee" in body:
            who = real_user_ids[body["assignee"]]
            body = dict(body, assignee=next(u.id for u in cvat_server.state.users.values()
                                            if u.username == f"rec_{who}_{suffix}"))
        if req["method"] == "POST" and path.endswith("/data"):
            from test_cvat_server_recorded import png
            r = sessions["admin"].post(path, headers=headers, data={"image_quality": 70},
                                       files={f"client_files[{i}]": (f"img{i}.png", png()) for i in range(2)})
            cvat_server.wait_for_request(sessions["admin"], r.json()["rq_id"])
            continue
        actor = _actor(call["label"])
        r = sessions[actor].request(req["method"], path, params=query, headers=headers, json=body)
        where = "%s on %s" % (call["label"], cvat_server.version)
        assert r.status_code == real["status"], (where, r.text[:300])
        replayed += 1
        got = r.json() if r.content else None
        want = real.get("json")
        if real["status"] >= 400:
            assert got == want, where
        elif isinstance(want, dict) and "count" in want:
            server_wide = actor == "admin" and "tasks list" in call["label"] and (
                "no org context" in call["label"] or "personal" in call["label"])
            if not server_wide:  # the recorded server held other users' tasks too
                assert got["count"] == want["count"], where
        if req["method"] == "POST" and real["status"] == 201 and isinstance(want, dict):
            kind = path.rstrip("/").split("/")[-1][:-1]
            if kind in ("task", "project", "organization") and kind not in ours:
                ours[kind] = got["id"]
                assert got.get("organization") == (
                    None if kind == "organization" else ours["organization"]), where
        if call["label"].startswith("jobs (admin"):
            ours["job"] = got["results"][0]["id"]
        if call["label"].startswith("labels of task"):
            labels.update(_label_pairs(want["results"], got["results"]))
    assert replayed > 150


def _label_pairs(real, ours):
    """Recorded label ids -> ours, by name (sublabels within their skeleton)."""
    out = {}
    by_name = {lab["name"]: lab for lab in ours}
    for r in real:
        o = by_name[r["name"]]
        out[r["id"]] = o["id"]
        subs = {s["name"]: s["id"] for s in o.get("sublabels") or []}
        out.update({s["id"]: subs[s["name"]] for s in r.get("sublabels") or []})
    return out


def _map_labels(obj, labels):
    if isinstance(obj, list):
        return [_map_labels(v, labels) for v in obj]
    if isinstance(obj, dict):
        out = {k: _map_labels(v, labels) for k, v in obj.items()}
        if "label_id" in obj:
            out["label_id"] = labels.get(obj["label_id"], obj["label_id"])
        return out
    return obj


def test_access_tokens_replay(cvat_server):
    """Bearer tokens on 2.73 (read-only by default, 401 for bad ones); on
    2.23.1 the endpoints are 404 and Bearer is ignored."""
    rec = recorded(cvat_server.version, "auth_tokens.json")
    url = cvat_server.url
    admin = cvat_server.session()
    values = {}  # recorded token name -> our value
    replayed = 0
    for call in rec["calls"]:
        req, real = call["request"], call["response"]
        label = call["label"]
        if req["path"] == "/api/auth/login" or req["path"].endswith("/data") or \
                "/requests/" in req["path"] or "labels of task" in label or label.startswith("jobs with"):
            continue
        auth = req["headers"].get("Authorization", "")
        headers, session = {}, requests.Session()
        if "Cookie" in req["headers"]:
            session = admin if "X-CSRFToken" in req["headers"] else _cookie_only(admin)
        if auth.startswith("Bearer"):
            name = ("recording-rw" if " rw " in label + " " or "rw token" in label or "revoked" in label
                    else "recording-ro")
            value = values.get(name, "")
            if "bad Bearer" in label:
                value = "not-a-real-token"
            elif "last 3 chars" in label:
                value = value[:-3] + "xyz"
            elif "no token" in label:
                value = ""
            elif "login key" in label:
                value = _login_key(cvat_server)
            headers["Authorization"] = ("Bearer " + value).strip()
        elif auth.startswith("Token"):
            headers["Authorization"] = "Token " + (
                values.get("recording-rw", "") if "access token" in label else _login_key(cvat_server))
        elif auth.startswith("Basic"):
            session.auth = (cvat_server.username, cvat_server.password)
        path = req["path"]
        if re.search(r"/access_tokens/\d+$", path):
            name = "recording-rw" if "rw" in label or "revoked" in label else "recording-ro"
            path = "/api/auth/access_tokens/%d" % values[name + "#id"]
        body = req.get("json")
        if "/jobs/" in path:
            path = re.sub(r"/jobs/\d+", "/jobs/%d" % _job(cvat_server, admin, values), path)
            real_labels = next(c["response"]["json"]["results"] for c in rec["calls"]
                               if c["label"].startswith("labels of task"))
            body = _map_labels(body, _label_pairs(real_labels, values["#labels"]))
        r = session.request(req["method"], url + path, params=req.get("query") or [],
                            headers=headers, json=body)
        where = "%s on %s" % (label, cvat_server.version)
        assert r.status_code == real["status"], (where, r.text[:300])
        replayed += 1
        want = real.get("json")
        if real["status"] >= 400 and want is not None:
            assert r.json() == want, where
        elif isinstance(want, dict) and "count" in want:
            assert r.json()["count"] == want["count"], where
        if r.status_code == 201 and "value" in (want or {}):
            got = r.json()
            assert sorted(got) == sorted(want) and got["read_only"] == want["read_only"], where
            assert len(got["value"]) == 41 and got["value"][8] == "."
            values[got["name"]], values[got["name"] + "#id"] = got["value"], got["id"]
        if isinstance(want, dict) and "read_only" in want and r.status_code == 200:
            assert "value" not in r.json(), where  # shown once, at creation
    assert replayed >= 15


def _cookie_only(admin):
    s = requests.Session()
    s.cookies.update(admin.cookies)
    return s


def _login_key(cvat_server):
    return requests.post(cvat_server.url + "/api/auth/login", json={
        "username": cvat_server.username, "password": cvat_server.password}).json()["key"]


def _job(cvat_server, admin, cache):
    """A job with data for the token calls (made once)."""
    if "#job" not in cache:
        from test_cvat_server_recorded import FIVE, png
        tid = admin.post("/api/tasks", json={"name": "token-task", "labels": [FIVE]}).json()["id"]
        r = admin.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
                       files={f"client_files[{i}]": (f"img{i}.png", png()) for i in range(3)})
        cvat_server.wait_for_request(admin, r.json()["rq_id"])
        cache["#job"] = admin.get(f"/api/jobs?task_id={tid}").json()["results"][0]["id"]
        cache["#labels"] = admin.get(f"/api/labels?task_id={tid}").json()["results"]
    return cache["#job"]
