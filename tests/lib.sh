# lib.sh - shared by the shell tests (tests/NNNN-*.t).  Sourced, not run.
# Gives a temp dir cleaned up on exit, LC_ALL=C, the tools on PATH (from
# $PB_BIN, default build/), TAP helpers and a pb-sim on a free port.
set -u
LC_ALL=C
export LC_ALL
unset PB_STATE OPENAI_API_KEY OPENAI_BASE_URL ANTHROPIC_API_KEY ANTHROPIC_BASE_URL
TOP=${PB_TOP:-$(cd "$(dirname "$0")/.." && pwd)}  # PB_TOP: for tests/stress/
BIN=$TOP/${PB_BIN:-build}
case ${PB_BIN:-} in /*) BIN=$PB_BIN ;; esac
PATH=$BIN:$PATH
export PATH
DATA=$TOP/tests/data
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pbtest.XXXXXX")
# pb-query's response cache: inside the test's folder, never the user's
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
SIM_PID=
cleanup() {
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM
cd "$TMP" || exit 2

_n=0
_fail=0
plan() { echo "1..$1"; }
ok() { # ok COND-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"
	else echo "not ok $_n - $2"; _fail=$((_fail + 1)); fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then ok 0 "$3"
	else ok 1 "$3"; diag "got:  '$1'" "want: '$2'"; fi
}
# like GOT ERE DESCRIPTION
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"
	else ok 1 "$3"; diag "got:  '$1'" "want match: /$2/"; fi
}
# run CMD...: stdout to $TMP/out, stderr to $TMP/err; sets OUT ERR RC.
# Standard input is the caller's (redirect it on the call).
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}
# A state file's bytes, to show a failed run changed nothing.
sum() { cksum <"$1"; }

# start_sim ARGS...: start pb-sim on a free loopback port, wait for the URL
# it prints, export OPENAI_BASE_URL.  Stopped by the exit trap.
start_sim() {
	rm -f "$TMP/sim.url"
	mkfifo "$TMP/sim.fifo"
	pb-sim "$@" >"$TMP/sim.fifo" 2>"$TMP/sim.err" &
	SIM_PID=$!
	if ! read -r OPENAI_BASE_URL <"$TMP/sim.fifo"; then
		echo "Bail out! pb-sim did not start: $(cat "$TMP/sim.err")"
		exit 2
	fi
	rm -f "$TMP/sim.fifo"
	export OPENAI_BASE_URL
}
stop_sim() {
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
	SIM_PID=
}
# sum_tasks N: tasks.jsonl with N questions "What is i + i?" and answers.
sum_tasks() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"id\":\"t%d\",\"input\":\"What is %d + %d?\",\"answer\":\"%d\"}\n", i, i, i, i + i }' >tasks.jsonl
}
# The pull ids of records in FILE..., on one line.
pulls() { sed 's/^{"pull":\([0-9]*\),.*/\1/' "$@" | tr '\n' ' '; }
# pb-sim's request counts since the last call, which zeroes them.
reset() { curl -s -X POST "${OPENAI_BASE_URL%/v1}/pb-sim/reset"; }
# field JSON NAME: the integer value of "NAME" in the JSON text.
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
now() { date +%s.%N; }
# at_least A B C: prints 0 when A - B >= C (elapsed-time lower bounds).
at_least() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { exit !(a - b >= c) }'; echo $?; }

# trained_state FILE: a uniform state of tests/data/arms3.jsonl with 30
# pulls applied, 10 per arm: careful right 8 times, turing 5, plain 2.
trained_state() {
	pb-update -s "$1" --init "$DATA/arms3.jsonl" --policy uniform
	for _i in 1 2 3 4 5 6; do jq -c --arg i "$_i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done >"$TMP/tasks30.jsonl"
	pb-sample -s "$1" "$TMP/tasks30.jsonl" |
	jq -c '. as $r | ({"careful": 8, "turing": 5, "plain": 2}[.arm]) as $k |
	       ((.pull - 1) / 3 | floor) as $i | $r + {reward: (if $i < $k then 1 else 0 end)}' |
	pb-update -s "$1"
}
done_testing() { [ "$_fail" -eq 0 ]; exit $?; }

