"""A tiny HTTP/1.1 client over AF_UNIX, as curl --unix-socket does.

Used to talk to Passenger's agents.s/core_api (real or fake) directly, so the
tests can compare what the module answers with what the core itself says.
"""

import base64
import http.client
import json
import socket


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client connection whose transport is a Unix stream socket."""

    def __init__(self, socket_path, timeout=5.0):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Response:
    """Status, headers (in order, as received) and body of one answer."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body        # bytes

    def header(self, name, default=None):
        """First value of header `name` (case-insensitive)."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {len(self.body)} bytes>"


def basic_auth(user, password):
    """The value of an Authorization header for HTTP Basic."""
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def request(socket_path, path="/", method="GET", auth=None, headers=None,
            body=None, timeout=5.0):
    """Send one request on a new connection and return a Response.

    auth is (user, password) or None. One connection per request, like
    Passenger's own Ruby admin tools.
    """
    conn = UnixHTTPConnection(socket_path, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if auth is not None:
            hdrs["Authorization"] = basic_auth(*auth)
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


# Runs in a child as another user; prints "status\n" then the body.
_AS_USER_SCRIPT = r"""
import base64, http.client, socket, sys
path, target, user, pw = sys.argv[1:5]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
c = C("localhost", timeout=5)
h = {}
if user:
    h["Authorization"] = "Basic " + base64.b64encode((user + ":" + pw).encode()).decode()
c.request("GET", target, headers=h)
r = c.getresponse()
sys.stdout.buffer.write(str(r.status).encode() + b"\n" + r.read())
"""


def request_as_user(os_user, socket_path, path="/", auth=None, timeout=10):
    """GET path on a Unix socket from a process running as os_user (e.g.
    'www-data'), to see what httpd's children would get: the core
    authorises uid 0 without a password, so requests from the (root) test
    process are not representative. Returns (status, body bytes)."""
    import pwd
    import subprocess
    user, pw = auth if auth else ("", "")
    gid = pwd.getpwnam(os_user).pw_gid
    r = subprocess.run(["/usr/bin/python3", "-c", _AS_USER_SCRIPT, socket_path, path, user, pw],
                       user=os_user, group=gid, extra_groups=[], capture_output=True,
                       timeout=timeout, cwd="/")
    if r.returncode != 0:
        raise RuntimeError(f"request as {os_user} failed: {r.stderr.decode(errors='replace')}")
    status, _, body = r.stdout.partition(b"\n")
    return int(status), body
