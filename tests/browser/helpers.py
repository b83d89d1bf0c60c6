"""Common actions in the FiftyOne App, for the browser tests.

Everything waits on the App's own signals (elements, responses), never on
fixed sleeps. Test ids are FiftyOne's ``data-cy`` attributes.
"""
import json
import os
import threading
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

TIMEOUT_MS = 30_000
PLUGIN = "@posekit/skeletons"
REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TALL = 1400
_TWO_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def save_screenshot(page, name, locator=None):
    """Saves a PNG of the page (or ``locator``) as ``<name>.png`` in
    ``$POSEKIT_SCREENSHOTS_DIR`` (``scripts/screenshots.py`` points it at
    ``docs/screenshots``), else in ``test-artifacts/browser-screenshots``."""
    out = os.environ.get("POSEKIT_SCREENSHOTS_DIR") or os.path.join(
        REPO_DIR, "test-artifacts", "browser-screenshots"
    )
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name + ".png")
    if locator is not None:
        locator.screenshot(path=path)
        return path
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": TALL})  # room for panels
    page.evaluate(_TWO_FRAMES_JS)
    page.screenshot(path=path)
    page.set_viewport_size(size)
    return path


class ConsoleLog:
    """Collects the page's console messages, page errors and failed requests."""

    def __init__(self, page):
        self.lines = []
        page.on("console", lambda m: self.lines.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.lines.append(f"[pageerror] {e}"))
        page.on(
            "requestfailed",
            lambda r: self.lines.append(f"[requestfailed] {r.method} {r.url} {r.failure}"),
        )
        page.on("response", self._on_response)

    def _on_response(self, response):
        """Logs each operator execution: operator, panel method, outcome."""
        if not is_execute(response):
            return
        body = response.request.post_data_json or {}
        method = (body.get("params") or {}).get("__method__") or ""
        try:
            answer = response.json()
            outcome = answer.get("error") or ",".join(
                r["operator_uri"] for r in (answer.get("executor") or {}).get("requests", [])
            )
        except Exception:
            outcome = "(no JSON)"
        self.lines.append(
            f"[execute] {body.get('operator_uri')} {method} -> {response.status} {str(outcome)[:300]}"
        )

    def errors(self):
        return [l for l in self.lines if l.startswith(("[error]", "[pageerror]"))]


def open_dataset(page, server, name):
    """Loads the App on dataset ``name`` and waits for the grid's first sample."""
    page.goto(server.dataset_url(name), wait_until="load")
    page.get_by_test_id("looker").first.wait_for(state="visible")


def _is_resolve(request):
    return request.method == "POST" and "/operators/resolve-type" in request.url


def is_execute(response, operator=None):
    """Whether ``response`` answers a ``POST /operators/execute`` (for ``operator``)."""
    if response.request.method != "POST" or not response.url.endswith("/operators/execute"):
        return False
    if operator is None:
        return True
    body = response.request.post_data_json or {}
    return body.get("operator_uri", "").endswith("/" + operator.split("/")[-1])


class Execution:
    """One ``POST /operators/execute``: what the App sent and what it got."""

    def __init__(self, response):
        self.response = response
        self.request = response.request.post_data_json
        self.params = self.request.get("params", {})
        self.status = response.status
        try:
            self.body = response.json()
        except Exception:
            self.body = {"text": response.text()}

    @property
    def error(self):
        return self.body.get("error")

    @property
    def requests(self):
        """The follow-up operations the server asked the App to run."""
        return ((self.body.get("executor") or {}).get("requests")) or []

    def panel_patch(self, kind="data"):
        """Merged ``patch_panel_<kind>`` payloads of this execution."""
        out = {}
        for r in self.requests:
            if r["operator_uri"].endswith(f"patch_panel_{kind}"):
                out.update(r["params"].get(kind if kind == "data" else "state") or {})
        return out

    def __repr__(self):
        return f"Execution(status={self.status}, params={self.params}, body={json.dumps(self.body)[:2000]})"


_PROMPT_DONE_JS = """() => {
    const p = document.querySelector('[data-cy=operators-prompt-modal]');
    return !p || [...p.querySelectorAll('.MuiDialogActions-root button')]
        .some(b => b.innerText.trim() === 'Close');
}"""


_EXECUTE_ENABLED_JS = """() => {
    const p = document.querySelector('[data-cy=operators-prompt-modal]');
    return p && [...p.querySelectorAll('.MuiDialogActions-root button')]
        .some(b => b.innerText.trim() === 'Execute' && !b.disabled);
}"""


