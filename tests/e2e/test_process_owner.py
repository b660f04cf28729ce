"""A process's connect password reaches that process only. A fake core's pool.xml names, in an
app group of uid 1 (daemon):

  4001  ALIVE and ENABLED, its port held by a listener of another user (nobody),
  4002  ALIVE but DETACHED, on that same port,
  4003  ALIVE and ENABLED, its port held by a listener of daemon (the group's user).

The listeners record every byte they receive: nobody's must get no byte (no connection at all),
health.json and /processes/<pid>/ must say why, and daemon's must get its request, key included.
Plus what a read-only request to a process may be, and PassengerApiProcessRequests off."""

import os
import pwd
import subprocess
import tempfile

import pytest

from conf import location
import fakecore

RO = "/papi-owner"
OFF = "/papi-owner-off"
KEY = "owner-test-connect-password-3f9a"
REGISTRIES = ("owner",)

LISTENER = r"""
import os, socket, sys
uid, record = int(sys.argv[1]), sys.argv[2]
pw_gid = int(sys.argv[3])
os.setgroups([]); os.setgid(pw_gid); os.setuid(uid)    # the socket is its maker's: setuid first
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
n = 0
while True:
    c, _ = s.accept(); n += 1
    with open(record, "a") as f:
        f.write("connection %d\n" % n)
    data = b""
    c.settimeout(2)
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    with open(record, "ab") as f:
        f.write(data)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
              b"Connection: close\r\n\r\nok\n")
    c.close()
"""


