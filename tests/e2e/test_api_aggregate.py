"""The API against real Passenger integrated in the test httpd: the PassengerAPI-compatible aggregate,
one instance's raw answer, instances.json, and what a client gets for bad requests.

httpd runs as root with User www-data; Passenger's password files are 0600 root, so every answer
here went through the credential helper.
"""

import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from conf import location

API = "/passenger-api"


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: location(API, h.registry_dir, h.fake_registry_dir, PassengerApiTimeout=5)


def aggregate(httpd, path):
    r = httpd.get(API + path)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    answer = r.json()
    assert isinstance(answer, list)
    return answer


def only_element(httpd, path):
    answer = aggregate(httpd, path)
    assert len(answer) == 1, answer
    element = answer[0]
    assert set(element) >= {"instance", "status", "header", "body"}
    return element


def test_ping_has_passenger_api_shape(httpd):
    inst = httpd.instance
    element = only_element(httpd, "/ping.json")
    assert element["status"] == 200
    assert element["body"] == '{ "status": "ok" }'
    assert element["header"]["Content-Type"] == "application/json"
    assert element["header"]["Status"] == "200 OK"
    assert element["header"]["Content-Length"] == "18"
    instance = element["instance"]
    # properties.json as Passenger wrote it, plus path, core_pid and state.
    for key, value in inst.properties.items():
        if key != "instance_dir":
            assert instance[key] == value
    assert instance["instance_dir"] == dict(inst.properties["instance_dir"], path=inst.path)
    assert instance["core_pid"] == inst.core_pid
    assert instance["state"] == "good"
    assert instance["integration_mode"] == "apache"


def test_pool_txt_shows_every_live_process(httpd):
    pids = httpd.instance.live_pids()
    assert len(pids) >= 4      # two apps with two processes each
    body = only_element(httpd, "/pool.txt")["body"]
    assert "----------- General information -----------" in body
    shown = sorted(int(p) for p in re.findall(r"\* PID: (\d+)", body))
    assert shown == pids


def test_pool_xml_matches_the_core(httpd):
    element = only_element(httpd, "/pool.xml")
    assert element["status"] == 200
    assert element["header"]["Content-Type"] == "text/xml"
    root = ET.fromstring(element["body"].encode("iso-8859-1"))
    assert root.tag == "info"
    pids = sorted(int(p.text) for p in root.iter("pid"))
    assert pids == sorted(p for plist in httpd.instance.pool().values() for p in
                          [q["pid"] for q in plist])


def test_server_json_and_query_string_reach_the_core(httpd, fake_core):
    body = json.loads(only_element(httpd, "/server.json")["body"])
    assert body["threads"] >= 1
    verbose = only_element(httpd, "/pool.txt?verbose=true")["body"]
    assert "Requests in top-level queue" in verbose
    assert "top-level queue" in verbose and "----------- Application groups" in verbose
    # What the real core's pool.txt shows above is there with or without the query: a core that
    # records what it was asked shows that the query reached it as the client sent it.
    fake = fake_core(registry_dir=httpd.fake_registry_dir)
    r = httpd.get(f"{API}/instances/{fake.name}/pool.txt?verbose=true")
    assert r.status_code == 200, r.text
    assert [(q.path, q.query) for q in fake.requests()] == [("/pool.txt", "verbose=true")]


def test_unknown_core_path_is_the_cores_own_404(httpd):
    element = only_element(httpd, "/no-such-thing.json")
    assert element["status"] == 404
    assert element["body"] == "Not found"


def test_head_is_answered_without_body(httpd):
    r = httpd.request("HEAD", API + "/ping.json")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["Content-Length"]) > 0


def test_instances_json_lists_the_good_instance(httpd):
    r = httpd.get(API + "/instances.json")
    assert r.status_code == 200
    (entry,) = r.json()
    assert entry["name"] == httpd.instance.name
    assert entry["state"] == "good"
    assert entry["instance_dir"]["path"] == httpd.instance.path
    assert "reason" not in entry


def test_one_instance_by_name_and_prefix(httpd):
    inst = httpd.instance
    direct = inst.core_request("/pool.txt")
    for name in (inst.name, inst.name[:3]):
        r = httpd.get(f"{API}/instances/{name}/pool.txt")
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/plain"
        # The core's own body, not wrapped (uptimes may tick between the two calls).
        assert r.text.splitlines()[:5] == direct.body.decode().splitlines()[:5]
        assert sorted(int(p) for p in re.findall(r"\* PID: (\d+)", r.text)) == inst.live_pids()
    r = httpd.get(f"{API}/instances/{inst.name}/nope.json")
    assert r.status_code == 404 and r.text == "Not found"


def test_one_instance_unknown_name_is_404(httpd):
    r = httpd.get(f"{API}/instances/zz9Unknown/ping.json")
    assert r.status_code == 404
    assert "zz9Unknown" in r.json()["error"]
    assert httpd.get(f"{API}/instances/bad*name/ping.json").status_code == 404
    assert httpd.get(f"{API}/instances/{httpd.instance.name}").status_code == 404


def test_write_methods_are_refused_in_readonly(httpd):
    for method in ("POST", "PUT", "DELETE"):
        r = httpd.request(method, API + "/pool/detach_process.json", data='{"pid": 1}',
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 403
        assert "read-only" in r.json()["error"]
    assert httpd.instance.ping()


def test_big_body_is_413_before_reading(httpd):
    r = httpd.request("POST", API + "/ping.json", data=b"x" * (64 * 1024 + 1))
    assert r.status_code == 413
    assert "65536" in r.json()["error"]
    # Declared but never sent: the answer comes without waiting for the body.
    r = httpd.request("GET", API + "/ping.json", headers={"Content-Length": "10000000"},
                      data=b"", timeout=5)
    assert r.status_code == 413


def test_bad_paths_and_queries_are_400_or_404_with_a_reason(httpd):
    r = httpd.get(API + "/pool.txt?verbose")
    assert r.status_code == 400
    assert "verbose=true" in r.json()["error"]
    r = httpd.get(API + "/pool.txt?a%00=1")
    assert r.status_code == 400
    for path in ("/a;b.json", "/%7euser", "/instances/AbCd/"):
        r = httpd.get(API + path)
        assert r.status_code == 404, path
        assert r.json()["error"]


def test_registry_header_is_ignored_when_override_is_off(httpd):
    answer = httpd.get(API + "/ping.json",
                       headers={"X-Passenger-Instance-Registry-Dir": "/nonexistent"}).json()
    assert [e["instance"]["name"] for e in answer] == [httpd.instance.name]
