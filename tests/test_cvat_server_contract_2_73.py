"""Contract test of the 2.73.0 profile with ``cvat-sdk==2.73.0`` (installed
apart, in ``<venv>/cvat-sdk-2.73.0``, so it runs in a subprocess), and the
recorded incompatibility: ``cvat-sdk==2.23.1`` cannot create a task on a
2.73 server (``"data": null`` is not in its model)."""
import os
import subprocess
import sys

import pytest

import cvat_sdk
from cvat_sdk import make_client, models

SDK_2_73 = os.path.join(sys.prefix, "cvat-sdk-2.73.0")
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk_contract.py")


@pytest.mark.parametrize("cvat_server", ["2.73.0"], indirect=True)
def test_cvat_sdk_2_73_0_contract(cvat_server, tmp_path):
    assert os.path.isdir(os.path.join(SDK_2_73, "cvat_sdk")), (
        "cvat-sdk 2.73.0 is not installed in %s (scripts/setup.sh makes it)" % SDK_2_73)
    env = dict(os.environ, PYTHONPATH=SDK_2_73)
    out = subprocess.run(
        [sys.executable, SCRIPT, cvat_server.url, cvat_server.username,
         cvat_server.password, str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["OK", "2.73.0"]


@pytest.mark.parametrize("cvat_server", ["2.73.0"], indirect=True)
def test_cvat_sdk_2_23_1_cannot_create_a_task_on_2_73(cvat_server):
    assert cvat_sdk.__version__ == "2.23.1"
    with make_client(cvat_server.url, credentials=(cvat_server.username,
                                                   cvat_server.password)) as client:
        with pytest.raises(Exception) as e:
            client.tasks.create(models.TaskWriteRequest(
                name="t", labels=[models.PatchedLabelRequest(name="cat")]))
    assert "data" in str(e.value)
