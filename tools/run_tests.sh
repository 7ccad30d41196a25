#!/usr/bin/env bash
# The test command: sets the environment up when it is missing, then runs pytest.
#   bash tools/run_tests.sh [pytest options, e.g. -k registry or -m "not slow"]
# Tests run in one pytest-xdist worker per core (at most 4), each with its share of the
# cores' threads (tests/conftest.py); MMGEN_TEST_WORKERS=1 (or -n 0) runs them in this
# process, as plain `pytest tests` does.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh || exit $?
workers="${MMGEN_TEST_WORKERS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}"
parallel=()
if [[ "$workers" -gt 1 && " $* " != *" -n "* && " $* " != *" -n0 "* && " $* " != *"--numprocesses"* ]]; then
  parallel=(-n "$workers" --dist worksteal)
fi
"${MMGEN_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "${parallel[@]}" "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "run_tests: pytest collected no test for this selection (exit 5); nothing failed."
  rc=0
fi
exit $rc
