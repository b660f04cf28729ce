"""A wedged core cannot take every thread of a child: once PassengerApiMaxInFlight of its requests
have waited over a second, a child answers new ones 503 at once, and takes requests again as soon
as those end. Quick answers are never refused (tests/e2e/test_load.py)."""

import concurrent.futures
import time

import pytest

from conf import location

API = "/passenger-api"

ONE_CHILD = """<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 1
    ThreadsPerChild 8
    MinSpareThreads 1
    MaxSpareThreads 8
    MaxRequestWorkers 8
</IfModule>"""


pytestmark = pytest.mark.usefixtures("module_built")


def test_requests_beyond_the_cap_get_503_at_once(httpd_factory, fake_core, tmp_registry,
                                                 expect_log):
    expect_log(r"PAPI030: instance \w+ .*: 504 ")
    fake_core(registry_dir=tmp_registry, behaviour="hang")
    h = httpd_factory(mpm="event", passenger=False, mpm_conf=ONE_CHILD,
                      extra_conf=location(API, tmp_registry, PassengerApiTimeout=3,
                                          PassengerApiMaxInFlight=2))

    def ask(delay):
        time.sleep(delay)
        t0 = time.monotonic()
        r = h.get(API + "/ping.json", timeout=30)
        return r, time.monotonic() - t0

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        # Two get stuck on the hung core; the next two come once they have waited over a second.
        answers = list(pool.map(ask, [0, 0, 1.5, 1.5]))
    codes = sorted(r.status_code for r, _ in answers)
    assert codes == [200, 200, 503, 503], [(r.status_code, r.text) for r, _ in answers]
    for r, took in answers:
        if r.status_code == 503:
            assert "PassengerApiMaxInFlight" in r.json()["error"]
            assert r.headers["Retry-After"] == "1"
            assert r.headers["Cache-Control"] == "no-store"
            assert took < 1.0, took
        else:
            assert [e["status"] for e in r.json()] == [504]
    # Places are given back whatever way a request ended.
    r = h.get(API + "/instances.json")
    assert r.status_code == 200
