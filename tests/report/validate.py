#!/usr/bin/python3
"""Validate cellscan SBOMs against the official JSON schemas, plus the rules
those schemas cannot express.

usage: validate.py --schemas DIR {cyclonedx|spdx|sarif|report} FILE...

DIR is ../shared/fixtures/schemas (its README names the upstream commits).
CycloneDX documents are checked against cyclonedx/bom-1.6.schema.json (or
1.5, per specVersion) with its spdx.schema.json and jsf-0.82.schema.json
resolved locally by $id; SPDX documents against spdx/spdx-schema-2.3.json;
SARIF logs against sarif/sarif-schema-2.1.0.json; cellscan reports against
docs/report-schema.json of this source tree (JSON Schema 2020-12).
Format assertions are on where the installed jsonschema can check them.

Beyond the schemas (the SPDX 2.3 schema does not constrain SPDXIDs or
license expressions, the CycloneDX one not bom-ref uniqueness):
  both:      every package URL is canonical-looking (pkg:type/...@..., only
             purl-permitted characters, percent-escapes upper case,
             qualifiers sorted, no empty values).
  cyclonedx: bom-refs unique; every dependency ref and dependsOn names one;
             license ids are on the SPDX list; every vulnerability affects
             ref names one.
  sarif:     rule ids unique; every result's ruleId and ruleIndex name the
             same rule; security-severity is a number 0.0-10.0 as a string;
             every result has a partialFingerprints entry.
  report:    findings sorted (severity level, then id, then package name);
             summary counts agree with the findings.
  spdx:      SPDXIDs match SPDXRef-[A-Za-z0-9.-]+ and are unique;
             relationships name existing elements; licenseDeclared and
             licenseConcluded are NOASSERTION, NONE, or an expression over
             identifiers of the SPDX license list (the enum of
             cyclonedx/spdx.schema.json); created is YYYY-MM-DDThh:mm:ssZ;
             documentNamespace has no '#'.

Exit status: 0 all valid, 1 something invalid (each problem printed),
2 usage, 77 python3-jsonschema missing (printed).
"""

import json
import os
import re
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed")
    sys.exit(77)


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def make_validator(schema, store):
    cls = jsonschema.validators.validator_for(schema)
    checker = cls.FORMAT_CHECKER if hasattr(cls, "FORMAT_CHECKER") else jsonschema.FormatChecker()
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7
        registry = Registry().with_resources(
            (uri, Resource.from_contents(s, default_specification=DRAFT7))
            for uri, s in store.items())
        return cls(schema, registry=registry, format_checker=checker)
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return cls(schema, resolver=resolver, format_checker=checker)


def schema_errors(validator, doc):
    out = []
    try:
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in e.absolute_path)
            out.append("schema: at /%s: %s" % (where, e.message[:300]))
    except TypeError as e:
        # jsonschema 4.10 can fail while *formatting* some oneOf errors
        # (see the schemas README); that still means "invalid".
        out.append("schema: invalid (validator raised %s)" % e)
    return out


PURL_RE = re.compile(r"^pkg:[a-z][a-z0-9.+-]*/([A-Za-z0-9._~:%-]+/)*[A-Za-z0-9._~:%-]+"
                     r"(@[A-Za-z0-9._~:%-]+)?(\?[^#]*)?$")
PURL_VALUE_RE = re.compile(r"^[A-Za-z0-9._~:%-]+$")


def purl_problems(p):
    out = []
    if not PURL_RE.match(p):
        out.append("purl %r is not canonical" % p)
        return out
    for m in re.finditer(r"%(..)", p):
        if not re.match(r"^[0-9A-F]{2}$", m.group(1)):
            out.append("purl %r: bad percent-escape %%%s" % (p, m.group(1)))
    if "?" in p:
        keys = []
        for q in p.split("?", 1)[1].split("&"):
            if "=" not in q:
                out.append("purl %r: qualifier %r without '='" % (p, q))
                continue
            k, v = q.split("=", 1)
            if not re.match(r"^[a-z][a-z0-9._-]*$", k):
                out.append("purl %r: bad qualifier key %r" % (p, k))
            if not v or not PURL_VALUE_RE.match(v):
                out.append("purl %r: bad qualifier value %r" % (p, v))
            keys.append(k)
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            out.append("purl %r: qualifiers not sorted or repeated" % p)
    return out


def license_list(schemas):
    return set(load(os.path.join(schemas, "cyclonedx", "spdx.schema.json"))["enum"])


