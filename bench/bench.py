#!/usr/bin/python3
"""The benchmark of mod_passenger_api: wrk against one throwaway test httpd
(the e2e harness's, tests/e2e/), every figure a ratio against a baseline
measured in the same run on the same httpd.

    make -f Makefile.apxs bench          (builds the module first)
    /usr/bin/python3 bench/bench.py [--mpm event] [--duration 10] [--connections 16]

One httpd (event MPM unless --mpm, LogLevel warn) with real Passenger and one
Rack app, its MPM sized by tests/e2e/wrk.py's mpm_conf so that httpd itself
never closes one of wrk's keep-alive connections (see there), and the module three
times:
    /passenger-api   registry = the real Passenger instance
    /papi-fake1      a registry with 1 fake core answering after 20 ms
    /papi-fake32     a registry with 32 such fake cores (PassengerApiMaxInstances 32)
Runs, each `wrk -t2 -c16 -d10s --latency` after a 2 s warm-up:
    a   a static file exactly as long as the /passenger-api/ping.json answer (the ceiling)
    b   /passenger-api/ping.json
    d   /passenger-api/metrics
        a, b, d three times (a.2, b.2, d.2, a.3, ...): b/a and d/a are the median
        of the three alternations' ratios, each against its own static run
    m   /passenger-api/metrics with 20,000 empty directories of nobody in the
        registry (what any local user can make in a shared /tmp), right after d.3:
        compared with it, the same registry without them
    c   /passenger-api/pool.txt
    a2  the static file again: c's baseline is the mean of a.3 and a2, which
        bracket it (the machine drifts by +-20 % in a minute)
    i   /passenger-api/instances.json (for information: the module without the
        credential helper and the core; no target)
    e1  /papi-fake1/ping.json     } at 1 connection (--fake-connections): these
    e32 /papi-fake32/ping.json    } compare latency, not throughput
then about 200k requests to ping.json, with the RSS (VmRSS) of every httpd
child before and after. Then the large host (issue 15), /papi-big: 32 fake
cores of 10 app groups x 50 processes each (16,000 processes, a real pool.xml
grown by tests/e2e/bigpool.py), each view at 1 connection for --big-duration s:
    L-d  /papi-big/metrics
    L-p  /papi-big/processes.json
    L-h  /papi-big/ (the dashboard)
with p50, p50 and httpd's CPU per process in microseconds, and the largest
RSS growth of an httpd child over the three (against its RSS before them).
--only big runs the large host alone. Every row also gives httpd's CPU per request in microseconds (its parent and
children, utime + stime from /proc, around the measured run): steadier than
requests/s on a shared machine. Printed as a table with the ratios and their targets
(PASS/MISS), and written as JSON to build/bench/result.json. Exit status 0
even on a MISS (the figures are the product); 1 if the run itself went wrong
(socket errors, non-2xx answers, warn/error lines in httpd's log).

Why e runs at 1 connection: the fake cores are Python (tests/e2e/fakecore.py,
about 0.25 ms of CPU per request). At 16 connections a fan-out to 32 of them
that answers in 20 ms would need some 25,000 fake answers a second, several
times what two cores can give: e32's p50 would measure the fakes, not the
module. One aggregate at a time still leaves the fakes' own CPU in e32 (32
answers, about 8 ms of CPU at once, all woken by the same 20 ms timer), so
on a 2-core machine e32/e1 carries a few ms of test rig.

Targets (issue 6, raised by issue 15): b/a >= 0.65, d/a >= 0.45, c/a >= 0.4
(requests/s); e32's p50
<= 2 x e1's p50; httpd child RSS growth <= 2 MB over the 200k requests.
Issue 12: d/m <= 2 (requests/s of /metrics without and with the 20,000).
Issue 15: L-d's p50 <= 10 us per process; httpd child RSS growth over the
large views <= 16 MB.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import pwd
import resource
import signal
import statistics
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(REPO_ROOT, "tests", "e2e")
sys.path.insert(0, E2E)

import apache     # noqa: E402
import errorlog   # noqa: E402
import fakecore   # noqa: E402
import passenger  # noqa: E402
import procs      # noqa: E402
import wrk        # noqa: E402
import bigpool    # noqa: E402

RESULT_PATH = os.path.join(REPO_ROOT, "build", "bench", "result.json")
STATIC_NAME = "ping-size.json"
FAKE_DELAY_MS = 20
FOREIGN_ENTRIES = 20000

ALTERNATIONS = 3

TARGETS = {
    "b/a": (">=", 0.65),
    "c/a": (">=", 0.4),
    "d/a": (">=", 0.45),
    "e32/e1 p50": ("<=", 2.0),
    "rss growth MB": ("<=", 2.0),
    "d/m": ("<=", 2.0),
    "L-d us/process": ("<=", 10.0),
    "L rss growth MB": ("<=", 16.0),
}
BIG_INSTANCES, BIG_GROUPS, BIG_PROCESSES = 32, 10, 50
BIG_TOTAL = BIG_INSTANCES * BIG_GROUPS * BIG_PROCESSES


class BenchHttpd(apache.Httpd):
    """The harness's Httpd at LogLevel warn (a benchmark should not pay for
    info lines), otherwise exactly the test server."""

    def render_config(self, extra_conf=None, log_level=None):
        text = super().render_config(extra_conf, log_level)
        return text.replace("\nLogLevel info", "\nLogLevel warn", 1)


def module_conf(h, freg32, fregbig):
    return f"""
