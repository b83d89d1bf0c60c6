"""The plugin loads the way FiftyOne loads it, and registers exactly what its
manifest names."""
import ast
import os
import subprocess
import sys

import yaml

from conftest import PLUGIN, REPO_DIR


def _manifest():
    with open(os.path.join(REPO_DIR, "fiftyone.yml")) as f:
        return yaml.safe_load(f)


def _cli(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "fiftyone")
    out = subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_manifest_declares_name_range_and_secrets():
    m = _manifest()
    assert m["name"] == PLUGIN
    assert m["fiftyone"]["version"]
    assert set(m["secrets"]) == {
        "FIFTYONE_CVAT_URL",
        "FIFTYONE_CVAT_USERNAME",
        "FIFTYONE_CVAT_PASSWORD",
        "FIFTYONE_CVAT_EMAIL",
        "FIFTYONE_CVAT_API_TOKEN",
        "FIFTYONE_CVAT_SSL_VERIFY",
    }


def test_discovery_registers_exactly_the_manifest():
    import fiftyone.operators as foo
    import fiftyone.plugins as fop

    names = [p.name for p in fop.list_plugins()]
    assert PLUGIN in names

    registered = {
        op.uri.split("/")[-1]: op
        for op in foo.list_operators()
        if op.plugin_name == PLUGIN
    }
    m = _manifest()
    assert set(registered) == set(m["operators"]) | set(m["panels"])
    panels = {n for n, op in registered.items() if isinstance(op, foo.Panel)}
    assert panels == set(m["panels"])
    for name in m["operators"]:
        op = registered[name]
        assert op.config.label, f"{name} has no label"


def test_cli_lists_plugin_and_operators():
    plugins = _cli("plugins", "list")
    assert PLUGIN in plugins
    ops = _cli("operators", "list")
    for name in _manifest()["operators"]:
        assert f"{PLUGIN}/{name}" in ops


def test_logic_package_imports_nothing_from_the_app():
    """posekit/ must be usable without FiftyOne's operator or panel types."""
    offenders = []
    pkg = os.path.join(REPO_DIR, "posekit")
    for root, _, files in os.walk(pkg):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = [node.module or ""]
                else:
                    continue
                offenders += [
                    (path, m) for m in mods
                    if m.startswith("fiftyone.operators")
                ]
    assert offenders == []
