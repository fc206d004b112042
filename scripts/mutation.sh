#!/usr/bin/env bash
# Mutation score of the pure layers (multistack/model/ and multistack/plan/) with mutmut 3.
#
# Why a copy: mutmut rewrites the package under ./mutants and runs the suite thousands of
# times; the working tree (and anyone editing it) must never see that. So this script
# copies the repository to $MUT_DIR (default /tmp/mut), runs mutmut there with the
# project's venv python, and prints killed/survived/timeout/suspicious and the score.
# Configuration lives in pyproject.toml [tool.mutmut]: the whole package is copied, only
# model/ and plan/ are mutated, the tests are every unit-level folder (tests/, not tests/e2e).
#
# Baseline failures (a test that already fails in the copy, e.g. someone's half-done edit)
# would make mutmut refuse to start; they are listed and deselected in the copy only.
#
# Time (measured 2026-12-01 on 2 cores shared with other work): HEAD's model/ and plan/
# make 3499 mutants, the restructured tree 7379. A whole run takes hours: each survivor runs
# every test that covers its function (10-30 s), a killed one stops at its first failure.
# Measured: generating the mutants + tracing which tests cover what ~3 min, the clean run
# ~3 min, then 10-40 mutants a minute: MUT_SAMPLE=700 on HEAD took ~45 min, MUT_SAMPLE=300
# on the restructured tree did not finish in 25 min. Every run starts from a fresh copy.
#
# Usage: scripts/mutation.sh            # copy the working tree, run every mutant, print the score
#        MUT_SAMPLE=800 scripts/mutation.sh  # a uniform random sample of 800 mutants (MUT_SEED=11)
#        MUT_REF=HEAD scripts/mutation.sh  # the last commit instead of the working tree
#        MUT_JOBS=1 MUT_DIR=/tmp/m2 scripts/mutation.sh
#        scripts/mutation.sh --survivors  # also list the surviving mutants' names
#        MUT_ONLY=multistack/model/mesh.py MUT_TESTS="tests/model/test_mesh_environments.py tests/act/test_mesh.py" \
#            scripts/mutation.sh       # one module, against the tests named (minutes, not hours)
#
# Per module: MUT_ONLY (one or more paths, space-separated) narrows what is mutated and
# MUT_TESTS what runs against it. Every mutant of model/ and plan/ lies in exactly one
# module, so the per-module runs added up are the whole layers' score, measured against
# each module's own tests (the whole suite can only kill more).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MUT_DIR="${MUT_DIR:-/tmp/mut}"
MUT_JOBS="${MUT_JOBS:-2}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
MUTMUT="$(dirname "$PY")/mutmut"

"$PY" -c "import mutmut" 2>/dev/null || { echo "mutmut is not installed: $ROOT/.venv/bin/pip install -e '.[test]'" >&2; exit 2; }

copy_tree() {
    rm -rf "$MUT_DIR" && mkdir -p "$MUT_DIR"
    if [[ -n "${MUT_REF:-}" ]]; then
        # a commit: consistent even while the working tree is being edited; the working
        # tree's pyproject.toml (its [tool.mutmut] section) is used with it
        git clone -q --no-checkout "$ROOT" "$MUT_DIR" && git -C "$MUT_DIR" checkout -q "$MUT_REF"
        cp "$ROOT/pyproject.toml" "$MUT_DIR/pyproject.toml"
    else
        tar -C "$ROOT" --exclude ./.venv --exclude ./node_modules --exclude ./mutants \
            --exclude .instances --exclude __pycache__ --exclude ./.hypothesis -cf - . | tar -C "$MUT_DIR" -xf -
    fi
}

narrow_to_module() {
    [[ -z "${MUT_ONLY:-}" ]] && return 0
    "$PY" - "$MUT_DIR/pyproject.toml" "$MUT_ONLY" "${MUT_TESTS:-tests --ignore=tests/e2e}" <<'PYEOF'
import json, re, sys
path, only, tests = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
text = open(path, encoding="utf-8").read()
text = re.sub(r"(?m)^only_mutate = .*$", "only_mutate = " + json.dumps(only), text)
text = re.sub(r"(?m)^pytest_add_cli_args_test_selection = .*$",
              "pytest_add_cli_args_test_selection = " + json.dumps(tests), text)
open(path, "w", encoding="utf-8").write(text)
PYEOF
}
BASELINE_TESTS=(tests --ignore=tests/e2e)
[[ -n "${MUT_ONLY:-}" && -n "${MUT_TESTS:-}" ]] && read -r -a BASELINE_TESTS <<<"$MUT_TESTS"

