"""Tests of the e2e harness itself (no mod_passenger_api needed).

They pin down what the module tests rely on: the throwaway httpd per MPM,
real Passenger's instance dir and core API, graceful restart, Passenger
Standalone, the fake core and the error-log check.
"""

import concurrent.futures
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import time

import pytest

import apache
import crashes
import errorlog
import passenger
import procs
import unixhttp

PING_BODY = b'{ "status": "ok" }'


def _mode(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def _concurrent_pids(app, n=2, ms=700):
    """pids of n concurrent slow requests: Passenger routes each to a free
    process (Ruby processes take one request at a time)."""
    import requests

    def get(_):
        with requests.Session() as s:
            s.trust_env = False
            r = s.get(app.url(f"/sleep?ms={ms}"), timeout=20)
            assert r.status_code == 200, r.text
            return int(r.text.strip().split("=", 1)[1])

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(get, range(n)))


# ---------------------------------------------------------------- per MPM

@pytest.fixture(scope="module")
def bare(mpm):
    """Like the shared `server`, but never with our module: these tests check
    the harness and Passenger, not the module."""
    h = apache.Httpd(mpm, module=False, apps=passenger.default_apps())
    try:
        yield h.start()
    finally:
        h.cleanup()


def test_server_answers_and_apps_have_distinct_processes(bare, mpm):
    assert bare.running()
    r = bare.get("/")
    assert r.status_code == 200 and "e2e" in r.text
    status = bare.get("/server-status?auto").text
    assert f"ServerMPM: {mpm}" in status

    for app in bare.apps:
        pool_pids = bare.instance.live_pids(app.group_name)
        assert len(pool_pids) == app.processes == 2, bare.instance.pool()
        seen = _concurrent_pids(app)
        assert len(set(seen)) == 2, seen
        assert set(seen) <= set(pool_pids)
        for pid in seen:   # config.ru owned by root: Passenger runs it as nobody
            assert os.stat(f"/proc/{pid}").st_uid == 65534


def test_utf8_app_group_name_in_pool(bare):
    app = bare.app("café-ünï")
    assert "café-ünï" in app.root
    groups = bare.instance.pool()
    assert app.group_name in groups           # decoded from Passenger's &#N; bytes
    raw = bare.instance.core_request("/pool.xml").body
    assert b"caf&#195;&#169;-&#195;&#188;n&#195;&#175;" in raw


def test_registry_has_one_good_instance(bare):
    dirs = passenger.instance_dirs(bare.registry_dir)
    assert dirs == [bare.instance.path]
    inst = passenger.Instance(dirs[0])
    assert inst.finalized() and inst.locked()
    props = inst.properties
    assert props["integration_mode"] == "apache"
    assert props["passenger_version"] == "6.0.17"
    assert props["instance_dir"]["major_version"] == 4
    assert props["server_software"].startswith("Apache/2.4")
    assert len(props["name"]) == 8
    assert os.path.basename(inst.path).startswith("passenger.") and len(inst.dirname) == 17
    # The watchdog is a child of httpd's parent; the core a child of it.
    assert procs.proc_stat(inst.watchdog_pid)[1] == bare.pid
    assert procs.proc_stat(inst.core_pid)[1] == inst.watchdog_pid
    for f in ("read_only_admin_password.txt", "full_admin_password.txt"):
        assert _mode(os.path.join(inst.path, f)) == (0o600, 0, 0)
    assert len(inst.ro_password) == 24 and inst.ro_password != inst.full_password
    assert _mode(inst.path) == (0o755, 0, 0)
    assert _mode(bare.registry_dir) == (0o755, 0, 0)
    sock = os.lstat(inst.core_api)
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o666
    # Socket paths must fit in sun_path (108 bytes including the NUL).
    assert len(inst.core_api.encode()) < 100


