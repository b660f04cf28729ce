"""Reaching one application process, bypassing Passenger's load balancer, against real Passenger:
/processes/<pid>/<path> goes straight to that process's HTTP socket with the connect password, and
/health.json probes every process at once.

The test app answers "pid=<pid>" on /, echoes what it got on /echo, and hangs on /health while the
test marks its pid sick.
"""

import os
import re
import signal
import time

import pytest

from conf import location
import passenger

API = "/passenger-api"
HEALTH = "/papi-health"
FULL = "/papi-full"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: (location(API, h.registry_dir)
                      + location(HEALTH, h.registry_dir, PassengerApiHealthPath="/health",
                                 PassengerApiTimeout=1)
                      + location(FULL, h.registry_dir, PassengerApiAccess="full"))


pytestmark = pytest.mark.usefixtures("module_built")


def all_pids(httpd):
    return [p["pid"] for plist in httpd.instance.pool().values() for p in plist]


def test_each_process_answers_itself(httpd):
    pids = all_pids(httpd)
    assert len(pids) >= 4
    for pid in pids:
        r = httpd.get(f"{API}/processes/{pid}/")
        assert r.status_code == 200, r.text
        assert r.text == f"pid={pid}\n"
        assert r.headers["Content-Type"] == "text/plain"
        # The process's own page can never script this API's origin.
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers["ETag"] == '"e1"'
        assert "Set-Cookie" not in r.headers and "X-Pid" not in r.headers


def test_only_allowed_headers_go_and_no_password_comes_back(httpd):
    inst = httpd.instance
    pid = all_pids(httpd)[0]
    r = httpd.get(f"{API}/processes/{pid}/echo?a=1&b=%20x",
                  headers={"Cookie": "session=admin", "Authorization": "Basic YWRtaW46eA==",
                           "Accept": "text/plain", "X-Request-Id": "req-42", "X-Other": "no"})
    assert r.status_code == 200
    assert f"pid={pid}\n" in r.text
    assert "query=a=1&b=%20x\n" in r.text
    assert "HTTP_ACCEPT=text/plain\n" in r.text and "HTTP_X_REQUEST_ID=req-42\n" in r.text
    for absent in ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_X_OTHER"):
        assert absent not in r.text
    secrets = inst.secrets()
    for secret in secrets:
        assert secret not in r.text and secret not in str(r.headers)


def test_unknown_or_malformed_pid(httpd):
    r = httpd.get(f"{API}/processes/999999999/")
    assert r.status_code == 404 and "processes.json" in r.json()["error"]
    for bad in ("abc/", "12x/", "0/", ""):
        r = httpd.get(f"{API}/processes/{bad}")
        assert r.status_code == 404, bad
        assert r.json()["error"]


def test_readonly_allows_get_and_head_only(httpd):
    pid = all_pids(httpd)[0]
    r = httpd.request("HEAD", f"{API}/processes/{pid}/")
    assert r.status_code == 200 and r.content == b""
    for method in ("POST", "PUT", "DELETE"):
        r = httpd.request(method, f"{API}/processes/{pid}/echo", data="{}", headers=JSON)
        assert r.status_code == 403, method
        assert "read-only" in r.json()["error"]


