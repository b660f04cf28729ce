"""The credential helper is restarted when it dies, but not in a loop: one that keeps dying right
after its start is restarted ever later, and after five such deaths in a row not at all (one error
line), while the server keeps serving."""
import os
import shutil
import signal
import time

import pytest

import procs
from test_api_registries import helper_pid, helper_pid_or_none

API = "/passenger-api"


def test_helper_dying_at_startup_is_not_respawned_in_a_loop(httpd_factory, mpm, expect_log):
    registry = procs.make_tempdir()
    conf = (f"<Location {API}>\n    SetHandler passenger-api\n"
            f"    PassengerApiRegistryDir {registry}\n</Location>\n")
    h = httpd_factory(mpm=mpm, passenger=False, extra_conf=conf)
    try:
        check_restarts_back_off(h, expect_log)
    finally:
        shutil.rmtree(registry, ignore_errors=True)


def check_restarts_back_off(h, expect_log):
    expect_log(r"PAPI010: credential helper \(pid \d+\) exited, restarting it", required=True)
    expect_log(r"PAPI016: credential helper \(pid \d+\) died within 10 s of its start 5 times "
               r"in a row: not restarting it", required=True)
    pid = helper_pid(h)
    for death in range(1, 5):
        os.kill(pid, signal.SIGKILL)
        # Restarts after the first wait 1, 2, 4 s, from the parent's monitor hook (about every
        # 10 s): never at once in a loop.
        pid = procs.wait_until(lambda old=pid: helper_pid_or_none(h, old), 30,
                               f"the helper back after death {death}")
    os.kill(pid, signal.SIGKILL)
    # Longer than the monitor hook's period: a restart would have happened by now.
    time.sleep(12)
    with pytest.raises(AssertionError):
        helper_pid(h)
    assert h.get(API + "/instances.json").status_code == 200
