"""Process, port and waiting helpers for the e2e harness.

Everything here works from /proc and from pids we were given: the harness
never kills by name (no pkill/killall), only pids it started or that belong
to a session it started.
"""

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

# Prefix of every temp dir the harness makes. Short on purpose: Passenger puts
# Unix sockets under the registry dir and sun_path holds only 108 bytes.
TMP_PREFIX = "pe-"


# (label, [(operation, seconds), ...]) of every server cleaned up in this
# run; conftest.py prints them at the end.
TIMINGS = []


class WaitTimeout(AssertionError):
    """A condition the harness waited for did not come true in time."""


def wait_until(predicate, timeout, what, interval=0.05, abort=None):
    """Poll predicate() until it returns something truthy and return that.

    Polling (instead of sleeping a fixed time) keeps the suite fast when
    things are quick and still tolerant when the machine is slow. Exceptions
    from the predicate count as "not yet" (a socket not there yet, a file
    half written), and the last one is reported on timeout. abort() is
    asked each round; a non-empty answer (e.g. "httpd exited") ends the
    wait at once instead of running into the timeout.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        reason = abort() if abort else None
        if reason:
            raise WaitTimeout(f"gave up waiting for {what}: {reason}")
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - "not yet", reported below
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def run_threads(fn, n, timeout=60):
    """Runs fn(0) ... fn(n - 1), each in a thread of its own, all at once; fails when one is
    still running timeout seconds after the one before it ended (a client that hung)."""
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    hung = sum(t.is_alive() for t in threads)
    assert not hung, f"{hung} of {n} client threads hung"


@contextlib.contextmanager
def registry_dirs(*names, missing=()):
    """{name: path} of empty registry dirs (root, 0755) in one fresh short temp
    dir, plus paths for the names in `missing` that are never created; all
    removed afterwards."""
    base = make_tempdir()
    dirs = {name: os.path.join(base, name) for name in names + tuple(missing)}
    for name in names:
        os.mkdir(dirs[name], 0o755)
    try:
        yield dirs
    finally:
        shutil.rmtree(base, ignore_errors=True)


def make_tempdir():
    """Create a fresh short temp dir (/tmp/pe-XXXXXXXX), mode 0755.

    0755 so that the app user (nobody) can read the Rack apps inside and the
    httpd User (www-data) can traverse it; mkdtemp alone gives 0700.
    """
    path = tempfile.mkdtemp(prefix=TMP_PREFIX, dir="/tmp")
    os.chmod(path, 0o755)
    return path


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, ppid, session id) of pid from /proc, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm is in parentheses and may itself contain spaces or ')'.
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[3])


def read_int_file(path):
    """The integer in a pid file (Passenger writes them without newline),
    or None if the file is missing or not (yet) a number."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_running(pid):
    """True if pid exists and has not exited.

    A zombie counts as exited: Passenger's app processes are reparented to
    init when the core goes away and sit as <defunct> until init reaps them;
    kill(pid, 0) would still succeed on them.
    """
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def all_processes():
    """Every live process as {pid: (state, ppid, sid)}."""
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                procs[int(name)] = st
    return procs


def cmdline(pid):
    """The command line of pid as one string ('' if gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def related_pids(roots=(), sessions=()):
    """Running pids that descend from `roots` or belong to `sessions`.

    httpd's parent calls setsid(), and so does Passenger's watchdog; the
    watchdog's cleanup child and the core outlive the watchdog, reparented to
    init. Session ids (which are pids of processes we started) catch those.
    """
    procs = all_processes()
    found = {p for p in roots if p in procs}
    found |= {p for p, (_, _, sid) in procs.items() if sid in sessions}
    changed = True
    while changed:
        changed = False
        for pid, (_, ppid, _) in procs.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return {p for p in found if procs[p][0] not in ("Z", "X")}


def wait_pids_gone(pids, timeout, sessions=()):
    """Wait until none of `pids` (nor their descendants) is running.

    New descendants seen while waiting are added to the set, so a helper
    forked during shutdown is waited for too. Returns the set still running
    at the deadline (empty on success).
    """
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while True:
        pending = related_pids(roots=pending, sessions=sessions)
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.05)


def kill_pids(pids, sig=signal.SIGKILL):
    """Send sig to each pid that still runs (used only as a last resort)."""
    for pid in pids:
        if is_running(pid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def run(cmd, timeout=60, env=None, cwd=None, preexec_fn=None):
    """Run a command, return CompletedProcess with text stdout/stderr."""
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd, preexec_fn=preexec_fn)


# ---------------------------------------------------------------- ports

_handed_out = set()


def free_port():
    """A free TCP port on 127.0.0.1, below Linux's ephemeral range.

    Ports from 20000-32767 are not used for outgoing connections, so a port
    that is free now stays free until httpd binds it (barring other tests
    on the machine). Ports already handed out in this run are not reused.
    """
    for _ in range(200):
        port = random.randint(20000, 32700)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found")


def port_accepts(port, host="127.0.0.1"):
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
