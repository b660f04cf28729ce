"""A fake Passenger instance: crafted instance dir + fake core_api server.

Real Passenger will not misbehave on demand; this fake does. A FakeCore
creates <registry>/passenger.XXXXXXX laid out like a real one (as Passenger
6.0.17's watchdog lays it out) and serves HTTP on agents.s/core_api from a separate
process (`python3 fakecore.py serve STATE_DIR`), which

  - holds flock(LOCK_EX) on the instance's `lock` (how a live watchdog shows),
  - can run as another uid (setuid before listen(), so SO_PEERCRED on the
    socket shows that uid - for impostor tests),
  - answers per the current behaviour, which the test can change at any time:
      normal     canned answers from tests/e2e/samples/ (real 6.0.17 captures),
                 200 only with Basic ro_admin:<ro pw> or admin:<full pw>,
                 401 otherwise, 404 for unknown paths (before auth)
      delay      like normal after delay_ms milliseconds
      hang       read the request, never answer
      no_accept  never accept() the connection (it waits in the backlog)
      close      read the request, close without answering
      drop_idle  answer like normal (Connection: keep-alive unless the
                 request asked to close), then close the connection once it
                 has been idle idle_ms milliseconds (default 0: at once), as
                 a core whose keep-alive idle timeout passed
      say_close  answer like normal but with Connection: close, then keep the
                 connection open and never read from it again (a peer that
                 announced the close and lingers)
      interim    "HTTP/1.1 100 Continue" on its own (a pause before and after),
                 then the answer like normal, on a connection kept alive
      reset      read the request, close with RST
      truncated  headers with Content-Length: 1000, 10 body bytes, close
      garbage    non-HTTP bytes, close
      huge       a valid 200 whose body is huge_bytes long
      endless    200 headers without Content-Length, then bytes forever
  - records every request it received (method, target, headers, body, raw
    bytes, peer pid/uid/gid), so a test can check what reached it.

Ownership: `owner` chowns the dir and all its files; `listener` is the uid
the server runs as (default: owner).
"""

import base64
import datetime
import json
import os
import pwd
import random
import select
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES_DIR = os.path.join(HERE, "..", "samples")
PYTHON = "/usr/bin/python3"

BEHAVIOURS = ("normal", "delay", "hang", "no_accept", "close", "drop_idle", "say_close",
              "interim", "reset", "truncated", "garbage", "huge", "endless")


def _random_string(n, alphabet=string.ascii_letters + string.digits):
    return "".join(random.choice(alphabet) for _ in range(n))


def resolve_user(user):
    """uid/gid pair for a user given as name, uid, or (uid, gid)."""
    if user is None:
        return None
    if isinstance(user, tuple):
        return user
    if isinstance(user, str):
        pw = pwd.getpwnam(user)
    else:
        pw = pwd.getpwuid(user)
    return (pw.pw_uid, pw.pw_gid)


# =============================================================== test side

