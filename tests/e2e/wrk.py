"""Running wrk (Debian package wrk, 4.1) and reading its output, for the
benchmark (bench/bench.py) and the load tests (tests/e2e/test_load.py).

    r = wrk.run(url, connections=64, duration=20, count_statuses=True)
    r.requests, r.rps, r.p50_ms, r.p99_ms, r.socket_errors, r.non_2xx, r.failed

    job = wrk.start(url, ...)        # runs in the background
    ... (restart the server meanwhile) ...
    r = job.wait()

What comes from where:
  - requests, elapsed, requests/s, latency percentiles, socket errors and
    "Non-2xx or 3xx responses" are parsed from wrk's own text output. That
    last count is wrk's: statuses > 399 only.
  - count_statuses=True adds a small Lua script (-s) whose response()
    counts every status code per thread and whose done() prints the sum:
    then `statuses` holds {code: n} and `non_2xx` counts every code outside
    200-299, 3xx included. A response() hook costs wrk some speed (it hands
    each response to Lua), so the benchmark's speed runs leave it off.

wrk always runs for its whole duration (a Lua wrk.thread:stop() ends one
thread's requests, not the run), so to serve about N requests, run it for
N / (requests/s of an earlier run) seconds.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

WRK = shutil.which("wrk") or "/usr/bin/wrk"

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
_TIME = r"([0-9.]+)(us|ms|s|m|h)"

_LUA = r"""
-- written by tests/e2e/wrk.py: count the status of every response
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   for _, t in ipairs(threads) do
      for code, n in pairs(t:get("statuses")) do
         io.write(string.format("papi-status %d %d\n", code, n))
      end
   end
