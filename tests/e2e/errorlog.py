"""Error-log checking in the style of httpd's pyhttpd.

After every test, each line at level warn or worse that appeared in a
watched log since the previous check must have been declared expected by the
test (a regex), or the test fails. Two line formats share httpd's error_log:

  httpd:      [Sat Nov 21 12:04:47.886664 2026] [mpm_event:notice] [pid ...] AH00493: ...
  Passenger:  [ W 2026-11-21 12:04:36.4094 4715/T1 age/Wat/WatchdogMain.cpp:1377 ]: ...

(Passenger's agents write into the web server's error log; their level
letters are C, E, W, N, I, D, D2, D3 - LoggingKit/Implementation.cpp.)
"""

import os
import re
import time

import crashes

APACHE_LINE = re.compile(r"^\[[^\]]*\] \[(?P<module>[^\]:]*):(?P<level>[a-z0-9]+)\]")
PASSENGER_LINE = re.compile(r"^\[ (?P<level>C|E|W|N|I|D|D2|D3) \d{4}-\d\d-\d\d ")

BAD_APACHE_LEVELS = {"emerg", "alert", "crit", "error", "warn"}
BAD_PASSENGER_LEVELS = {"C", "E", "W"}

# Lines at warn or worse that real Passenger 6.0.17 / httpd 2.4 write in a
# normal start, graceful restart and stop of the harness's setup and that
# are upstream noise, not a problem of the setup. Each entry: (regex, why).
#
# Measured here under prefork, worker and event (start, graceful, stop, with
# and without apps, PassengerPreStart or not, Passenger Standalone): there
# are none, so the list is empty. Lines that did show up pointed at real
# problems and were fixed in the setup instead:
#   - "[ W ...] WARNING: potential privilege escalation vulnerability
#     detected ... can be changed by non-root user(s)" when the registry dir
#     is writable by others: the harness makes it root 0755;
#   - AH00045/AH00046 "child process N still did not exit" (event MPM) when
#     stopping with an app request hung: the app's /hang is released first;
#   - AH02155 (no User as root) and AH00558 (no ServerName): both are set.
UPSTREAM_NOISE = [
]


def classify(line):
    """'bad' if line is at warn level or worse in either format, else None."""
    m = APACHE_LINE.match(line)
    if m:
        return "bad" if m.group("level") in BAD_APACHE_LEVELS else None
    m = PASSENGER_LINE.match(line)
    if m:
        return "bad" if m.group("level") in BAD_PASSENGER_LEVELS else None
    return None


class Expectation:
    """A regex a test declared; required ones must match at least once.

    persistent ones stay until removed (e.g. for a whole test module's
    server config), the others are dropped after the next check."""

    def __init__(self, pattern, required=False, persistent=False):
        self.regex = re.compile(pattern)
        self.required = required
        self.persistent = persistent
        self.matched = 0

    def __repr__(self):
        return f"<expect {self.regex.pattern!r} required={self.required}>"


