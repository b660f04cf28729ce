"""What operators coming from the PassengerAPI gem rely on, against real Passenger: its liveness
URL, the registry header replacing the configured registries within PassengerApiRegistryOverride's
globs, and every instance answering for itself (its media types, its 404, its 405)."""

import os

import pytest

import passenger
import procs
from conf import location

API = "/gem-api"
HEADER = "X-Passenger-Instance-Registry-Dir"

pytestmark = pytest.mark.usefixtures("module_built")


@pytest.fixture(scope="module")
def dirs(server):
    """<base>/reg/r1..r3 for three standalone instances, <base>/fake for fake cores, and
    <base>/reg/link, a link to the shared server's registry that no glob may follow."""
    with procs.registry_dirs("reg", "fake") as d:
        for n in ("r1", "r2", "r3"):
            d[n] = os.path.join(d["reg"], n)
            os.mkdir(d[n], 0o755)
        os.symlink(server.registry_dir, os.path.join(d["reg"], "link"))
        yield d


@pytest.fixture(scope="module")
def standalones(dirs):
    """One Passenger Standalone in each of r1, r2 and r3."""
    base = procs.make_tempdir()
    made = []
    try:
        for n in ("r1", "r2", "r3"):
            s = passenger.Standalone(base, app_name=f"app-{n}", registry_dir=dirs[n])
            made.append(s)
            s.start()
        yield made
    finally:
        for s in made:
            s.cleanup()
        import shutil
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def httpd_conf(dirs):
    return lambda h: (location(API, h.registry_dir,
                               PassengerApiRegistryOverride=f"{dirs['reg']}/*")
                      + location("/gem-fake", dirs["fake"], PassengerApiAccess="full",
                                 PassengerApiRegistryOverride=f"{dirs['fake']} {dirs['reg']}/r1"))


def names(answer):
    return sorted(e["instance"]["name"] for e in answer)


def aggregate(r, count):
    """The aggregate array of a 200 application/json answer with count elements."""
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    answer = r.json()
    assert len(answer) == count, answer
    return answer


def test_health_is_ok_without_asking_any_core(httpd, fake_core, dirs):
    core = fake_core(registry_dir=dirs["fake"])
    for path in (API, "/gem-fake"):
        r = httpd.get(path + "/health")
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/plain"
        assert r.text == "OK\n"
    head = httpd.request("HEAD", "/gem-fake/health")
    assert head.status_code == 200 and head.text == ""
    assert httpd.request("POST", "/gem-fake/health").status_code == 405
    assert core.requests() == []
    # Whereas the deep check does ask.
    assert httpd.get("/gem-fake/ping.json").json()[0]["status"] == 200
    assert len(core.requests()) == 1


def test_without_the_header_the_configured_registries_answer(httpd, standalones):
    (one,) = aggregate(httpd.get(API + "/ping.json"), 1)
    assert one["instance"]["name"] == httpd.instance.name
    assert one["status"] == 200
    assert one["header"]["Content-Type"] == "application/json"
    assert one["body"] == '{ "status": "ok" }'


def test_the_header_replaces_them_within_the_globs(httpd, standalones, dirs):
    answer = aggregate(httpd.get(API + "/ping.json", headers={HEADER: dirs["reg"] + "/*"}), 3)
    assert names(answer) == sorted(s.instance.name for s in standalones)
    for e in answer:
        assert e["status"] == 200 and e["header"]["Content-Type"] == "application/json"
        assert e["instance"]["integration_mode"] == "standalone"
    (two,) = aggregate(httpd.get(API + "/ping.json", headers={HEADER: dirs["r2"] + "/"}), 1)
    assert two["instance"]["name"] == standalones[1].instance.name
    assert two["instance"]["instance_dir"]["path"].startswith(dirs["r2"] + "/passenger.")


@pytest.mark.parametrize("value", ["/dummy", "/tmp/*", "/*", "{configured}", "{reg}",
                                   "{reg}/*/*", "{reg}/link"])
def test_a_header_naming_nothing_allowed_is_an_empty_array(httpd, standalones, dirs, value):
    """Nowhere allowed: a path outside the globs, the configured registry itself, the globs'
    parent, a level too deep, a link below them."""
    value = value.format(configured=httpd.registry_dir, reg=dirs["reg"])
    assert aggregate(httpd.get(API + "/ping.json", headers={HEADER: value}), 0) == []
    listed = httpd.get(API + "/instances.json", headers={HEADER: value})
    assert listed.status_code == 200 and listed.json() == []


