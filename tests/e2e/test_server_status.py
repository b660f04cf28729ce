"""Apache's own status page and mod_status's habits, against real httpd (mod_status loaded, as the
harness always does) and real Passenger:

- /server-status has a "Passenger API" section and ?auto the same as "Key: Value" lines, counted
  over every child: requests served by several children all show in the one page any child gives;
- the credential helper's state and restarts as the parent saw them;
- the dashboard takes mod_status's ?refresh=N (0: no reload), in a real browser too;
- every answer of the module carries Cache-Control: no-store, errors included;
- a mod_status-style block without a PassengerApi directive answers a 404 that says which
  directive to add, and the error log says it once per child and place.
"""

import concurrent.futures
import os
import re
import signal

import pytest
import requests

import browser
import procs
from conf import location
from test_api_registries import helper_pid, helper_pid_or_none

API = "/passenger-api"
COUNTED = "/papi-counted"       # asked by one test only: its counts are that test's
BARE = "/passenger-api-bare"    # SetHandler alone, as a mod_status user would write it
BARE_TOO = "/papi-bare-too"     # the same, for the walk over every answer
PIDS_LOG = "pids_log"


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: (location(API, h.registry_dir, PassengerApiAccess="readonly")
                      + location(COUNTED, h.registry_dir)
                      + "".join(f"<Location {bare}>\n    SetHandler passenger-api\n"
                                "    Require local\n</Location>\n" for bare in (BARE, BARE_TOO))
                      # Which child served each request (the harness's access log does not say).
                      + 'LogFormat "%P %>s %U" papi_pids\n'
                      + f'CustomLog "{os.path.join(h.logs_dir, PIDS_LOG)}" papi_pids\n')


pytestmark = pytest.mark.usefixtures("module_built")


def status_auto(h):
    """Our lines of /server-status?auto, each checked to be "Key: Value", as a dict."""
    r = h.get("/server-status?auto")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    ours = {}
    for line in r.text.splitlines():
        if not line.startswith("PassengerApi"):
            continue
        m = re.fullmatch(r"(PassengerApi[A-Za-z]+): (\S+)", line)
        assert m, f"not a Key: Value line: {line!r}"
        assert m[1] not in ours, f"{m[1]} twice"
        ours[m[1]] = m[2]
    return ours


def counter(auto, key):
    assert re.fullmatch(r"\d+", auto[key]), f"{key}: {auto[key]!r}"
    return int(auto[key])


def served_by(h, path):
    """The pids of the children that answered path (our own access log)."""
    with open(os.path.join(h.logs_dir, PIDS_LOG)) as f:
        return {int(pid) for pid, _status, url in (ln.split() for ln in f) if url == path}


def test_section_and_auto_lines(httpd):
    assert httpd.get(API + "/instances.json").status_code == 200
    auto = status_auto(httpd)
    states = ("Good", "NotFinalized", "Corrupted", "Unsupported", "Stale", "Untrusted",
              "Uninspected")
    assert set(auto) == {f"PassengerApiInstances{s}" for s in states} | {
        "PassengerApiLastScanAge", "PassengerApiHelper", "PassengerApiHelperRestarts",
        "PassengerApiCoreCalls", "PassengerApiCoreCallsJoined", "PassengerApiInstanceCacheHits",
        "PassengerApiInstanceCacheMisses"}
    # The one live instance of the shared server, as the scan just made found it.
    assert counter(auto, "PassengerApiInstancesGood") == 1
    assert counter(auto, "PassengerApiLastScanAge") < 60
    # httpd starts as root and serves as www-data: the helper runs.
    assert auto["PassengerApiHelper"] == "up"
    page = httpd.get("/server-status")
    assert page.status_code == 200
    section = page.text.split("<h2>Passenger API</h2>", 1)
    assert len(section) == 2, "no Passenger API section"
    assert "as the last scan of any child found them" in section[1]
    assert "1 good" in section[1] and "Credential helper: up" in section[1]


