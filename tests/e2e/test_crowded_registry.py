"""A registry filled by a local user: 20,000 empty passenger.* directories of another owner (nobody)
in a 1777 registry, as anyone can make them in /tmp. Before the module bounded what it looks at,
they made instances.json 3.5 MB, the dashboard 5.6 MB and /metrics take 1.1 s instead of 1 ms.

Now every answer stays small and quick: the foreign entries are counted (one fstatat each when
the registry is listed, never opened), instances.json shows at most PAPI_REGISTRY_BOUND (64) entries
of the registry and one summary entry, and the root-owned instance among them is still found and
asked. The registry is made once for the whole file (module scope) and removed at its end.
"""

import os
import pwd
import re
import shutil
import statistics
import time

import pytest

from conf import location
import procs

API = "/papi-crowd"
FOREIGN = 20000
BOUND = 64                  # PAPI_REGISTRY_BOUND
SMALL = 64 * 1024           # what "stays small" means for the dashboard and /metrics


@pytest.fixture(scope="module")
def crowd():
    """A 1777 registry holding FOREIGN empty directories of nobody, named to sort before any
    instance and made after it (the newest): {'dir': path}. Removed after the last test."""
    base = procs.make_tempdir()
    reg = os.path.join(base, "crowd")
    os.mkdir(reg)
    os.chmod(reg, 0o1777)
    yield {"dir": reg}
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def instance(crowd):
    """A good root-owned instance (a fake core) in the crowded registry, made before the foreign
    directories."""
    import fakecore
    fc = fakecore.FakeCore(crowd["dir"], dirname="passenger.zzCrowd").start()
    nobody = pwd.getpwnam("nobody")
    for i in range(FOREIGN):
        path = os.path.join(crowd["dir"], f"passenger.f{i:05d}")
        os.mkdir(path, 0o755)
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    yield fc
    fc.cleanup()


@pytest.fixture(scope="module")
def httpd_conf(crowd):
    return lambda h: location(API, crowd['dir'], h.registry_dir)


@pytest.fixture(scope="module")
def httpd_log_expect(crowd):
    # Once per child that looks at the registry (see test_overflow_logged_once_per_child).
    return [rf"PAPI060: registry directory {re.escape(crowd['dir'])} holds more passenger\.\* "
            rf"entries than the {BOUND} looked into"]


def get(httpd, path):
    t0 = time.monotonic()
    r = httpd.get(API + path, timeout=30)
    r.seconds = time.monotonic() - t0
    assert r.status_code == 200, r.text[:500]
    return r


def test_dashboard_and_metrics_stay_small(httpd, instance, crowd):
    page = get(httpd, "/")
    assert len(page.content) < SMALL, len(page.content)
    assert instance.name in page.text
    assert f"{FOREIGN} entries" in page.text
    assert "passenger.f00000" not in page.text
    metrics = get(httpd, "/metrics")
    assert len(metrics.content) < SMALL, len(metrics.content)
    assert f'passenger_api_instances{{state="untrusted"}} {FOREIGN}\n' in metrics.text
    assert f'passenger_up{{passenger_instance="apache@{crowd["dir"]}"}} 1\n' in metrics.text
    assert f'passenger_up{{passenger_instance="apache@{httpd.registry_dir}"}} 1\n' in metrics.text


def test_metrics_stay_quick(httpd, instance, crowd):
    """Before, each scrape inspected all 20,000 (a median of 0.16 s on the 2-core CI machine, 1.1 s
    in the report); now each child lists the registry once while it does not change (one fstatat
    per entry), and a scrape only counts what that listing left out (1.5 ms there)."""
    settled = os.stat(crowd["dir"]).st_ctime + 1.5     # PAPI_INSTCACHE_SETTLE, and a margin
    time.sleep(max(0.0, settled - time.time()))
    for _ in range(20):                                 # every child lists it once
        get(httpd, "/metrics")
    times = [get(httpd, "/metrics").seconds for _ in range(20)]
    assert statistics.median(times) < 0.05, sorted(times)


def test_instances_json_capped(httpd, instance, crowd):
    entries = get(httpd, "/instances.json").json()
    mine = [e for e in entries if e["instance_dir"]["path"].startswith(crowd["dir"])]
    assert len(mine) == BOUND + 1, len(mine)
    by_path = {e["instance_dir"]["path"]: e for e in mine}
    assert by_path[instance.path]["state"] == "good"
    shown = [e for e in mine if e["state"] == "untrusted"]
    assert len(shown) == BOUND - 1
    assert all("not a trusted owner" in e["reason"] for e in shown)
    summary = mine[-1]
    assert summary["instance_dir"]["path"] == crowd["dir"]
    assert summary["state"] == "omitted"
    assert summary["untrusted"] == FOREIGN - (BOUND - 1)
    assert summary["omitted"] == summary["untrusted"] and summary["not_inspected"] == 0
    # The real Passenger instance of the other registry is listed as before.
    assert any(e.get("name") == httpd.instance.name and e["state"] == "good" for e in entries)


def test_instances_are_found_and_asked(httpd, instance):
    answer = {e["instance"]["instance_dir"]["path"]: e for e in get(httpd, "/ping.json").json()}
    assert set(answer) == {instance.path, httpd.instance.path}
    assert all(e["status"] == 200 for e in answer.values()), answer
    r = httpd.get(f"{API}/instances/{instance.name}/ping.json")
    assert r.status_code == 200, r.text


def test_overflow_logged_once_per_child(httpd, instance, crowd):
    for _ in range(20):
        get(httpd, "/instances.json")
    lines = httpd.log.grep(rf"PAPI060: registry directory {re.escape(crowd['dir'])} ")
    children = {m.group(1) for m in (re.search(r"\[pid (\d+)", ln) for ln in lines) if m}
    assert lines
    assert len(lines) == len(children), lines
