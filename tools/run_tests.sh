#!/usr/bin/env bash
# The test command: sets the environment up when it is missing, then runs pytest.
#   bash tools/run_tests.sh [pytest options, e.g. -k registry or -m "not slow"]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh || exit $?
"${MMGEN_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "run_tests: pytest collected no test for this selection (exit 5); nothing failed."
  rc=0
fi
exit $rc