class FakeCore:
    """A fake instance in `registry_dir`. Create, then start().

    Parameters (all optional):
      behaviour       one of BEHAVIOURS (default 'normal')
      delay_ms        delay for 'delay'
      idle_ms         idle time before 'drop_idle' closes (default 0)
      huge_bytes      body size for 'huge' (default 32 MiB)
      responses       {path: (status, headers, body)} answered (after the
                      auth check) instead of the canned sample; path without
                      query; headers a dict or list of pairs; body str/bytes
      owner           user owning dir and files: name, uid or (uid, gid); root
      listener        user the server process runs as (default: owner)
      name            properties.json "name" (default random 8 chars)
      dirname         directory name (default passenger.<7 random chars>)
      properties      dict merged (deeply) over the default properties.json;
                      a value None removes that field
      properties_raw  bytes written as properties.json instead (corruption)
      ro_password, full_password    default random 24 chars
      password_mode   mode of both password files (default 0o600)
      finalized       create creation_finalized (default True)
      locked          hold the flock (default True); False = a stale dir
      socket          'listen' (default), 'stale' (socket file, nobody
                      listening: connect gets ECONNREFUSED) or 'absent'
    Attributes: path, name, socket_path, ro_password, full_password,
    properties, pid (server process).
    """

    def __init__(self, registry_dir, behaviour="normal", *, delay_ms=0, idle_ms=0,
                 huge_bytes=32 * 1024 * 1024, responses=None, owner="root",
                 listener=None, name=None, dirname=None, properties=None,
                 properties_raw=None, ro_password=None, full_password=None,
                 password_mode=0o600, finalized=True, locked=True, socket="listen"):
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        if socket not in ("listen", "stale", "absent"):
            raise ValueError(f"unknown socket mode {socket!r}")
        self.registry_dir = registry_dir
        self.owner = resolve_user(owner)
        self.listener = resolve_user(listener) if listener is not None else self.owner
        self.name = name or _random_string(8)
        self.dirname = dirname or "passenger." + _random_string(7)
        self.path = os.path.join(registry_dir, self.dirname)
        self.socket_path = os.path.join(self.path, "agents.s", "core_api")
        self.ro_password = ro_password or _random_string(24)
        self.full_password = full_password or _random_string(24)
        self.password_mode = password_mode
        self.finalized = finalized
        self.locked = locked
        self.socket_mode = socket
        self.extra_properties = properties or {}
        self.properties_raw = properties_raw
        self.properties = None
        self.control = {"behaviour": behaviour, "delay_ms": delay_ms, "idle_ms": idle_ms,
                        "huge_bytes": huge_bytes, "responses": _encode_responses(responses)}
        # Private state (config, control, records, server log) outside the
        # registry, so nothing in the instance dir differs from a real one.
        self.state_dir = None
        self.proc = None
        self.pid = None

    def __repr__(self):
        return f"<FakeCore {self.name} {self.path} {self.control['behaviour']}>"

    # ---- setup

    def _default_properties(self, pid):
        now = time.time()
        return {
            "instance_dir": {"created_at": int(now),
                             "created_at_monotonic_usec": int(time.monotonic() * 1e6),
                             "major_version": 4, "minor_version": 0},
            "instance_id": _random_string(6).lower() + "-" + _random_string(6) + "-" + _random_string(6),
            "integration_mode": "apache",
            "name": self.name,
            "passenger_version": "6.0.17",
            "server_software": "Apache/2.4.71 (Debian) Phusion_Passenger/6.0.17",
            "watchdog_pid": pid,
        }

    def _write(self, relpath, data, mode=0o644):
        path = os.path.join(self.path, relpath)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        os.chmod(path, mode)
        os.chown(path, *self.owner)

    def _make_dirs(self):
        """The dir skeleton a watchdog makes before the core starts."""
        self.state_dir = tempfile.mkdtemp(prefix="pe-fake-", dir="/tmp")
        os.chmod(self.state_dir, 0o755)   # the listener reads control.json
        os.mkdir(self.path, 0o755)
        for sub, mode in (("agents.s", 0o755), ("apps.s", 0o1733), ("web_server_info", 0o755)):
            os.mkdir(os.path.join(self.path, sub))
            os.chmod(os.path.join(self.path, sub), mode)
        self._write("lock", b"")
        self._write("read_only_admin_password.txt", self.ro_password, self.password_mode)
        self._write("full_admin_password.txt", self.full_password, self.password_mode)
        for d in (self.path, os.path.join(self.path, "agents.s"),
                  os.path.join(self.path, "apps.s"), os.path.join(self.path, "web_server_info")):
            os.chown(d, *self.owner)

    def _write_state(self):
        config = {
            "socket_path": self.socket_path, "socket_mode": self.socket_mode,
            "lock_path": os.path.join(self.path, "lock"), "locked": self.locked,
            "listener": list(self.listener),
            "record_path": os.path.join(self.state_dir, "requests.jsonl"),
            "control_path": os.path.join(self.state_dir, "control.json"),
            "ro_password": self.ro_password, "full_password": self.full_password,
            "samples_dir": SAMPLES_DIR,
        }
        cfg = os.path.join(self.state_dir, "config.json")
        fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)
        self._write_control()

    def _write_control(self):
        tmp = os.path.join(self.state_dir, "control.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.control, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(self.state_dir, "control.json"))

    def start(self, timeout=10):
        """Create the dir, start the server, then finalize like a watchdog."""
        self._make_dirs()
        self._write_state()
        with open(os.path.join(self.state_dir, "server.log"), "wb") as log:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.abspath(__file__), "serve", self.state_dir],
                stdout=subprocess.PIPE, stderr=log, close_fds=True)
        self.pid = self.proc.pid
        line = _readline_with_timeout(self.proc.stdout, timeout)
        if not line.startswith(b"ready"):
            err = self.server_log()
            self.stop()
            raise RuntimeError(f"fake core did not start: {line!r} {err}")
        self.properties = self._default_properties(self.pid)
        _deep_update(self.properties, self.extra_properties)
        if self.properties_raw is not None:
            self._write("properties.json", self.properties_raw)
        else:
            self._write("properties.json", json.dumps(self.properties, indent=3))
        self._write("watchdog.pid", str(self.pid))
        self._write("core.pid", str(self.pid))
        if self.finalized:
            self._write("creation_finalized", b"")
        return self

    # ---- while running

    def set_behaviour(self, behaviour, **params):
        """Change how new connections (and requests) are answered.

        params: delay_ms, idle_ms, huge_bytes, responses (see the class
        docstring)."""
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.control["behaviour"] = behaviour
        if "responses" in params:
            params["responses"] = _encode_responses(params["responses"])
        self.control.update(params)
        self._write_control()

    def finalize(self):
        """Create creation_finalized (for a core started with finalized=False),
        as the watchdog does once the agents are up."""
        self._write("creation_finalized", b"")
        self.finalized = True

    def rewrite_core_pid(self, pid):
        """Write `pid` into core.pid in place (same inode, O_TRUNC), as a
        watchdog restarting its core does; the directory does not change."""
        self._write("core.pid", str(pid))

    def replace_properties(self, changes):
        """Write a new properties.json (the current one with `changes` merged
        in, as in `properties`) beside it and rename it into place."""
        props = json.loads(json.dumps(self.properties))
        _deep_update(props, changes)
        self._write("properties.json.new", json.dumps(props, indent=3))
        os.replace(os.path.join(self.path, "properties.json.new"),
                   os.path.join(self.path, "properties.json"))
        self.properties = props
        if "name" in changes:
            self.name = props["name"]

    def requests(self):
        """Every request received so far, oldest first, as RecordedRequest."""
        path = os.path.join(self.state_dir, "requests.jsonl")
        out = []
        try:
            with open(path) as f:
                for line in f:
                    out.append(RecordedRequest(json.loads(line)))
        except FileNotFoundError:
            pass
        return out

    def received(self, needle):
        """True if `needle` (str or bytes) appeared in any request's bytes
        or in a decoded Basic Authorization header, e.g. to assert that a
        secret never reached this core."""
        if isinstance(needle, str):
            needle = needle.encode()
        for r in self.requests():
            if needle in r.raw:
                return True
            for k, v in r.headers:
                if k.lower() == "authorization" and v.startswith("Basic "):
                    try:
                        if needle in base64.b64decode(v[6:]):
                            return True
                    except ValueError:
                        pass
        return False

    def connections(self):
        """How many connections the server accepted so far."""
        return len({r.conn for r in self.requests()})

    # ---- teardown

    def stop(self, remove=True, timeout=10):
        """Stop the server (releases the lock); remove the instance dir
        unless remove=False (which leaves a stale, unlocked instance dir).
        The records stay readable until cleanup()."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)

    def cleanup(self):
        """Stop and remove everything (instance dir and private state)."""
        self.stop(remove=True)
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def server_log(self):
        """What the server process wrote on stderr (tracebacks)."""
        try:
            with open(os.path.join(self.state_dir, "server.log"), errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""


class RecordedRequest:
    """One request as the fake core received it.

    method, target (as sent, with query), path, query, version ('HTTP/1.1'),
    headers [[name, value], ...] in order, body (bytes), raw (bytes: request
    line + headers + body as received), peer {'pid', 'uid', 'gid'} of the
    client (SO_PEERCRED), conn (connection number, from 1), time (epoch).
    r['path'] works too.
    """

    def __init__(self, rec):
        self.__dict__.update(rec)
        self.body = base64.b64decode(rec["body"])
        self.raw = base64.b64decode(rec["raw"])

    def header(self, name, default=None):
        """First value of header `name` (case-insensitive), or default."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self):
        return f"<RecordedRequest {self.method} {self.target} conn={self.conn}>"


