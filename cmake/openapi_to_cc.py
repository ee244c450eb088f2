#!/usr/bin/env python3
"""docs/openapi.yaml -> a C++ file holding it as compact JSON (GET /api/v1/openapi.json).

Usage: openapi_to_cc.py IN.yaml OUT.cc [OUT.json]
Needs python3-yaml (scripts/install-deps). Refuses YAML that JSON cannot hold (non-string
keys, dates) so the served document is exactly the committed one.
"""
import json
import sys

import yaml


class _Loader(yaml.SafeLoader):
    pass


# Plain YAML timestamps would become datetime objects; the spec's values are strings.
_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def main() -> int:
    src, out_cc = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data = text.encode("utf-8")
    if len(sys.argv) > 3:
        with open(sys.argv[3], "wb") as f:
            f.write(data)
    body = ",".join(str(b) for b in data)
    cc = (
        "// Generated from docs/openapi.yaml by cmake/openapi_to_cc.py. Do not edit.\n"
        '#include "api/web_assets.h"\n'
        "namespace storyloom::api {\nnamespace {\n"
        f"const unsigned char kOpenApi[] = {{{body},0}};\n"
        "}  // namespace\n"
        "std::string_view OpenApiJson() {\n"
        f"  return std::string_view(reinterpret_cast<const char*>(kOpenApi), {len(data)});\n"
        "}\n}  // namespace storyloom::api\n"
    )
    try:
        with open(out_cc, encoding="utf-8") as f:
            if f.read() == cc:
                return 0
    except FileNotFoundError:
        pass
    with open(out_cc, "w", encoding="utf-8") as f:
        f.write(cc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
