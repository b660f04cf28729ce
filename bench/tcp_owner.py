#!/usr/bin/python3
"""What the owner checks of a process's port cost on a host full of sockets
(src/papi_tcptable.c: the listener before connecting, the other end after).

    /usr/bin/python3 bench/tcp_owner.py [--sockets 20000] [--state time-wait|established]

Builds bench/tcp_owner.c against src/ (-O2, no sanitizer) in build/bench/,
times it on the host as it is, then fills the host with loopback sockets
(bounded in count and in time: --sockets, --max-seconds) and times it again.
Any local user can make such sockets: the check's cost must not follow them.
Everything it made is closed at the end; TIME_WAIT sockets are the kernel's
and go by themselves within 60 s. Run as root (raises its descriptor limit
for --state established).

--variant NAME:SRC_DIR:BENCH_C (repeatable) times other builds in the same
run, e.g. an older src/ with a copy of the bench adapted to its API.
Figures are microseconds: median and max over --rounds rounds.
"""
import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(name, src, bench_c):
    """The bench binary for one variant: bench_c with papi_tcptable.c of src
    and the src/*.c files whose headers it includes."""
    out = os.path.join(ROOT, "build", "bench", "tcp_owner_" + name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    unit = os.path.join(src, "papi_tcptable.c")
    with open(unit) as f:
        deps = re.findall(r'#include "(papi_\w+)\.h"', f.read())
    files = [unit] + [os.path.join(src, d + ".c") for d in deps
                      if d != "papi_tcptable" and os.path.exists(os.path.join(src, d + ".c"))]
    apr = subprocess.run(["apr-1-config", "--cflags", "--cppflags", "--includes", "--link-ld",
                          "--libs"], check=True, capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-std=gnu11", "-I" + src, "-o", out, bench_c] + files + apr,
                   check=True)
    return out


def run(binary, rounds):
    r = subprocess.run([binary, str(rounds)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{binary}: {r.stderr.strip() or r.returncode}")
    f = r.stdout.split()
    return {"listeners": (int(f[1]), int(f[2])), "peer": (int(f[4]), int(f[5]))}


def tcp_sockets():
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                n += sum(1 for _ in f) - 1
        except OSError:
            pass
    return n


def fill(count, state, max_seconds):
    """count loopback sockets in state (TIME_WAIT: connections opened and
    closed, the client first; established: connections kept open, two
    sockets each). Returns what must be closed at the end."""
    # Several listeners: Linux reuses a loopback TIME_WAIT's port for a new connection to the
    # same address and port a second later (tcp_tw_reuse), which caps what one listener gets.
    listeners = []
    for _ in range(8):
        listeners.append(socket.socket())
        listeners[-1].bind(("127.0.0.1", 0))
        listeners[-1].listen(1024)
    keep, made, deadline = list(listeners), 0, time.monotonic() + max_seconds
    while made < count and time.monotonic() < deadline:
        listener = listeners[made % len(listeners)]
        c = socket.create_connection(listener.getsockname())
        s, _ = listener.accept()
        if state == "time-wait":
            c.close()
            s.close()
            made += 1
        else:
            keep += [c, s]
            made += 2
    return keep, made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sockets", type=int, default=20000)
    ap.add_argument("--state", choices=("time-wait", "established"), default="time-wait")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--max-seconds", type=float, default=30.0)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME:SRC_DIR:BENCH_C, in addition to this tree's")
    args = ap.parse_args()
    if not 0 < args.sockets <= 50000:
        sys.exit("--sockets: 1 to 50000")
    variants = [("this", os.path.join(ROOT, "src"), os.path.join(ROOT, "bench", "tcp_owner.c"))]
    variants += [tuple(v.split(":", 2)) for v in args.variant]
    binaries = [(name, build(name, src, c)) for name, src, c in variants]
    if args.state == "established":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if args.sockets + 256 > hard:
            args.sockets = hard - 256
            print(f"--sockets {args.sockets}: the descriptor limit is {hard}")
    rows = []
    for name, binary in binaries:
        rows.append((name, "quiet", tcp_sockets(), run(binary, args.rounds)))
    t0 = time.monotonic()
    keep, made = fill(args.sockets, args.state, args.max_seconds)
    filled = time.monotonic() - t0
    try:
        on_host = tcp_sockets()
        for name, binary in binaries:
            rows.append((name, f"+{made} {args.state}", on_host, run(binary, args.rounds)))
    finally:
        for s in keep:
            s.close()
    print(f"made {made} sockets in {filled:.1f} s; figures in microseconds (median / max of "
          f"{args.rounds} rounds)")
    print(f"{'build':<8} {'host':<22} {'tcp sockets':>11} {'listeners':>17} {'peer':>17}")
    for name, host, n, r in rows:
        print(f"{name:<8} {host:<22} {n:>11} {r['listeners'][0]:>8} / {r['listeners'][1]:<6} "
              f"{r['peer'][0]:>8} / {r['peer'][1]:<6}")


if __name__ == "__main__":
    main()
