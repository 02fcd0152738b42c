#!/usr/bin/env python3
"""FHIR transaction Bundles as a FHIR Bulk Data export: one NDJSON file per resource type
(<Type>.ndjson, one resource per line, what $export writes), in OUT_DIR. References between
entries ("urn:uuid:..." naming an entry's fullUrl) become the relative references an export
has ("Patient/<id>"); every other reference is left as it is.

    tests/e2e/bundles_to_ndjson.py OUT_DIR BUNDLE.json...
"""
import json
import os
import sys


def rewrite(value, by_full_url):
    if isinstance(value, dict):
        return {k: (by_full_url.get(v, v) if k == "reference" and isinstance(v, str)
                    else rewrite(v, by_full_url)) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, by_full_url) for v in value]
    return value


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    by_type = {}
    for path in paths:
        bundle = json.load(open(path))
        entries = [e for e in bundle.get("entry", []) if "resource" in e]
        by_full_url = {e["fullUrl"]: f'{e["resource"]["resourceType"]}/{e["resource"]["id"]}'
                       for e in entries if "fullUrl" in e}
        for e in entries:
            r = rewrite(e["resource"], by_full_url)
            by_type.setdefault(r["resourceType"], []).append(json.dumps(r, separators=(",", ":")))
    for resource_type, lines in sorted(by_type.items()):
        with open(os.path.join(out_dir, f"{resource_type}.ndjson"), "w") as out:
            out.write("\n".join(lines) + "\n")
    print(f"{sum(map(len, by_type.values()))} resources of {len(by_type)} types "
          f"from {len(paths)} bundle(s) in {out_dir}")


if __name__ == "__main__":
    main()