class App:
    """The App on one dataset, with the steps a user takes."""

    def __init__(self, page, server, dataset):
        self.page = page
        self.server = server
        self.dataset = dataset
        self._resolving = set()  # resolve-type requests in flight
        self._resolved_at = time.monotonic()
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_request_done)
        page.on("requestfailed", self._on_request_done)

    def _on_request(self, request):
        if _is_resolve(request):
            self._resolving.add(request)

    def _on_request_done(self, request):
        if request in self._resolving:
            self._resolving.discard(request)
            self._resolved_at = time.monotonic()

    def settle(self, quiet_s=0.5, timeout_s=TIMEOUT_MS / 1000):
        """Waits until the form has no ``resolve-type`` round trip in flight
        and none has ended for ``quiet_s``: the App re-renders the form when
        one answers, and an edit typed during that re-render can be lost."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.page.evaluate(_TWO_FRAMES_JS)  # lets Playwright deliver events
            if not self._resolving and time.monotonic() - self._resolved_at >= quiet_s:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"the form kept resolving for {timeout_s:.0f} s")

    # ---- grid -----------------------------------------------------------
    @property
    def lookers(self):
        return self.page.get_by_test_id("looker")

    def toggle_select(self, n):
        """Toggles the n-th grid sample's checkbox (hover reveals it)."""
        looker = self.lookers.nth(n)
        looker.hover()
        looker.click(position={"x": 10, "y": 5})

    def selection_count(self):
        return self.page.get_by_test_id("action-manage-selected").first

    def open_sample(self, n=0):
        """Opens the n-th grid sample in the modal."""
        self.lookers.nth(n).click(position={"x": 60, "y": 60})
        self.page.get_by_test_id("modal").wait_for(state="visible")
        return self.page.get_by_test_id("modal")

    def close_modal(self):
        """Closes the sample modal by clicking its backdrop (the App server
        remembers an open modal across page loads)."""
        size = self.page.viewport_size
        self.page.mouse.click(8, size["height"] - 8)
        self.page.get_by_test_id("modal").wait_for(state="hidden")

    # ---- panels ---------------------------------------------------------
    def open_panel(self, name):
        """Opens panel ``name`` from the grid's "+" (new panel) menu; returns
        the ``Execution`` of its ``on_load``."""
        self.page.get_by_test_id("new-panel-btn").first.click()
        with self.page.expect_response(lambda r: is_execute(r, name)) as info:
            self.page.get_by_test_id(f"new-panel-option-{name}").click()
        return Execution(info.value)

    def panel_event(self, action, panel, method=None, value=None):
        """Runs ``action`` (a click, a choice) and returns the ``Execution``
        of the panel's event handler it triggers (``__method__`` = ``method``;
        with ``value``, the event carrying it: the App also announces an
        input's current value when it first renders it)."""

        def match(r):
            if not is_execute(r, panel):
                return False
            params = (r.request.post_data_json or {}).get("params", {})
            if value is not None and params.get("value") != value:
                return False
            return method is None or params.get("__method__") == method

        with self.page.expect_response(match) as info:
            action()
        return Execution(info.value)

    # ---- operators ------------------------------------------------------
    def open_operator_browser(self):
        """Presses the backtick key, as a user does, to open the browser."""
        browser = self.page.get_by_test_id("operators-browser")
        self.page.locator("body").press("`")
        browser.wait_for(state="visible")
        return browser

    def choose_operator(self, label):
        """Searches the operator browser for ``label`` and opens its form."""
        browser = self.open_operator_browser()
        browser.get_by_test_id("operators-browser-search").fill(label)
        browser.get_by_text(label, exact=True).first.click()
        prompt = self.prompt
        prompt.wait_for(state="visible")
        return prompt

    @property
    def prompt(self):
        return self.page.get_by_test_id("operators-prompt-modal")

    def prompt_button(self, text):
        return self.prompt.locator(".MuiDialogActions-root button", has_text=text).first

    def wait_ready(self):
        """Waits until the form has validated and Execute is clickable."""
        self.prompt.locator(".MuiDialogActions-root button", has_text="Execute").first.wait_for()
        self.page.wait_for_function(_EXECUTE_ENABLED_JS)

    def execute(self, operator=None, button="Execute", expect_close=True):
        """Clicks the prompt's ``button`` and returns the ``Execution`` of
        ``POST /operators/execute`` for ``operator``."""
        with self.page.expect_response(lambda r: is_execute(r, operator)) as info:
            self.prompt_button(button).click()
        execution = Execution(info.value)
        if expect_close and not execution.error:
            # the prompt closes, or shows the operator's output with "Close"
            self.page.wait_for_function(_PROMPT_DONE_JS)
        return execution

    def schedule(self, operator=None):
        """Picks "Schedule" in the Execute split button (delegated execution)
        and clicks it; returns the ``Execution``."""
        group = self.prompt.locator(".MuiDialogActions-root [role=group]")
        group.locator("button[aria-haspopup=menu]").click()
        self.page.get_by_role("menuitem").filter(has_text="Schedule").click()
        return self.execute(operator, button="Schedule")

    def scroll_prompt_to_top(self):
        """Scrolls the prompt's form back to its first input."""
        self.prompt.locator(".MuiDialogContent-root").first.evaluate("e => e.scrollTo(0, 0)")

    def close_prompt(self):
        """Closes the prompt's output view."""
        self.prompt_button("Close").click()
        self.prompt.wait_for(state="hidden")

    def after_resolve(self, action, shows=None, timeout_ms=TIMEOUT_MS):
        """Runs ``action`` (an edit in the form) and waits for the form's
        ``resolve-type`` round trip that follows it (the first whose params
        contain ``shows``, when given); returns its params."""

        def match(r):
            if not _is_resolve(r.request):
                return False
            body = r.request.post_data_json or {}
            return shows is None or shows in json.dumps(body.get("params", {}))

        with self.page.expect_response(match, timeout=timeout_ms) as info:
            action()
        self.last_resolve_body = info.value.request.post_data_json or {}
        return self.last_resolve_body.get("params", {})

    def execute_directly(self, body):
        """POSTs ``body`` (a request the form made) to ``/operators/execute``
        from the page, as if the Execute button had been clickable."""
        response = self.page.request.post(
            self.server.url + "/operators/execute", data=body
        )
        return response.status, response.json()

    def text_input(self, value):
        """The prompt's first text box whose current value is ``value``
        (dropdowns' hidden inputs excluded), waiting for it to render."""
        index = self.page.wait_for_function(
            """v => {
                const p = document.querySelector('[data-cy=operators-prompt-modal]');
                if (!p) return false;
                const i = [...p.querySelectorAll('input')].findIndex(e =>
                    e.type === 'text' && e.value === v && !e.closest('[role=combobox]')
                    && !e.classList.contains('MuiSelect-nativeInput'));
                return i >= 0 ? i + 1 : false;
            }""",
            arg=value,
        ).json_value() - 1
        return self.prompt.locator("input").nth(index)

    def input_labelled(self, label):
        """The first text box under the form label ``label``."""
        return self.prompt.locator(
            f"xpath=//*[normalize-space(text())='{label}']"
            "/ancestor::*[.//input[not(@type='radio') and not(@type='checkbox')]][1]"
            "//input[not(@type='radio') and not(@type='checkbox')]"
        ).first

    def fill_labelled(self, label, value):
        """Types ``value`` into the box under ``label`` and commits with Tab;
        returns the params of the form's next resolve."""
        return self._type_into(lambda: self.input_labelled(label), None, value)

    def edit_text(self, old, new):
        """Replaces the text input holding ``old`` with ``new`` and commits it
        with Tab (list items can lose an edit otherwise)."""
        return self._type_into(lambda: self.text_input(old), old, new)

    def _type_into(self, find, old, new):
        """Types ``new`` into the box ``find()`` returns once the form has
        settled, commits with Tab, and returns the params of the resolve that
        carries it. When the App drops the edit (no such resolve follows: a
        re-render can reset the box, or keep the text without the App's state
        having it), the user's remedy is taken: the box is set back to what it
        held and ``new`` typed again, with no other value in between."""
        self.settle()
        box = find()
        try:
            return self.after_resolve(
                lambda: (box.fill(new), box.press("Tab")), shows=new, timeout_ms=10_000
            )
        except PlaywrightTimeoutError:
            pass
        self.settle()
        if old is not None and box.input_value() == new:
            box.fill(old)
            box.press("Tab")
            self.settle()
        return self.after_resolve(lambda: (box.fill(new), box.press("Tab")), shows=new)

    def choose(self, combobox, option, value=None):
        """Opens a dropdown and picks the option whose text is ``option``
        (its value ``value``, when it differs)."""
        combobox.click()
        listbox = self.page.get_by_role("listbox")
        return self.after_resolve(
            lambda: listbox.get_by_role("option").filter(has_text=option).first.click(),
            shows=value or option,
        )

    def dropdowns_holding(self, value):
        """The prompt's dropdowns whose selected value is ``value``."""
        boxes = self.prompt.get_by_role("combobox")
        values = boxes.evaluate_all(
            "els => els.map(e => (e.parentElement.querySelector('input') || {}).value)"
        )
        return [boxes.nth(i) for i, v in enumerate(values) if v == value]


def in_thread(fn, *args, **kwargs):
    """Runs ``fn`` in a plain thread (sync Playwright owns this thread's
    asyncio loop, which FiftyOne's operator APIs would clash with)."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # re-raised in the caller
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")
