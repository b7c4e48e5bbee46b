#!/usr/bin/env python3
"""Summarizes schemathesis NDJSON reports (and the probes' JSON result) of scripts/fuzz-api.sh.

Usage: summarize.py OUT_DIR   (reads OUT_DIR/*/ndjson-*.ndjson, OUT_DIR/*/json-*.json,
                               OUT_DIR/probes.json; writes OUT_DIR/summary.txt and
                               OUT_DIR/summary.json; prints the text)

Exit code: 0, or 1 when a server error (5xx), a failed probe or a daemon crash was seen.
Spec-conformance failures (undocumented status, schema mismatch, ...) are reported, and only
fail the exit code with FUZZ_STRICT=1.
"""

import base64
import collections
import glob
import json
import os
import shlex
import sys


def curl(case, interaction):
    """A curl command line reproducing one request; the token is left as "$TOKEN"."""
    req = (interaction or {}).get("request") or {}
    method = req.get("method") or case.get("method", "GET")
    uri = req.get("uri") or case.get("path", "")
    words = ["curl", "-sS", "-X", method]
    for name, values in (req.get("headers") or {}).items():
        if name.lower() in ("user-agent", "accept-encoding", "accept", "connection", "content-length"):
            continue
        for v in values if isinstance(values, list) else [values]:
            if name.lower() == "x-prism-token":
                words.append('-H "x-prism-token: $TOKEN"')
            else:
                words += ["-H", shlex.quote(f"{name}: {v}")]
    body = req.get("body")
    tail = ""
    if isinstance(body, dict) and "$base64" in body:
        raw = base64.b64decode(body["$base64"])
        try:
            words += ["--data-binary", shlex.quote(raw.decode("utf-8"))]
        except UnicodeDecodeError:
            words += ["--data-binary", "@-"]
            tail = f"  # stdin: base64 -d <<< {body['$base64']}"
    elif isinstance(body, str):
        words += ["--data-binary", shlex.quote(body)]
    words.append(shlex.quote(uri))
    return " ".join(words) + tail


def load_run(run_dir):
    nd = sorted(glob.glob(os.path.join(run_dir, "ndjson-*.ndjson")))
    js = sorted(glob.glob(os.path.join(run_dir, "json-*.json")))
    report = json.load(open(js[-1])) if js else {}
    cases = 0
    requests = 0
    statuses = collections.Counter()
    per_op = collections.defaultdict(collections.Counter)
    checks = collections.defaultdict(collections.Counter)
    failures = collections.OrderedDict()  # (code, label, message head) -> details
    server_errors = []
    no_answer = []
    errors = []
    ops = set()
    elapsed = None
    for path in nd:
        for line in open(path):
            event = json.loads(line)
            for kind in ("NonFatalError", "FatalError"):
                if kind in event:
                    v = event[kind].get("value") or {}
                    errors.append(f"{event[kind].get('label', '?')}: {v.get('type', kind)}: {v.get('message', '')}")
            if "EngineFinished" in event:
                elapsed = event["EngineFinished"].get("running_time")
            if "ScenarioFinished" not in event:
                continue
            rec = event["ScenarioFinished"]["recorder"]
            label = rec.get("label", "?")
            phase = event["ScenarioFinished"].get("phase", "?")
            case_values = rec.get("cases", {})
            interactions = rec.get("interactions", {})
            cases += len(case_values)
            if label != "Stateful tests" and case_values:
                ops.add(label)
            for cid, it in interactions.items():
                requests += 1
                resp = it.get("response") or {}
                code = resp.get("status_code")
                statuses[code] += 1
                per_op[label][code] += 1
                if code is None:
                    no_answer.append((label, curl(case_values.get(cid, {}).get("value", {}), it)))
                if code is not None and code >= 500:
                    server_errors.append((label, code, curl(case_values.get(cid, {}).get("value", {}), it)))
            for cid, results in rec.get("checks", {}).items():
                for c in results:
                    checks[c["name"]][c["status"]] += 1
                    if c["status"] != "failure":
                        continue
                    f = c["failure_info"]["failure"]
                    msg = (f.get("message") or "").strip()
                    where = [x.strip() for x in msg.splitlines() if x.strip().startswith(("Schema at", "Invalid component"))]
                    key = (f.get("code"), f.get("operation") or label, f.get("title"), msg.splitlines()[0] if msg else "", tuple(where))
                    if key in failures:
                        failures[key]["count"] += 1
                        continue
                    case = case_values.get(cid, {}).get("value", {})
                    it = interactions.get(cid, {})
                    resp = it.get("response") or {}
                    content = resp.get("content") or {}
                    body = ""
                    if isinstance(content, dict) and "$base64" in content:
                        body = base64.b64decode(content["$base64"]).decode("utf-8", "replace")
                    failures[key] = {
                        "check": c["name"],
                        "code": f.get("code"),
                        "title": f.get("title"),
                        "operation": f.get("operation") or label,
                        "phase": phase,
                        "message": msg,
                        "status": resp.get("status_code"),
                        "response": body[:400],
                        "meta": (case.get("meta") or {}).get("phase", {}).get("data"),
                        "reproduce": curl(case, it),
                        "count": 1,
                    }
    return {
        "report": report,
        "cases": cases,
        "requests": requests,
        "statuses": statuses,
        "per_op": per_op,
        "checks": checks,
        "failures": failures,
        "server_errors": server_errors,
        "no_answer": no_answer,
        "errors": errors,
        "ops": ops,
        "elapsed": elapsed or report.get("running_time"),
    }


