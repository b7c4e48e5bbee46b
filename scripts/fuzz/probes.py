#!/usr/bin/env python3
"""Hand-written edge probes of prismd that schemathesis does not generate (scripts/fuzz-api.sh).

Usage: probes.py ADDR TOKEN WORK_DIR TEMPLATE_DIR OUT_JSON

Each probe sends a bounded number of requests to ADDR (127.0.0.1:PORT only) with a client
timeout, and records whether the answer was the expected one: never a 5xx, never a hang,
always a JSON ApiError for errors. Results go to OUT_JSON as a list of
{name, ok, outcome, reproduce}.
"""

import http.client
import json
import os
import sys
import threading
import time

ADDR, TOKEN, WORK, TEMPLATE_DIR, OUT = sys.argv[1:6]
HOST, PORT = ADDR.rsplit(":", 1)
assert HOST == "127.0.0.1", "probes only talk to 127.0.0.1"
TIMEOUT = 8.0
results = []


def request(method, path, body=None, headers=None, token=True, timeout=TIMEOUT, host_header=None):
    """One request on a fresh connection; returns (status, body_text, seconds) or raises."""
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=timeout)
    h = {}
    if token:
        h["x-prism-token"] = TOKEN
    if body is not None and not any(k.lower() == "content-type" for k in (headers or {})):
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    start = time.monotonic()
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host_header or ADDR)
        for k, v in h.items():
            conn.putheader(k, v)
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        try:
            conn.endheaders(data)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer (e.g. 413) and close before the whole body is sent; the
            # answer is still there to read.
            pass
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        return resp.status, text, time.monotonic() - start
    finally:
        conn.close()


def curl(method, path, body=None, headers=None, token=True, host_header=None, body_note=None):
    words = ["curl", "-sS", "-X", method]
    if token:
        words.append('-H "x-prism-token: $TOKEN"')
    if host_header:
        words.append(f"-H 'Host: {host_header}'")
    for k, v in (headers or {}).items():
        words.append(f"-H '{k}: {v}'")
    if body is not None:
        if "Content-Type" not in (headers or {}):
            words.append("-H 'Content-Type: application/json'")
        if body_note:
            words.append(f"--data-binary @-  # {body_note}")
        else:
            words.append("--data-binary '" + body.replace("'", "'\"'\"'") + "'")
    words.append(f"'http://{ADDR}{path}'")
    return " ".join(words)


def is_api_error(text):
    try:
        v = json.loads(text)
        return isinstance(v, dict) and "kind" in v and "message" in v
    except ValueError:
        return False


def probe(name, method, path, expect, body=None, headers=None, token=True, host_header=None, body_note=None, timeout=TIMEOUT):
    """expect: a set of acceptable statuses, or a function (status, text) -> (ok, note)."""
    rep = curl(method, path, body if not isinstance(body, bytes) else "", headers, token, host_header, body_note)
    try:
        status, text, secs = request(method, path, body, headers, token, timeout, host_header)
    except Exception as e:  # noqa: BLE001 - any transport failure is the finding
        results.append({"name": name, "ok": False, "outcome": f"no answer: {type(e).__name__}: {e}", "reproduce": rep})
        return None
    if callable(expect):
        ok, note = expect(status, text)
    else:
        ok = status in expect and (status < 400 or is_api_error(text))
        note = "" if ok else f"expected {sorted(expect)} with a JSON ApiError"
    outcome = f"{status} in {secs:.2f}s: {text[:160]}" + (f" ({note})" if note else "")
    results.append({"name": name, "ok": ok, "outcome": outcome, "reproduce": rep})
    return status, text


