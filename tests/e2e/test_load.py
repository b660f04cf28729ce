"""The aggregate under load, under each MPM: wrk at 64 connections for 20 s
against /passenger-api/ping.json (real Passenger behind it) must get a 2xx
for every request, with and without two graceful restarts during the run.

Speed is not asserted here (bench/bench.py measures it, as ratios): only
that nothing fails. Each run is bounded (wrk's own -d, and a hard timeout
on waiting for it).

The server: one per MPM for this module, like the shared one (real
Passenger, an app, the module at /passenger-api as in
test_api_aggregate.py) but sized for 64 keep-alive connections
(wrk.mpm_conf, whose docstring says why: the shared servers are sized for a
few requests at a time, an httpd short of workers closes keep-alive
connections under wrk's feet, which wrk counts as socket errors even for a
static file, and shrinking the shared server back afterwards makes prefork
log warnings).

Graceful restarts: httpd closes the keep-alive connections of the old
generation's children, and a request the client sent on one just before is
never read (RFC 9112 §9.3.1: clients may retry such requests; wrk does not
and counts a read error). That happens for a static file just the same
(measured here: 28 read errors for a static file with two restarts at 64
keep-alive connections), so the restart run sends `Connection: close`:
every request is its own connection, and any socket error or non-2xx is a
request that httpd and the module really failed.
"""

import os
import re
import time

import pytest

import apache
from conf import location
import errorlog
import passenger
import wrk

API = "/passenger-api"
CONNECTIONS = 64
DURATION = 20            # seconds of wrk per test
WRK_TIMEOUT = 10         # wrk's per-request timeout (s): slow is not failed here
RESTARTS_AT = (4, 11)    # seconds into the run (or as soon as the previous one is over)


def module_conf(h):
    return location(API, h.registry_dir, PassengerApiTimeout=5)


@pytest.fixture(scope="module")
def load_httpd(mpm, module_built):
    """An Httpd of this module for this MPM, sized for CONNECTIONS."""
    if not os.access(wrk.WRK, os.X_OK):
        pytest.skip(f"{wrk.WRK} not installed (Debian package wrk)")
    h = apache.Httpd(mpm, module=True, apps=[passenger.RackApp("app", processes=1)],
                     extra_conf=module_conf, mpm_conf=wrk.mpm_conf(mpm, CONNECTIONS))
    try:
        h.start()
        yield h
    finally:
        h.cleanup()
    problems = errorlog.WATCH.check_all()
    if problems:
        pytest.fail(f"error log check (load {mpm} server stop):\n  " + "\n  ".join(problems),
                    pytrace=False)


def assert_nothing_failed(r):
    assert r.requests > 0, r.output
    assert r.errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0}, r.summary()
    assert r.statuses, r.output
    assert set(r.statuses) == {200}, r.summary()
    assert r.non_2xx == 0 and r.non_2xx_3xx == 0, r.summary()
    # Every response wrk counted had its status counted.
    assert sum(r.statuses.values()) == r.requests, r.summary()


def ping_is_good(h):
    r = h.get(API + "/ping.json")
    assert r.status_code == 200, r.text
    (element,) = r.json()
    assert element["status"] == 200, element
    assert element["instance"]["name"] == h.instance.name


def test_aggregate_under_load(load_httpd, mpm):
    h = load_httpd
    ping_is_good(h)
    r = wrk.run(h.url(API + "/ping.json"), threads=2, connections=CONNECTIONS,
                duration=DURATION, timeout=WRK_TIMEOUT, count_statuses=True, grace=30)
    print(f"\n[{mpm}] {CONNECTIONS} keep-alive connections, {DURATION} s: {r.summary()}")
    assert_nothing_failed(r)
    ping_is_good(h)


def test_two_graceful_restarts_under_load(load_httpd, mpm, expect_log):
    h = load_httpd
    ping_is_good(h)
    job = wrk.start(h.url(API + "/ping.json"), threads=2, connections=CONNECTIONS,
                    duration=DURATION, timeout=WRK_TIMEOUT, count_statuses=True,
                    headers=["Connection: close"])
    restarts = []
    try:
        for at in RESTARTS_AT:
            time.sleep(max(0, at - (time.monotonic() - job.t0)))
            old = h.instance.name
            # A graceful restart replaces Passenger's instance: the old one
            # shuts down and its directory goes, while requests already
            # under way still ask it, and the credential helper is restarted
            # too. The module answers those with a 502 element for that
            # instance (inside a 200) and one warn line each. Lines about
            # the outgoing instance are expected; one about any other
            # instance fails the test.
            expect_log(rf"\[passenger_api:warn\] .* PAPI030: instance {re.escape(old)} "
                       rf"\([^)]*\): 50[24] ")
            sent = time.monotonic() - job.t0
            h.graceful(timeout=60)
            restarts.append((old, h.instance.name, round(sent, 1),
                             round(time.monotonic() - job.t0, 1)))
            assert h.instance.name != old
        still_running = job.running()
        r = job.wait(grace=90)
    finally:
        job.kill()
    print(f"\n[{mpm}] {CONNECTIONS} connections (Connection: close), {DURATION} s, graceful "
          f"restarts (old, new instance, sent at s, ready at s) {restarts}: {r.summary()}")
    assert still_running, (f"wrk ended before both restarts were over ({restarts}): "
                           "the run did not cover them")
    assert_nothing_failed(r)
    ping_is_good(h)
