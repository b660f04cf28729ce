"""Parallel fan-out: every instance is asked at once, each with its own deadline, so one hung
instance costs one deadline (PassengerApiTimeout), not one per instance, and slow instances cost
the slowest one's delay, not their sum.

The only timing assertions of the suite are here, with margins meant for a loaded 2-core CI box.
"""

import time

import pytest

from conf import location

API = "/passenger-api-fanout"
TIMEOUT = 2         # PassengerApiTimeout, seconds
MARGIN = 1.5        # seconds on top of the deadline
N = 10


REGISTRIES = ("fanout",)


@pytest.fixture(scope="module")
def fanout_registry(regs):
    return regs["fanout"]


@pytest.fixture(scope="module")
def httpd_conf(fanout_registry):
    return location(API, fanout_registry, PassengerApiTimeout=TIMEOUT)


def timed_ping(httpd):
    t0 = time.monotonic()
    r = httpd.get(API + "/ping.json", timeout=30)
    elapsed = time.monotonic() - t0
    assert r.status_code == 200, r.text
    return r.json(), elapsed


def test_one_hung_instance_costs_one_deadline(httpd, fake_core, fanout_registry, expect_log):
    hung = fake_core(registry_dir=fanout_registry, behaviour="hang", dirname="passenger.hung000")
    slow = [fake_core(registry_dir=fanout_registry, behaviour="delay", delay_ms=300,
                      dirname=f"passenger.slow{i:03d}") for i in range(N - 1)]
    expect_log(rf"PAPI030: instance {hung.name} \(.*\): 504 deadline passed while reading the "
               r"answer", required=True)
    answer, elapsed = timed_ping(httpd)
    print(f"{N} instances, one hung, deadline {TIMEOUT} s: {elapsed:.2f} s")
    # One after the other: 2 s for the hung one plus 9 x 0.3 s for the others.
    assert TIMEOUT - 0.1 < elapsed < TIMEOUT + MARGIN, elapsed
    assert elapsed < TIMEOUT + (N - 1) * 0.3 - 0.5
    by_name = {e["instance"]["name"]: e for e in answer}
    assert len(answer) == N and set(by_name) == {f.name for f in [hung] + slow}
    assert [e["instance"]["name"] for e in answer if e["status"] == 504] == [hung.name]
    assert "deadline passed while reading the answer" in by_name[hung.name]["error"]
    for f in slow:
        assert by_name[f.name]["status"] == 200, by_name[f.name]
        assert by_name[f.name]["body"] == '{ "status": "ok" }'
    # Each was asked exactly once, the hung one included.
    assert [f.connections() for f in [hung] + slow] == [1] * N


def test_slow_instances_cost_the_slowest_not_the_sum(httpd, fake_core, fanout_registry):
    slow = [fake_core(registry_dir=fanout_registry, behaviour="delay", delay_ms=300,
                      dirname=f"passenger.slow{i:03d}") for i in range(N)]
    answer, elapsed = timed_ping(httpd)
    print(f"{N} instances delayed 0.3 s each: {elapsed:.2f} s")
    # One after the other this would take 10 x 0.3 s = 3 s.
    assert 0.3 <= elapsed < 1.5, elapsed
    assert sorted(e["instance"]["name"] for e in answer) == sorted(f.name for f in slow)
    assert all(e["status"] == 200 for e in answer), answer
