#!/usr/bin/env bash
# The mutation score of model/ and plan/, module by module (scripts/mutation-modules.txt says
# which tests run against which module). Every mutant lies in exactly one module, so the
# rows add up to the whole layers' score, each module measured against its own unit tests.
# A whole-suite run per mutant takes hours on 2 cores; this takes tens of minutes.
#
# Usage: scripts/mutation-layers.sh                  # every module in the list
#        scripts/mutation-layers.sh multistack/plan/pm2.py multistack/model/start.py
#        MUT_JOBS=2 MUT_ROOT=/tmp/mut-layers scripts/mutation-layers.sh
# Prints one row per module (mutants, killed, survived, timeout) and the total; each
# module's survivors are in $MUT_ROOT/<module>.txt. Exit 1 if a module's run failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAP="$ROOT/scripts/mutation-modules.txt"
MUT_ROOT="${MUT_ROOT:-/tmp/mut-layers}"
mkdir -p "$MUT_ROOT"

declare -A TESTS
ORDER=()
while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    TESTS[${line%%:*}]="${line#*: }"
    ORDER+=("${line%%:*}")
done <"$MAP"
(($#)) && ORDER=("$@")

share() { awk -v a="$1" -v t="$2" 'BEGIN { printf "%.1f", t ? 100 * a / t : 0 }'; }

failed=0
sum_total=0 sum_killed=0 sum_alive=0 sum_timeout=0
printf '%-34s %8s %7s %9s %8s %9s\n' module mutants killed surviving timeout share
for module in "${ORDER[@]}"; do
    [[ -n ${TESTS[$module]:-} ]] || { echo "error: $module is not in $MAP (fix: add a line for it)" >&2; exit 2; }
    slug=$(basename "$(dirname "$module")")-$(basename "$module" .py)
    log="$MUT_ROOT/$slug.txt"
    if ! MUT_DIR="$MUT_ROOT/$slug" MUT_ONLY="$module" MUT_TESTS="${TESTS[$module]}" \
        "$ROOT/scripts/mutation.sh" --survivors >"$log" 2>&1; then
        echo "$module: the run failed (see $log)" >&2
        failed=1
        continue
    fi
    rm -rf "${MUT_ROOT:?}/$slug"
    counts=$(grep -m1 -E '^ +killed=' "$log")
    total=$(grep -m1 -oE 'total=[0-9]+' "$log" | cut -d= -f2)
    alive=$(grep -m1 -oE 'surviving \(survived \+ no tests\) = [0-9]+' "$log" | grep -oE '[0-9]+$')
    killed=$(grep -oE 'killed=[0-9]+' <<<"$counts" | cut -d= -f2)
    timeout=$(grep -oE 'timeout=[0-9]+' <<<"$counts" | cut -d= -f2)
    printf '%-34s %8s %7s %9s %8s %8s%%\n' "${module#multistack/}" "$total" "$killed" "$alive" "$timeout" \
        "$(share "$alive" "$total")"
    sum_total=$((sum_total + total)) sum_killed=$((sum_killed + killed))
    sum_alive=$((sum_alive + alive)) sum_timeout=$((sum_timeout + timeout))
done
printf '%-34s %8s %7s %9s %8s %8s%%\n' "all (${#ORDER[@]} modules)" "$sum_total" "$sum_killed" "$sum_alive" "$sum_timeout" \
    "$(share "$sum_alive" "$sum_total")"
exit $failed
