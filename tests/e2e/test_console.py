"""The operator's console, against real Passenger: what one request costs a process (its resident
memory before and after, as headers of /processes/<pid>/ answers and per probe in health.json),
the requests in flight from the core's server.json, and each process's memory over time.

The test app keeps what /grow?mb=N allocates for its life, and /sleep?ms=N answers after N ms.
"""

import pytest

from conf import location

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