def expression_ok(s, ids):
    """SPDX 2.3 annex D, over the listed identifiers only."""
    toks = re.findall(r"\(|\)|[^\s()]+", s)
    if not toks or "".join(toks) != re.sub(r"\s+", "", s):
        return False
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def lic(t):
        return t in ids or (t.endswith("+") and t[:-1] in ids)

    def term(depth):
        if depth > 32:
            return False
        t = peek()
        if t == "(":
            take()
            if not disj(depth + 1) or peek() != ")":
                return False
            take()
            return True
        if t is None or t in ("AND", "OR", "WITH", ")") or not lic(t):
            return False
        take()
        if peek() == "WITH":
            take()
            e = peek()
            if e is None or e not in ids:
                return False
            take()
        return True

    def conj(depth):
        if not term(depth):
            return False
        while peek() == "AND":
            take()
            if not term(depth):
                return False
        return True

    def disj(depth):
        if not conj(depth):
            return False
        while peek() == "OR":
            take()
            if not conj(depth):
                return False
        return True

    return disj(0) and pos[0] == len(toks)


def check_cyclonedx(doc, schemas):
    ver = doc.get("specVersion") if isinstance(doc, dict) else None
    name = "bom-1.5.schema.json" if ver == "1.5" else "bom-1.6.schema.json"
    d = os.path.join(schemas, "cyclonedx")
    store = {}
    for f in (name, "spdx.schema.json", "jsf-0.82.schema.json"):
        s = load(os.path.join(d, f))
        store[s["$id"]] = s
    schema = load(os.path.join(d, name))
    errs = schema_errors(make_validator(schema, store), doc)
    if not isinstance(doc, dict):
        return errs
    ids = license_list(schemas)

    refs = []
    comps = []

    def walk(c):
        if isinstance(c, dict):
            comps.append(c)
            for sub in c.get("components", []) or []:
                walk(sub)

    walk((doc.get("metadata") or {}).get("component"))
    for c in doc.get("components", []) or []:
        walk(c)
    def walk_services(svcs):
        for sv in svcs or []:
            if isinstance(sv, dict):
                if "bom-ref" in sv:
                    refs.append(sv["bom-ref"])
                walk_services(sv.get("services"))

    walk_services(doc.get("services"))
    for c in comps:
        if "bom-ref" in c:
            refs.append(c["bom-ref"])
        if isinstance(c.get("purl"), str):
            errs += purl_problems(c["purl"])
        for l in c.get("licenses", []) or []:
            lid = (l.get("license") or {}).get("id") if isinstance(l, dict) else None
            if lid is not None and lid not in ids:
                errs.append("license id %r is not on the SPDX list" % lid)
            e = l.get("expression") if isinstance(l, dict) else None
            if e is not None and not expression_ok(e, ids):
                errs.append("license expression %r is not valid SPDX" % e)
    seen = set()
    for r in refs:
        if r in seen:
            errs.append("bom-ref %r is not unique" % r)
        seen.add(r)
    for dep in doc.get("dependencies", []) or []:
        if not isinstance(dep, dict):
            continue
        for r in [dep.get("ref")] + list(dep.get("dependsOn", []) or []):
            if r not in seen:
                errs.append("dependency names unknown bom-ref %r" % r)
    for v in doc.get("vulnerabilities", []) or []:
        if not isinstance(v, dict):
            continue
        for a in v.get("affects", []) or []:
            if isinstance(a, dict) and a.get("ref") not in seen:
                errs.append("vulnerability %r affects unknown bom-ref %r" % (v.get("id"), a.get("ref")))
    return errs


SPDXID_RE = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")


