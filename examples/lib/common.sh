# common.sh - sourced by the examples' run scripts.  POSIX sh, the shipped
# tools and jq.  Gives:
#   $bin, $here, $work      the tools, the example's folder, a temp folder
#                           (kept with KEEP=1, or put in WORK=DIR)
#   use_model TASKS WORLD   with OPENAI_BASE_URL set: that endpoint (and
#                           PB_MODEL, OPENAI_API_KEY); else start pb-sim on
#                           TASKS and WORLD, stopped on exit
#   loop STATE TASKS BATCH ROUNDS SCORE...
#                           pb-sample | pb-query | SCORE | pb-update, at most
#                           ROUNDS rounds; ends early on pb-sample's status
#                           3 (a verdict, or the task pool used up) and
#                           sets $rounds and $stopped (1 if it stopped);
#                           the scored records are also appended to
#                           $work/scored.jsonl
#   say TEXT                a line on stdout
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -n "${PB_BIN:-}" ]; then
	case $PB_BIN in /*) bin=$PB_BIN ;; *) bin=$top/$PB_BIN ;; esac
elif [ -x "$top/build/pb-sample" ]; then
	bin=$top/build
else
	bin=$(dirname "$(command -v pb-sample)")
fi
PATH=$bin:$PATH
export PATH
if [ -n "${WORK:-}" ]; then
	work=$WORK
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/pbex.XXXXXX")
fi
sim=
# pb-query's cache: the user's, unless a test gives one
QUERY_OPTS=${QUERY_OPTS:--j 16}
cleanup() {
	[ -n "$sim" ] && kill "$sim" 2>/dev/null
	[ -n "${KEEP:-}${WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

say() { printf '%s\n' "$*"; }

use_model() {
	if [ -n "${OPENAI_BASE_URL:-}" ]; then
		say "model:  ${PB_MODEL:-gpt-4o-mini} at $OPENAI_BASE_URL"
		return 0
	fi
	rm -f "$work/sim.url"
	mkfifo "$work/sim.url"
	pb-sim --tasks "$1" --world "$2" --seed "${SIM_SEED:-1}" \
		>"$work/sim.url" 2>"$work/sim.err" &
	sim=$!
	read -r OPENAI_BASE_URL <"$work/sim.url" || { cat "$work/sim.err" >&2; exit 2; }
	export OPENAI_BASE_URL
	PB_MODEL=pb-sim
	export PB_MODEL
	say "model:  pb-sim, a simulated model at $OPENAI_BASE_URL (set OPENAI_BASE_URL for a real one)"
}

loop() {
	_st=$1 _tasks=$2 _batch=$3 _max=$4
	shift 4
	rounds=0
	stopped=0
	while [ "$rounds" -lt "$_max" ]; do
		_rc=0
		pb-sample -s "$_st" -n "$_batch" "$_tasks" >"$work/pulls.jsonl" 2>"$work/sample.err" || _rc=$?
		if [ "$_rc" -eq 3 ]; then
			stopped=1
			sed 's/^pb-sample: /stop:   /' "$work/sample.err"
			break
		elif [ "$_rc" -ne 0 ]; then
			cat "$work/sample.err" >&2
			exit "$_rc"
		fi
		rounds=$((rounds + 1))
		# shellcheck disable=SC2086
		pb-query $QUERY_OPTS -q <"$work/pulls.jsonl" | "$@" |
			tee -a "$work/scored.jsonl" | pb-update -s "$_st"
	done
}