def test_core_api_ping_with_ro_password(bare):
    inst = bare.instance
    r = inst.core_request("/ping.json", auth="ro")
    assert r.status == 200 and r.body == PING_BODY
    assert r.header("Content-Type") == "application/json"
    # What httpd's children (www-data) get: 401 without, 200 with ro_admin.
    status, _ = unixhttp.request_as_user("www-data", inst.core_api, "/ping.json")
    assert status == 401
    status, body = unixhttp.request_as_user("www-data", inst.core_api, "/ping.json",
                                            auth=("ro_admin", inst.ro_password))
    assert (status, body) == (200, PING_BODY)
    status, _ = unixhttp.request_as_user("www-data", inst.core_api, "/ping.json",
                                         auth=("ro_admin", "wrong"))
    assert status == 401


def test_graceful_restart_gives_new_instance(bare):
    old = bare.instance
    old_pw = old.ro_password
    old_pids = {a.name: bare.instance.live_pids(a.group_name) for a in bare.apps}
    old_gen = bare.generation()
    bare.graceful()
    new = bare.instance
    assert bare.generation() == old_gen + 1
    assert new.name != old.name and new.path != old.path
    # The old dir goes once its core has drained (at once here: no request
    # in flight; with one, it stays - locked, its core_api mute - until done).
    procs.wait_until(lambda: not os.path.exists(old.path), 10, "old instance dir removed")
    assert passenger.instance_dirs(bare.registry_dir) == [new.path]
    assert new.ro_password != old_pw
    assert new.ping()
    for a in bare.apps:   # the apps were restarted with Passenger
        pids = new.live_pids(a.group_name)
        assert len(pids) == a.processes and not set(pids) & set(old_pids[a.name])
    # The old Passenger processes go away (reparented to init as they exit).
    procs.wait_until(lambda: not procs.related_pids(sessions={old.watchdog_pid}), 15,
                     "old Passenger processes to exit")


def test_fresh_server_passenger_prestart_and_clean_stop(httpd_factory, mpm):
    """A server of its own, with Passenger's own PassengerPreStart, stops
    without leaving processes, instance dirs or its pid file behind."""
    h = httpd_factory(mpm=mpm, module=False, prestart="passenger",
                      apps=[passenger.RackApp("app", processes=2)])
    assert "PassengerPreStart" in open(h.conf_path).read()
    assert len(h.instance.live_pids(h.app("app").group_name)) == 2
    # Passenger waits 2 s before it prestarts (Utils.cpp prestartWebApps).
    assert h.timings["apps"] > 2.0
    sessions = set(h.sessions) | {h.pid}
    watched = procs.related_pids(roots={h.pid}, sessions=sessions)
    assert len(watched) >= 7   # parent, children, watchdog, core, preloader, apps
    h.stop()
    assert not procs.related_pids(roots=watched, sessions=sessions)
    assert not passenger.instance_dirs(h.registry_dir)
    assert not os.path.exists(h.pid_file)
    assert not procs.port_accepts(h.port)


# ---------------------------------------------------------------- once

def test_configtest_reports_errors(httpd_factory):
    h = httpd_factory(start=False, mpm="event", module=False, passenger=True)
    ok = h.configtest()
    assert ok.rc == 0 and "Syntax OK" in ok.output
    bad = h.configtest(extra_conf="<Location /x>\n    BogusDirective on\n</Location>")
    assert bad.rc != 0
    assert "Invalid command 'BogusDirective'" in bad.output


def test_httpd_without_passenger(httpd_factory):
    h = httpd_factory(mpm="event", module=False, passenger=False)
    assert h.get("/").status_code == 200
    assert h.instance is None and "passenger" not in open(h.conf_path).read().lower()


def test_module_flag_follows_build(httpd_factory):
    h = httpd_factory(start=False, mpm="event", module="auto", passenger=False)
    assert ("passenger_api_module" in h.render_config()) == apache.module_built() == h.module
    default = os.path.join(apache.REPO_ROOT, ".libs", "mod_passenger_api.so")
    assert apache.DEFAULT_MODULE_SO == default
    assert apache.MODULE_SO == os.path.abspath(os.environ.get("PAPI_MODULE_SO")
                                               or apache.DEFAULT_MODULE_SO)