def check_spdx(doc, schemas):
    schema = load(os.path.join(schemas, "spdx", "spdx-schema-2.3.json"))
    errs = schema_errors(make_validator(schema, {}), doc)
    if not isinstance(doc, dict):
        return errs
    ids = license_list(schemas)
    # LicenseRef-s the document itself defines count as known.
    ids |= {e.get("licenseId") for e in doc.get("hasExtractedLicensingInfos", []) or []
            if isinstance(e, dict)}
    elements = set()
    for key in ("files", "snippets"):
        for e in doc.get(key, []) or []:
            if isinstance(e, dict):
                elements.add(e.get("SPDXID"))
    if doc.get("SPDXID") != "SPDXRef-DOCUMENT":
        errs.append("document SPDXID is %r" % doc.get("SPDXID"))
    elements.add(doc.get("SPDXID"))
    if doc.get("dataLicense") != "CC0-1.0":
        errs.append("dataLicense is %r" % doc.get("dataLicense"))
    created = (doc.get("creationInfo") or {}).get("created", "")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", str(created)):
        errs.append("creationInfo.created %r is not YYYY-MM-DDThh:mm:ssZ" % created)
    if "#" in str(doc.get("documentNamespace", "#")):
        errs.append("documentNamespace missing or has '#'")
    for p in doc.get("packages", []) or []:
        if not isinstance(p, dict):
            continue
        i = p.get("SPDXID")
        if not isinstance(i, str) or not SPDXID_RE.match(i):
            errs.append("package SPDXID %r is not SPDXRef-[A-Za-z0-9.-]+" % i)
        if i in elements:
            errs.append("SPDXID %r is not unique" % i)
        elements.add(i)
        for f in ("licenseDeclared", "licenseConcluded"):
            v = p.get(f)
            if v is None or v in ("NOASSERTION", "NONE"):
                continue
            if not expression_ok(v, ids):
                errs.append("package %s: %s %r is not a valid SPDX expression" % (i, f, v))
        for ref in p.get("externalRefs", []) or []:
            if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                errs += purl_problems(str(ref.get("referenceLocator")))
    for rel in doc.get("relationships", []) or []:
        if not isinstance(rel, dict):
            continue
        for k in ("spdxElementId", "relatedSpdxElement"):
            v = rel.get(k)
            if v in elements or v in ("NONE", "NOASSERTION") or \
                    (isinstance(v, str) and v.startswith("DocumentRef-")):
                continue
            errs.append("relationship names unknown element %r" % v)
    return errs


def check_sarif(doc, schemas):
    schema = load(os.path.join(schemas, "sarif", "sarif-schema-2.1.0.json"))
    # Draft-04 names itself with "id"; with it in the store, its own
    # "#/definitions/..." references resolve locally (no network).
    errs = schema_errors(make_validator(schema, {schema["id"]: schema}), doc)
    if not isinstance(doc, dict):
        return errs
    for run in doc.get("runs", []) or []:
        rules = ((run.get("tool") or {}).get("driver") or {}).get("rules", []) or []
        ids = [r.get("id") for r in rules if isinstance(r, dict)]
        if len(set(ids)) != len(ids):
            errs.append("rule ids are not unique")
        for r in rules:
            ss = (r.get("properties") or {}).get("security-severity")
            if ss is None:
                continue
            try:
                ok = isinstance(ss, str) and 0.0 <= float(ss) <= 10.0
            except ValueError:
                ok = False
            if not ok:
                errs.append("rule %r: security-severity %r is not 0.0-10.0" % (r.get("id"), ss))
        for i, res in enumerate(run.get("results", []) or []):
            k = res.get("ruleIndex")
            if not isinstance(k, int) or k >= len(ids) or ids[k] != res.get("ruleId"):
                errs.append("result %d: ruleIndex %r does not name rule %r" % (i, k, res.get("ruleId")))
            if not res.get("partialFingerprints"):
                errs.append("result %d has no partialFingerprints" % i)
    return errs


LEVELS = ["critical", "high", "medium", "low", "unknown"]


def check_report(doc, schemas):
    here = os.path.dirname(os.path.abspath(__file__))
    schema = load(os.path.join(here, "..", "..", "docs", "report-schema.json"))
    errs = schema_errors(make_validator(schema, {}), doc)
    if not isinstance(doc, dict) or errs:
        return errs

    def key(f):
        lvl = (f.get("severity") or {}).get("level")
        return (LEVELS.index(lvl) if lvl in LEVELS else 4, f.get("id"),
                (f.get("package") or {}).get("name") or "")

    fs = doc["findings"]
    keys = [key(f) for f in fs]
    if keys != sorted(keys):
        errs.append("findings are not sorted by level, id, package")
    ignored = sum(1 for f in fs if f["decision"]["status"] == "ignored")
    s = doc["summary"]
    if s["findings"] != len(fs) or s["ignored"] != ignored or s["reported"] != len(fs) - ignored:
        errs.append("summary finding counts disagree with the findings")
    if s["verdict"] != doc["verdict"]:
        errs.append("summary verdict disagrees")
    return errs


CHECKS = {"cyclonedx": check_cyclonedx, "spdx": check_spdx, "sarif": check_sarif,
          "report": check_report}


def main(argv):
    if len(argv) < 5 or argv[1] != "--schemas" or argv[3] not in CHECKS:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schemas, fmt, files = argv[2], argv[3], argv[4:]
    bad = 0
    for path in files:
        try:
            doc = load(path)
        except (OSError, ValueError) as e:
            print("%s: INVALID: cannot read JSON: %s" % (path, e))
            bad += 1
            continue
        errs = CHECKS[fmt](doc, schemas)
        if errs:
            bad += 1
            print("%s: INVALID (%d problems)" % (path, len(errs)))
            for e in errs[:50]:
                print("  " + e)
        else:
            print("%s: valid %s" % (path, fmt))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
