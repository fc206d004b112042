#!/usr/bin/env bash
# Set up everything the tests need (scripts/bootstrap.sh), then run the whole suite:
# unit tests, then end-to-end tests against the real Docker engine, PM2 and PostgreSQL.
# Extra arguments go to pytest. Usage: scripts/test.sh [-k expr] [-x]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$REPO/scripts/bootstrap.sh"
cd "$REPO"
export PATH="$REPO/.venv/bin:$REPO/node_modules/.bin:$PATH"
exec python -m pytest "$@"