def _deep_update(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_update(dst[k], v)
        elif v is None:
            dst.pop(k, None)   # None removes a field
        else:
            dst[k] = v


def _encode_responses(responses):
    """{path: (status, headers, body)} -> JSON-safe form."""
    if not responses:
        return {}
    out = {}
    for path, (status, headers, body) in responses.items():
        if isinstance(headers, dict):
            headers = list(headers.items())
        if isinstance(body, str):
            body = body.encode()
        out[path] = [status, [list(h) for h in headers], base64.b64encode(body).decode()]
    return out


def _readline_with_timeout(stream, timeout):
    result = []
    t = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return result[0] if result else b""


# =============================================================== server side

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 500: "Internal Server Error"}
NO_CACHE = ("Cache-Control", "no-cache, no-store, must-revalidate")
HTML = "text/html; charset=UTF-8"


def load_samples(samples_dir):
    """{file name: (status, content type, body)} from the captured .http files."""
    samples = {}
    for fname in os.listdir(samples_dir):
        if not fname.endswith(".http"):
            continue
        with open(os.path.join(samples_dir, fname), "rb") as f:
            data = f.read()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        ctype = next((ln.split(":", 1)[1].strip() for ln in lines[1:]
                      if ln.lower().startswith("content-type:")), "text/plain")
        samples[fname] = (status, ctype, body)
    return samples


