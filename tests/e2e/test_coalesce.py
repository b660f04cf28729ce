"""Identical calls to a core, joined within an httpd child.

While one request's call to a core is in flight, the child's other requests for the very same
answer (same instance, access level, method and path; GET and HEAD only) wait for the next call,
which one of them makes for all. So:
  - a burst of identical requests costs the core at most two calls per child (worker, event); a
    prefork child answers one request at a time, so there every request makes its own call;
  - no answer is older than its request: a request that arrives while a call is in flight never
    gets that call's answer;
  - writes are never joined: every POST reaches the core.
"""

import json
import threading
import time
from collections import Counter

import pytest
import requests

from conf import location
import procs

API = "/papi-join"              # read-only
FULL = "/papi-join-full"        # PassengerApiAccess full
DELAY_MS = 400                  # how long the fake core takes over each answer
REGISTRIES = ("join",)          # the module's registry dirs (conftest's regs)


@pytest.fixture(scope="module")
def httpd_conf(regs):
    return lambda h: (location(API, regs['join'], PassengerApiTimeout=5)
                      + location(FULL, regs['join'], PassengerApiAccess="full",
                                 PassengerApiTimeout=5))


def burst(httpd, method, path, n, headers=None, **kw):
    """n requests at once, each on a fresh connection (so on any child): the responses."""
    out = [None] * n
    headers = dict(headers or {}, Connection="close")
    go = threading.Barrier(n)

    def one(i):
        with requests.Session() as s:
            s.trust_env = False
            go.wait(10)
            out[i] = s.request(method, httpd.url(path), timeout=30, headers=headers, **kw)

    procs.run_threads(one, n)
    return out


def in_background(httpd, path):
    """A GET on a fresh connection, in a thread of its own: (the thread, a dict whose "r" is the
    response once the thread has ended)."""
    got = {}

    def get():
        with requests.Session() as s:
            s.trust_env = False
            got["r"] = s.get(httpd.url(path), timeout=30)

    t = threading.Thread(target=get)
    t.start()
    return t, got


def only_element(r, fc):
    assert r.status_code == 200, r.text[:300]
    answer = r.json()
    assert [e["instance"]["instance_dir"]["path"] for e in answer] == [fc.path], answer
    return answer[0]


@pytest.mark.parametrize("path", ["/ping.json", "/pool.txt"])
def test_a_burst_costs_two_calls_per_child(httpd, mpm, fake_core, regs, path):
    n = 12
    fc = fake_core(registry_dir=regs["join"], behaviour="delay", delay_ms=DELAY_MS)
    rs = burst(httpd, "GET", API + path, n)
    for r in rs:
        e = only_element(r, fc)
        assert e["status"] == 200, e
    expected = only_element(rs[0], fc)["body"]
    assert all(only_element(r, fc)["body"] == expected for r in rs)
    calls = [x for x in fc.requests() if x.path == path]
    per_child = Counter(x["peer"]["pid"] for x in calls)
    if mpm == "prefork":
        assert len(calls) == n, per_child
    else:
        assert max(per_child.values()) <= 2, per_child
        assert len(calls) <= 2 * len(per_child) < n, per_child


def test_no_answer_is_older_than_its_request(httpd, fake_core, regs):
    """A's call is in the core (which has read its answer, v1) when the answer changes to v2 and
    B's requests arrive: every B gets v2, though one of A's child may have a call in flight."""
    fc = fake_core(registry_dir=regs["join"], behaviour="delay", delay_ms=DELAY_MS,
                   responses={"/version.json": (200, {"Content-Type": "application/json"},
                                                '{"v": 1}')})
    ta, got = in_background(httpd, API + "/version.json")
    procs.wait_until(lambda: any(x.path == "/version.json" for x in fc.requests()), 10,
                     "A's call reaching the core")
    time.sleep(0.1)             # the core has read its answer (v1) right after the request
    fc.set_behaviour("delay", delay_ms=DELAY_MS, responses={
        "/version.json": (200, {"Content-Type": "application/json"}, '{"v": 2}')})
    bs = burst(httpd, "GET", API + "/version.json", 8)
    ta.join(30)
    assert json.loads(only_element(got["r"], fc)["body"]) == {"v": 1}
    assert [json.loads(only_element(r, fc)["body"]) for r in bs] == [{"v": 2}] * 8


def test_writes_are_never_joined(httpd, fake_core, regs):
    n = 6
    fc = fake_core(registry_dir=regs["join"], behaviour="delay", delay_ms=DELAY_MS)
    rs = burst(httpd, "POST", FULL + "/pool/restart_app_group.json", n,
               data='{"name": "x"}', headers={"Content-Type": "application/json"})
    for r in rs:
        assert only_element(r, fc)["status"] == 200
    assert len([x for x in fc.requests() if x.method == "POST"]) == n


def test_a_hung_call_costs_each_request_its_own_deadline_only(httpd, mpm, fake_core, regs,
                                                              expect_log):
    """Requests waiting for a call that hangs are answered 504 by their own deadline (5 s), not
    one after the other."""
    expect_log(r"PAPI030: instance .*: 504 ", required=True)
    fc = fake_core(registry_dir=regs["join"], behaviour="hang")
    t0 = time.monotonic()
    rs = burst(httpd, "GET", API + "/ping.json", 6)
    elapsed = time.monotonic() - t0
    for r in rs:
        assert only_element(r, fc)["status"] == 504
    assert elapsed < 5 + 2.5, elapsed


def test_requests_waiting_on_another_ask_every_instance_at_once(httpd, fake_core, regs):
    """B's requests arrive while A's calls to 8 cores are in flight: each B waits for those calls
    to end, then makes its own to all 8 at once, not one after the other (8 x 400 ms)."""
    fakes = [fake_core(registry_dir=regs["join"], behaviour="delay", delay_ms=DELAY_MS)
             for _ in range(8)]
    ta, got = in_background(httpd, API + "/ping.json")
    procs.wait_until(lambda: all(fc.requests() for fc in fakes), 10, "A's calls in every core")
    bs = burst(httpd, "GET", API + "/ping.json", 6)
    ta.join(30)
    for r in [got["r"]] + bs:
        assert r.status_code == 200, r.text[:300]
        assert [e["status"] for e in r.json()] == [200] * 8, r.text[:300]
    slowest = max(r.elapsed.total_seconds() for r in bs)
    # At most the rest of A's round and one round of B's own, plus room for a busy machine.
    assert slowest < 2 * DELAY_MS / 1000 + 0.8, slowest
