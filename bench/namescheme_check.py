"""The cost of the name uniqueness check (plan/namespaces.check_stack) with the stack's range.

`check_stack` runs before every `init`, `start`, `info` and teardown, over every instance
the stack can run. Without declared schemes only the namespaces are compared; with the
WarLink preset (and a selector, and one entity) every built-in and declared name is
rendered and compared too. Figures only: timing goals live here, not in the test suite.

    python bench/namescheme_check.py
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from multistack.model.stack import load_stack
from multistack.plan.namespaces import check_stack

STACK = """\
project: shop
instances: 0-{last}
stride: 1
services:
  api: {{port: 1024}}
apps:
  api: {{command: python3 api.py}}
"""
PRESET = "namespaces:\n  preset: warlink\n  selectors: {api: line1}\n  entities: [{plc: Main PLC, tag: T}]\n"


def best_of(stack_text: str, runs: int = 3) -> float:
    folder = Path(tempfile.mkdtemp())
    (folder / "stack.yaml").write_text(stack_text)
    stack = load_stack(folder / "stack.yaml")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        check_stack(stack)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'instances':>9}  {'built-in names':>14}  {'warlink preset':>14}")
    for last in (9, 999, 9999):
        plain = best_of(STACK.format(last=last))
        preset = best_of(STACK.format(last=last) + PRESET)
        print(f"{last + 1:>9}  {plain * 1000:>12.1f}ms  {preset * 1000:>12.1f}ms")


if __name__ == "__main__":
    main()
