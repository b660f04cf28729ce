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
