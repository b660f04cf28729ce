"""No request header says who the server is (DNS rebinding): a page on http://evil.example whose
name is re-pointed at this server makes the admin's browser send Host: evil.example, Origin:
http://evil.example and Sec-Fetch-Site: same-origin. Such a request gets a 421 before any core is
contacted; the server's own names (ServerName localhost, the listener's 127.0.0.1, and
PassengerApiAllowedHost) still work, and writes compare Origin with those names."""

import socket
import subprocess

import pytest

from conf import location

RO = "/papi-host-ro"
FULL = "/papi-host-full"
JSON = {"Content-Type": "application/json"}
REBIND = {"Host": "evil.example", "Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}
REGISTRIES = ("fake",)


@pytest.fixture(scope="module")
def httpd_conf(regs):
    return ("PassengerApiAllowedHost admin.example [::5]\n"
            + location(RO, regs['fake'])
            + location(FULL, regs['fake'], PassengerApiAccess="full"))


pytestmark = pytest.mark.usefixtures("module_built")


def raw_request(httpd, text):
    """Sends text as it is; the status line's code."""
    with socket.create_connection(("127.0.0.1", httpd.port), timeout=10) as s:
        s.sendall(text.encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_rebinding_page_reaches_no_core(httpd, fake_core, regs):
    fake = fake_core(registry_dir=regs["fake"])
    r = httpd.request("PUT", FULL + "/gc.json", data="{}", headers=dict(REBIND, **JSON))
    assert r.status_code == 421, r.text
    assert "'evil.example' is not one of this server's names" in r.json()["error"]
    for path in ("/ping.json", "/pool.txt", "/processes.json", "/metrics", "/", "/health.json",
                 "/instances.json", f"/instances/{fake.name}/pool.xml", "/processes/1/"):
        r = httpd.get(RO + path, headers=REBIND)
        assert r.status_code == 421, path
        assert "evil.example" in r.json()["error"]
    # With a port, or a body too large to read: refused first, nothing read.
    r = httpd.get(RO + "/ping.json", headers={"Host": f"evil.example:{httpd.port}"})
    assert r.status_code == 421
    r = httpd.request("PUT", FULL + "/gc.json", data="x" * 100000, headers=dict(REBIND, **JSON))
    assert r.status_code == 421
    # An absolute request URI names the host httpd goes by, whatever Host says.
    assert raw_request(httpd, f"GET http://evil.example{RO}/ping.json HTTP/1.1\r\n"
                              "Host: localhost\r\nConnection: close\r\n\r\n") == 421
    assert fake.connections() == 0


def curl(httpd, path, *args):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args,
                          httpd.url(path)], capture_output=True, text=True, timeout=30)
    return int(out.stdout)


def test_own_names_still_work(httpd, fake_core, regs):
    fake = fake_core(registry_dir=regs["fake"])
    assert curl(httpd, RO + "/ping.json") == 200
    assert curl(httpd, RO + "/ping.json", "-H", "Host: localhost") == 200
    for host in (f"localhost:{httpd.port}", "LOCALHOST.", f"127.0.0.1:{httpd.port}",
                 "admin.example", f"Admin.Example.:{httpd.port}", "[::5]:1"):
        r = httpd.get(RO + "/ping.json", headers={"Host": host})
        assert r.status_code == 200, host
        assert [e["status"] for e in r.json()] == [200]
    # HTTP/1.0 without Host: nothing to rebind.
    assert raw_request(httpd, f"GET {RO}/ping.json HTTP/1.0\r\n\r\n") == 200
    assert fake.connections() > 0


def test_writes_compare_origin_with_own_names(httpd, fake_core, regs):
    fake = fake_core(registry_dir=regs["fake"])
    own = {"Host": "admin.example", "Sec-Fetch-Site": "same-origin"}
    for origin in ("http://evil.example", f"http://evil.example:{httpd.port}",
                   "http://localhost:9", f"https://localhost:{httpd.port}", "null"):
        r = httpd.request("PUT", FULL + "/gc.json", data="",
                          headers=dict(own, Origin=origin, **JSON))
        assert r.status_code == 403, origin
        assert "another origin" in r.json()["error"]
    assert fake.connections() == 0
    for origin in (f"http://admin.example:{httpd.port}", f"http://localhost:{httpd.port}"):
        r = httpd.request("PUT", FULL + "/gc.json", data="",
                          headers=dict(own, Origin=origin, **JSON))
        assert r.status_code == 200, r.text
        assert [e["status"] for e in r.json()] == [200]
    assert fake.connections() == 2


@pytest.mark.parametrize("conf, message", [
    ("PassengerApiAllowedHost admin.example:80", "without a port"),
    ("PassengerApiAllowedHost *.example", "without a port or wildcard"),
    ("PassengerApiAllowedHost ::1", "[IPv6]"),
    ("<Location /x>\n    PassengerApiAllowedHost admin.example\n</Location>",
     "not allowed in <Location>"),
])
def test_bad_allowed_host_is_an_error_at_configtest(httpd_factory, conf, message):
    h = httpd_factory(start=False, passenger=False)
    result = h.configtest(extra_conf=conf + "\n")
    assert result.rc != 0
    assert message in result.output