<Location /papi-big>
    SetHandler passenger-api
    PassengerApiRegistryDir {fregbig}
    Require local
</Location>
<Location /passenger-api>
    SetHandler passenger-api
    PassengerApiRegistryDir {h.registry_dir}
    Require local
</Location>
<Location /papi-fake1>
    SetHandler passenger-api
    PassengerApiRegistryDir {h.fake_registry_dir}
    Require local
</Location>
<Location /papi-fake32>
    SetHandler passenger-api
    PassengerApiRegistryDir {freg32}
    PassengerApiMaxInstances 32
    Require local
</Location>
"""


# ---------------------------------------------------------------- machine

def machine_info():
    info = {"hostname": platform.node(), "kernel": platform.release(),
            "cpus": os.cpu_count(), "cpu_model": None, "mem_total_mb": None,
            "loadavg_at_start": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_total_mb"] = int(line.split()[1]) // 1024
    except OSError:
        pass
    for key, cmd in (("httpd", [apache.APACHE2, "-v"]), ("passenger", [passenger.PASSENGER_BIN, "--version"]),
                     ("wrk", [wrk.WRK, "--version"])):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
            info[key] = (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            info[key] = None
    return info


# ---------------------------------------------------------------- RSS

def _status_fields(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
    except OSError:
        return None
    return fields


def httpd_children(h):
    """{pid: (kind, VmRSS kB)} of the httpd parent's children that are httpd
    itself: 'worker' (running as the httpd User) or 'helper' (our credential
    helper, still root). Passenger's processes (watchdog, core: other
    programs, own sessions) are left out."""
    out = {}
    www = pwd.getpwnam("www-data").pw_uid
    for pid, (state, ppid, _sid) in procs.all_processes().items():
        if ppid != h.pid or state in ("Z", "X"):
            continue
        if not procs.cmdline(pid).startswith(apache.APACHE2):
            continue
        st = _status_fields(pid)
        if not st or "VmRSS" not in st:
            continue
        uid = int(st["Uid"].split()[1])    # effective uid
        out[pid] = ("worker" if uid == www else "helper", int(st["VmRSS"].split()[0]))
    return out


# ---------------------------------------------------------------- CPU

CPU_GROUPS = ("httpd", "helper", "passenger", "fakes", "wrk")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().decode("latin-1").rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return None


def cpu_snapshot(h, fakes):
    """CPU seconds used so far, by group: httpd (its parent and worker
    children), helper (our credential helper), passenger (every process of
    Passenger's sessions: watchdog, core, app), fakes (fake cores), wrk
    (finished children of this process)."""
    out = dict.fromkeys(CPU_GROUPS, 0.0)
    fake_pids = {fc.pid for fc in fakes}
    children = httpd_children(h)
    for pid, (_state, ppid, sid) in procs.all_processes().items():
        if pid == h.pid or pid in children:
            group = "helper" if pid in children and children[pid][0] == "helper" else "httpd"
        elif sid in h.sessions:
            group = "passenger"
        elif pid in fake_pids:
            group = "fakes"
        else:
            continue
        secs = _cpu_seconds(pid)
        if secs is not None:
            out[group] += secs
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["wrk"] = ru.ru_utime + ru.ru_stime
    return out


def cpu_delta(before, after, seconds):
    """Cores used per group between two snapshots (CPU seconds / wall seconds)."""
    return {g: round(max(0.0, after[g] - before[g]) / seconds, 2) for g in CPU_GROUPS}


# ---------------------------------------------------------------- runs

@contextlib.contextmanager
def foreign_entries(registry, n):
    """n empty passenger.* directories of nobody in registry while the block runs."""
    nobody = pwd.getpwnam("nobody")
    made = []
    try:
        for i in range(n):
            path = os.path.join(registry, f"passenger.bench{i:05d}")
            os.mkdir(path, 0o755)
            made.append(path)
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        yield
    finally:
        for path in made:
            os.rmdir(path)


def measure(label, url, args, cpu, connections=None, note=""):
    """One warm-up and one measured wrk run; cpu() -> a cpu_snapshot."""
    c = connections or args.connections
    if args.warmup > 0:
        wrk.run(url, threads=args.threads, connections=c, duration=args.warmup, latency=False)
    before, t0 = cpu(), time.monotonic()
    r = wrk.run(url, threads=args.threads, connections=c, duration=args.duration,
                timeout=args.wrk_timeout)
    after = cpu()
    cores = cpu_delta(before, after, time.monotonic() - t0)
    row = {"label": label, "url": url, "connections": c, "threads": min(args.threads, c),
           "duration_s": args.duration, "requests": r.requests, "rps": r.rps,
           "p50_ms": r.p50_ms, "p75_ms": r.latency.get(75), "p90_ms": r.latency.get(90),
           "p99_ms": r.p99_ms, "socket_errors": r.errors, "non_2xx": r.non_2xx, "note": note,
           "cpu_cores": cores,
           # Steadier than req/s on a shared machine: what one request costs httpd, whatever
           # else runs.
           "httpd_us_per_request": (round((after["httpd"] - before["httpd"]) / r.requests * 1e6, 1)
                                    if r.requests else None)}
    print(f"  {label:<4} {r.summary()}", flush=True)
    return row


def big_ratios(by, big_rss):
    growth = big_rss["max_worker_growth_kb"]
    return {"L-d us/process": check("L-d us/process", by["L-d"]["us_per_process"]),
            "L rss growth MB": check("L rss growth MB",
                                     growth / 1024 if growth is not None else None)}


def check(name, value):
    op, target = TARGETS[name]
    if value is None:
        return {"value": None, "target": f"{op} {target}", "result": "MISS"}
    ok = value >= target if op == ">=" else value <= target
    return {"value": round(value, 3), "target": f"{op} {target}", "result": "PASS" if ok else "MISS"}


def rss_run(h, url, args, rate):
    """About args.rss_requests requests to url, RSS of every httpd child
    before and after. wrk cannot stop after N requests, so it runs for
    N / rate seconds (rate: requests/s measured earlier), and again for the
    rest if that fell short."""
    before = httpd_children(h)
    total, elapsed, errors, non_2xx, statuses = 0, 0.0, {}, 0, {}
    t0 = time.monotonic()
    while total < args.rss_requests:
        left_s = args.rss_max_seconds - (time.monotonic() - t0)
        if left_s < 1:
            break
        want = (args.rss_requests - total) / max(rate, 1.0) * 1.05 + 1
        r = wrk.run(url, threads=args.threads, connections=args.connections,
                    duration=max(2, min(int(want + 0.999), int(left_s))), timeout=args.wrk_timeout,
                    latency=False, count_statuses=True)
        total += r.requests
        elapsed += r.elapsed
        non_2xx += r.non_2xx
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
        for k, v in (r.statuses or {}).items():
            statuses[k] = statuses.get(k, 0) + v
        rate = r.rps or rate
        print(f"  rss  {r.summary()}", flush=True)
    time.sleep(0.5)
    after = httpd_children(h)
    per_child = []
    for pid in sorted(set(before) | set(after)):
        b, a = before.get(pid), after.get(pid)
        kind = (a or b)[0]
        per_child.append({"pid": pid, "kind": kind,
                          "rss_before_kb": b[1] if b else None, "rss_after_kb": a[1] if a else None,
                          "growth_kb": (a[1] - b[1]) if (a and b) else None})
    workers = [c for c in per_child if c["kind"] == "worker" and c["growth_kb"] is not None]
    helper = [c for c in per_child if c["kind"] == "helper"]
    return {"url": url, "requests": total, "elapsed_s": round(elapsed, 2), "socket_errors": errors,
            "non_2xx": non_2xx, "statuses": statuses, "children": per_child,
            "max_worker_growth_kb": max((c["growth_kb"] for c in workers), default=None),
            "workers_compared": len(workers),
            "helper_growth_kb": helper[0]["growth_kb"] if helper else None}


def big_runs(h, args, cpu):
    """The large host's three views at 1 connection each, and the httpd children's RSS growth
    over them."""
    before = httpd_children(h)
    runs = []
    for label, what, path in (("L-d", "/papi-big/metrics (16,000 processes)", "/papi-big/metrics"),
                              ("L-p", "/papi-big/processes.json", "/papi-big/processes.json"),
                              ("L-h", "/papi-big/ (dashboard)", "/papi-big/")):
        big = argparse.Namespace(**dict(vars(args), duration=args.big_duration, warmup=1,
                                        threads=1, wrk_timeout=max(args.wrk_timeout, 30)))
        row = measure(label, h.url(path), big, cpu, connections=1)
        row["what"] = what
        row["us_per_process"] = (round(row["p50_ms"] * 1000 / BIG_TOTAL, 2)
                                 if row["p50_ms"] is not None else None)
        row["httpd_cpu_us_per_process"] = (
            round(row["cpu_cores"]["httpd"] * row["duration_s"] / row["requests"] * 1e6 / BIG_TOTAL, 2)
            if row["requests"] else None)
        runs.append(row)
    time.sleep(0.5)
    after = httpd_children(h)
    growth = [after[pid][1] - before[pid][1] for pid in after
              if pid in before and after[pid][0] == "worker"]
    return runs, {"max_worker_growth_kb": max(growth, default=None),
                  "workers_compared": len(growth),
                  "rss_after_kb": sorted(v[1] for v in after.values() if v[0] == "worker")}


# ---------------------------------------------------------------- output

def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def report(result):
    m = result["machine"]
    lines = [
        "",
        f"mod_passenger_api bench — {result['date']} — {result['mpm']} MPM, wrk -t{result['threads']} "
        f"-c{result['connections']} -d{result['duration_s']}s",
        f"machine: {m['cpu_model']} x{m['cpus']}, {m['mem_total_mb']} MB, Linux {m['kernel']}; "
        f"load at start {m['loadavg_at_start'][0]:.2f}",
        f"         {m['httpd']}; {m['passenger']}; {m['wrk']}",
        "",
        f"{'run':<4} {'what':<42} {'conn':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errs':>4}"
        f" {'httpd us/req':>12}   cores used: " + " ".join(f"{g:>6}" for g in CPU_GROUPS),
    ]
    for row in result["runs"]:
        errs = sum(row["socket_errors"].values()) + row["non_2xx"]
        cores = " ".join(f"{row['cpu_cores'][g]:>6.2f}" for g in CPU_GROUPS)
        lines.append(f"{row['label']:<4} {row['what']:<42} {row['connections']:>4} {row['rps']:>8.0f} "
                     f"{fmt(row['p50_ms'], '8.2f')} {fmt(row['p99_ms'], '8.2f')} {errs:>4}"
                     f" {fmt(row.get('httpd_us_per_request'), '12.1f')}               {cores}")
    for row in result.get("big_runs", []):
        lines.append(f"{row['label']:<4} {row['what']:<42} {row['connections']:>4} {row['rps']:>8.1f} "
                     f"{fmt(row['p50_ms'], '8.2f')} {fmt(row['p99_ms'], '8.2f')}"
                     f"      p50 {fmt(row['us_per_process'], '.2f')} us/process, httpd CPU "
                     f"{fmt(row['httpd_cpu_us_per_process'], '.2f')} us/process")
    if "big_rss" in result:
        br = result["big_rss"]
        lines.append(f"large views: {br['workers_compared']} worker children compared, max RSS "
                     f"growth {fmt(br['max_worker_growth_kb'], 'd')} kB (RSS after, kB: "
                     f"{br['rss_after_kb']})")
    rss = result.get("rss")
    if rss is None:
        lines += ["", f"{'ratio':<14} {'value':>8} {'target':>8}  result"]
        for name, c in result["ratios"].items():
            lines.append(f"{name:<14} {fmt(c['value'], '8.3f')} {c['target']:>8}  {c['result']}")
        print("\n".join(lines), flush=True)
        return
    lines += [
        "",
        f"rss: {rss['requests']} requests to ping.json in {rss['elapsed_s']:.1f} s; "
        f"{rss['workers_compared']} worker children compared, max growth "
        f"{fmt(rss['max_worker_growth_kb'], 'd')} kB (credential helper: "
        f"{fmt(rss['helper_growth_kb'], 'd')} kB)",
        "",
        f"{'ratio':<14} {'value':>8} {'target':>8}  result",
    ]
    for name, c in result["ratios"].items():
        lines.append(f"{name:<14} {fmt(c['value'], '8.3f')} {c['target']:>8}  {c['result']}")
    if result["problems"]:
        lines += ["", "problems:"] + [f"  {p}" for p in result["problems"]]
    lines.append(f"\nJSON: {os.path.relpath(RESULT_PATH, os.getcwd())}")
    print("\n".join(lines), flush=True)


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mpm", default="event", choices=apache.MPMS)
    p.add_argument("--duration", type=int, default=10, help="seconds per measured run (10)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    p.add_argument("--fake-connections", type=int, default=1,
                   help="wrk connections for e1/e32 (1: the fake cores are Python, see above)")
    p.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each run (2)")
    p.add_argument("--wrk-timeout", type=int, default=10, help="wrk's per-request timeout, s (10)")
    p.add_argument("--rss-requests", type=int, default=200000,
                   help="requests to ping.json for the RSS check (200000)")
    p.add_argument("--rss-max-seconds", type=int, default=240,
                   help="upper bound of the RSS run (240)")
    p.add_argument("--json", default=RESULT_PATH, help=f"where the JSON goes ({RESULT_PATH})")
    p.add_argument("--big-duration", type=int, default=10,
                   help="seconds per large-host run (10)")
    p.add_argument("--only", choices=("big",), help="run only the large host's rows")
    return p.parse_args(argv)


def main(argv=None):
    global RESULT_PATH
    args = parse_args(argv)
    RESULT_PATH = os.path.abspath(args.json)
    if os.geteuid() != 0:
        sys.exit("bench.py runs httpd as root with User www-data, like the e2e tests: run it as root")
    if not apache.module_built():
        sys.exit(f"{apache.MODULE_SO} not built: make -f Makefile.apxs")

    # SIGTERM (e.g. from make being stopped) unwinds through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    t_start = time.monotonic()
    h = None
    fakes = []
    problems = []
    try:
        apps = [passenger.RackApp("app", processes=1)]
        h = BenchHttpd(args.mpm, module=True, apps=apps,
                       mpm_conf=wrk.mpm_conf(args.mpm, max(args.connections, args.fake_connections)))
        freg32, fregbig = os.path.join(h.dir, "freg32"), os.path.join(h.dir, "fregbig")
        for d in (freg32, fregbig):
            os.mkdir(d, 0o755)
            os.chmod(d, 0o755)
        h.extra_conf = lambda hh: module_conf(hh, freg32, fregbig)
        print(f"starting httpd ({args.mpm}) with Passenger and 65 fake cores ...", flush=True)
        fakes.append(fakecore.FakeCore(h.fake_registry_dir, "delay", delay_ms=FAKE_DELAY_MS).start())
        for _ in range(32):
            fakes.append(fakecore.FakeCore(freg32, "delay", delay_ms=FAKE_DELAY_MS).start())
        for i in range(BIG_INSTANCES):
            body = bigpool.pool_xml(BIG_GROUPS, BIG_PROCESSES,
                                    first_pid=100000 + i * BIG_GROUPS * BIG_PROCESSES)
            fakes.append(fakecore.FakeCore(fregbig, responses={
                "/pool.xml": bigpool.response(body)}).start())
        h.start()
        info = machine_info()
        cpu = lambda: cpu_snapshot(h, fakes)  # noqa: E731
        if args.only == "big":
            big, big_rss = big_runs(h, args, cpu)
            by = {row["label"]: row for row in big}
            result = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                      "mpm": args.mpm, "threads": 1, "connections": 1,
                      "duration_s": args.big_duration, "machine": info, "runs": [],
                      "big_runs": big, "big_rss": big_rss, "problems": problems,
                      "ratios": big_ratios(by, big_rss)}
            report(result)
            return 0

        # Sanity: every URL answers 200 with the instances we expect, and the
        # static file gets the ping answer's exact size.
        r = h.get("/passenger-api/ping.json")
        r.raise_for_status()
        answer = r.json()
        if len(answer) != 1 or answer[0]["status"] != 200:
            raise RuntimeError(f"/passenger-api/ping.json: {r.text[:500]}")
        size = len(r.content)
        with open(os.path.join(h.docroot, STATIC_NAME), "wb") as f:
            head, tail = b'{"pad": "', b'"}\n'
            f.write(head + b"x" * (size - len(head) - len(tail)) + tail)
        for path, n in (("/papi-fake1/ping.json", 1), ("/papi-fake32/ping.json", 32)):
            r = h.get(path, timeout=30)
            r.raise_for_status()
            got = r.json()
            bad = [e.get("status") for e in got if e.get("status") != 200]
            if len(got) != n or bad:
                raise RuntimeError(f"{path}: {len(got)} elements, statuses not 200: {bad}")
        for path in ("/passenger-api/pool.txt", "/passenger-api/metrics",
                     "/passenger-api/instances.json", "/" + STATIC_NAME):
            r = h.get(path)
            r.raise_for_status()
        static_len = len(h.get("/" + STATIC_NAME).content)
        assert static_len == size, (static_len, size)

        fake_c = args.fake_connections
        plan = []
        for k in range(1, ALTERNATIONS + 1):
            tag = "" if k == 1 else f".{k}"
            plan += [
                ("a" + tag, "static file, ping.json's size (%d B)" % size, "/" + STATIC_NAME, None),
                ("b" + tag, "/passenger-api/ping.json (1 real instance)", "/passenger-api/ping.json",
                 None),
                ("d" + tag, "/passenger-api/metrics", "/passenger-api/metrics", None)]
        plan += [
            ("m", f"/passenger-api/metrics, {FOREIGN_ENTRIES} foreign dirs", "/passenger-api/metrics",
             None),
            ("c", "/passenger-api/pool.txt", "/passenger-api/pool.txt", None),
            ("a2", "static file again (drift check)", "/" + STATIC_NAME, None),
            ("i", "/passenger-api/instances.json (no core)", "/passenger-api/instances.json",
             None),
            ("e1", "/papi-fake1/ping.json (1 fake, 20 ms)", "/papi-fake1/ping.json", fake_c),
            ("e32", "/papi-fake32/ping.json (32 fakes, 20 ms)", "/papi-fake32/ping.json", fake_c),
        ]
        print(f"measuring: {args.warmup} s warm-up + {args.duration} s per run", flush=True)
        runs = []
        for label, what, path, conns in plan:
            crowd = (foreign_entries(h.registry_dir, FOREIGN_ENTRIES) if label == "m"
                     else contextlib.nullcontext())
            with crowd:
                row = measure(label, h.url(path), args, lambda: cpu_snapshot(h, fakes),
                              connections=conns)
            row["what"] = what
            runs.append(row)
        by = {row["label"]: row for row in runs}

        big, big_rss = big_runs(h, args, cpu)

        print(f"RSS: {args.rss_requests} requests to ping.json ...", flush=True)
        rss = rss_run(h, h.url("/passenger-api/ping.json"), args, by["b"]["rps"])

        def ratio(x, y):
            return by[x]["rps"] / by[y]["rps"] if by[y]["rps"] else None

        # b/a and d/a: each alternation's ratio against its own static run, the median of them
        # (the machine drifts by +-20 % in a minute; a run next to its baseline drifts less).
        tags = [""] + [f".{k}" for k in range(2, ALTERNATIONS + 1)]
        alternated = {x: statistics.median(ratio(x + t, "a" + t) for t in tags) for x in "bd"}
        # c, after them: against the mean of the last static run before it and a2 after it.
        last_a = "a" + tags[-1]
        by["a~"] = dict(by[last_a], rps=(by[last_a]["rps"] + by["a2"]["rps"]) / 2)

        e_ratio = (by["e32"]["p50_ms"] / by["e1"]["p50_ms"]
                   if by["e1"]["p50_ms"] and by["e32"]["p50_ms"] is not None else None)
        growth_mb = rss["max_worker_growth_kb"] / 1024 if rss["max_worker_growth_kb"] is not None else None
        ratios = {"b/a": check("b/a", alternated["b"]),
                  "c/a": check("c/a", ratio("c", "a~")),
                  "d/a": check("d/a", alternated["d"]),
                  "e32/e1 p50": check("e32/e1 p50", e_ratio),
                  "rss growth MB": check("rss growth MB", growth_mb),
                  "d/m": check("d/m", ratio("d" + tags[-1], "m"))}
        ratios.update(big_ratios({row["label"]: row for row in big}, big_rss))

        for row in runs + big + [dict(rss, label="rss")]:
            errs = sum(row["socket_errors"].values())
            if errs or row["non_2xx"]:
                problems.append(f"run {row['label']}: socket errors {row['socket_errors']}, "
                                f"non-2xx {row['non_2xx']}")
        if rss["requests"] < args.rss_requests:
            problems.append(f"rss run served only {rss['requests']} of {args.rss_requests} requests "
                            f"in {args.rss_max_seconds} s")
        for line in h.log.read_from(0):
            # Run m's registry holds more than the module looks into: said once per child.
            if errorlog.classify(line) == "bad" and "PAPI060: " not in line:
                problems.append(f"error_log: {line}")

        info["loadavg_at_end"] = os.getloadavg()
        result = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "mpm": args.mpm, "threads": args.threads, "connections": args.connections,
            "fake_connections": fake_c, "duration_s": args.duration, "warmup_s": args.warmup,
            "fake_delay_ms": FAKE_DELAY_MS, "ping_answer_bytes": size,
            "machine": info, "runs": runs, "big_runs": big, "big_rss": big_rss, "rss": rss,
            "ratios": ratios,
            "problems": problems, "wall_s": round(time.monotonic() - t_start, 1),
        }
        os.makedirs(os.path.dirname(RESULT_PATH), exist_ok=True)
        with open(RESULT_PATH, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        report(result)
        print(f"wall time {result['wall_s']} s", flush=True)
        return 1 if problems else 0
    finally:
        for fc in fakes:
            fc.cleanup()
        if h is not None:
            h.cleanup()


if __name__ == "__main__":
    sys.exit(main())
