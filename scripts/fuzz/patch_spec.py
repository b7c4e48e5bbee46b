#!/usr/bin/env python3
"""Lints prismd's OpenAPI document and writes a corrected copy for the second fuzzing pass.

Usage: patch_spec.py SPEC_IN SPEC_OUT NOTES_OUT

The first pass fuzzes the document as served. Its known mismatches (below) would hide
anything behind them, so the second pass runs on a copy with them corrected:

1. parameters declared `in: path` that are not in the path template (utoipa's IntoParams
   default) become `in: query`, optional when their type allows null — otherwise schemathesis
   never sends them and the query handling is not fuzzed at all;
2. `type: object` properties that the server also answers as `null` (Option<serde_json::Value>
   with `#[schema(value_type = Object)]`) become `["object", "null"]`;
3. every operation documents the error answers the daemon gives on any route (400, 401, 403,
   404, 409, 413, 415, 422, 502 with an ApiError body), as `ApiError` says "Error body of every non-2xx answer";
4. routes the daemon serves but the document leaves out are added (POST /v1/templates/refresh).

What was corrected is written to NOTES_OUT, one line each: these are findings about the
document itself.
"""

import collections
import copy
import json
import re
import sys

ERROR_CODES = ["400", "401", "403", "404", "409", "413", "415", "422", "502"]
NULLABLE_OBJECTS = [("Operation", "result"), ("OperationEvent", "payload")]


def main():
    spec_in, spec_out, notes_out = sys.argv[1:4]
    spec = json.load(open(spec_in))
    fixed = copy.deepcopy(spec)
    notes = []
    err_ref = {"$ref": "#/components/schemas/ApiError"}

    ids = collections.Counter()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "operationId" in op:
                ids[op["operationId"]] += 1
    for op_id, n in sorted(ids.items()):
        if n > 1:
            where = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, o in ops.items() if o.get("operationId") == op_id]
            notes.append(f"duplicate operationId '{op_id}' on {n} operations ({', '.join(where)}); OpenAPI requires unique ids")

    undocumented = collections.defaultdict(list)
    for path, ops in fixed["paths"].items():
        template_params = set(re.findall(r"{([^}]+)}", path))
        for method, op in ops.items():
            label = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if param.get("in") == "path" and param["name"] not in template_params:
                    notes.append(f"{label}: parameter '{param['name']}' is declared in: path but is a query parameter (not in the path template)")
                    param["in"] = "query"
                    t = param.get("schema", {}).get("type")
                    if isinstance(t, list) and "null" in t:
                        param["required"] = False
                        param["schema"]["type"] = [x for x in t if x != "null"] or t
            responses = op.setdefault("responses", {})
            missing = [c for c in ERROR_CODES if c not in responses]
            for c in missing:
                undocumented[c].append(label)
                responses[c] = {"description": "error", "content": {"application/json": {"schema": err_ref}}}

    total = sum(len(ops) for ops in spec["paths"].values())
    for c in ERROR_CODES:
        if undocumented[c]:
            notes.append(f"status {c} (ApiError) undocumented on {len(undocumented[c])} of {total} operations"
                         + (f": {', '.join(undocumented[c])}" if len(undocumented[c]) < total else " (all)"))

    schemas = fixed.get("components", {}).get("schemas", {})
    for name, prop in NULLABLE_OBJECTS:
        p = schemas.get(name, {}).get("properties", {}).get(prop)
        if p is not None and p.get("type") == "object":
            notes.append(f"schema {name}.{prop} is type object but the daemon answers null (Option<Value>): should be [object, null]")
            p["type"] = ["object", "null"]

    if "/v1/templates/refresh" not in fixed["paths"] and "RefreshRequest" in schemas:
        notes.append("POST /v1/templates/refresh is served (routes/mod.rs) but missing from the document's paths (templates::refresh not listed in #[openapi(paths(...))])")
        fixed["paths"]["/v1/templates/refresh"] = {
            "post": {
                "operationId": "refresh",
                "summary": "Discovers saved templates from EC2 (added by scripts/fuzz/patch_spec.py)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshRequest"}}}},
                "responses": {
                    "200": {"description": "report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshReport"}}}},
                    **{c: {"description": "error", "content": {"application/json": {"schema": err_ref}}} for c in ERROR_CODES},
                },
            }
        }

    json.dump(fixed, open(spec_out, "w"), indent=1)
    open(notes_out, "w").write("".join(f"- {n}\n" for n in notes))
    print(f"patch_spec: {len(notes)} corrections, corrected spec in {spec_out}")


if __name__ == "__main__":
    main()