class ErrorLog:
    """One log file, read incrementally from the last checked offset."""

    def __init__(self, path, name=None):
        self.path = path
        self.name = name or path
        self.pos = 0
        self.expectations = []

    def expect(self, pattern, required=False, persistent=False):
        """Declare that warn/error lines matching `pattern` are expected in
        this log. Valid until the next check (the current test) unless
        persistent=True (then until unexpect()). With required=True the
        next check also fails if no line matched it."""
        exp = Expectation(pattern, required, persistent)
        self.expectations.append(exp)
        return exp

    def unexpect(self, exp):
        """Drop an expectation returned by expect()."""
        if exp in self.expectations:
            self.expectations.remove(exp)

    def size(self):
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0

    def read_from(self, offset):
        """Lines of the log from byte `offset` to its end."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        return data.decode("utf-8", "replace").splitlines()

    def new_lines(self):
        """Lines written since the last check (without consuming them)."""
        return self.read_from(self.pos)

    def grep(self, pattern, since=0):
        """All lines (any level) from byte `since` that match `pattern`."""
        rx = re.compile(pattern)
        return [ln for ln in self.read_from(since) if rx.search(ln)]

    def skip(self):
        """Mark everything written so far as checked (e.g. after a test
        that injected lines on purpose)."""
        self.pos = self.size()

    def check(self, extra=(), final=True):
        """Consume new lines; return a list of problems (strings).

        A problem is an unexpected warn/error line, or (if final) a required
        expectation of this log that matched nothing. `extra` are
        expectations shared by all logs (LogWatch checks those). If final,
        the test is over: non-persistent expectations are dropped.
        """
        end = self.size()
        if end < self.pos:  # truncated or replaced: read it all again
            self.pos = 0
        lines = self.read_from(self.pos)
        self.pos = end
        problems = []
        for line in lines:
            if classify(line) != "bad":
                continue
            if _matches_noise(line):
                continue
            hit = [e for e in list(self.expectations) + list(extra) if e.regex.search(line)]
            for e in hit:
                e.matched += 1
            if not hit:
                problems.append(f"{self.name}: unexpected: {line}")
        if final:
            for e in self.expectations:
                if e.required and not e.matched:
                    problems.append(f"{self.name}: expected line not found: {e.regex.pattern!r}")
                e.matched = 0
            self.expectations = [e for e in self.expectations if e.persistent]
        return problems


class ReportDir:
    """A directory where a sanitizer writes one file per reporting process
    (ASAN_OPTIONS=log_path=<dir>/<prefix> gives <prefix>.<pid>). Checked
    like a log, at the same moments: every new report is a problem, and no
    expectation can excuse it; only the evidence can, when it shows the crash
    was Passenger's own (crashes.py)."""

    def __init__(self, path, prefix, name=None):
        self.path = path
        self.prefix = prefix + "."
        self.name = name or path
        self.seen = set()

    def check(self, extra=(), final=True):
        """Return one problem per report file not seen before."""
        try:
            names = sorted(os.listdir(self.path))
        except FileNotFoundError:
            return []
        problems = []
        for f in names:
            if f.startswith(self.prefix) and f not in self.seen:
                self.seen.add(f)
                lines = self.read(os.path.join(self.path, f))
                if crashes.classify_report("\n".join(lines)) == crashes.UPSTREAM:
                    crashes.note_upstream(f"{self.name}: report {f}", "\n".join(lines))
                    continue
                if len(lines) > 60:
                    lines = lines[:60] + [f"... ({len(lines) - 60} more lines)"]
                problems.append(f"{self.name}: report {f}:\n    " + "\n    ".join(lines))
        return problems

    @staticmethod
    def read(path, settle=2.0):
        """The report's lines; the process may still be writing it, so wait
        a little for its closing SUMMARY line."""
        deadline = time.monotonic() + settle
        while True:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            if any(ln.startswith("SUMMARY:") for ln in lines) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return lines


def _matches_noise(line):
    return any(re.search(rx, line) for rx, _why in UPSTREAM_NOISE)


class LogWatch:
    """All logs the harness watches, plus problems found during cleanup.

    Servers register their logs here when created. A server that is removed
    checks its log one last time and leaves the result in `pending`, which
    the per-test check reports.
    """

    def __init__(self):
        self.logs = []
        self.pending = []
        self.expectations = []

    def expect(self, pattern, required=False):
        """Expect warn/error lines matching `pattern` in any watched log
        during the current test (required: in at least one of them)."""
        exp = Expectation(pattern, required)
        self.expectations.append(exp)
        return exp

    def add(self, log):
        self.logs.append(log)
        return log

    def remove(self, log, final_check=True):
        """Stop watching `log`; its last problems go to `pending`."""
        if log in self.logs:
            self.logs.remove(log)
            if final_check:
                self.pending.extend(log.check(self.expectations))

    def check_all(self, final=True):
        """Check every watched log and return all problems.

        final=False (right after the test body): only unexpected lines;
        expectations stay for the teardown. final=True (after teardown):
        also required expectations not met; then all are dropped."""
        problems, self.pending = self.pending, []
        for log in list(self.logs):
            problems.extend(log.check(self.expectations, final=final))
        if final:
            for e in self.expectations:
                if e.required and not e.matched:
                    problems.append(f"expected line not found in any log: {e.regex.pattern!r}")
            self.expectations = []
        return problems


# The one watch of this test run (conftest.py checks it around each test).
WATCH = LogWatch()
