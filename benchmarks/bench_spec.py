"""Loading and compiling a 50-route spec: the start-up cost a user pays before any conversation.

Prints the time to load (parse, meta-validate, bundle refs, build dataclasses) and to compile
(every schema to a strategy, every reply to a fast validator) a generated 50-route spec, beside
the time to parse the same YAML with PyYAML alone, measured in the same run. Target: load and
compile together under 0.5 s. Figures only; no assertions.

    python benchmarks/bench_spec.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from ws_routes.compile.route import compile_route
from ws_routes.spec.loader import load_spec

ROUTE = """\
  /ws/r{i}/{{room}}:
    path_params: {{room: {{type: string, pattern: "^[a-z]{{1,{n}}}$"}}}}
    query: {{type: object, properties: {{n{i}: {{type: integer}}}}}}
    auth: {{query_param: token, token: t}}
    messages:
      join: {{kind: json, schema: {{$ref: "chat.json"}}, reply: [ack]}}
      text: {{kind: text, schema: {{maxLength: {m}}}}}
      blob: {{kind: bytes, max_size: {n}}}
    replies:
      ack: {{kind: json, schema: {{type: object, required: [id{i}], properties: {{id{i}: {{type: integer}}}}}}}}
    close_codes: [1000, 4400]
"""

CHAT = (
    '{"$defs": {"room": {"type": "string", "pattern": "^[a-z]+$"}}, "type": "object",'
    ' "required": ["type", "room"], "properties": {"type": {"const": "join"},'
    ' "room": {"$ref": "#/$defs/room"}}}'
)


def best_of(runs: int, func: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ws-routes-spec-"))
    (folder / "chat.json").write_text(CHAT)
    text = "version: 1\nroutes:\n" + "".join(ROUTE.format(i=i, n=i + 1, m=i + 5) for i in range(50))
    path = folder / "ws-routes.yaml"
    path.write_text(text)

    yaml_only = best_of(3, lambda: yaml.safe_load(text))
    cold_start = time.perf_counter()
    spec = load_spec(path)
    cold = time.perf_counter() - cold_start
    load = best_of(3, lambda: load_spec(path))
    compile_all = best_of(3, lambda: [compile_route(r) for r in spec.routes])
    print(f"50-route spec, {len(text):,} bytes of YAML")
    print(f"  PyYAML safe_load alone:     {yaml_only * 1000:7.1f} ms (baseline)")
    print(f"  load_spec, first call:      {cold * 1000:7.1f} ms (builds the cached meta-validator)")
    print(f"  load_spec, warm:            {load * 1000:7.1f} ms ({load / yaml_only:.1f}x the baseline)")
    print(f"  compile_route x 50:         {compile_all * 1000:7.1f} ms")
    print(f"  load + compile (first):     {(cold + compile_all) * 1000:7.1f} ms   target < 500 ms")


if __name__ == "__main__":
    main()
