"""The operator's console, against real Passenger: what one request costs a process (its resident
memory before and after, as headers of /processes/<pid>/ answers and per probe in health.json),
the requests in flight from the core's server.json, and each process's memory over time.

The test app keeps what /grow?mb=N allocates for its life, and /sleep?ms=N answers after N ms.
"""

import threading

import pytest
import requests

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


def test_the_dashboard_lists_the_longest_running_requests(httpd):
    app = httpd.app("app")
    t = threading.Thread(target=lambda: requests.get(app.url("/hang?s=20&who=me"), timeout=30))
    t.start()
    try:
        page = procs.wait_until(lambda: (lambda text: "/hang?[REDACTED]" in text and text)(
            httpd.get(API + "/").text), 10, "the hanging request on the dashboard")
    finally:
        app.release_hangs()
        t.join(30)
        app.release_hangs(False)
    assert "Longest-running requests" in page and "1 in flight" in page
    assert "who=me" not in page
    assert '<td data-label="In flight" class="n">1</td>' in page