@pytest.mark.parametrize("value, why", [("tmp/*", "absolute"), ("/tmp/../etc", ".."),
                                        (f"/tmp/{'x' * 90}", "too long")])
def test_an_unusable_header_is_a_400_with_the_reason(httpd, value, why):
    r = httpd.get(API + "/ping.json", headers={HEADER: value})
    assert r.status_code == 400
    assert HEADER in r.json()["error"] and why in r.json()["error"]


@pytest.mark.parametrize("path, media_type", [("/pool.txt", "text/plain"),
                                              ("/pool.xml", "text/xml")])
def test_each_element_keeps_its_cores_media_type(httpd, standalones, dirs, path, media_type):
    for headers, count in (({}, 1), ({HEADER: dirs["reg"] + "/*"}, 3)):
        for e in aggregate(httpd.get(API + path, headers=headers), count):
            assert e["status"] == 200
            assert e["header"]["Content-Type"] == media_type


def test_an_unknown_path_is_each_cores_404(httpd, standalones, dirs):
    for headers, count in (({}, 1), ({HEADER: dirs["reg"] + "/*"}, 3)):
        for e in aggregate(httpd.get(API + "/not_found", headers=headers), count):
            assert e["status"] == 404
            assert e["body"] == "Not found"


def test_a_read_of_a_write_endpoint_is_each_instances_405(httpd, standalones, dirs):
    """Read-only here: Passenger's 405 per instance, and nothing detached."""
    before = {s.instance.name: sorted(s.instance.live_pids()) for s in standalones}
    for method in ("GET", "HEAD"):
        for headers, count in (({}, 1), ({HEADER: dirs["reg"] + "/*"}, 3)):
            r = httpd.request(method, API + "/pool/detach_process.json", headers=headers)
            assert r.status_code == 200
            if method == "GET":
                for e in aggregate(r, count):
                    assert e["status"] == 405
                    assert e["body"] == "Method not allowed"
                    assert e["header"]["Content-Type"] == "text/html; charset=UTF-8"
    one = httpd.get(f"{API}/instances/{standalones[0].instance.name}/pool/detach_process.json",
                    headers={HEADER: dirs["r1"]})
    assert one.status_code == 405 and one.text == "Method not allowed"
    post = httpd.request("POST", API + "/pool/detach_process.json", json={"pid": 1})
    assert post.status_code == 403
    assert {s.instance.name: sorted(s.instance.live_pids()) for s in standalones} == before


def test_a_read_of_a_write_endpoint_never_reaches_a_core_even_in_full_mode(httpd, fake_core,
                                                                          standalones, dirs):
    core = fake_core(registry_dir=dirs["fake"])
    for path in ("/pool/detach_process.json", "/pool/restart_app_group.json", "/shutdown.json",
                 "/gc.json", "/server/1-1.json"):
        (e,) = aggregate(httpd.get("/gem-fake" + path), 1)
        assert e["status"] == 405 and e["instance"]["name"] == core.name
    assert core.requests() == []
    # The second glob of the full-mode Location: a real core, still not asked.
    (e,) = aggregate(httpd.get("/gem-fake/shutdown.json", headers={HEADER: dirs["r1"]}), 1)
    assert e["status"] == 405 and e["instance"]["name"] == standalones[0].instance.name
    assert standalones[0].instance.live_pids()


@pytest.mark.parametrize("args, message", [
    ("", "takes off, on, or one or more absolute globs"),
    ("on /tmp/*", "'on' stands alone"),
    ("/tmp/* off", "'off' stands alone"),
    ("tmp/*", "not an absolute path"),
    ("/srv/*/../x", "'..' segment"),
    ("/" + "g" * 90 + "/*", "too long"),
])
def test_bad_override_is_an_error_at_configtest(httpd_factory, args, message):
    h = httpd_factory(start=False, passenger=False)
    result = h.configtest(extra_conf="<Location /x>\n    SetHandler passenger-api\n"
                                     f"    PassengerApiRegistryOverride {args}\n</Location>\n")
    assert result.rc != 0
    assert "PassengerApiRegistryOverride" in result.output and message in result.output


@pytest.mark.parametrize("args", ["off", "On", "/srv/*/passenger-reg /var/run/passenger-instreg"])
def test_good_override_passes_configtest(httpd_factory, args):
    h = httpd_factory(start=False, passenger=False)
    result = h.configtest(extra_conf="<Location /x>\n    SetHandler passenger-api\n"
                                     f"    PassengerApiRegistryOverride {args}\n</Location>\n")
    assert result.rc == 0, result.output