class Request:
    def __init__(self, method, target, version, headers, body, raw):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body, self.raw = headers, body, raw
        self.path, _, self.query = target.partition("?")

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def wants_close(self):
        conn = (self.header("Connection") or "").lower()
        return self.version == "HTTP/1.0" or conn == "close"


class BadRequest(Exception):
    pass


class Connection:
    """Buffered reader of HTTP/1.x requests on one accepted socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise BadRequest("header too large")
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def wait_readable(self, timeout):
        """True if request bytes are buffered or arrive within timeout seconds."""
        return bool(self.buf) or bool(select.select([self.sock], [], [], timeout)[0])

    def read_request(self):
        """The next Request, or None at EOF before a request started."""
        try:
            head = self._read_until(b"\r\n\r\n")
        except EOFError:
            return None
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise BadRequest(lines[0])
        headers = []
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if not sep:
                raise BadRequest(ln)
            headers.append([k.strip(), v.strip()])
        req = Request(parts[0], parts[1], parts[2], headers, b"", head)
        body = b""
        if (req.header("Transfer-Encoding") or "").lower() == "chunked":
            while True:
                size_line = self._read_until(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                chunk = self._read_exact(size + 2)
                req.raw += size_line + chunk
                body += chunk[:-2]
                if size == 0:
                    break
        elif req.header("Content-Length"):
            body = self._read_exact(int(req.header("Content-Length")))
            req.raw += body
        req.body = body
        return req


class FakeServer:
    """The server process: lock, socket, accept loop, one thread per connection."""

    def __init__(self, state_dir):
        with open(os.path.join(state_dir, "config.json")) as f:
            self.cfg = json.load(f)
        self.samples = load_samples(self.cfg["samples_dir"])
        self.record_lock = threading.Lock()
        self.conn_counter = 0
        self.control = {}
        self.control_mtime = None

    # ---- setup, in this order: lock, record file, socket, setuid, listen

    def setup(self):
        cfg = self.cfg
        if cfg["locked"]:
            self.lock_fd = os.open(cfg["lock_path"], os.O_RDONLY)
            import fcntl
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.record_fd = os.open(cfg["record_path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        uid, gid = cfg["listener"]
        self.sock = None
        if cfg["socket_mode"] in ("listen", "stale"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(cfg["socket_path"])
            os.chmod(cfg["socket_path"], 0o666)   # as Passenger does
            os.chown(cfg["socket_path"], uid, gid)
            if cfg["socket_mode"] == "stale":
                s.close()                          # file stays, nobody listens
            else:
                self.sock = s
        if (uid, gid) != (os.getuid(), os.getgid()):
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        if self.sock is not None:
            # SO_PEERCRED of a connection shows who called listen().
            self.sock.listen(128)

    def load_control(self):
        path = self.cfg["control_path"]
        try:
            mtime = os.stat(path).st_mtime_ns
            if mtime != self.control_mtime:
                with open(path) as f:
                    self.control = json.load(f)
                self.control_mtime = mtime
        except (OSError, ValueError):
            pass
        return self.control

    # ---- main loop

    def serve_forever(self):
        while True:
            # Wait for a pending connection first, then look at the control:
            # with 'no_accept' it stays in the listen backlog.
            if self.sock is None:
                # 'stale' or 'absent': nothing to serve, but the lock holder must stay alive.
                time.sleep(0.2)
                continue
            if not select.select([self.sock], [], [], 0.05)[0]:
                continue
            if self.load_control().get("behaviour") == "no_accept":
                time.sleep(0.05)
                continue
            conn, _ = self.sock.accept()
            self.conn_counter += 1
            threading.Thread(target=self.handle, args=(conn, self.conn_counter),
                             daemon=True).start()

    def record(self, req, peer, conn_no):
        rec = {"time": time.time(), "conn": conn_no, "method": req.method,
               "target": req.target, "path": req.path, "query": req.query,
               "version": req.version, "headers": req.headers,
               "body": base64.b64encode(req.body).decode(),
               "raw": base64.b64encode(req.raw).decode(), "peer": peer}
        line = (json.dumps(rec) + "\n").encode()
        with self.record_lock:
            os.write(self.record_fd, line)

    def handle(self, sock, conn_no):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", creds)
        peer = {"pid": pid, "uid": uid, "gid": gid}
        conn = Connection(sock)
        try:
            while True:
                try:
                    req = conn.read_request()
                except BadRequest:
                    sock.sendall(b"HTTP/1.0 400 Bad Request\r\nStatus: 400 Bad Request\r\n"
                                 b"Content-Type: text/html; charset=UTF-8\r\nConnection: close\r\n"
                                 b"Content-Length: 19\r\n\r\ninvalid HTTP method")
                    return
                if req is None:
                    return
                self.record(req, peer, conn_no)
                if not self.respond(sock, req):
                    return
                if self.control.get("behaviour") == "drop_idle" and not conn.wait_readable(
                        int(self.control.get("idle_ms", 0)) / 1000.0):
                    return          # idle too long: close, as a keep-alive timeout does
        except (OSError, EOFError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def respond(self, sock, req):
        """Answer req per the current behaviour; False to close the connection."""
        ctl = self.load_control()
        b = ctl.get("behaviour", "normal")
        if b == "hang":
            while True:
                time.sleep(3600)
        if b == "close":
            return False
        if b == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if b == "garbage":
            sock.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\x1b[31m" + os.urandom(256))
            return False
        if b == "truncated":
            sock.sendall(self.head(req, 200, "application/json", 1000, close=True) + b'{"status"')
            return False
        if b == "huge":
            self.send_huge(sock, req, int(ctl.get("huge_bytes", 32 << 20)))
            return not req.wants_close()
        if b == "endless":
            self.send_endless(sock, req)
            return False
        if b == "delay":
            time.sleep(int(ctl.get("delay_ms", 0)) / 1000.0)
        if b == "interim":
            # On its own, so that a reader sees it alone in one read.
            time.sleep(0.02)
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(0.02)
        status, ctype, body, extra = self.route(req, ctl.get("responses") or {})
        close = req.wants_close() or b == "say_close"
        data = self.head(req, status, ctype, len(body), close, extra)
        sock.sendall(data if req.method == "HEAD" else data + body)
        if b == "say_close" and not req.wants_close():
            while True:             # announced the close, but lingers without reading
                time.sleep(3600)
        return not close

    # ---- answers

    def head(self, req, status, ctype, length, close=False, extra=()):
        """Status line and headers in Passenger's order (ServerKit)."""
        reason = REASONS.get(status, "Unknown")
        version = "HTTP/1.0" if req.version == "HTTP/1.0" else "HTTP/1.1"
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        lines = [f"{version} {status} {reason}", f"Status: {status} {reason}",
                 f"Content-Type: {ctype}", f"Date: {date}",
                 f"Connection: {'close' if close else 'keep-alive'}",
                 f"Content-Length: {length}"]
        lines += [f"{k}: {v}" for k, v in extra]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def authorized(self, req, full=False):
        auth = req.header("Authorization") or ""
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode("latin-1").partition(":")
        except ValueError:
            return False
        if user == "admin" and pw == self.cfg["full_password"]:
            return True
        return not full and user == "ro_admin" and pw == self.cfg["ro_password"]

    def sample(self, name):
        status, ctype, body = self.samples[name]
        return status, ctype, body, [NO_CACHE] if status != 200 else []

    def route(self, req, overrides):
        """(status, content type, body, extra headers) like the 6.0.17 core."""
        ok = {"status": "ok"}
        admin_post = {"/shutdown.json": "POST", "/reopen_logs.json": "POST",
                      "/reinherit_logs.json": "POST", "/gc.json": "PUT"}
        pool_post = {"/pool/restart_app_group.json": {"restarted": True},
                     "/pool/detach_process.json": {"detached": True}}
        known = {"/ping.json", "/info.json", "/version.json", "/pool.txt", "/pool.xml",
                 "/pool.json", "/server.json", "/config.json", "/backtraces.txt"}
        path = req.path
        if path in admin_post:
            if req.method != admin_post[path]:
                return self.sample("core_GET_gc.json_405.http")
            if not self.authorized(req, full=True):
                return self.sample("core_GET_pool.xml_401_www-data.http")
            return 200, "application/json", b'{ "status": "ok" }\n', []
        if path in pool_post:
            if not self.authorized(req, full=True):
                return self.sample("core_GET_pool.xml_401_www-data.http")
            if req.method != "POST":
                return self.sample("core_GET_gc.json_405.http")
            return 200, "application/json", json.dumps(pool_post[path]).encode(), []
        if path not in known and path not in overrides:
            return self.sample("core_GET_nope.http")
        if not self.authorized(req):
            return self.sample("core_GET_pool.xml_401_www-data.http")
        if path in overrides:
            status, headers, body = overrides[path]
            ctype = next((v for k, v in headers if k.lower() == "content-type"), "text/plain")
            extra = [(k, v) for k, v in headers if k.lower() != "content-type"]
            return status, ctype, base64.b64decode(body), extra
        if path == "/config.json":
            if req.method == "PUT":
                if not self.authorized(req, full=True):
                    return self.sample("core_GET_pool.xml_401_www-data.http")
                return 200, "application/json", json.dumps(ok).encode(), []
            body = json.dumps({"log_level": {"default_value": 3, "effective_value": 3,
                                             "has_default_value": "static", "type": "integer",
                                             "user_value": 3}}, indent=3).encode()
            return 200, "application/json", body, []
        q = req.query
        name = {
            "/ping.json": "core_GET_ping.json.http",
            "/info.json": "core_GET_info.json.http",
            "/version.json": "core_GET_info.json.http",
            "/pool.txt": "core_GET_pool.txt_verbose_true.http" if "verbose=true" in q
            else "core_GET_pool.txt.http",
            "/pool.xml": "core_GET_pool.xml_secrets_true.http" if "secrets=true" in q
            else "core_GET_pool.xml.http",
            "/pool.json": "core_GET_pool.json.http",
            "/server.json": "core_GET_server.json.http",
            "/backtraces.txt": "core_GET_backtraces.txt.http",
        }[path]
        return self.sample(name)

    def send_huge(self, sock, req, size):
        sock.sendall(self.head(req, 200, "application/json", size, req.wants_close()))
        chunk = b"x" * 65536
        left = size
        while left > 0:
            n = min(left, len(chunk))
            sock.sendall(chunk[:n])
            left -= n

    def send_endless(self, sock, req):
        sock.sendall(b"HTTP/1.1 200 OK\r\nStatus: 200 OK\r\nContent-Type: text/plain\r\n"
                     b"Connection: close\r\n\r\n")
        chunk = b"y" * 65536
        while True:
            sock.sendall(chunk)


def serve_main(state_dir):
    server = FakeServer(state_dir)
    server.setup()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdout.write(f"ready {os.getpid()}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve_main(sys.argv[2])
    else:
        sys.exit("usage: fakecore.py serve STATE_DIR")