def test_full_mode_forwards_writes_but_not_forged_ones(httpd):
    pid = all_pids(httpd)[0]
    # Without a body: Passenger's Ruby loader drops a body that arrives with the headers on its
    # HTTP socket (thread_handler.rb, parse_http_request), whoever sends it.
    for method in ("POST", "DELETE"):
        r = httpd.request(method, f"{FULL}/processes/{pid}/echo?drop=cache", headers=JSON)
        assert r.status_code == 200, r.text
        assert f"method={method}\n" in r.text and "query=drop=cache\n" in r.text
        assert f"pid={pid}\n" in r.text
        # Each write is logged at notice.
        with open(httpd.error_log_path, encoding="utf-8", errors="replace") as f:
            assert re.search(rf"PAPI041: {method} /echo\?drop=cache forwarded to process {pid} ",
                             f.read())
    r = httpd.request("POST", f"{FULL}/processes/{pid}/echo", data="drop=cache",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    r = httpd.request("POST", f"{FULL}/processes/{pid}/echo", data="{}",
                      headers=dict(JSON, Origin="https://evil.example"))
    assert r.status_code == 403


def test_health_probes_every_process(httpd):
    r = httpd.get(API + "/health.json")
    assert r.status_code == 200, r.text
    health = r.json()
    assert health["status"] == "healthy" and health["path"] == "/"
    assert health["instances"] == [{"name": httpd.instance.name, "status": 200, "error": None}]
    assert sorted(p["pid"] for p in health["processes"]) == sorted(all_pids(httpd))
    for p in health["processes"]:
        assert p["healthy"] is True and p["status"] == 200 and p["reachable"] is True
        assert isinstance(p["latency_ms"], float) and p["error"] is None
        assert p["instance"] == httpd.instance.name
    assert health["healthy"] == len(health["processes"]) and health["unhealthy"] == 0
    # The last probe shows with each process, in whichever child answers next.
    for _ in range(4):
        (element,) = httpd.get(API + "/processes.json").json()
        shown = [p for g in element["pool"]["app_groups"] for p in g["processes"]]
        assert sorted(p["pid"] for p in shown) == sorted(all_pids(httpd))
        for p in shown:
            assert p["last_probe"]["healthy"] is True and p["last_probe"]["status"] == 200
        assert httpd.get(API + "/").text.count("probe ok</span>") == len(shown)


def test_a_hung_process_fails_its_probe_alone(httpd):
    app = httpd.app("app")
    sick = httpd.instance.live_pids(app.group_name)[0]
    app.make_sick(sick)
    try:
        t0 = time.monotonic()
        r = httpd.get(HEALTH + "/health.json")
        took = time.monotonic() - t0
    finally:
        app.make_sick(sick, False)
    assert r.status_code == 503
    health = r.json()
    assert health["status"] == "unhealthy" and health["path"] == "/health"
    by_pid = {p["pid"]: p for p in health["processes"]}
    assert by_pid[sick]["healthy"] is False and by_pid[sick]["status"] is None
    assert "within" in by_pid[sick]["error"] or "deadline" in by_pid[sick]["error"]
    others = [p for pid, p in by_pid.items() if pid != sick]
    assert len(others) >= 3 and all(p["healthy"] for p in others)
    (element,) = httpd.get(API + "/processes.json").json()
    last = {p["pid"]: p["last_probe"] for g in element["pool"]["app_groups"]
            for p in g["processes"]}
    assert last[sick]["healthy"] is False and last[sick]["error"]
    # All probed at once: one deadline (1 s), not one per process.
    assert took < 1 + 1.5, took


def test_a_killed_process_is_unhealthy_or_gone_never_a_module_error(httpd_factory, expect_log):
    """On a server of its own: Passenger takes a while to notice a process killed under it."""
    h = httpd_factory(mpm="event", apps=[passenger.RackApp("app", processes=2)],
                      extra_conf=lambda s: location(API, s.registry_dir, PassengerApiTimeout=2))
    victim, survivor = h.instance.live_pids()
    # Its port is found without a listener before any connection is tried (or, in a race with
    # the kernel's tables, the connection is refused).
    expect_log(rf"PAPI032: process {victim} of instance \w+: 502 (nothing listens on "
               rf"127\.0\.0\.1:\d+|connecting to process {victim} failed: Connection refused)")
    os.kill(victim, signal.SIGKILL)
    r = h.get(API + "/health.json")
    assert r.status_code == 503, r.text
    by_pid = {p["pid"]: p for p in r.json()["processes"]}
    assert by_pid[survivor]["healthy"] is True
    # Passenger may still list it: then its probe fails (nothing listens any more).
    assert victim not in by_pid or by_pid[victim]["healthy"] is False
    r = h.get(f"{API}/processes/{victim}/")
    assert r.status_code in (404, 502), r.text
    assert r.json()["error"]