# A snapshot taken while someone is mid-edit may not even import, or fail many tests:
# take it again (every 30 s, 10 times at most) until at most MUT_MAX_FAILING tests fail.
MUT_MAX_FAILING="${MUT_MAX_FAILING:-3}"
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    echo "== copy $ROOT${MUT_REF:+ at $MUT_REF} -> $MUT_DIR (attempt $attempt)"
    copy_tree
    narrow_to_module
    if (cd "$MUT_DIR" && "$PY" -m pytest "${BASELINE_TESTS[@]}" -q -p no:cacheprovider --collect-only >/dev/null 2>&1); then
        echo "== baseline (tests that already fail are deselected in the copy)"
        set +e
        rm -rf "$MUT_DIR/.baseline-cache"
        (cd "$MUT_DIR" && PYTHONPATH="$MUT_DIR" "$PY" -m pytest "${BASELINE_TESTS[@]}" -m "not e2e" -q \
            -o cache_dir="$MUT_DIR/.baseline-cache" -rfE >"$MUT_DIR/baseline.txt" 2>&1)
        set -e
        # exact node ids from pytest's own record of what failed (the summary lines may be cut)
        mapfile -t FAILED < <("$PY" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))))' \
            "$MUT_DIR/.baseline-cache/v/cache/lastfailed" 2>/dev/null)
        tail -1 "$MUT_DIR/baseline.txt"
        ((${#FAILED[@]} <= MUT_MAX_FAILING)) && break
        echo "   ${#FAILED[@]} tests fail: someone is mid-edit"
    fi
    [[ $attempt == 10 ]] && { echo "no usable snapshot after 10 attempts; giving up" >&2; exit 1; }
    sleep 30
done
cd "$MUT_DIR"

if ((${#FAILED[@]})); then
    printf '   deselected: %s\n' "${FAILED[@]}"
    printf '%s\n' "${FAILED[@]}" >"$MUT_DIR/deselect.txt"
    # In the copy only: a collection hook drops them (node ids may hold quotes, spaces, any character).
    {
        echo ""
        echo ""
        echo "def pytest_collection_modifyitems(config, items):  # added by scripts/mutation.sh, in its copy only"
        echo "    import pathlib"
        echo ""
        echo "    failing = set(pathlib.Path(\"$MUT_DIR/deselect.txt\").read_text(encoding=\"utf-8\").splitlines())"
        echo "    dropped = [item for item in items if item.nodeid in failing]"
        echo "    if dropped:"
        echo "        config.hook.pytest_deselected(items=dropped)"
        echo "        items[:] = [item for item in items if item.nodeid not in failing]"
    } >>"$MUT_DIR/tests/conftest.py"
fi

# Subprocess tests (`inv ...` in a tmp folder) import the copy's unmutated package, not the
# editable install (the working tree, mid-edit): mutmut's trampolines cannot run outside
# its folder, so those tests never kill a mutant; the in-process tests do.
export PYTHONPATH="$MUT_DIR${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)
SAMPLE_FILE="$MUT_DIR/sample.txt"
rm -f "$SAMPLE_FILE"
# mutmut refuses to run when it made no mutant at all (a module of data classes only,
# e.g. model/sources.py): that is a row of zeros, not a failure; anything else stops here.
run_failed() {
    if [[ $("$PY" "$MUT_DIR/scripts/mutation_score.py" --count) == 0 ]]; then
        echo "   no mutant was made: nothing here to mutate"
        return
    fi
    tail -30 "$MUT_DIR/run.log"
    exit 1
}
if [[ -n "${MUT_SAMPLE:-}" ]]; then
    echo "== mutmut: generate the mutants and the test stats, run none"
    "$MUTMUT" run --max-children "$MUT_JOBS" no.such.mutant__mutmut_0 >"$MUT_DIR/generate.log" 2>&1 || true
    "$PY" "$MUT_DIR/scripts/mutation_score.py" --sample "$MUT_SAMPLE" "${MUT_SEED:-11}"
    echo "== mutmut run: the sample (max children $MUT_JOBS)"
    xargs -a "$SAMPLE_FILE" "$MUTMUT" run --max-children "$MUT_JOBS" >"$MUT_DIR/run.log" 2>&1 || run_failed
else
    echo "== mutmut run: every mutant (max children $MUT_JOBS)"
    "$MUTMUT" run --max-children "$MUT_JOBS" >"$MUT_DIR/run.log" 2>&1 || run_failed
fi
echo "   took $(($(date +%s) - start)) s"
"$PY" "$MUT_DIR/scripts/mutation_score.py" ${1:+"$1"}
