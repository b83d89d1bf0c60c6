"""Saves a picture of the Skeleton preview panel, open in the real FiftyOne
App on the demo dataset, to ``docs/panel-preview.png``.

Runs on an isolated database (``bench/_env.py``), serves the App on a free
loopback port with the plugin, opens the panel from the "+" menu in headless
Debian Chromium, turns node labels on and screenshots the panel::

    .venv/bin/python scripts/render_panel.py [--out docs/panel-preview.png]
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO_DIR, os.path.join(REPO_DIR, "bench")]

from _env import isolated_fiftyone  # noqa: E402

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_app(port, log_path):
    env = dict(os.environ, FIFTYONE_PLUGINS_DIR=REPO_DIR)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fiftyone.server.main",
         "--address", "127.0.0.1", "--port", str(port)],
        env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"App server exited; see {log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/fiftyone", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"App server not ready in 60 s; see {log_path}")


def _screenshot(url, out):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        pw.selectors.set_test_id_attribute("data-cy")
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        ctx = browser.new_context(viewport={"width": 1500, "height": 1250})
        ctx.add_init_script("window.IS_PLAYWRIGHT = true;")
        ctx.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda r: r.abort())
        ctx.set_default_timeout(60_000)
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        page.get_by_test_id("looker").first.wait_for(state="visible")
        page.get_by_test_id("new-panel-btn").first.click()
        page.get_by_test_id("new-panel-option-skeleton_preview").click()
        image = page.get_by_alt_text("skeleton preview")
        image.wait_for(state="visible")
        page.get_by_text("Node labels").click()
        page.wait_for_function(
            "() => (document.querySelector('img[alt=\"skeleton preview\"]')"
            "?.getAttribute('src') || '').includes('%3Ctext')"
        )
        page.wait_for_timeout(500)  # let the image decode
        panel = page.get_by_test_id("panel-tab-skeleton_preview")
        left = panel.bounding_box()["x"] if panel.count() else 750
        page.screenshot(
            path=out, clip={"x": left - 10, "y": 60, "width": 1500 - left + 10,
                            "height": 1180},
        )
        browser.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO_DIR, "docs", "panel-preview.png"))
    args = parser.parse_args(argv)
    with isolated_fiftyone() as env:
        from posekit import demo

        ds = demo.build_dataset(
            "posekit-demo", media_dir=os.path.join(env["tmp"], "media")
        )
        port = _free_port()
        server = _serve_app(port, os.path.join(env["tmp"], "app.log"))
        try:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            _screenshot(f"http://127.0.0.1:{port}/datasets/{ds.name}", args.out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
