#!/usr/bin/env python3
"""Converts the OSV YAML records under SRC (recursively) to JSON files in DST.

Used by test_import.c so that every fixture record, the PyPA YAML ones too,
goes through `db import` (which reads JSON only, as OSV publishes it).
BaseLoader keeps every scalar as the text written in the file, so timestamps
stay RFC 3339 strings exactly as published. Exit 3 when PyYAML is missing
(the test then skips the YAML records and says so).
"""
import json
import os
import sys

try:
    import yaml
except ImportError:
    sys.exit(3)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    n = 0
    for root, _dirs, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".yaml"):
                continue
            with open(os.path.join(root, name), encoding="utf-8") as f:
                rec = yaml.load(f, Loader=yaml.BaseLoader)
            out = os.path.join(dst, os.path.basename(root) + "--" + name[:-5] + ".json")
            with open(out, "w", encoding="utf-8") as f:
                json.dump(rec, f, ensure_ascii=False)
            n += 1
    print(n)


if __name__ == "__main__":
    main()
