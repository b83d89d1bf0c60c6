"""Logging in to CVAT by email: CVAT's /api/auth/login takes email + password
(its LoginSerializerEx authenticates by email when one is given, the username
may be blank), so an email and a password are enough, with no prompt."""
import subprocess
import sys

from annotation_flow import request_params, run, tag_two
from conftest import REPO_DIR
from posekit.templates import get_template

# Outside pytest: stdin closed, as the App server's is
LOGIN = """
import sys
from posekit.cvat.api import PosekitCVATAPI
api = PosekitCVATAPI("cvat", sys.argv[1], email=sys.argv[2], password=sys.argv[3])
print(api.get(api.about_url).json()["version"])
"""


def test_email_and_password_log_in_without_a_prompt(cvat_server):
    out = subprocess.run(
        [sys.executable, "-c", LOGIN, cvat_server.url, cvat_server.email,
         cvat_server.password],
        cwd=REPO_DIR, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "2.23.1"
    assert "Username" not in out.stdout + out.stderr
    assert ("POST", "/api/auth/login") in cvat_server.calls


def test_request_with_email_credentials(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    ds.default_skeleton = get_template("coco17").to_skeleton()
    ds.save()
    monkeypatch.setenv("FIFTYONE_CVAT_URL", cvat_server.url)
    monkeypatch.setenv("FIFTYONE_CVAT_EMAIL", cvat_server.email)
    monkeypatch.setenv("FIFTYONE_CVAT_PASSWORD", cvat_server.password)
    monkeypatch.delenv("FIFTYONE_CVAT_USERNAME", raising=False)
    monkeypatch.setattr(sys, "stdin", None)  # a prompt would fail, as in the App
    tag_two(ds)
    result = run("request_skeleton_annotation", ds, request_params("by_email"))
    assert result.error is None, result.error
    assert len(result.result["task_ids"]) == 1
    result = run("load_skeleton_annotation", ds, {"anno_key": "by_email"})
    assert result.error is None, result.error


def test_a_wrong_email_password_is_refused_by_cvat(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    ds.default_skeleton = get_template("coco17").to_skeleton()
    ds.save()
    monkeypatch.setenv("FIFTYONE_CVAT_URL", cvat_server.url)
    monkeypatch.setenv("FIFTYONE_CVAT_EMAIL", cvat_server.email)
    monkeypatch.setenv("FIFTYONE_CVAT_PASSWORD", "wrong-password")
    monkeypatch.delenv("FIFTYONE_CVAT_USERNAME", raising=False)
    monkeypatch.setattr(sys, "stdin", None)
    tag_two(ds)
    result = run("request_skeleton_annotation", ds, request_params("bad_email"))
    assert result.error is not None
    assert "wrong-password" not in str(result.error_message)
    assert "EOF" not in str(result.error_message)
    assert "bad_email" not in ds.list_annotation_runs()