class Listener:
    """A TCP listener on 127.0.0.1 run as user, recording what it receives."""

    def __init__(self, user):
        pw = pwd.getpwnam(user)
        self.uid = pw.pw_uid
        fd, self.record = tempfile.mkstemp(prefix="pe-listener-", dir="/tmp")
        os.close(fd)
        os.chown(self.record, pw.pw_uid, pw.pw_gid)
        self.proc = subprocess.Popen([fakecore.PYTHON, "-c", LISTENER, str(pw.pw_uid),
                                      self.record, str(pw.pw_gid)],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def received(self):
        with open(self.record, "rb") as f:
            return f.read()

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        os.unlink(self.record)


def pool_xml(group_uid, processes):
    """A pool.xml like 6.0.17's (secrets=true) with one app group and these processes:
    [(pid, life_status, enabled, port)]."""
    procs_xml = "".join(f"""<process><pid>{pid}</pid><gupid>g-{pid}</gupid><concurrency>1</concurrency>
<sessions>0</sessions><busyness>0</busyness><processed>0</processed><life_status>{life}</life_status>
<enabled>{enabled}</enabled><command>Passenger RubyApp</command><sockets>
<socket><address>tcp://127.0.0.1:{port}</address><protocol>http</protocol><concurrency>1</concurrency>
<accept_http_requests>0</accept_http_requests><sessions>0</sessions></socket></sockets></process>
""" for pid, life, enabled, port in processes)
    return f"""<?xml version="1.0" ?>
<info version="3"><passenger_version>6.0.17</passenger_version><group_count>1</group_count>
<process_count>{len(processes)}</process_count><max>6</max><capacity_used>1</capacity_used>
<get_wait_list_size>0</get_wait_list_size><supergroups><supergroup><name>/srv/app (production)</name>
<group default="true"><name>/srv/app (production)</name><app_root>/srv/app</app_root>
<api_key>{KEY}</api_key><life_status>ALIVE</life_status><user>daemon</user><uid>{group_uid}</uid>
<group>daemon</group><gid>{group_uid}</gid><processes>{procs_xml}</processes></group></supergroup>
</supergroups></info>"""


@pytest.fixture(scope="module")
def httpd_conf(regs):
    return (location(RO, regs['owner'], PassengerApiTimeout=2)
            + location(OFF, regs['owner'], PassengerApiProcessRequests="off"))


@pytest.fixture
def setup(regs, fake_core):
    """(nobody's listener, daemon's listener, the fake core)."""
    daemon = pwd.getpwnam("daemon").pw_uid
    impostor, genuine = Listener("nobody"), Listener("daemon")
    try:
        xml = pool_xml(daemon, [(4001, "ALIVE", "ENABLED", impostor.port),
                                (4002, "ALIVE", "DETACHED", impostor.port),
                                (4003, "ALIVE", "ENABLED", genuine.port)])
        fake = fake_core(registry_dir=regs["owner"],
                         responses={"/pool.xml": (200, {"Content-Type": "text/xml"}, xml)})
        yield impostor, genuine, fake
    finally:
        impostor.stop()
        genuine.stop()


def test_health_never_sends_the_key_to_another_users_listener(httpd, setup):
    impostor, genuine, fake = setup
    r = httpd.get(RO + "/health.json")
    assert r.status_code == 503, r.text
    by_pid = {p["pid"]: p for p in r.json()["processes"]}
    assert by_pid[4001]["healthy"] is False
    assert (f"the listener on 127.0.0.1:{impostor.port} belongs to uid {impostor.uid}, not to the "
            f"app group's user (uid {genuine.uid})") in by_pid[4001]["error"]
    assert by_pid[4002]["reachable"] is False
    assert "DETACHED" in by_pid[4002]["error"] and "only a process that is ALIVE and ENABLED" \
        in by_pid[4002]["error"]
    assert by_pid[4003]["healthy"] is True and by_pid[4003]["status"] == 200
    assert impostor.received() == b""
    # Not vacuous: the group's own listener got the probe, with the key.
    assert KEY.encode() in genuine.received()


def test_direct_requests_go_to_the_groups_user_only(httpd, setup, expect_log):
    impostor, genuine, fake = setup
    expect_log(r"PAPI032: process 4001 of instance \w+: 502 the listener on 127\.0\.0\.1:\d+ "
               r"belongs to uid", required=True)
    r = httpd.get(RO + "/processes/4001/")
    assert r.status_code == 502
    assert f"belongs to uid {impostor.uid}" in r.json()["error"]
    r = httpd.get(RO + "/processes/4002/")
    assert r.status_code == 503
    assert "DETACHED" in r.json()["error"]
    r = httpd.get(RO + "/processes/4003/")
    assert r.status_code == 200 and r.text == "ok\n"
    assert impostor.received() == b""
    assert KEY.encode() in genuine.received()


def test_readonly_direct_requests_are_plain_reads_from_this_site(httpd, setup):
    impostor, genuine, fake = setup
    for headers, body, why in [
        ({"Sec-Fetch-Site": "cross-site"}, None, "another site"),
        ({"Sec-Fetch-Site": "same-site"}, None, "another site"),
        ({"Origin": "http://evil.example"}, None, "another origin"),
        ({"Content-Type": "application/json"}, "{}", "no body"),
    ]:
        r = httpd.request("GET", RO + "/processes/4003/", headers=headers, data=body)
        assert r.status_code == 403, headers
        assert why in r.json()["error"]
    assert genuine.received() == b""
    # The admin's own browser, on this API's page or typing the URL, is served.
    for site in ("same-origin", "none"):
        r = httpd.get(RO + "/processes/4003/", headers={"Sec-Fetch-Site": site})
        assert r.status_code == 200


def test_process_requests_off(httpd, setup):
    impostor, genuine, fake = setup
    r = httpd.get(OFF + "/processes/4003/")
    assert r.status_code == 403
    assert "PassengerApiProcessRequests off" in r.json()["error"]
    assert genuine.received() == b""
    # Health checks stay: they only ever ask PassengerApiHealthPath.
    r = httpd.get(OFF + "/health.json")
    by_pid = {p["pid"]: p for p in r.json()["processes"]}
    assert by_pid[4003]["healthy"] is True
