"""Test helper: drive the real headless Chromium (``/usr/bin/chromium``) over the Chrome DevTools
Protocol on ``--remote-debugging-pipe`` (file descriptors 3 and 4, messages ending in a NUL byte),
with the standard library only (a pipe needs no port, and no websocket client).

:class:`Browser` starts one Chromium with a new empty profile and the flags that keep it off the
network by itself (no component updates, sync or background requests); :meth:`Browser.open` loads
a ``file:`` page in a new tab at a given viewport width and returns a :class:`Tab`, which records
every request the page makes (so a test can prove a page loads nothing from the network) and
evaluates JavaScript in the page.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no background requests of its own, and no host name resolves: a page that asks for
#: something from the network still makes the request (and the tab records it), but nothing leaves
#: the machine and nothing waits for a DNS answer.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND")


class ChromiumError(RuntimeError):
    """Chromium did not start, died, timed out or answered a command with an error."""


class Browser:
    """One headless Chromium driven over ``--remote-debugging-pipe``; use as a context manager."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self._id = 0
        self._events: list[dict] = []
        self._buffer = b""
        self._profile = tempfile.mkdtemp(prefix="cldstats-chromium-")
        to_child_read, self._to_child = os.pipe()
        self._from_child, from_child_write = os.pipe()

        def _pipes_on_3_and_4():
            # Chromium reads commands on fd 3 and writes answers on fd 4. Move both ends above
            # 4 first, so the second dup2 cannot overwrite the first whatever numbers they had.
            read_end = fcntl.fcntl(to_child_read, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_child_write, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
                   "about:blank"]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(3, 4),
                                         preexec_fn=_pipes_on_3_and_4)
        os.close(to_child_read)
        os.close(from_child_write)

    def __enter__(self) -> Browser:
        self.send("Browser.getVersion")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ask Chromium to close, kill it if it does not, and delete its profile."""
        try:
            if self._process.poll() is None:
                self._write({"id": self._next_id(), "method": "Browser.close"})
                self._process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=10)
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)

    # -------------------------------------------------------------------------------- protocol

    def _next_id(self) -> int:
        self._id += 1
        return self._id

    def _write(self, message: dict) -> None:
        os.write(self._to_child, json.dumps(message).encode("utf-8") + b"\0")

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise ChromiumError(f"Chromium closed the pipe (exit code {self._process.poll()})")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its result; events that arrive meanwhile are kept."""
        message_id = self._next_id()
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise ChromiumError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            if "method" in answer:
                self._events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict:
        """Wait for the next event ``method`` of ``session`` (one kept earlier counts)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for n, event in enumerate(self._events):
                if event["method"] == method and event.get("sessionId") == session:
                    return self._events.pop(n)
            self._events.append(self._read_message(deadline))

    def events(self, method: str, session: str) -> list[dict]:
        """The kept events ``method`` of ``session`` (they stay kept)."""
        return [e for e in self._events if e["method"] == method and e.get("sessionId") == session]

    # -------------------------------------------------------------------------------- pages

    def open(self, url: str, width: int = 1280, height: int = 800) -> Tab:
        """Open ``url`` in a new tab of ``width`` x ``height`` CSS pixels and wait for its load."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        return Tab(self, target, session)


class Tab:
    """One page open in :class:`Browser`; as a context manager, closed at the end."""

    def __init__(self, browser: Browser, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def __enter__(self) -> Tab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, params: dict | None = None) -> dict:
        """A DevTools command in this tab."""
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str, *, await_promise: bool = False):
        """The value of a JavaScript expression in the page (a promise is awaited if asked)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text")
            raise ChromiumError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for since it was opened (the page itself included)."""
        return [e["params"]["request"]["url"] for e in self.browser.events("Network.requestWillBeSent", self.session)]

    def close(self) -> None:
        """Close the tab."""
        self.browser.send("Target.closeTarget", {"targetId": self.target})
