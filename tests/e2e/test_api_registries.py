"""Several instances and registries: a standalone Passenger started after httpd, the registry
header, a graceful restart, broken cores next to good ones, and what configuration refuses."""

import os
import time

import pytest
import requests

from conf import location

API = "/passenger-api"
HEADER = "X-Passenger-Instance-Registry-Dir"

pytestmark = pytest.mark.usefixtures("module_built")


@pytest.fixture(scope="module")
def extra_registries():
    """Registries for standalone and fake instances, known before the server's config is written."""
    import procs
    with procs.registry_dirs("standalone", "fake", "globbed", missing=("missing",)) as dirs:
        yield dirs


@pytest.fixture(scope="module")
def httpd_conf(extra_registries):
    r = extra_registries
    return lambda h: (location(API, h.registry_dir, r['standalone'], r['missing'],
                               PassengerApiTimeout=2)
                      + location("/override-api", h.registry_dir,
                                 f"{os.path.dirname(r['standalone'])}/*",
                                 PassengerApiRegistryOverride="on")
                      + location("/fake-api", r['fake'], h.registry_dir, PassengerApiTimeout=1)
                      + location("/glob-api", f"{r['globbed']}/*", PassengerApiTimeout=2))


def names(answer):
    return [e["instance"]["name"] for e in answer]


def test_standalone_started_after_httpd_is_answered_at_once(httpd, standalone_factory,
                                                            extra_registries):
    before = httpd.get(API + "/ping.json").json()
    assert names(before) == [httpd.instance.name]
    sa = standalone_factory(registry_dir=extra_registries["standalone"])
    t0 = time.monotonic()
    answer = httpd.get(API + "/pool.txt").json()
    assert time.monotonic() - t0 < 1.0
    # Registry order: the integrated instance first, then the standalone one.
    assert names(answer) == [httpd.instance.name, sa.instance.name]
    assert all(e["status"] == 200 for e in answer), answer
    assert answer[1]["instance"]["integration_mode"] == "standalone"
    for pid in sa.instance.live_pids():
        assert f"PID: {pid}" in answer[1]["body"]
    one = httpd.get(f"{API}/instances/{sa.instance.name}/ping.json")
    assert one.status_code == 200 and one.json() == {"status": "ok"}


def test_registry_header_only_narrows(httpd, standalone_factory, extra_registries):
    sa = standalone_factory(registry_dir=extra_registries["standalone"])
    both = httpd.get("/override-api/ping.json").json()
    assert names(both) == [httpd.instance.name, sa.instance.name]
    only_sa = httpd.get("/override-api/ping.json",
                        headers={HEADER: os.path.dirname(extra_registries["standalone"]) + "/*"})
    assert names(only_sa.json()) == [sa.instance.name]
    # A directory that is not configured cannot be reached through the header.
    outside = httpd.get("/override-api/ping.json", headers={HEADER: "/tmp"})
    assert outside.status_code == 200 and outside.json() == []
    bad = httpd.get("/override-api/ping.json", headers={HEADER: "relative/dir"})
    assert bad.status_code == 400 and HEADER in bad.json()["error"]
    # /instances.json narrows the same way.
    listed = httpd.get("/override-api/instances.json", headers={HEADER: httpd.registry_dir})
    assert [e["name"] for e in listed.json()] == [httpd.instance.name]


def settled(path):
    """Waits until path's last change is older than a second: only then does a child keep what
    it read there (the same tick of the filesystem's clock could hide the next change)."""
    wait = os.stat(path).st_ctime + 1.2 - time.time()
    if wait > 0:
        time.sleep(wait)


def test_a_registry_a_glob_matches_is_seen_at_once(httpd, fake_core, extra_registries):
    """A child keeps what a registry glob expands to while the directory it reads is unchanged;
    a registry appearing there, or replaced by a link (which no glob matches), shows in the very
    next answer on the same connection (the same child)."""
    globbed = extra_registries["globbed"]
    reg = os.path.join(globbed, "reg1")
    with requests.Session() as s:
        s.trust_env = False

        def answer():
            r = s.get(httpd.url("/glob-api/ping.json"), timeout=10)
            assert r.status_code == 200, r.text
            return r.json()

        settled(globbed)
        assert answer() == [] and answer() == []
        os.mkdir(reg)
        os.chmod(reg, 0o755)
        fc = fake_core(registry_dir=reg)
        assert names(answer()) == [fc.name]
        settled(globbed)
        assert names(answer()) == [fc.name] and names(answer()) == [fc.name]
        os.rename(reg, os.path.join(globbed, ".reg1"))
        os.symlink(".reg1", reg)
        assert answer() == []


def test_missing_registry_is_an_empty_answer(httpd):
    r = httpd.get(API + "/instances.json")
    assert r.status_code == 200
    assert [e["instance_dir"]["path"] for e in r.json()] == [httpd.instance.path]


