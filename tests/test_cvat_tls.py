"""TLS and server URLs (issue 11, item 5): every CVAT request verifies the
server's certificate unless told otherwise (``ssl_verify`` /
``FIFTYONE_CVAT_SSL_VERIFY``: false, or a CA bundle), and a
``FIFTYONE_CVAT_URL`` carrying ``user:password@`` never shows or is stored."""
import json
import os
import pathlib
import ssl
import subprocess

import pytest

from annotation_flow import form_text, request_params, run, set_credentials, tag_two
from cvat_server.server import CVATServer
from posekit.cvat.api import CVATConnectionError, CVATError, PosekitCVATAPI

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """The CVAT emulator behind TLS with a self-signed certificate for
    127.0.0.1; yields (https url, certificate path)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True)
    server = CVATServer().start()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    httpd = server._httpd
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    yield "https://127.0.0.1:%d" % server.port, str(cert), server
    server.stop()


def _api(url, server, **kwargs):
    from cvat_server.state import State

    user, password, _ = State.ADMIN
    return PosekitCVATAPI("posekit_cvat", url, username=user, password=password,
                          request_timeout=10, **kwargs)


def test_tls_is_verified_by_default(tls_server, monkeypatch):
    url, cert, server = tls_server
    monkeypatch.delenv("FIFTYONE_CVAT_SSL_VERIFY", raising=False)
    with pytest.raises(CVATConnectionError) as e:
        _api(url, server)
    msg = str(e.value)
    assert "TLS certificate" in msg and "FIFTYONE_CVAT_SSL_VERIFY" in msg


def test_tls_with_a_ca_bundle_or_explicitly_unverified(tls_server, monkeypatch):
    url, cert, server = tls_server
    monkeypatch.delenv("FIFTYONE_CVAT_SSL_VERIFY", raising=False)
    assert _api(url, server, ssl_verify=cert).get(url + "/api/server/about").ok
    assert _api(url, server, ssl_verify="false").get(url + "/api/server/about").ok
    with pytest.raises(CVATError, match="CA bundle"):
        _api(url, server, ssl_verify="/nonexistent/ca.pem")


def test_env_var_reaches_the_backend(tls_server, monkeypatch):
    """FIFTYONE_CVAT_SSL_VERIFY (the plugin secret of the same name in the
    App) sets verification for runs that do not set it."""
    import fiftyone as fo
    from posekit.cvat.backend import BACKEND_NAME, PosekitCVATBackend, PosekitCVATBackendConfig

    url, cert, server = tls_server
    from cvat_server.state import State

    config = PosekitCVATBackendConfig(BACKEND_NAME, {}, url=url,
                                      username=State.ADMIN[0], password=State.ADMIN[1])
    monkeypatch.delenv("FIFTYONE_CVAT_SSL_VERIFY", raising=False)
    with pytest.raises(CVATConnectionError):
        PosekitCVATBackend(config).connect_to_api()
    monkeypatch.setenv("FIFTYONE_CVAT_SSL_VERIFY", cert)
    assert PosekitCVATBackend(config).connect_to_api().get(url + "/api/server/about").ok


def test_no_request_skips_verification_in_the_code():
    hits = [p for p in (REPO / "posekit").rglob("*.py") if "verify=False" in p.read_text()]
    assert hits == []


def test_url_userinfo_never_shows_nor_is_stored(demo_dataset, cvat_server, monkeypatch):
    ds = demo_dataset
    set_credentials(monkeypatch, cvat_server)
    host = cvat_server.url.split("://", 1)[1]
    monkeypatch.setenv("FIFTYONE_CVAT_URL", "http://alice:s3cret-pw@%s" % host)
    tag_two(ds)
    text = form_text("request_skeleton_annotation", ds, params=request_params("u1"))
    shown = text.replace("\\\\", "")  # the form's Markdown escapes (\\.) dropped
    assert "s3cret-pw" not in shown and "alice" not in shown and host in shown

    result = run("request_skeleton_annotation", ds, request_params("u1"))
    assert result.error is None, result.error
    assert result.result["editor_url"].startswith("http://%s/tasks/" % host)
    opened = run("open_annotation_run", ds, {"anno_key": "u1"})
    assert opened.result["editor_url"] == result.result["editor_url"]
    stored = json.dumps(ds._doc.annotation_runs["u1"].to_dict(), default=str)
    assert "s3cret-pw" not in stored and "alice" not in stored

    cvat_server.faults.error(r"/api/jobs/\d+/annotations", 500, method="GET")
    failed = run("load_skeleton_annotation", ds, {"anno_key": "u1"})
    assert failed.error is not None and host in failed.error_message
    assert "s3cret-pw" not in failed.error_message + failed.error