end
"""


class WrkError(RuntimeError):
    """wrk failed to run or printed something this parser cannot read."""


class WrkResult:
    """One wrk run. Times in milliseconds, elapsed in seconds.

    requests, elapsed, rps, latency {50: ms, 75: ms, 90: ms, 99: ms},
    errors {connect, read, write, timeout}, non_2xx_3xx (wrk's count),
    statuses {code: n} or None, output (wrk's full text), command."""

    def __init__(self, output, command, counted=False):
        self.output = output
        self.command = command
        self.counted = counted
        self.latency = {}
        self.errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
        self.non_2xx_3xx = 0
        self.statuses = None
        self._parse(output)

    def _parse(self, out):
        m = re.search(r"^\s*(\d+) requests in " + _TIME + r", ", out, re.M)
        if not m:
            raise WrkError(f"no 'requests in' line in wrk output:\n{out}")
        self.requests = int(m.group(1))
        self.elapsed = _ms(m.group(2), m.group(3)) / 1000.0
        m = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
        if not m:
            raise WrkError(f"no 'Requests/sec' line in wrk output:\n{out}")
        self.rps = float(m.group(1))
        for pct, num, unit in re.findall(r"^\s+(50|75|90|99)%\s+" + _TIME + r"\s*$", out, re.M):
            self.latency[int(pct)] = _ms(num, unit)
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if m:
            self.errors = dict(zip(("connect", "read", "write", "timeout"),
                                   (int(g) for g in m.groups())))
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if m:
            self.non_2xx_3xx = int(m.group(1))
        found = re.findall(r"^papi-status (\d+) (\d+)$", out, re.M)
        if found or self.counted:
            self.statuses = {}
            for code, n in found:
                self.statuses[int(code)] = self.statuses.get(int(code), 0) + int(n)

    def command_text(self):
        return " ".join(self.command)

    @property
    def p50_ms(self):
        return self.latency.get(50)

    @property
    def p99_ms(self):
        return self.latency.get(99)

    @property
    def socket_errors(self):
        return sum(self.errors.values())

    @property
    def non_2xx(self):
        """Answers outside 200-299: every one when statuses were counted,
        else wrk's own count (statuses > 399)."""
        if self.statuses is not None:
            return sum(n for code, n in self.statuses.items() if not 200 <= code <= 299)
        return self.non_2xx_3xx

    @property
    def failed(self):
        """Requests that did not get a 2xx: non-2xx answers plus socket errors."""
        return self.non_2xx + self.socket_errors

    def summary(self):
        lat = "".join(f", p{k} {v:.2f} ms" for k, v in sorted(self.latency.items()))
        return (f"{self.requests} requests in {self.elapsed:.1f} s ({self.rps:.0f}/s){lat}; "
                f"socket errors {self.errors}, non-2xx {self.non_2xx}"
                + (f", statuses {self.statuses}" if self.statuses is not None else ""))

    def __repr__(self):
        return f"<WrkResult {self.summary()}>"


def _ms(num, unit):
    return float(num) * _UNIT_MS[unit]


class WrkJob:
    """A wrk run in the background (see start())."""

    def __init__(self, cmd, script_dir, duration):
        self.command = cmd
        self.counted = script_dir is not None
        self.script_dir = script_dir
        self.duration = duration
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={"PATH": os.environ.get("PATH", "/usr/bin"),
                                                     "LANG": "C"})

    def running(self):
        return self.proc.poll() is None

    def wait(self, grace=30):
        """Wait for the run to end (at most duration + grace seconds, then
        kill it and raise) and return its WrkResult."""
        left = self.duration + grace - (time.monotonic() - self.t0)
        try:
            out, _ = self.proc.communicate(timeout=max(left, 1))
        except subprocess.TimeoutExpired:
            self.kill()
            raise WrkError(f"wrk did not end within {self.duration + grace} s: "
                           f"{' '.join(self.command)}")
        finally:
            if self.script_dir:
                shutil.rmtree(self.script_dir, ignore_errors=True)
                self.script_dir = None
        if self.proc.returncode != 0:
            raise WrkError(f"wrk exited {self.proc.returncode}: {' '.join(self.command)}\n{out}")
        return WrkResult(out, self.command, self.counted)

    def kill(self):
        """Stop wrk (by its pid) if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def start(url, threads=2, connections=16, duration=10, timeout=None, latency=True,
          count_statuses=False, headers=()):
    """Start wrk in the background; returns a WrkJob (job.wait() -> WrkResult).

    duration and timeout (wrk's per-request timeout) in seconds;
    headers: ["Name: value", ...]."""
    threads = max(1, min(threads, connections))
    cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s"]
    if timeout is not None:
        cmd.append(f"--timeout={int(timeout)}s")
    if latency:
        cmd.append("--latency")
    for h in headers:
        cmd += ["-H", h]
    script_dir = None
    if count_statuses:
        script_dir = tempfile.mkdtemp(prefix="pe-wrk-")
        script = os.path.join(script_dir, "count.lua")
        with open(script, "w") as f:
            f.write(_LUA)
        cmd += ["-s", script]
    cmd.append(url)
    return WrkJob(cmd, script_dir, duration)


def run(url, **kwargs):
    """Run wrk to the end and return its WrkResult (see start() for kwargs)."""
    grace = kwargs.pop("grace", 30)
    job = start(url, **kwargs)
    try:
        return job.wait(grace=grace)
    finally:
        job.kill()



def mpm_conf(mpm, connections):
    """The MPM part of an httpd config (apache.Httpd's mpm_conf) for a test
    server that carries `connections` keep-alive connections from wrk
    without closing any of them itself.

    Why: the harness's shared servers are small (event/worker 40 threads,
    prefork 20 processes). httpd closes keep-alive connections on its own
    when it runs short of workers (event: "all workers busy", it closes its
    idle keep-alive connections; worker/prefork: connections beyond the
    workers wait in the backlog), when it trims idle children
    (MaxSpareThreads/MaxSpareServers), and every MaxKeepAliveRequests (100)
    requests. A request wrk has just sent on such a connection gets EOF:
    wrk counts a socket read error, for a static file exactly as for the
    module (measured here: some 100 read errors per 5 s at 64 connections
    on a static file). With enough workers, no idle trimming and no request
    limit per connection, httpd closes nothing, so every socket error is a
    real one.

    A server of its own, not the shared one reconfigured: shrinking prefork's
    MaxRequestWorkers again with a graceful restart makes httpd log
    AH00167 "long lost child came home!" (warn) for every child beyond the
    new limit.

    event/worker: two children of 64 threads, and room (MaxRequestWorkers
    and ServerLimit) for four more: during a graceful restart the old
    generation's children still count while they drain, and a server at
    MaxRequestWorkers logs AH00484 (an error line). MinSpareThreads low
    enough that 64 busy threads are not "within MinSpareThreads of
    MaxRequestWorkers" (AH10159, an error line). prefork: a process per
    connection from the start.
    """
    if connections > 120:
        raise ValueError("mpm_conf is sized for up to 120 connections")
    if mpm == "prefork":
        n = connections + 8
        block = f"""<IfModule mpm_prefork_module>
    StartServers {n}
    MinSpareServers 8
    MaxSpareServers {2 * n}
    ServerLimit {2 * n}
    MaxRequestWorkers {2 * n}
</IfModule>"""
    else:
        block = f"""<IfModule mpm_{mpm}_module>
    ServerLimit 8
    StartServers 2
    ThreadLimit 64
    ThreadsPerChild 64
    MinSpareThreads 16
    MaxSpareThreads 384
    MaxRequestWorkers 384
</IfModule>"""
    return "MaxKeepAliveRequests 0\n" + block
