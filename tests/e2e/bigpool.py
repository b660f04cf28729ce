"""A large pool.xml for fake cores: the real 6.0.17 capture (tests/samples/) grown to any number of
app groups and processes per group, every group and process its own (name, app root, uuid, pid,
gupid), each count in the document agreeing with what it holds.

    body = bigpool.pool_xml(groups=10, processes=50, first_pid=100000)
    fakecore.FakeCore(registry, responses={"/pool.xml": bigpool.response(body)})
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "core_GET_pool.xml.http")

_APP = "/srv/demo-app"


def _sample_body():
    with open(SAMPLE, "rb") as f:
        raw = f.read().decode("latin-1")
    return raw.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in raw else raw.split("\n\n", 1)[1]


def _one(pattern, text):
    m = re.search(pattern, text, re.S)
    assert m, pattern
    return m


def _set(text, tag, value):
    """text with the first <tag>...</tag> holding value."""
    return re.sub(f"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", text, count=1)


def pool_xml(groups, processes, first_pid=100000, sessions=1):
    """pool.xml (bytes) of `groups` app groups of `processes` processes each; pids from first_pid
    up, each process with `sessions` sessions."""
    body = _sample_body()
    sg = _one(r"<supergroup>.*</supergroup>", body).group(0)
    proc = _one(r"<process>.*?</process>", sg).group(0)
    head, tail = body[:body.index("<supergroups>")], body[body.index("</supergroups>"):]
    parts, pid = [], first_pid
    for g in range(groups):
        plist = []
        for i in range(processes):
            p = _set(_set(proc, "pid", pid), "gupid", f"{pid:x}-g{g}p{i}")
            plist.append(_set(p, "sessions", sessions))
            pid += 1
        one = sg.replace(_APP, f"{_APP}-{g:02d}")
        one = re.sub(r"<processes>.*</processes>", "<processes>" + "".join(plist) + "</processes>",
                     one, flags=re.S)
        for tag in ("enabled_process_count", "capacity_used"):
            one = re.sub(f"<{tag}>[^<]*</{tag}>", f"<{tag}>{processes}</{tag}>", one)
        one = _set(one, "uuid", f"uuid{g:016d}")
        one = one.replace('<group default="true">', '<group default="true">' if g == 0
                          else "<group>")
        parts.append(one)
    for tag, value in (("group_count", groups), ("process_count", groups * processes),
                       ("max", groups * processes), ("capacity_used", groups * processes)):
        head = _set(head, tag, value)
    return (head + "<supergroups>" + "".join(parts) + tail).encode("latin-1")


def response(body):
    """A fake core's `responses` entry answering with body."""
    return (200, [("Content-Type", "text/xml")], body)