def main():
    out = sys.argv[1]
    lines = []
    p = lines.append
    bad = False
    summary = {"runs": {}}
    for run_dir in sorted(d for d in glob.glob(os.path.join(out, "*")) if os.path.isdir(d)):
        name = os.path.basename(run_dir)
        r = load_run(run_dir)
        if not r["report"] and not r["cases"]:
            continue
        rep = r["report"]
        tc = rep.get("test_cases", {})
        p(f"== schemathesis run '{name}' ==")
        p(f"operations tested: {len(r['ops'])} ({rep.get('operations', {}).get('tested', '?')} per schemathesis, "
          f"{rep.get('operations', {}).get('total', '?')} in the spec)")
        p(f"test cases: {tc.get('generated', r['cases'])} generated; HTTP requests recorded: {r['requests']}; "
          f"run time {r['elapsed'] or 0:.1f} s")
        p(f"cases with failures: {tc.get('with_failures', '?')}; unique failures: {tc.get('unique_failures', len(r['failures']))}; "
          f"errors: {len(rep.get('errors', []))}")
        p("responses by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items(), key=lambda kv: (kv[0] is None, kv[0] or 0))))
        p("per check (checks run / failed):")
        for check, cnt in sorted(r["checks"].items()):
            p(f"  {check:32} {sum(cnt.values()):6} / {cnt.get('failure', 0)}")
        p("per operation (responses by status):")
        for op, cnt in sorted(r["per_op"].items()):
            p(f"  {op:40} " + ", ".join(f"{k}: {v}" for k, v in sorted(cnt.items(), key=lambda kv: kv[0] or 0)))
        if r["server_errors"]:
            bad = True
            p(f"SERVER ERRORS (5xx): {len(r['server_errors'])}")
            for label, code, rep_cmd in r["server_errors"][:20]:
                p(f"  {label}: {code}\n    {rep_cmd}")
        if r["errors"] or r["no_answer"]:
            bad = True
            p(f"ERRORS (no answer within the request timeout, or a transport failure): {len(r['errors'])} reported, "
              f"{len(r['no_answer'])} requests without an answer")
            for e in r["errors"][:10]:
                p(f"  {e[:300]}")
            seen = set()
            for label, cmd in r["no_answer"]:
                if cmd not in seen and len(seen) < 10:
                    seen.add(cmd)
                    p(f"    no answer: {cmd}")
        p(f"distinct failures ({len(r['failures'])}):")
        for i, f in enumerate(r["failures"].values(), 1):
            lines_ = [x.strip() for x in f["message"].splitlines() if x.strip()]
            head = " | ".join(x for x in lines_ if not x.startswith(("{", "}", '"', "Validated against")))
            p(f"  {i}. [{f['code']} {f['check']}] {f['operation']} (phase {f['phase']}, seen {f['count']}x): {head[:300]}")
            if f["status"] is not None:
                p(f"     response {f['status']}: {f['response'][:200]}")
            p(f"     reproduce: {f['reproduce'][:1200]}")
        p("")
        summary["runs"][name] = {
            "operations_tested": len(r["ops"]),
            "cases_generated": tc.get("generated", r["cases"]),
            "requests": r["requests"],
            "unique_failures": tc.get("unique_failures", len(r["failures"])),
            "server_errors": len(r["server_errors"]),
            "errors": r["errors"],
            "no_answer": len(r["no_answer"]),
            "checks": {k: dict(v) for k, v in r["checks"].items()},
            "statuses": {str(k): v for k, v in r["statuses"].items()},
            "failures": list(r["failures"].values()),
        }
        if os.environ.get("FUZZ_STRICT") == "1" and r["failures"]:
            bad = True
    probes_path = os.path.join(out, "probes.json")
    if not os.path.exists(probes_path):
        bad = True
        p("== edge probes: FAIL, they did not complete (see the run's output) ==")
    else:
        probes = json.load(open(probes_path))
        failed = [x for x in probes if not x["ok"]]
        p(f"== edge probes: {len(probes)} run, {len(failed)} failed ==")
        for x in probes:
            p(f"  {'ok  ' if x['ok'] else 'FAIL'} {x['name']}: {x['outcome']}")
            if not x["ok"]:
                p(f"       reproduce: {x['reproduce']}")
        summary["probes"] = probes
        bad = bad or bool(failed)
    runs = summary["runs"]
    probes = summary.get("probes", [])
    total_cases = sum(r["cases_generated"] for r in runs.values())
    total_failures = sum(r["unique_failures"] for r in runs.values())
    total_5xx = sum(r["server_errors"] for r in runs.values())
    per_pass = ", ".join(f"{k}: {r['unique_failures']}" for k, r in runs.items())
    ops = max((r["operations_tested"] for r in runs.values()), default=0)
    p("")
    p(f"== TOTAL: operations tested {ops}; schemathesis cases {total_cases} in {len(runs)} pass(es); "
      f"unique failures {total_failures} ({per_pass}); "
      f"5xx answers {total_5xx}; probes {len(probes)} run, {sum(1 for x in probes if not x['ok'])} failed ==")
    summary["total"] = {"operations_tested": ops, "cases": total_cases, "unique_failures": total_failures,
                        "server_errors": total_5xx, "probes": len(probes),
                        "probes_failed": sum(1 for x in probes if not x["ok"])}
    extra = os.path.join(out, "daemon-check.txt")
    if os.path.exists(extra):
        text = open(extra).read().strip()
        p("== daemon ==")
        p(text)
        if "FAIL" in text:
            bad = True
    text = "\n".join(lines)
    open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
    json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1, default=str)
    print(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