def test_standalone_start_stop(standalone_factory):
    sa = standalone_factory()
    inst = sa.instance
    assert passenger.instance_dirs(sa.registry_dir) == [inst.path]
    assert inst.properties["integration_mode"] == "standalone"
    assert inst.properties["standalone_engine"] == "builtin"
    for f in ("read_only_admin_password.txt", "full_admin_password.txt"):
        assert _mode(os.path.join(inst.path, f)) == (0o400, 0, 0)
    r = inst.core_request("/ping.json")
    assert (r.status, r.body) == (200, PING_BODY)
    import requests
    body = requests.get(sa.url("/"), timeout=10).text
    assert body.startswith("pid=") and int(body[4:]) in inst.live_pids()
    path = inst.path
    sa.stop()
    assert not os.path.exists(path)
    assert not procs.related_pids(sessions=sa.sessions)
    assert not procs.port_accepts(sa.port)


def test_fake_core_answers_and_records(fake_core):
    fc = fake_core()
    inst = passenger.Instance(fc.path)
    assert inst.finalized() and inst.locked()           # the fake holds the flock
    assert inst.watchdog_pid == inst.core_pid == fc.pid
    for f in ("read_only_admin_password.txt", "full_admin_password.txt"):
        assert _mode(os.path.join(fc.path, f)) == (0o600, 0, 0)
    assert inst.ro_password == fc.ro_password

    r = inst.core_request("/ping.json", auth="ro")
    assert (r.status, r.body) == (200, PING_BODY)
    assert [k for k, _ in r.headers][:5] == ["Status", "Content-Type", "Date", "Connection",
                                             "Content-Length"]
    assert inst.core_request("/ping.json", auth=None).status == 401
    assert inst.core_request("/nope", auth=None).status == 404
    assert "/srv/demo-app (production)" in inst.pool()
    status, _ = unixhttp.request_as_user("www-data", fc.socket_path, "/ping.json")
    assert status == 401

    reqs = fc.requests()
    assert [q["path"] for q in reqs][:3] == ["/ping.json", "/ping.json", "/nope"]
    assert reqs[0]["peer"]["uid"] == 0 and reqs[-1]["peer"]["uid"] == 33
    assert fc.received(fc.ro_password) and not fc.received(fc.full_password)


def test_fake_core_behaviours(fake_core):
    fc = fake_core(behaviour="delay", delay_ms=300)
    inst = passenger.Instance(fc.path)
    t0 = time.monotonic()
    assert inst.core_request("/ping.json").status == 200
    assert time.monotonic() - t0 >= 0.3

    fc.set_behaviour("hang")
    with pytest.raises(TimeoutError):
        inst.core_request("/ping.json", timeout=0.5)
    fc.set_behaviour("no_accept")
    with pytest.raises(TimeoutError):
        inst.core_request("/ping.json", timeout=0.5)
    fc.set_behaviour("close")
    with pytest.raises(ConnectionError):
        inst.core_request("/ping.json")
    fc.set_behaviour("garbage")
    with pytest.raises(Exception):
        inst.core_request("/ping.json")
    fc.set_behaviour("huge", huge_bytes=5_000_000)
    assert len(inst.core_request("/ping.json").body) == 5_000_000
    fc.set_behaviour("endless")
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(fc.socket_path)
        s.sendall(b"GET /ping.json HTTP/1.1\r\n\r\n")
        got = 0
        while got < 3_000_000:
            got += len(s.recv(65536))
    fc.set_behaviour("normal", responses={"/pool.xml": (200, {"Content-Type": "text/xml"},
                                                         "<info version='3'/>")})
    assert inst.core_request("/pool.xml").body == b"<info version='3'/>"


def test_fake_core_impostor_and_stale(fake_core, tmp_registry):
    # Looks like root's, but the listener is nobody: SO_PEERCRED tells.
    fc = fake_core(owner="root", listener="nobody")
    assert _mode(fc.path)[1] == 0 and os.lstat(fc.socket_path).st_uid == 65534
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(fc.socket_path)
        pid, uid, gid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    assert (pid, uid, gid) == (fc.pid, 65534, 65534)

    other = fake_core(owner="nobody", locked=False, socket="stale", finalized=False,
                      properties={"integration_mode": "nginx", "passenger_version": None})
    assert _mode(other.path)[1] == 65534
    assert not passenger.is_locked(other.path)
    assert not os.path.exists(os.path.join(other.path, "creation_finalized"))
    props = json.load(open(os.path.join(other.path, "properties.json")))
    assert props["integration_mode"] == "nginx" and "passenger_version" not in props
    with pytest.raises(ConnectionRefusedError):
        unixhttp.request(other.socket_path, "/ping.json")
    assert len(passenger.instance_dirs(tmp_registry)) == 2
    fc.stop(remove=False)                                  # now stale: unlocked
    assert not passenger.is_locked(fc.path)


