"""A small DevTools-protocol client for headless Chromium: open a local page offline, read it, screenshot it.

Chromium is driven over its remote-debugging WebSocket (bound to 127.0.0.1, with `websocket-client`,
which the core already has through `kubernetes`) rather than a browser-automation library, so
nothing needs a download. Every page opens with the
network emulated offline, DNS mapped to nowhere and a dead proxy: a report that reaches for a CDN
shows up as a failed request in `requests`, and any console error or uncaught exception in `errors`.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,1600",
]


def chromium_binary() -> str:
    """The Chromium to use; skips the test where there is none, and fails it under CI, which must have one."""
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        return binary
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser tests, but no `chromium` is on PATH: .ci/run installs it with apt-get.")
    pytest.skip("no `chromium` on PATH (apt-get install chromium); the browser tests run under CI")


class Page:
    """One tab, attached over a flat DevTools session."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session
        self.errors: list[str] = []
        self.requests: list[str] = []

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def _on_event(self, message: dict[str, Any]) -> None:
        method, params = message["method"], message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(params["entry"]["text"])
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])

    def open(self, path: Path, timeout: float = 30.0) -> float:
        """Load a file from disk with the network off; returns seconds from navigating to the load event."""
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=0, uploadThroughput=0)
        start = time.perf_counter()
        self.send("Page.navigate", url=path.resolve().as_uri())
        self.browser.wait_for_event("Page.loadEventFired", self.session, timeout)
        return time.perf_counter() - start

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a JavaScript expression (promises awaited); a thrown error fails the test."""
        reply = self.send("Runtime.evaluate", timeout, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def _centre(self, selector: str) -> tuple[float, float]:
        """The viewport point at the middle of the first element matching `selector`, scrolled into view."""
        found = json.dumps(selector)
        x, y = self.evaluate(
            f"(() => {{ const e = document.querySelector({found}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        return x, y

    def click(self, selector: str) -> None:
        """A real mouse click (move, press, release) on the first element matching `selector`."""
        x, y = self._centre(selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def hover(self, selector: str) -> None:
        x, y = self._centre(selector)
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    def press(self, key: str) -> None:
        """Press and release a key (e.g. "Enter") on whatever has the focus."""
        codes = {"Enter": 13, " ": 32}
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, windowsVirtualKeyCode=codes.get(key, 0))

    def type(self, selector: str, text: str) -> None:
        """Focus an input and type into it as a keyboard would (one `input` event)."""
        self.click(selector)
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """A headless Chromium process and its browser-level DevTools connection."""

    def __init__(self, binary: str, timeout: float = 30.0) -> None:
        import websocket

        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = self._devtools_url(timeout)
        self.ws = websocket.create_connection(url, timeout=timeout)
        self._next = 0
        self._pages: dict[str, Page] = {}
        self._events: list[dict[str, Any]] = []

    def _devtools_url(self, timeout: float) -> str:
        """Chromium's `DevTools listening on ws://...` line on stderr; the rest of stderr is drained and dropped."""
        found: queue.Queue[str] = queue.Queue()

        def drain() -> None:
            for raw in self.process.stderr:  # type: ignore[union-attr]
                line = raw.decode(errors="replace")
                if line.startswith("DevTools listening on "):
                    found.put(line.split(" on ", 1)[1].strip())

        self._drain = threading.Thread(target=drain, name="chromium-stderr", daemon=True)
        self._drain.start()
        try:
            return found.get(timeout=timeout)
        except queue.Empty:
            code = self.process.poll()
            raise TimeoutError(
                f"chromium gave no DevTools address within {timeout}s"
                + (f" (it exited with {code})" if code is not None else "")
            ) from None

    def _handle(self, message: dict[str, Any]) -> None:
        page = self._pages.get(message.get("sessionId", ""))
        if page is not None:
            page._on_event(message)
        self._events.append(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        self.ws.settimeout(timeout)
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply["result"]
            self._handle(reply)

    def wait_for_event(self, method: str, session: str, timeout: float) -> dict[str, Any]:
        for i, event in enumerate(self._events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self._events.pop(i)
        self.ws.settimeout(timeout)
        while True:
            message = json.loads(self.ws.recv())
            if message.get("method") == method and message.get("sessionId") == session:
                self._handle(message)
                return message
            self._handle(message)

    def new_page(self, width: int = 1280, height: int = 1600) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        return page

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self._drain.join(timeout=10)
            self.process.stderr.close()  # type: ignore[union-attr]
            shutil.rmtree(self.profile, ignore_errors=True)


@contextmanager
def chromium(timeout: float = 30.0) -> Iterator[Chromium]:
    browser = Chromium(chromium_binary(), timeout)
    try:
        yield browser
    finally:
        browser.close()
