"""kill -9 at any moment of claiming: the registry always parses, no number or checkout is claimed twice,
the lock is free again, and the next write removes what the killed writer left."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

from invoke import Context

from multistack.act.claims import claim
from multistack.io.claims import place_of, read_registry
from multistack.model.stack import load_stack
from tests.claimsrepo import git_repo

ROOT = Path(__file__).resolve().parents[2]
CHECKOUTS = 4
KILLS = 12

LOOPER = textwrap.dedent("""\
    import random, sys
    from dataclasses import replace
    from pathlib import Path
    from invoke import Context
    from multistack.act.claims import claim, release
    from multistack.errors import StackError
    from multistack.io.claims import place_of
    from multistack.model.stack import load_stack
    stack = load_stack(Path(sys.argv[1]) / "stack.yaml")
    places = [replace(place_of(stack), checkout=Path(p)) for p in sys.argv[2:]]
    c = Context()
    print("ready", flush=True)
    while True:
        place = random.choice(places)
        if random.random() < 0.6:
            claim(c, stack, None, place=place)
        else:
            release(c, stack, place=place)
""")


def test_kill_9_while_claiming_never_damages_the_registry(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    stack = load_stack(repo / "stack.yaml")
    checkouts = [tmp_path / f"checkout{i}" for i in range(CHECKOUTS)]
    for path in checkouts:
        (path / ".git").mkdir(parents=True)  # looks like a live checkout: never stale
    place = place_of(stack)
    rng = random.Random(15)
    seen_claims = 0
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", LOOPER, str(repo), *map(str, checkouts)], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        registry = read_registry(place)  # parses: a damaged or duplicated registry raises here
        claimed = registry.of_stack(place.key)
        assert len({c.instance for c in claimed}) == len(claimed) == len({c.checkout for c in claimed})
        assert all(c.instance in stack.instance_range for c in claimed)
        seen_claims += len(claimed)
    assert seen_claims > 0, "the killed processes never wrote a claim: the test saw nothing"
    # the lock is free again and a new write tidies the dead writers' temp files
    fresh = replace(place, checkout=tmp_path / "last")
    (fresh.checkout / ".git").mkdir(parents=True)
    claim(Context(), stack, None, place=fresh)
    assert not [p.name for p in place.registry.parent.iterdir() if p.name.endswith(".tmp")]