def test_broken_cores_fail_alone(httpd, fake_core, extra_registries, expect_log):
    """Each broken instance is a 502 or 504 in its own element; the real one still answers."""
    expect_log(r"PAPI030: instance")
    cores = {b: fake_core(registry_dir=extra_registries["fake"], behaviour=b,
                          dirname=f"passenger.{b[:6]}{i}")
             for i, b in enumerate(("normal", "close", "garbage", "truncated", "hang", "endless"))}
    t0 = time.monotonic()
    answer = httpd.get("/fake-api/ping.json", timeout=30).json()
    elapsed = time.monotonic() - t0
    by_name = {e["instance"]["name"]: e for e in answer}
    assert by_name[httpd.instance.name]["status"] == 200
    assert by_name[cores["normal"].name]["status"] == 200
    assert by_name[cores["normal"].name]["body"] == '{ "status": "ok" }'
    for b in ("close", "garbage", "truncated"):
        assert by_name[cores[b].name]["status"] == 502, by_name[cores[b].name]
        assert by_name[cores[b].name]["error"]
    assert by_name[cores["hang"].name]["status"] == 504
    assert by_name[cores["endless"].name]["status"] in (502, 504)
    # Each instance is bounded by PassengerApiTimeout (1 s here), fanned out one after another.
    assert elapsed < 2 * 1.0 + 3
    # The fake core got the read-only credential and nothing else of the client's.
    req = cores["normal"].requests()[-1]
    assert req.header("Authorization")
    assert req.header("Cookie") is None and req.header("X-Passenger-Instance-Registry-Dir") is None


def test_graceful_restart_answers_the_new_instance(httpd):
    old = httpd.instance
    httpd.graceful()
    new = httpd.instance
    assert new.name != old.name
    answer = httpd.get(API + "/ping.json").json()
    assert names(answer) == [new.name]
    assert answer[0]["status"] == 200


def test_htaccess_sethandler_is_refused(httpd_factory, mpm, expect_log):
    """A user's .htaccess can set the handler, but without a PassengerApi directive in effect
    the API stays closed; the answer and the error log say which directive would open it (in
    the server's configuration: a .htaccess cannot hold it)."""
    expect_log(r"PAPI001: SetHandler passenger-api alone opens nothing: add a PassengerApi "
               r"directive .* at /\S+/user/ ", required=True)
    def conf(h):
        os.makedirs(os.path.join(h.docroot, "user"), exist_ok=True)
        with open(os.path.join(h.docroot, "user", ".htaccess"), "w") as f:
            f.write("SetHandler passenger-api\n")
        return f"""
<Directory "{h.docroot}/user">
    AllowOverride FileInfo
</Directory>
"""
    h = httpd_factory(mpm=mpm, passenger=False, extra_conf=conf)
    r = h.get("/user/ping.json")
    assert r.status_code == 404
    assert "instance" not in r.text
    assert "PassengerApiAccess readonly" in r.json()["error"]


@pytest.mark.parametrize("line, message", [
    ("PassengerApiRegistryDir relative/dir", "not an absolute path"),
    ("PassengerApiRegistryDir /tmp/../etc", "'..' segment"),
    ("PassengerApiRegistryDir /" + "d" * 90, "too long"),
    ("PassengerApiTimeout 0", "PassengerApiTimeout"),
    ("PassengerApiAccess sometimes", "readonly"),
    ("PassengerApiTrustedOwner no-such-user-xyz", "no user named"),
    ("PassengerApiTrustedOwner #-1", "PassengerApiTrustedOwner takes a user name or #uid"),
    ("PassengerApiMaxInstances 0", "PassengerApiMaxInstances takes a whole number from 1 to 1024"),
    ("PassengerApiLimitRequestBody 131073", "from 1 to 131072"),
])
def test_bad_configuration_is_an_error_at_configtest(httpd_factory, line, message):
    h = httpd_factory(start=False, passenger=False)
    result = h.configtest(extra_conf=f"<Location /x>\n    SetHandler passenger-api\n    {line}\n</Location>\n")
    assert result.rc != 0
    assert message in result.output


def test_directive_in_directory_section_is_refused(httpd_factory):
    h = httpd_factory(start=False, passenger=False)
    result = h.configtest(extra_conf=f'<Directory "{h.docroot}">\n    PassengerApiRegistryDir /tmp\n</Directory>\n')
    assert result.rc != 0
    assert "PassengerApiRegistryDir" in result.output


def test_ambiguous_prefix_is_409(httpd, fake_core, extra_registries):
    a = fake_core(registry_dir=extra_registries["fake"], name="SameAbc1")
    b = fake_core(registry_dir=extra_registries["fake"], name="SameAbc2")
    r = httpd.get("/fake-api/instances/SameAbc/ping.json")
    assert r.status_code == 409
    assert "SameAbc" in r.json()["error"]
    for inst in (a, b):
        r = httpd.get(f"/fake-api/instances/{inst.name}/ping.json")
        assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_missing_registry_is_logged_once_per_request(httpd, extra_registries):
    def lines():
        with open(httpd.error_log_path, errors="replace") as f:
            return [l for l in f if "PAPI021" in l and extra_registries["missing"] in l]
    before = len(lines())
    assert httpd.get(API + "/ping.json").status_code == 200
    assert len(lines()) == before + 1


def helper_pid(httpd):
    """The credential helper: the one child of httpd's parent that runs as root and is httpd."""
    import procs
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        st = procs.proc_stat(int(pid))
        if not st or st[1] != httpd.pid:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")[0]
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if cmd.endswith(b"apache2") and uid == 0:
            found.append(int(pid))
    assert len(found) == 1, found
    return found[0]


def test_helper_is_restarted_when_it_dies(httpd, expect_log):
    import signal
    import procs
    expect_log(r"PAPI010: credential helper \(pid \d+\) exited, restarting it", required=True)
    old = helper_pid(httpd)
    os.kill(old, signal.SIGKILL)
    procs.wait_until(lambda: helper_pid_or_none(httpd, old), 10, "a new credential helper")
    answer = httpd.get(API + "/ping.json").json()
    assert [e["status"] for e in answer] == [200]


def helper_pid_or_none(httpd, old):
    try:
        pid = helper_pid(httpd)
    except AssertionError:
        return None
    return pid if pid != old else None
