"""Whose crash is it? The e2e harness's rule, by evidence.

The evidence is the sanitizer's report with the ASan build, and with the plain build the
crashing thread's stack read by gdb from the core file the dead process left.

A sanitizer report (or a dead httpd parent) is ours when any stack it shows
- where it happened, where the memory was allocated, where it was freed -
has a frame of this module: its .so, its sources or a papi_ function. It is
Passenger's (upstream) when its frames are in Debian's mod_passenger.so and
none is ours. Everything else is unknown, and is treated like ours: the
test fails. A report about the sanitizer itself ("CHECK failed") is a fault
of the harness's set-up, never excused.

Upstream crashes do not fail a test, but each is printed when it happens and
listed in the run's summary (UPSTREAM), so they stay visible.
"""

import re
import subprocess

OURS, UPSTREAM, UNKNOWN, HARNESS = "ours", "upstream", "unknown", "harness"

# A stack frame, as ASan prints it ("    #3 0x7f2c1b2e3f40 in func (/path/lib.so+0x1f40)", or
# "... in func /path/file.c:12:3") or gdb does ("#3  0x00007f... in func () from /path/lib.so",
# "#4  func (arg=0x1) at src/file.c:12").
FRAME = re.compile(r"^\s*#\d+\s+\S")
OUR_FRAME = re.compile(r"mod_passenger_api\.(so|c)\b|\bsrc/papi_\w+\.[ch]\b|\bpapi_\w+ \(|\bin papi_\w+")
UPSTREAM_FRAME = re.compile(r"/mod_passenger\.so\b")
SANITIZER_CHECK = re.compile(r"Sanitizer: CHECK failed")

# (where, evidence) of every upstream crash the run survived.
UPSTREAM = []


def classify_report(text):
    """OURS, UPSTREAM, UNKNOWN or HARNESS for one sanitizer report."""
    if SANITIZER_CHECK.search(text):
        return HARNESS
    frames = [ln for ln in text.splitlines() if FRAME.match(ln)]
    if any(OUR_FRAME.search(f) for f in frames):
        return OURS
    if any(UPSTREAM_FRAME.search(f) for f in frames):
        return UPSTREAM
    return UNKNOWN


def note_upstream(where, evidence):
    """Record and print an upstream crash the harness recovered from."""
    UPSTREAM.append((where, evidence))
    print(f"\n{where}: Passenger's own module crashed (no frame of ours in the evidence); "
          f"recovered:\n{evidence[:1500]}", flush=True)


def core_stack(binary, core, timeout=60):
    """The crashing thread's stack in a core file, as gdb prints it ('' without gdb)."""
    try:
        r = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", binary, core],
                           capture_output=True, text=True, timeout=timeout)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return ""
    return r.stdout