def ping_on_fresh_connections(h, n):
    """n GETs of COUNTED/ping.json at once, each on a connection of its own, so that the
    children share them."""
    def one(_):
        r = requests.get(h.url(COUNTED + "/ping.json"), headers={"Connection": "close"},
                         timeout=10)
        assert r.status_code == 200 and r.json()[0]["status"] == 200, r.text
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, range(n)))


def test_counters_are_summed_over_children(httpd, mpm):
    before = status_auto(httpd)
    sent = 0
    # Until at least two children have answered (they take connections as they come).
    while len(served_by(httpd, COUNTED + "/ping.json")) < 2:
        assert sent < 200, "every request went to one child"
        ping_on_fresh_connections(httpd, 10)
        sent += 10
    after = status_auto(httpd)

    def grew(key):
        return counter(after, key) - counter(before, key)
    # Each ping asked the one instance: by a call of its own or, when an identical one was in
    # flight in its child, with that call's answer. Whichever child answered, it is counted here.
    assert grew("PassengerApiCoreCalls") + grew("PassengerApiCoreCallsJoined") == sent
    if mpm == "prefork":
        assert grew("PassengerApiCoreCallsJoined") == 0     # one request at a time per child
    # Each scan looked the instance up in its child's cache; only a child's first look misses.
    looks = grew("PassengerApiInstanceCacheHits") + grew("PassengerApiInstanceCacheMisses")
    assert looks >= sent and grew("PassengerApiInstanceCacheHits") > 0


def test_helper_state_and_restarts(httpd_factory, mpm, expect_log):
    """The parent writes the helper's state: up, down while a restart is put off (its second
    quick death waits for the monitor hook), up again with each restart counted."""
    expect_log(r"PAPI010: credential helper \(pid \d+\) exited, restarting it", required=True)
    registry = procs.make_tempdir()
    h = httpd_factory(mpm=mpm, passenger=False, extra_conf=location(API, registry))
    auto = status_auto(h)
    assert (auto["PassengerApiHelper"], auto["PassengerApiHelperRestarts"]) == ("up", "0")
    pid = helper_pid(h)
    os.kill(pid, signal.SIGKILL)
    pid = procs.wait_until(lambda: helper_pid_or_none(h, pid), 10, "the helper restarted")
    procs.wait_until(lambda: status_auto(h)["PassengerApiHelperRestarts"] == "1", 10,
                     "the restart counted")
    os.kill(pid, signal.SIGKILL)
    procs.wait_until(lambda: status_auto(h)["PassengerApiHelper"] == "down", 10,
                     "the helper down while its restart waits")
    procs.wait_until(lambda: helper_pid_or_none(h, pid), 30, "the helper back")
    procs.wait_until(lambda: status_auto(h)["PassengerApiHelper"] == "up", 10, "the helper up")
    assert status_auto(h)["PassengerApiHelperRestarts"] == "2"


# ---------------------------------------------------------------- the dashboard's ?refresh=N

def test_dashboard_refresh(httpd):
    page = httpd.get(API + "/?refresh=30")
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="30">' in page.text
    assert "refreshes every 30 s" in page.text
    page = httpd.get(API + "/?refresh=0")
    assert page.status_code == 200 and "http-equiv" not in page.text
    assert '<meta http-equiv="refresh" content="5">' in httpd.get(API + "/").text
    for bad in ("refresh=-1", "refresh=3601", "refresh=soon", "refresh", "auto", "refresh=5&x=1"):
        r = httpd.get(API + "/?" + bad)
        assert r.status_code == 400, bad
        assert "refresh=N" in r.json()["error"], bad