def test_error_log_check_catches_injected_lines(bare, expect_log):
    log = bare.log
    with open(log.path, "a") as f:
        f.write("[Sat Nov 21 12:00:00.000000 2026] [core:error] [pid 1:tid 1] AH99999: injected\n")
        f.write("[ E 2026-11-21 12:00:00.0000 1/T1 age/Cor/CoreMain.cpp:1 ]: injected passenger\n")
        f.write("[Sat Nov 21 12:00:00.000000 2026] [core:info] [pid 1:tid 1] AH99998: harmless\n")
    problems = errorlog.WATCH.check_all(final=False)
    assert len(problems) == 2, problems
    assert "AH99999: injected" in problems[0] and "injected passenger" in problems[1]

    # Declared lines pass; a required one that never shows up is reported.
    expect_log(r"AH99997: expected")
    log.expect(r"never logged", required=True)
    with open(log.path, "a") as f:
        f.write("[Sat Nov 21 12:00:00.000000 2026] [core:warn] [pid 1:tid 1] AH99997: expected\n")
    problems = errorlog.WATCH.check_all()
    assert problems == [f"{log.name}: expected line not found: 'never logged'"]


def test_sanitizer_reports_fail_the_check(tmp_path):
    watch = errorlog.LogWatch()
    reports = watch.add(errorlog.ReportDir(str(tmp_path), "asan", "httpd-x AddressSanitizer"))
    assert watch.check_all() == []
    (tmp_path / "asan.4242").write_text("==4242==ERROR: AddressSanitizer: heap-buffer-overflow\n"
                                        "SUMMARY: AddressSanitizer: heap-buffer-overflow x.c:1\n")
    (tmp_path / "other.1").write_text("not a report\n")
    problems = watch.check_all()
    assert len(problems) == 1 and "report asan.4242" in problems[0]
    assert "SUMMARY: AddressSanitizer: heap-buffer-overflow x.c:1" in problems[0]
    assert watch.check_all() == []          # each report fails one check, not every one
    (tmp_path / "asan.4343").write_text("SUMMARY: AddressSanitizer: SEGV\n")
    watch.remove(reports)                   # a server going away checks one last time
    assert "report asan.4343" in watch.check_all()[0]


UPSTREAM_DOUBLE_FREE = """==77==ERROR: AddressSanitizer: attempting double-free on 0x6020 in thread T0:
    #0 0x7f1 in __interceptor_free ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:52
    #1 0x7f2  (/usr/lib/apache2/modules/mod_passenger.so+0x5a0b3)
    #2 0x7f3 in apr_pool_clear (/lib/x86_64-linux-gnu/libapr-1.so.0+0x2a1c8)
freed by thread T3 here:
    #0 0x7f1 in __interceptor_free ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:52
    #1 0x7f4  (/usr/lib/apache2/modules/mod_passenger.so+0x61234)
previously allocated by thread T3 here:
    #0 0x7f5 in operator new(unsigned long) (/lib/x86_64-linux-gnu/libasan.so.8+0xdb)
    #1 0x7f6  (/usr/lib/apache2/modules/mod_passenger.so+0x61000)
SUMMARY: AddressSanitizer: attempting double-free in __interceptor_free
"""


