"""Headless Chromium (Debian's `chromium`) for the dashboard tests: load one page from the loopback
test server, save a screenshot, return the DOM as the browser built it.

Every run gets a new empty profile, no sandbox (we are root), no GPU, and no network beyond
127.0.0.1: every other host name resolves to nothing and Chromium's own background traffic
(updates, sync, metrics) is off.
"""

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.normpath(os.path.join(HERE, "..", "..", "build", "e2e-artifacts"))

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--metrics-recording-only", "--mute-audio",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
]


def _run(args, timeout):
    profile = tempfile.mkdtemp(prefix="papi-chromium-")
    try:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              check=True, env=dict(os.environ, HOME=profile))
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(url, timeout=60, flags=()):
    """The page's DOM after load, serialised by Chromium (flags: more of Chromium's own, e.g.
    --virtual-time-budget=MS to let the page's timers run)."""
    return _run([*flags, "--dump-dom", url], timeout).stdout.decode("utf-8")


def load_until(url, done, timeout=60, flags=()):
    """Loads url in Chromium (flags: more of its own) and ends it as soon as done() is true, for
    what a page does after its load (a reload, say). True if done() came true before Chromium
    exited or the timeout passed."""
    profile = tempfile.mkdtemp(prefix="papi-chromium-")
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *flags, "--dump-dom",
                             url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, HOME=profile), start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not done():
            if proc.poll() is not None or time.monotonic() > deadline:
                return done()
            time.sleep(0.05)
        return True
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(url, name, width=1280, height=900, timeout=60):
    """Saves a PNG of the page as build/e2e-artifacts/<name>.png and returns its path."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name + ".png")
    if os.path.exists(path):
        os.unlink(path)
    _run([f"--screenshot={path}", f"--window-size={width},{height}", url], timeout)
    return path


def png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# ---------------------------------------------------------------- pressing buttons

class Tab:
    """One Chromium tab driven over the DevTools protocol on a pipe (--remote-debugging-pipe: it
    reads commands on fd 3 and writes answers and events on fd 4, each a JSON text ended by a NUL),
    so a test can press a page's button as a user does, with the mouse: no script runs in the
    page. Use as a context manager."""

    def __init__(self, timeout=60):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="papi-chromium-")
        to_chromium_r, self._out = os.pipe()
        self._in, from_chromium_w = os.pipe()

        def fds():
            # Above 4 first, so neither dup2 overwrites the other's source.
            r, w = fcntl_dup_high(os.dup(to_chromium_r)), fcntl_dup_high(os.dup(from_chromium_w))
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-pipe", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, HOME=self.profile), close_fds=False,
                                     preexec_fn=fds, start_new_session=True)
        os.close(to_chromium_r)
        os.close(from_chromium_w)
        self._buf = b""
        self._id = 0
        self.events = []
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self._call("Target.attachToTarget", targetId=target,
                                  flatten=True)["sessionId"]
        self.call("Page.enable")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for fd in (self._in, self._out):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _message(self, deadline):
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._in], [], [], 0.1)
            if ready:
                chunk = os.read(self._in, 65536)
                if not chunk:
                    raise RuntimeError("Chromium closed its DevTools pipe")
                self._buf += chunk
        text, self._buf = self._buf.split(b"\0", 1)
        return json.loads(text)

    def _call(self, method, session=None, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            if "method" in m:
                self.events.append(m)

    def call(self, method, **params):
        """A command to the tab; its result."""
        return self._call(method, session=self.session, **params)

    def wait_event(self, method):
        """Waits for the tab's next event called method (those already seen are dropped)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == self.session:
                    del self.events[:i + 1]
                    return m
            self.events.clear()
            m = self._message(deadline)
            if "method" in m:
                self.events.append(m)

    def load(self, url):
        """Navigates to url and waits for its load."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def url(self):
        history = self.call("Page.getNavigationHistory")
        return history["entries"][history["currentIndex"]]["url"]

    def html(self):
        root = self.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", nodeId=root)["outerHTML"]

    def press(self, selector):
        """Presses (left button down and up, at its middle) the element selector picks, and waits
        for the page the press loads."""
        root = self.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        if not node:
            raise LookupError(f"nothing on the page matches {selector}")
        self.call("DOM.scrollIntoViewIfNeeded", nodeId=node)
        quad = self.call("DOM.getBoxModel", nodeId=node)["model"]["content"]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        self.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)
        self.wait_event("Page.loadEventFired")


def fcntl_dup_high(fd):
    """fd moved to a number above 4 (closing the old one)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 5)
    os.close(fd)
    return high