def main():
    # --- authentication and origin checks
    probe("no token", "GET", "/v1/health", {401}, token=False)
    probe("wrong token", "GET", "/v1/health", {401}, headers={"x-prism-token": "x" * len(TOKEN)}, token=False)
    probe("Host not loopback", "GET", "/v1/health", {403}, host_header="evil.example")
    probe("Host loopback-looking suffix", "GET", "/v1/health", {403}, host_header="127.0.0.1.evil.example")
    probe("Origin not loopback", "GET", "/v1/health", {403}, headers={"Origin": "http://evil.example"})

    # --- bodies
    big = '{"path": "/' + "a" * (1024 * 1024) + '"}'
    probe("body over the 1 MiB limit", "POST", "/v1/templates/validate", {413}, body=big, body_note="1 MiB + 15 bytes JSON")
    deep = "[" * 100000 + "]" * 100000
    probe("JSON nested 100000 deep", "POST", "/v1/workstations", {400, 422}, body=deep, body_note="100000 × '[' then ']'")
    probe("invalid UTF-8 body", "POST", "/v1/templates/validate", {400, 422}, body=b'{"path": "/\xff\xfe"}', body_note="bytes {\"path\": \"/\\xff\\xfe\"}")
    probe("duplicate JSON keys", "POST", "/v1/templates/validate", {200, 400, 422}, body='{"path": "/a.yaml", "path": "/b.yaml"}')
    # The charset parameter is accepted (not 415); the file does not exist, hence 400.
    probe("charset in Content-Type", "POST", "/v1/templates/validate", {400},
          body='{"path": "/nonexistent.yaml"}', headers={"Content-Type": "application/json; charset=utf-8"})
    probe("struct as JSON array (serde sequence form)", "POST", "/v1/templates/validate",
          lambda s, t: (s >= 400, "a JSON array is accepted where the schema says object" if s < 400 else ""),
          body='["/nonexistent.yaml"]')
    probe("header of 64 KiB", "GET", "/v1/health", lambda s, t: (s < 500, ""), headers={"X-Big": "a" * 65536})

    # --- template validation reads a path the caller names
    # Only regular files are read (a device or FIFO would block or never end): 400, at once.
    probe("validate /dev/zero", "POST", "/v1/templates/validate", {400}, body='{"path": "/dev/zero"}')
    probe("validate /dev/urandom", "POST", "/v1/templates/validate", {400}, body='{"path": "/dev/urandom"}')
    probe("validate a directory", "POST", "/v1/templates/validate", {400}, body='{"path": "/"}')
    probe("import /dev/zero", "POST", "/v1/templates/imports", {400}, body='{"path": "/dev/zero"}')
    probe("validate path with NUL", "POST", "/v1/templates/validate", {200, 400}, body='{"path": "/tmp/a\\u0000b.yaml"}')
    probe("validate path of 100000 chars", "POST", "/v1/templates/validate", {200, 400}, body='{"path": "/' + "a" * 100000 + '"}',
          body_note='{"path": "/" + 100000 × "a"}')
    os.makedirs(TEMPLATE_DIR, exist_ok=True)
    fifo = os.path.join(WORK, "probe.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    released = threading.Event()

    def release():
        # Unblocks a daemon thread stuck opening the FIFO: open the write side, then close it.
        time.sleep(5.0)
        released.set()
        for _ in range(30):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
                return
            except OSError:
                time.sleep(0.2)

    t = threading.Thread(target=release, daemon=True)
    t.start()
    probe("validate a FIFO (named pipe)", "POST", "/v1/templates/validate",
          lambda s, t_: (not released.is_set(), "answered only after the probe opened the FIFO's write side" if released.is_set() else ""),
          body=json.dumps({"path": fifo}), timeout=15.0)
    t.join()

    # --- path parameters
    probe("template name of 5000 chars", "GET", "/v1/templates/" + "a" * 5000, {400, 404})
    probe("template name with encoded traversal", "GET", "/v1/templates/..%2F..%2Fetc%2Fpasswd", {400, 404})
    probe("template name with NUL", "GET", "/v1/templates/a%00b", {400, 404})
    probe("operation id not a uuid", "GET", "/v1/operations/%F0%9F%92%A5", {400, 404})
    probe("unknown workstation action", "POST", "/v1/workstations/fuzz-ws/explode", {400, 404}, body="{}")
    probe("wrong method", "PUT", "/v1/saves", {405}, body="{}")
    probe("operations limit 0", "GET", "/v1/operations?limit=0", {200})
    probe("operations limit negative", "GET", "/v1/operations?limit=-1", {400})
    probe("operations limit 2^32", "GET", "/v1/operations?limit=4294967296", {400})

    # --- a template whose valid name equals a static route under /v1/templates/
    for name in ("validate", "copies", "refresh"):
        with open(os.path.join(TEMPLATE_DIR, f"{name}.yaml"), "w") as f:
            f.write(f"name: {name}\ndescription: probe template named like a route\nbase: ubuntu-24.04\n")
    listed = probe("user templates named validate/copies/refresh are listed", "GET", "/v1/templates", {200})
    if listed:
        names = {t["name"] for t in json.loads(listed[1]).get("templates", [])}
        results[-1]["ok"] = {"validate", "copies", "refresh"} <= names
        results[-1]["outcome"] = f"listed: {sorted(n for n in names if n in ('validate', 'copies', 'refresh'))}"
    for name in ("validate", "copies", "refresh"):
        probe(f"GET /v1/templates/{name} (a valid template name)", "GET", f"/v1/templates/{name}",
              lambda s, t: (s == 200, "" if s == 200 else "the static POST route shadows the template"))

    # --- races: the same workstation name / the same save submitted concurrently
    def concurrent(label, n, method, path, body):
        outs = [None] * n
        barrier = threading.Barrier(n)

        def one(i):
            barrier.wait()
            try:
                outs[i] = request(method, path, body)[:2]
            except Exception as e:  # noqa: BLE001
                outs[i] = (None, str(e))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return outs

    outs = concurrent("launch", 8, "POST", "/v1/workstations", '{"template": "python-ml", "name": "race-ws"}')
    ok200 = sum(1 for s, _ in outs if s == 200)
    bad = [s for s, _ in outs if s is None or s >= 500]
    results.append({
        "name": "8 concurrent launches of one new name",
        "ok": ok200 == 1 and not bad,
        "outcome": f"statuses {sorted(str(s) for s, _ in outs)}; accepted {ok200} (expected exactly 1)",
        "reproduce": "8 × in parallel: " + curl("POST", "/v1/workstations", '{"template": "python-ml", "name": "race-ws"}'),
    })
    time.sleep(3)
    st, text, _ = request("GET", "/v1/workstations")
    n_race = sum(1 for w in json.loads(text)["workstations"] if w["name"] == "race-ws") if st == 200 else -1
    results.append({
        "name": "one workstation 'race-ws' exists after the concurrent launches",
        "ok": n_race == 1,
        "outcome": f"{n_race} rows named race-ws",
        "reproduce": curl("GET", "/v1/workstations"),
    })
    body = '{"workstation": "fuzz-ws", "template": "race-tpl", "mode": "live"}'
    outs = concurrent("save", 6, "POST", "/v1/saves", body)
    ok200 = sum(1 for s, _ in outs if s == 200)
    bad = [s for s, _ in outs if s is None or s >= 500]
    results.append({
        "name": "6 concurrent saves of one workstation",
        "ok": ok200 == 1 and not bad,
        "outcome": f"statuses {sorted(str(s) for s, _ in outs)}; accepted {ok200} (expected exactly 1, the others 409)",
        "reproduce": "6 × in parallel: " + curl("POST", "/v1/saves", body),
    })

    probe("health after the probes", "GET", "/v1/health", {200})
    json.dump(results, open(OUT, "w"), indent=1)
    failed = sum(1 for r in results if not r["ok"])
    print(f"probes: {len(results)} run, {failed} failed")


if __name__ == "__main__":
    main()
