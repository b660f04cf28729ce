"""/metrics against real Passenger, as Prometheus reads it (prometheus_client's parser, promtool):
series that survive a graceful restart (every series labelled by passenger_instance, an identity
of the Apache it runs in and its registry, never by Passenger's random instance name), the
families of passenger-exporter with `PassengerApiMetricsNames exporter`, two Standalones in one
registry told apart, and the gauges of the last health probes."""

import socket
import time

import pytest

from conf import location
from exposition import (identity_of, label_sets, pool_with_metrics, promtool_check, samples,
                        series, types)

API = "/papi-names"
PIDS = "/papi-names-pids"
EXPORTER = "/papi-names-exporter"
SHARED = "/papi-names-shared"

pytestmark = pytest.mark.usefixtures("module_built")

# promtool's one complaint about the exporter naming: a name kept as passenger-exporter has it.
EXPORTER_LINT = ('passenger_app_count non-histogram and non-summary metrics should not have '
                 '"_count" suffix\n')


REGISTRIES = ("shared",)


@pytest.fixture(scope="module")
def shared_registry(regs):
    """A registry two Standalones share, known before the server's config is written."""
    return regs["shared"]


@pytest.fixture(scope="module")
def httpd_conf(shared_registry):
    probes = {"PassengerApiHealthPath": "/health", "PassengerApiTimeout": 1}
    return lambda h: (location(API, h.registry_dir, **probes)
                      + location(PIDS, h.registry_dir, PassengerApiMetricsPidLabel="on", **probes)
                      + location(EXPORTER, h.registry_dir, PassengerApiMetricsNames="exporter")
                      + location(SHARED, shared_registry))


def metrics(httpd, base=API):
    r = httpd.get(base + "/metrics")
    assert r.status_code == 200, r.text
    return r.text


def scrape(httpd):
    """Native and exporter expositions once every process is measured and probed."""
    pool_with_metrics(httpd.instance)
    health = httpd.get(API + "/health.json")
    assert health.status_code == 200, health.text
    return metrics(httpd), metrics(httpd, EXPORTER)


def test_series_survive_a_graceful_restart(httpd):
    """A graceful restart gives Passenger a new instance (new name, directory and processes).
    Instance and app group series keep their label sets, and so do process series: a process is
    labelled by its app group and its slot (its rank by age), and the restarted apps have as many
    processes as before. passenger_info alone carries the new random name."""
    before = scrape(httpd)
    old = httpd.instance.name
    ident = identity_of(before[0], old)
    assert ident == f"apache@{httpd.registry_dir}"
    httpd.graceful()
    assert httpd.instance.name != old
    after = scrape(httpd)
    assert identity_of(after[0], httpd.instance.name) == ident
    for was, now in zip(before, after):
        assert label_sets(now, exclude={"passenger_info"}) == \
            label_sets(was, exclude={"passenger_info"})
    # Not vacuous: every level is there, probes included.
    names = {n for n, _ in label_sets(after[0])}
    for name in ("passenger_up", "passenger_pool_processes", "passenger_app_group_queued_requests",
                 "passenger_process_requests_total", "passenger_process_health_probe_ok"):
        assert name in names
    assert {n for n, _ in label_sets(after[1])} >= {"passenger_up", "passenger_app_queue",
                                                    "passenger_requests_processed_total"}


