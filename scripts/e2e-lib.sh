# Shared by the end-to-end scripts (sourced, not run): a scratch folder,
# a server PID killed on exit, and fail/pass reporting with the server log.
WORK=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
  rm -rf "${WORK:?}"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; echo "--- server log ---" >&2; cat "$WORK/server.log" >&2 || true; exit 1; }
pass() { echo "ok: $*"; PASSED=$((PASSED + 1)); }
PASSED=0
