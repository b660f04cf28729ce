"""Headless Chromium (Debian's `chromium`) for the dashboard tests: load one page from the loopback
test server, save a screenshot, return the DOM as the browser built it.

Every run gets a new empty profile, no sandbox (we are root), no GPU, and no network beyond
127.0.0.1: every other host name resolves to nothing and Chromium's own background traffic
(updates, sync, metrics) is off.
"""

import os
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
