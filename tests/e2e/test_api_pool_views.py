"""The views drawn from every instance's pool.xml, against real Passenger: processes.json (typed JSON),
/metrics (Prometheus, checked with promtool) and the HTML dashboard (loaded in headless Chromium).

The shared server runs two Rack apps of two processes each, one of them under a root path with
non-ASCII characters ('café-ünï'), which Passenger writes into pool.xml byte by byte.
"""

import re

import pytest

import browser
from conf import location
from exposition import identity_of, pool_with_metrics, promtool_check, series

API = "/passenger-api"
PIDS = "/papi-pids"


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: (location(API, h.registry_dir, h.fake_registry_dir)
                      + location(PIDS, h.registry_dir, PassengerApiMetricsPidLabel="on"))


pytestmark = pytest.mark.usefixtures("module_built")


def processes(httpd, base=API):
    r = httpd.get(base + "/processes.json")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    return r.json()


def metrics(httpd, base=API):
    r = httpd.get(base + "/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return r.text


# ---------------------------------------------------------------- processes.json

def test_processes_json_has_the_cores_own_pids_typed(httpd):
    inst = httpd.instance
    core = pool_with_metrics(inst)
    (element,) = processes(httpd)
    assert element["status"] == 200
    assert element["instance"]["name"] == inst.name
    assert element["instance"]["state"] == "good"
    pool = element["pool"]
    assert pool["passenger_version"] == inst.properties["passenger_version"]
    assert isinstance(pool["max"], int) and pool["max"] >= 4
    groups = {g["name"]: g for g in pool["app_groups"]}
    assert set(groups) == set(core)
    for name, plist in core.items():
        shown = groups[name]["processes"]
        assert sorted(p["pid"] for p in shown) == sorted(p["pid"] for p in plist)
        for p in shown:
            for key in ("pid", "sessions", "processed", "concurrency", "rss", "pss",
                        "private_dirty", "real_memory", "vmsize", "cpu", "spawn_end_time",
                        "last_used", "uptime", "process_group_id"):
                assert isinstance(p[key], int) and not isinstance(p[key], bool), (key, p)
            assert p["rss"] > 0 and p["uptime"] >= 0
            assert p["life_status"] == "ALIVE" and p["enabled"] == "ENABLED"
            assert p["process_group_id"] == inst.core_pid
    assert pool["process_count"] == sum(len(g["processes"]) for g in pool["app_groups"])


def test_processes_json_decodes_a_non_ascii_app_root(httpd):
    app = httpd.app("café-ünï")
    (element,) = processes(httpd)
    (group,) = [g for g in element["pool"]["app_groups"] if g["app_root"] == app.root]
    # Passenger wrote each UTF-8 byte as &#N;: the same string comes out, not Latin-1 mojibake.
    assert "café-ünï" in group["app_root"]
    assert group["name"] == f"{app.root} (production)"
    assert group["environment"] == "production" and group["app_type"] == "ruby"
    assert group["default"] is True and group["spawning"] is False
    assert len(group["processes"]) == 2


def test_a_broken_instance_fails_alone(httpd, fake_core, expect_log):
    expect_log(r"PAPI030.*not well-formed", required=True)
    garbage = fake_core(registry_dir=httpd.fake_registry_dir, responses={
        "/pool.xml": (200, {"Content-Type": "text/xml"}, "<info><oops></info>")})
    elements = {e["instance"]["name"]: e for e in processes(httpd)}
    assert elements[httpd.instance.name]["status"] == 200
    broken = elements[garbage.name]
    assert broken["status"] == 502 and broken["pool"] is None
    assert "not well-formed" in broken["error"]
    text = metrics(httpd)
    # Each is labelled by its registry: the fake core by the fake registry it is in.
    broken, good = identity_of(text, garbage.name), identity_of(text, httpd.instance.name)
    assert broken == f"apache@{httpd.fake_registry_dir}" and good == f"apache@{httpd.registry_dir}"
    assert series(text, "passenger_up", passenger_instance=broken)[0][1] == 0
    assert series(text, "passenger_up", passenger_instance=good)[0][1] == 1
    assert series(text, "passenger_api_scrape_errors")[0][1] == 1
    page = httpd.get(API + "/").text
    assert garbage.name in page and "not well-formed" in page


# ---------------------------------------------------------------- metrics

def test_metrics_pass_promtool_and_match_the_pool(httpd):
    inst = httpd.instance
    pool_with_metrics(inst)
    text = metrics(httpd)
    core = inst.pool()
    code, out = promtool_check(text)
    assert code == 0 and out == "", out
    # Series are labelled by an identity that outlives the instance: Apache's, in its registry.
    ident = identity_of(text, inst.name)
    assert ident == f"apache@{httpd.registry_dir}"
    assert series(text, "passenger_up", passenger_instance=ident)[0][1] == 1
    ((info, _),) = series(text, "passenger_info", instance_name=inst.name)
    assert info["version"] == inst.properties["passenger_version"]
    assert info["integration_mode"] == "apache"
    assert series(text, "passenger_api_instances", state="good")[0][1] == 1
    nprocs = sum(len(plist) for plist in core.values())
    assert series(text, "passenger_pool_processes", passenger_instance=ident)[0][1] == nprocs
    assert series(text, "passenger_pool_app_groups", passenger_instance=ident)[0][1] == len(core)
    for group, plist in core.items():
        ((labels, value),) = series(text, "passenger_app_group_processes", passenger_instance=ident,
                                    app_group=group, state="enabled")
        assert value == len(plist)
        processed = series(text, "passenger_process_requests_total", passenger_instance=ident,
                           app_group=group)
        # One series per process, told apart by slot only: no pid label unless asked for.
        assert sorted(lbl["slot"] for lbl, _ in processed) == [str(i) for i in range(len(plist))]
        assert all("pid" not in lbl for lbl, _ in processed)
        assert sorted(v for _, v in processed) == sorted(int(p["processed"]) for p in plist)
        rss = sorted(v for _, v in series(text, "passenger_process_rss_bytes",
                                          passenger_instance=ident, app_group=group))
        assert len(rss) == len(plist) and all(v > 0 for v in rss)
        # Memory is sampled by Passenger every few seconds: close, not exact.
        for shown, real in zip(rss, sorted(int(p["rss"]) * 1024 for p in plist)):
            assert abs(shown - real) <= real * 0.5


def test_metrics_label_pids_when_asked(httpd):
    text = metrics(httpd, PIDS)
    code, out = promtool_check(text)
    assert code == 0 and out == "", out
    shown = sorted(int(lbl["pid"]) for lbl, _ in series(text, "passenger_process_sessions"))
    assert shown == sorted(p["pid"] for plist in httpd.instance.pool().values() for p in plist)


# ---------------------------------------------------------------- dashboard

def test_dashboard_in_headless_chromium_shows_every_pid(httpd, mpm):
    r = httpd.get(API + "/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = r.headers["Content-Security-Policy"]
    nonce = re.search(r"style-src 'nonce-([A-Za-z0-9+/=]+)'", csp)[1]
    assert f'<style nonce="{nonce}">' in r.text
    assert "default-src 'none'" in csp and "script" not in r.text.lower()
    # A fresh nonce each time.
    assert nonce not in httpd.get(API + "/").headers["Content-Security-Policy"]
    url = httpd.url(API + "/")
    dom = browser.dump_dom(url)
    pids = [p["pid"] for plist in httpd.instance.pool().values() for p in plist]
    assert len(pids) >= 4
    for pid in pids:
        assert re.search(rf"\b{pid}\b", dom), f"pid {pid} not on the page"
    assert "café-ünï" in dom and httpd.instance.name in dom
    for width, height, name in ((1280, 900, "wide"), (390, 844, "phone")):
        png = browser.screenshot(url, f"dashboard-{mpm}-{name}", width, height)
        assert browser.png_size(png) == (width, height)


def test_pool_views_answer_get_and_head_only(httpd):
    for view in ("/processes.json", "/metrics", "/", ""):
        r = httpd.request("POST", API + view, data="{}",
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 405, view
        assert "GET and HEAD" in r.json()["error"]
        r = httpd.request("HEAD", API + view)
        assert r.status_code == 200 and r.content == b"", view


def test_a_script_in_an_app_group_name_stays_text(httpd_factory):
    import passenger
    evil = '<script>alert("owned")</script>'
    h = httpd_factory(mpm="event", apps=[passenger.RackApp("xss", processes=1,
                                                           app_group_name=evil)],
                      extra_conf=lambda s: location(API, s.registry_dir))
    (element,) = processes(h)
    assert [g["name"] for g in element["pool"]["app_groups"]] == [evil]
    text = metrics(h)
    assert promtool_check(text) == (0, "")
    assert series(text, "passenger_process_sessions", app_group=evil)
    page = h.get(API + "/").text
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    dom = browser.dump_dom(h.url(API + "/"))
    # Chromium built no script element: the name is text, serialised escaped again.
    assert "<script" not in dom.lower() and "&lt;script&gt;alert(" in dom