def test_exporter_names_against_real_passenger(httpd):
    inst = httpd.instance
    core = pool_with_metrics(inst)
    t0 = time.time()
    text = metrics(httpd, EXPORTER)
    assert promtool_check(text) == (3, EXPORTER_LINT)
    kinds = types(text)
    exporter = {"passenger_up", "passenger_version", "passenger_top_level_queue",
                "passenger_max_processes", "passenger_current_processes", "passenger_app_count",
                "passenger_app_queue", "passenger_app_group_queue", "passenger_app_procs_spawning",
                "passenger_requests_processed_total", "passenger_current_sessions",
                "passenger_proc_start_time_seconds", "passenger_proc_memory"}
    # Theirs, and the module's own (passenger_api_*) and the probes' (after a health.json).
    ours = ("passenger_api_", "passenger_process_health_probe_")
    assert {n for n in kinds if not n.startswith(ours)} == exporter
    assert kinds["passenger_requests_processed_total"] == "counter"
    assert all(kinds[n] == "gauge" for n in exporter - {"passenger_requests_processed_total"})
    mine = {"hostname": socket.gethostname(), "passenger_instance": f"apache@{httpd.registry_dir}"}
    for name, labels, _ in samples(text):
        if not name.startswith(ours):
            assert {k: labels.get(k) for k in mine} == mine, (name, labels)
    assert series(text, "passenger_up")[0][1] == 1
    ((version, _),) = series(text, "passenger_version")
    assert version["version"] == inst.properties["passenger_version"]
    assert set(version) == {"version", "hostname", "passenger_instance"}
    nprocs = sum(len(plist) for plist in core.values())
    assert series(text, "passenger_current_processes")[0][1] == nprocs
    assert series(text, "passenger_app_count")[0][1] == len(core)
    assert series(text, "passenger_top_level_queue")[0][1] == 0
    assert series(text, "passenger_max_processes")[0][1] >= nprocs
    for group, plist in core.items():
        ((queue, value),) = series(text, "passenger_app_group_queue", group=group)
        assert queue["default"] == "true" and value == 0
        assert series(text, "passenger_app_queue", name=group)[0][1] == 0
        assert series(text, "passenger_app_procs_spawning", name=group)[0][1] == 0
        processed = series(text, "passenger_requests_processed_total", name=group)
        assert sorted(lbl["id"] for lbl, _ in processed) == [str(i) for i in range(len(plist))]
        assert sorted(v for _, v in processed) == sorted(int(p["processed"]) for p in plist)
        assert all(set(lbl) == {"name", "id"} | set(mine) for lbl, _ in processed)
        # Real Unix seconds (the exporter wrote microseconds / 10^9).
        started = sorted(v for _, v in series(text, "passenger_proc_start_time_seconds", name=group))
        assert started == sorted(int(p["spawn_start_time"]) / 1e6 for p in plist)
        assert all(t0 - 86400 < v <= t0 for v in started)
        # Memory in KiB, as Passenger gives it and the exporter wrote it; sampled every few
        # seconds: close, not exact.
        memory = sorted(v for _, v in series(text, "passenger_proc_memory", name=group))
        for shown, real in zip(memory, sorted(int(p["real_memory"]) for p in plist)):
            assert abs(shown - real) <= real * 0.5
        assert len(memory) == len(plist)
    assert "instance_name" not in text and inst.name not in text


def test_probe_gauges_follow_health_json(httpd):
    app = httpd.app("app")
    sick = httpd.instance.live_pids(app.group_name)[0]
    app.make_sick(sick)
    try:
        t0 = time.time()
        assert httpd.get(API + "/health.json").status_code == 503
        t1 = time.time()
    finally:
        app.make_sick(sick, False)
    text = metrics(httpd, PIDS)
    assert promtool_check(text) == (0, "")
    ok = {int(lbl["pid"]): v for lbl, v in series(text, "passenger_process_health_probe_ok")}
    assert sorted(ok) == sorted(httpd.instance.live_pids())
    assert ok.pop(sick) == 0 and set(ok.values()) == {1}
    for lbl, at in series(text, "passenger_process_health_probe_timestamp_seconds"):
        assert t0 <= at <= t1 + 1, (lbl, at, t0, t1)
        assert set(lbl) == {"passenger_instance", "app_group", "slot", "pid"}
    # Healthy again at the next probe; the exporter naming has the same gauges.
    assert httpd.get(API + "/health.json").status_code == 200
    text = metrics(httpd, EXPORTER)
    assert {v for _, v in series(text, "passenger_process_health_probe_ok")} == {1}
    assert len(series(text, "passenger_process_health_probe_ok")) == len(ok) + 1


def test_two_standalones_in_one_registry_told_apart(httpd, standalone_factory, shared_registry):
    """Passenger Standalone is identified by its registry; a second one started there is told
    apart by its watchdog's pid, read from /proc, while the first keeps the plain identity."""
    first = standalone_factory(app_name="sa-one", registry_dir=shared_registry)
    second = standalone_factory(app_name="sa-two", registry_dir=shared_registry)
    text = metrics(httpd, SHARED)
    plain = f"standalone@{shared_registry}"
    assert identity_of(text, first.instance.name) == plain
    assert identity_of(text, second.instance.name) == f"{plain}#{second.pid}"
    assert {lbl["passenger_instance"] for lbl, _ in series(text, "passenger_up")} == \
        {plain, f"{plain}#{second.pid}"}
    first.stop()
    text = metrics(httpd, SHARED)
    assert identity_of(text, second.instance.name) == plain


def test_metrics_names_checked_at_configtest(httpd_factory):
    h = httpd_factory(start=False, passenger=False)
    r = h.configtest(location("/x", "/tmp", PassengerApiMetricsNames="prometheus"))
    assert r.rc != 0
    assert "PassengerApiMetricsNames takes native or exporter" in r.output
    assert h.configtest(location("/x", "/tmp", PassengerApiMetricsNames="exporter")).rc == 0