def test_dashboard_refresh_in_a_browser(httpd):
    """Chromium reloads the page asked with refresh=1, and never the one asked with refresh=0:
    with virtual time, its timers run at once (the reloads of refresh=1 would never end, so that
    run is ended after the second load)."""
    budget = ["--virtual-time-budget=5000"]
    path = f"{API}/?refresh=1"
    before = loads(httpd, path)
    assert browser.load_until(httpd.url(path), lambda: loads(httpd, path) >= before + 2,
                              flags=budget), "refresh=1: no reload"
    path = f"{API}/?refresh=0"
    before = loads(httpd, path)
    browser.dump_dom(httpd.url(path), flags=budget)
    assert loads(httpd, path) == before + 1


def loads(h, target):
    """GETs of target (path and query) in the access log."""
    with open(h.access_log_path) as f:
        return sum(1 for ln in f if f'"GET {target} HTTP/' in ln)


# ---------------------------------------------------------------- Cache-Control on every answer

def test_every_answer_is_no_store(httpd, expect_log):
    """Every route, and every kind of answer the module gives: pages, JSON, relayed answers of
    cores and processes, and each refusal."""
    expect_log(r"PAPI001: SetHandler passenger-api alone opens nothing: .* at " + BARE_TOO)
    pid = next(p["pid"] for plist in httpd.instance.pool().values() for p in plist)
    name = httpd.instance.name
    big = "x" * 70000
    asks = [
        ("GET", API, {}, 200), ("GET", API + "/", {}, 200), ("HEAD", API + "/", {}, 200),
        ("GET", API + "/?refresh=0", {}, 200), ("GET", API + "/?refresh=x", {}, 400),
        ("GET", API + "/processes.json", {}, 200), ("GET", API + "/metrics", {}, 200),
        ("GET", API + "/instances.json", {}, 200), ("GET", API + "/health.json", {}, 200),
        ("GET", API + "/ping.json", {}, 200), ("GET", API + "/pool.txt", {}, 200),
        ("GET", f"{API}/instances/{name}/ping.json", {}, 200),
        ("GET", f"{API}/instances/nosuch/ping.json", {}, 404),
        ("GET", f"{API}/processes/{pid}/", {}, 200),            # the process's answer, relayed
        ("GET", f"{API}/processes/1/", {}, 404),
        ("GET", API + "/nope.json", {}, 200),                   # the core's 404, in the array
        ("GET", API + "/config.json", {}, 403),                 # read-only mode
        ("POST", API + "/ping.json", {"json": {}}, 403),
        ("POST", API + "/metrics", {"json": {}}, 405),
        ("DELETE", API + "/instances.json", {}, 405),
        ("GET", API + "/ping.json", {"headers": {"Host": "evil.example"}}, 421),
        ("POST", API + "/ping.json", {"data": big, "headers": {"Content-Type": "application/json"}},
         413),
        ("GET", BARE_TOO + "/ping.json", {}, 404),
    ]
    for method, path, kw, status in asks:
        r = httpd.request(method, path, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text[:200])
        assert r.headers.get("Cache-Control") == "no-store", (method, path)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (method, path)


# ---------------------------------------------------------------- SetHandler alone

def test_sethandler_alone_says_which_directive_to_add(httpd, expect_log, mpm):
    expect_log(r"PAPI001: SetHandler passenger-api alone opens nothing: add a PassengerApi "
               r"directive \(e\.g\. \"PassengerApiAccess readonly\"\) .* at "
               + re.escape(BARE), required=True)
    start = httpd.log.size()
    for _ in range(30):
        r = requests.get(httpd.url(f"{BARE}/ping.json"), headers={"Connection": "close"},
                         timeout=10)
        assert r.status_code == 404
        assert r.headers["Content-Type"] == "application/json"
        # One line, naming the directive to add.
        assert r.text.count("\n") == 1 and r.text.endswith("\n")
        assert "PassengerApiAccess readonly" in r.json()["error"]
    # Once per child and place: no child said it twice.
    said = [re.search(r"\[pid (\d+)", ln)[1]
            for ln in httpd.log.grep(r"PAPI001: .* at " + re.escape(BARE) + " ", since=start)]
    assert said and len(said) == len(set(said)), said