def test_crashes_are_told_apart_by_their_frames():
    assert crashes.classify_report(UPSTREAM_DOUBLE_FREE) == crashes.UPSTREAM
    # Memory of ours freed twice in Passenger's code: our allocation makes it ours.
    ours_alloc = UPSTREAM_DOUBLE_FREE.replace(
        "#1 0x7f6  (/usr/lib/apache2/modules/mod_passenger.so+0x61000)",
        "#1 0x7f6 in papi_buf_make /work/main/src/papi_buf.c:21:5")
    assert crashes.classify_report(ours_alloc) == crashes.OURS
    ours_so = UPSTREAM_DOUBLE_FREE.replace("libapr-1.so.0+0x2a1c8",
                                           "build/asan/.libs/mod_passenger_api.so+0x1c8")
    assert crashes.classify_report(ours_so) == crashes.OURS
    # gdb's frames from a plain build's core.
    gdb = ("#0  __pthread_kill_implementation (no_tid=0, signo=6) at ./nptl/pthread_kill.c:44\n"
           "#4  0x00007f2 in ?? () from /usr/lib/apache2/modules/mod_passenger.so\n"
           "#5  0x00007f3 in apr_pool_clear () from /lib/x86_64-linux-gnu/libapr-1.so.0\n")
    assert crashes.classify_report(gdb) == crashes.UPSTREAM
    assert crashes.classify_report(gdb + "#6  papi_child_init (p=0x1) at mod_passenger_api.c:9\n"
                                   ) == crashes.OURS
    # No frames, or frames of neither: not excused.
    assert crashes.classify_report("SUMMARY: AddressSanitizer: SEGV\n") == crashes.UNKNOWN
    assert crashes.classify_report(gdb.replace("mod_passenger.so", "libc.so.6")) == crashes.UNKNOWN
    # The sanitizer failing is the harness's fault, whatever frames it shows.
    check = ("==9==AddressSanitizer: CHECK failed: asan_interceptors.cpp:320 "
             "\"((__interception::real___cxa_throw)) != (0)\"\n"
             "    #0 0x7f1  (/usr/lib/apache2/modules/mod_passenger.so+0x1)\n")
    assert crashes.classify_report(check) == crashes.HARNESS


def test_upstream_sanitizer_reports_are_noted_not_failed(tmp_path):
    watch = errorlog.LogWatch()
    watch.add(errorlog.ReportDir(str(tmp_path), "asan", "httpd-x AddressSanitizer"))
    noted = len(crashes.UPSTREAM)
    (tmp_path / "asan.77").write_text(UPSTREAM_DOUBLE_FREE)
    assert watch.check_all() == []
    assert len(crashes.UPSTREAM) == noted + 1 and "asan.77" in crashes.UPSTREAM[-1][0]
    crashes.UPSTREAM.pop()


def test_a_dead_parent_fails_its_test_and_is_started_again(httpd_factory):
    """A parent that dies without evidence of Passenger's crash is a problem for the test it
    died in, and the server is started afresh, so the next test does not fail too."""
    h = httpd_factory(mpm="event", module="auto", passenger=False)
    old = h.pid
    os.kill(old, signal.SIGABRT)
    procs.wait_until(lambda: not procs.is_running(old), 10, "the parent to die")
    problem = h.check_alive()
    assert problem and f"httpd parent {old} died ({crashes.UNKNOWN})" in problem
    if not h.asan:       # the plain build's evidence: the stack gdb read from the core
        assert "#0" in problem, problem
    assert h.running() and h.pid != old
    assert h.get("/").status_code == 200
    assert h.check_alive() is None


CXX_HOST = r"""
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    return ((int (*)(void))dlsym(lib, "throw_in_thread"))();
}
"""

CXX_MODULE = r"""
#include <thread>
extern "C" int throw_in_thread()
{
    int caught = 0;
    std::thread t([&] { try { throw 42; } catch (int) { caught = 1; } });
    t.join();
    return caught ? 0 : 1;
}
"""


