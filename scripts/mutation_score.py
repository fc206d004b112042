"""The mutation score of the run in ./mutants (mutmut 3 keeps each mutant's exit code in .meta files).

Run by scripts/mutation.sh from its copy of the repository:

    mutation_score.py                 print killed/survived/timeout/suspicious and the score
    mutation_score.py --survivors     ... and the surviving mutants, counted per function
    mutation_score.py --sample N SEED pick a uniform random sample of N mutants (sample.txt)
    mutation_score.py --count         print how many mutants were made (0: nothing to mutate)

With a sample.txt next to mutants/, only the sampled mutants count (and the score gets
its 95% interval): a whole run takes longer than a working session on 2 cores.
"""
from __future__ import annotations

import collections
import json
import math
import random
import sys
from pathlib import Path

from mutmut.stats import status_by_exit_code

SAMPLE = Path("sample.txt")


def exit_codes() -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        found.update(json.loads(meta.read_text()).get("exit_code_by_key", {}))
    return found


def results() -> dict[str, str]:
    found = {name: status_by_exit_code[code] for name, code in exit_codes().items()}
    if SAMPLE.is_file():
        wanted = set(SAMPLE.read_text().split())
        found = {k: v for k, v in found.items() if k in wanted}
    return found


def pick(size: int, seed: int) -> None:
    names = sorted(exit_codes())
    picked = sorted(random.Random(seed).sample(names, min(size, len(names))))
    SAMPLE.write_text("\n".join(picked) + "\n")
    print(f"   {len(names)} mutants; a uniform sample of {len(picked)} (seed {seed}) is run")


def report(survivors: bool) -> None:
    found = results()
    counts = collections.Counter(found.values())
    total = len(found) - counts["not checked"]  # a run still going, or stopped: what was checked
    alive = counts["survived"] + counts["no tests"]
    shown = [k for k in ("killed", "survived", "timeout", "suspicious", "no tests", "not checked", "segfault")
             if counts[k] or k in ("killed", "survived", "timeout", "suspicious")]
    print("   " + "  ".join(f"{k}={counts[k]}" for k in shown))
    share = alive / max(total, 1)
    line = f"   total={total}  surviving (survived + no tests) = {alive} = {100 * share:.1f}%"
    if SAMPLE.is_file():
        margin = 1.96 * math.sqrt(share * (1 - share) / max(total, 1))
        line += f" (a sample: 95% interval +-{100 * margin:.1f} points)"
    print(line)
    if survivors:
        by_function = collections.Counter(name.split("__mutmut_")[0] for name, status in found.items()
                                          if status in ("survived", "no tests"))
        for function, n in by_function.most_common():
            print(f"   {n:4}  {function}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--sample"]:
        pick(int(argv[1]), int(argv[2]))
    elif argv[:1] == ["--count"]:
        print(len(exit_codes()))
    else:
        report("--survivors" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
