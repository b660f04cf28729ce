"""The operator's console, against real Passenger: what one request costs a process (its resident
memory before and after, as headers of /processes/<pid>/ answers and per probe in health.json),
the requests in flight from the core's server.json, and each process's memory over time.

The test app keeps what /grow?mb=N allocates for its life, and /sleep?ms=N answers after N ms.
"""

import re
import threading
import time

import pytest
import requests

import browser
from conf import location
import procs

API = "/passenger-api"

MB = 1024       # the figures are in kB


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: location(API, h.registry_dir)


pytestmark = pytest.mark.usefixtures("module_built")


def rss_cost(r):
    """(before, after) in kB from a /processes/<pid>/ answer's headers."""
    assert r.status_code == 200, r.text
    return int(r.headers["X-Passenger-Api-Rss-Before"]), int(r.headers["X-Passenger-Api-Rss-After"])


# ---------------------------------------------------------------- what one request costs

def test_a_request_that_keeps_50_mb_costs_at_least_40(httpd):
    pid = httpd.instance.live_pids(httpd.app("app").group_name)[0]
    before, after = rss_cost(httpd.get(f"{API}/processes/{pid}/grow?mb=50"))
    assert before > 0
    assert after - before >= 40 * MB, (before, after)
    # What it kept is still there: the next plain request costs next to nothing.
    before2, after2 = rss_cost(httpd.get(f"{API}/processes/{pid}/"))
    assert before2 >= before + 40 * MB
    assert abs(after2 - before2) < 5 * MB, (before2, after2)


def test_a_plain_request_costs_under_5_mb(httpd):
    for pid in httpd.instance.live_pids():
        before, after = rss_cost(httpd.get(f"{API}/processes/{pid}/"))
        assert before > 0 and abs(after - before) < 5 * MB, (pid, before, after)


def test_health_json_tells_each_probe_s_cost(httpd):
    r = httpd.get(API + "/health.json")
    assert r.status_code == 200, r.text
    probes = r.json()["processes"]
    assert sorted(p["pid"] for p in probes) == sorted(httpd.instance.live_pids())
    for p in probes:
        assert p["rss_before_kb"] > 0 and p["rss_after_kb"] > 0
        assert abs(p["rss_after_kb"] - p["rss_before_kb"]) < 5 * MB, p


# ---------------------------------------------------------------- what is running now

def in_flight(httpd, base=API):
    r = httpd.get(base + "/processes.json")
    assert r.status_code == 200, r.text
    (element,) = r.json()
    return element


def test_a_request_in_flight_shows_with_its_age_then_goes(httpd):
    app = httpd.app("app")
    pids = httpd.instance.live_pids(app.group_name)
    done = threading.Event()

    def sleeper():
        try:
            assert requests.get(app.url("/sleep?ms=3000&token=t0p53cret"), timeout=30).ok
        finally:
            done.set()

    t = threading.Thread(target=sleeper)
    t.start()
    try:
        # The core shows it once it reached a process; then its age grows past a second.
        def old_enough():
            element = in_flight(httpd)
            for req in element["requests_in_flight"]:
                if req["path"].startswith("/sleep?") and req["age_ms"] >= 1000:
                    return element, req
            assert not done.is_set(), "the request ended before a read showed it"
            return None
        element, req = procs.wait_until(old_enough, 10, "the sleeping request shown a second old")
    finally:
        t.join(30)
    assert req["method"] == "GET"
    # Read-only mode never shows an end user's query.
    assert req["path"] == "/sleep?[REDACTED]"
    assert req["app_group"] == app.group_name and req["pid"] in pids
    assert req["started_at"] > 0
    # Its process counts it.
    (serving,) = [p for g in element["pool"]["app_groups"] for p in g["processes"]
                  if p["pid"] == req["pid"]]
    assert serving["requests_in_flight"] >= 1
    element = in_flight(httpd)
    assert not [r for r in element["requests_in_flight"] if r["path"].startswith("/sleep")]
    for g in element["pool"]["app_groups"]:
        for p in g["processes"]:
            assert p["requests_in_flight"] == 0


COUNTED_ONCE = '<td data-label="In flight" class="n">1</td>'


def test_the_dashboard_lists_the_longest_running_requests(httpd):
    app = httpd.app("app")
    t = threading.Thread(target=lambda: requests.get(app.url("/hang?s=20&who=me"), timeout=30))
    t.start()
    try:
        # Listed once the core has it; counted with its process once a process took it (the core
        # lists a request before it checks a session out for it).
        def shown():
            text = httpd.get(API + "/").text
            return "/hang?[REDACTED]" in text and COUNTED_ONCE in text and text
        page = procs.wait_until(shown, 10, "the hanging request on the dashboard, with its process")
    finally:
        app.release_hangs()
        t.join(30)
        app.release_hangs(False)
    assert "Longest-running requests" in page and "1 in flight" in page
    assert "who=me" not in page


# ---------------------------------------------------------------- memory over time

def rss_history(httpd, pid):
    (element,) = httpd.get(API + "/processes.json").json()
    (proc,) = [p for g in element["pool"]["app_groups"] for p in g["processes"] if p["pid"] == pid]
    return proc["rss_history"]


def test_memory_history_grows_and_draws_a_sparkline(httpd):
    pid = httpd.instance.live_pids(httpd.app("app").group_name)[-1]
    first = rss_history(httpd, pid)          # any child's read samples a process that is due
    assert first and all(kb > 0 for _, kb in first)
    assert httpd.get(f"{API}/processes/{pid}/grow?mb=20").status_code == 200

    # At most one sample every 5 s, whichever child reads: the growth shows in a later one.
    def grown():
        h = rss_history(httpd, pid)
        return h if h[-1][1] >= first[-1][1] + 15 * MB else None
    later = procs.wait_until(grown, 20, "a sample after the process grew", interval=0.5)
    # The same history, longer: what the first read showed is still there, oldest first.
    assert later[:len(first)] == first
    times = [t for t, _ in later]
    assert times == sorted(times) and all(b - a >= 5 for a, b in zip(times, times[1:]))
    assert time.time() - 600 <= times[0] and times[-1] <= time.time() + 1
    page = httpd.get(API + "/").text
    assert page.count('<svg class="spark"') >= 1
    assert "in the last 10 minutes</title><polyline" in page
    # Chromium builds it as SVG under the page's CSP (no style attribute, no script).
    dom = browser.dump_dom(httpd.url(API + "/"))
    assert re.search(r'<svg class="spark"[^>]*>.*?<polyline [^>]*points="\d', dom)