# ---- for the reliability tests (tests/08[5-8]0-*.t, make stress) ----
# long SHORT LONG: LONG under make stress (PB_STRESS set, not 0), else SHORT.
long() { case ${PB_STRESS:-0} in 0 | '') echo "$1" ;; *) echo "$2" ;; esac; }
# randoms SEED N MAX: N pseudo-random integers in [0, MAX), one a line,
# the same for the same SEED (awk's generator: no $RANDOM in sh).
randoms() { awk -v s="$1" -v n="$2" -v m="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) print int(rand() * m) }'; }
# killafter US CMD...: run CMD, SIGKILL it after US microseconds; the
# status is CMD's, or 137 when the kill landed (tests/killafter.c).
killafter() { "$BIN/tests/killafter" "$@"; }
# summary STATE: what the reliability tests compare, as one line of JSON:
# updates, and each arm's (and pair's, and context's) exact totals.
summary() {
	jq -Sc 'def arms: [.[] | [.id, .pulls, .sum, .sumsq, .errors]];
	        def pairs: [(.pairs // [])[] | select(.tasks > 0) |
	                    [.arms[0], .arms[1], .tasks, .sum, .sumsq, .wins, .losses]] | sort;
	        {updates, arms: (.arms | arms), pairs: pairs,
	         contexts: [(.contexts.values // [])[] | {value, arms: (.arms | arms), pairs: pairs}] | sort_by(.value)}' "$1"
}
# expected ARMS-ORDER-JSON UPDATES FILE...: the summary the scored records
# FILE... should leave in a fresh state, computed from the records alone
# (a pair: the records of one file with the same "group").
expected() {
	_order=$1 _upd=$2
	shift 2
	jq -Scn --argjson order "$_order" --argjson upd "$_upd" '
	  ($order | to_entries | map({(.value): .key}) | add) as $rank |
	  def r: .reward // 0;
	  def arms($rs): $order | map(. as $a | [$rs[] | select(.arm == $a)] as $x |
	    [$a, ($x | map(select(.reward != null)) | length), ($x | map(r) | add // 0),
	     ($x | map(r * r) | add // 0), ($x | map(select(.reward == null)) | length)]);
	  def pairs($rs): [$rs | map(select(.group != null)) | group_by([.f, .group])[] |
	    select(length == 2 and all(.[]; .reward != null)) | sort_by($rank[.arm]) |
	    {a: .[0].arm, b: .[1].arm, d: (.[0].reward - .[1].reward)}] |
	    group_by([.a, .b]) | map([.[0].a, .[0].b, length, (map(.d) | add), (map(.d * .d) | add),
	    (map(select(.d > 0)) | length), (map(select(.d < 0)) | length)]) | sort;
	  [inputs | . + {f: input_filename}] as $all |
	  {updates: $upd, arms: arms($all), pairs: pairs($all),
	   contexts: [$all | map(select(.context != null)) | group_by(.context)[] |
	              {value: .[0].context, arms: arms(.), pairs: pairs(.)}] | sort_by(.value)}' "$@"
}
# todo COND-STATUS DESCRIPTION REASON: a TAP TODO test, for a proof that
# fails on a known defect of code under repair: reported, not counted.
todo() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2 # TODO $3"
	else echo "not ok $_n - $2 # TODO $3"; fi
}
# skip N REASON: N tests skipped, for what this machine cannot do.
skip() {
	_i=0
	while [ $_i -lt "$1" ]; do
		_i=$((_i + 1)) _n=$((_n + 1))
		echo "ok $_n # SKIP $2"
	done
}