def test_asan_runtimes_let_a_cxx_module_throw(tmp_path):
    """httpd (C) with the ASan runtime preloaded, loading mod_passenger (C++) whose threads
    throw: what the harness preloads must let the exception through. The ASan runtime alone
    does not (its __cxa_throw interceptor finds no real one: google/sanitizers#934)."""
    (tmp_path / "host.c").write_text(CXX_HOST)
    (tmp_path / "module.cpp").write_text(CXX_MODULE)
    host, module = str(tmp_path / "host"), str(tmp_path / "module.so")
    subprocess.run(["gcc", "-o", host, str(tmp_path / "host.c"), "-ldl"], check=True)
    subprocess.run(["g++", "-shared", "-fPIC", "-pthread", "-o", module,
                    str(tmp_path / "module.cpp")], check=True)

    def run(preload):
        return subprocess.run([host, module], env={"LD_PRELOAD": preload}, capture_output=True,
                              text=True, timeout=30)

    alone = run(apache.asan_runtimes().split(":")[0])
    assert alone.returncode != 0 and "real___cxa_throw" in alone.stderr, alone
    cured = run(apache.asan_runtimes())
    assert cured.returncode == 0 and "AddressSanitizer" not in cured.stderr, cured


@pytest.mark.parametrize("kind", [crashes.UPSTREAM, crashes.UNKNOWN])
def test_a_start_that_passenger_crashed_is_tried_once_more(httpd_factory, monkeypatch, kind):
    """`apache2 -k start` dying before httpd detaches (ASan exits with 1 after its report, glibc's
    abort is a signal) is started once more when the evidence says it was Passenger's own
    crash, and fails the start otherwise."""
    h = httpd_factory(start=False, mpm="event", module="auto", passenger=False)
    real = h._apache2
    starts = []

    def crashing_first(*args, **kw):
        if args == ("-k", "start"):
            starts.append(args)
            if len(starts) == 1:
                return subprocess.CompletedProcess(args, 1, "", "")
        return real(*args, **kw)

    monkeypatch.setattr(h, "_apache2", crashing_first)
    monkeypatch.setattr(h, "crash_evidence", lambda pid=None: (kind, "the evidence"))
    noted = len(crashes.UPSTREAM)
    if kind == crashes.UPSTREAM:
        h.start()
        assert len(starts) == 2 and h.get("/").status_code == 200
        assert crashes.UPSTREAM.pop()[1] == "the evidence" and len(crashes.UPSTREAM) == noted
    else:
        with pytest.raises(RuntimeError, match="(?s)start failed.*the evidence"):
            h.start()
        assert len(starts) == 1 and not h.running()


def test_asan_environment_only_with_the_module(httpd_factory):
    h = httpd_factory(start=False, mpm="event", module="auto", passenger=False)
    env = h._env()
    assert h.asan == (apache.ASAN and h.module)
    assert ("LD_PRELOAD" in env) == ("ASAN_OPTIONS" in env) == h.asan
    if h.asan:
        runtime, cxx, unpreload = env["LD_PRELOAD"].split(":")
        assert "libasan.so" in runtime and unpreload == apache.ASAN_UNPRELOAD
        # A Passenger thread's exception needs the real __cxa_throw when ASan starts.
        assert "libstdc++.so" in cxx and os.path.exists(cxx)
        assert f"log_path={h.asan_dir}/asan" in env["ASAN_OPTIONS"]
    bare_env = httpd_factory(start=False, mpm="event", module=False, passenger=False)._env()
    assert bare_env == apache.HTTPD_ENV


def test_error_log_classify():
    bad = ["[Sat Nov 21 12:04:47.886664 2026] [mpm_event:error] [pid 4737:tid 4737] AH1: x",
           "[Sat Nov 21 12:04:47.886664 2026] [passenger_api:warn] [pid 1] x",
           "[Sat Nov 21 12:04:47.886664 2026] [core:emerg] [pid 1] x",
           "[ W 2026-11-21 12:04:36.4094 4715/T1 age/Wat/WatchdogMain.cpp:1377 ]: x",
           "[ C 2026-11-21 12:04:36.4094 4715/T1 a.cpp:1 ]: x"]
    good = ["[Sat Nov 21 12:04:47.886664 2026] [mpm_event:notice] [pid 1] AH00493: SIGUSR1",
            "[Sat Nov 21 12:04:47.886664 2026] [passenger_api:trace3] [pid 1] error in text",
            "[ N 2026-11-21 12:04:36.4094 4715/T1 age/Wat/WatchdogMain.cpp:1377 ]: error",
            "App 1234 output: [error] from the app", ""]
    assert all(errorlog.classify(x) == "bad" for x in bad)
    assert not any(errorlog.classify(x) for x in good)
