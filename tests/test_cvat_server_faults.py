"""The emulator's fault switches behave as documented, and it serves
concurrent clients."""
import io
import threading
import time

import pytest
import requests
from PIL import Image


def _png(w=16, h=12):
    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, "PNG")
    return buf.getvalue()


def _task_with_data(s, n=1, segment_size=0):
    tid = s.post("/api/tasks", json={"name": "t", "segment_size": segment_size,
                                     "labels": [{"name": "cat"}]}).json()["id"]
    r = s.post(f"/api/tasks/{tid}/data", data={"image_quality": 70},
               files={f"client_files[{i}]": (f"{i}.png", _png()) for i in range(n)})
    return tid, r


def _wait(s, r, timeout=5):
    """Polls the upload's request until it is finished or failed."""
    deadline = time.time() + timeout
    while True:
        rq = s.get(f"/api/requests/{r.json()['rq_id']}").json()
        if rq["status"] in ("finished", "failed") or time.time() > deadline:
            return rq
        time.sleep(0.01)


def test_refuse_connections_and_clear(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.refuse_connections()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(cvat_server.url + "/api/server/about", timeout=2)
    cvat_server.faults.clear()
    assert s.get("/api/server/about").status_code == 200  # same URL again


def test_unauthorized_after_n_calls(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.unauthorized_after(2)
    assert s.get("/api/tasks").status_code == 200
    assert s.get("/api/tasks").status_code == 200
    r = s.get("/api/tasks")
    assert r.status_code == 401 and r.json() == {"detail": "Invalid token."}
    assert s.post("/api/tasks", json={"name": "x", "labels": [{"name": "a"}]}).status_code == 401
    assert cvat_server.state.tasks == {}


def test_error_on_path_regex_and_method(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.error(r"/api/tasks/\d+/annotations", status=500, method="PUT")
    tid, _ = _task_with_data(s)
    assert s.get(f"/api/tasks/{tid}/annotations").status_code == 200
    r = s.put(f"/api/tasks/{tid}/annotations", json={"shapes": []})
    assert r.status_code == 500 and "Server Error (500)" in r.text
    cvat_server.faults.error(r"^/api/jobs", status=503)
    assert s.get(f"/api/jobs?task_id={tid}").status_code == 503


def test_delay_beyond_client_timeout(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.delay(r"/api/server/about", 1.0)
    t0 = time.time()
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.get("/api/server/about", timeout=0.2)
    assert time.time() - t0 < 0.9
    assert s.get("/api/users/self").status_code == 200  # other paths unaffected


def test_drop_mid_response(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.drop(r"/api/users/self")
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError)):
        s.get("/api/users/self")
    assert cvat_server.session().get("/api/server/about").status_code == 200


def test_fail_processing(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.fail_processing()
    tid, r = _task_with_data(s)
    assert r.status_code == 202
    rq = _wait(s, r)
    assert rq["status"] == "failed" and rq["message"]
    assert s.get(f"/api/tasks/{tid}/status").json()["state"] == "Failed"
    assert s.get(f"/api/jobs?task_id={tid}").json()["count"] == 0
    assert "size" not in s.get(f"/api/tasks/{tid}").json()


def test_stall_processing_never_finishes(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.stall_processing()
    tid, r = _task_with_data(s)
    time.sleep(0.1)
    rq = s.get(f"/api/requests/{r.json()['rq_id']}").json()
    assert rq["status"] in ("queued", "started")
    assert s.get(f"/api/jobs?task_id={tid}").json()["count"] == 0


def test_processing_goes_queued_started_finished(cvat_server):
    s = cvat_server.session()
    cvat_server.processing_delay = 1.0
    cvat_server.processing_polls = None  # finished by time alone
    tid, r = _task_with_data(s)
    url = f"/api/requests/{r.json()['rq_id']}"
    seen = []
    deadline = time.time() + 5
    while time.time() < deadline:
        status = s.get(url).json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "finished":
            break
        time.sleep(0.02)
    assert seen == ["queued", "started", "finished"]
    assert s.get(f"/api/jobs?task_id={tid}").json()["count"] == 1


def test_clear_switches_everything_off(cvat_server):
    f = cvat_server.faults
    f.error(".*")
    f.delay(".*", 5)
    f.unauthorized_after(0)
    f.fail_processing()
    f.clear()
    s = cvat_server.session()
    tid, r = _task_with_data(s)
    assert _wait(s, r)["status"] == "finished"


def test_calls_log(cvat_server):
    s = cvat_server.session()
    s.get("/api/tasks?page=1")
    assert cvat_server.calls[-1] == ("GET", "/api/tasks")
    assert cvat_server.call_log[-1][2] == "/api/tasks?page=1"


def test_state_is_reset_between_tests_part1(cvat_server):
    _task_with_data(cvat_server.session())
    cvat_server.faults.error(".*")


def test_state_is_reset_between_tests_part2(cvat_server):
    s = cvat_server.session()
    assert s.get("/api/tasks").json()["count"] == 0
    assert cvat_server.calls == [("POST", "/api/auth/login"), ("GET", "/api/tasks")]


def test_concurrent_job_reads(cvat_server):
    s = cvat_server.session()
    tid, r = _task_with_data(s, n=40, segment_size=2)
    _wait(s, r)
    jobs = s.get(f"/api/jobs?task_id={tid}&page_size=100").json()["results"]
    assert len(jobs) == 20
    cvat_server.faults.delay(r"/api/jobs/\d+/annotations", 0.3)
    results, errors = {}, []

    def fetch(jid):
        try:
            r = requests.get(f"{cvat_server.url}/api/jobs/{jid}/annotations",
                             auth=(cvat_server.username, cvat_server.password), timeout=5)
            results[jid] = r.status_code
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=fetch, args=(j["id"],)) for j in jobs]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(results.values()) == {200}
    assert time.time() - t0 < 3  # 20 x 0.3 s served in parallel, not in turn


def test_late_delayed_request_does_not_leak_into_next_test(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.delay(r"^/api/tasks$", 0.4, method="POST")
    with pytest.raises(requests.exceptions.ReadTimeout):
        s.post("/api/tasks", json={"name": "late", "labels": [{"name": "a"}]}, timeout=0.1)
    cvat_server.server.reset()  # what the fixture does between tests
    time.sleep(0.6)
    assert cvat_server.state.tasks == {}


def test_error_changes_nothing_but_drop_does_the_work(cvat_server):
    s = cvat_server.session()
    cvat_server.faults.error(r"^/api/tasks$", method="POST")
    assert s.post("/api/tasks", json={"name": "x", "labels": [{"name": "a"}]}).status_code == 500
    assert cvat_server.state.tasks == {}
    cvat_server.faults.clear()
    cvat_server.faults.drop(r"^/api/tasks$", method="POST")
    with pytest.raises((requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ConnectionError)):
        s.post("/api/tasks", json={"name": "x", "labels": [{"name": "a"}]})
    assert [t["name"] for t in cvat_server.state.tasks.values()] == ["x"]
