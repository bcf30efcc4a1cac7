#!/bin/sh
# The end-to-end loop under valgrind's memcheck: four rounds of pb-sample
# | pb-query | pb-score | pb-update against pb-sim (itself under memcheck),
# one of them paired, then pb-report: no error and no leak (definite or
# indirect) in any process.  Run by make stress only (the tools of the
# plain build; valgrind cannot run the sanitized ones).
PB_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$PB_TOP/tests/lib.sh"
if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP valgrind not installed"
	exit 0
fi
if [ -n "${PB_SAN:-}" ]; then
	echo "1..0 # SKIP the sanitized build does not run under valgrind"
	exit 0
fi
plan 14

# vg TOOL ARGS...: the tool under memcheck; its report in vg.TOOL.PID.
VG="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect"
vg() {
	_t=$1
	shift
	$VG --log-file="$TMP/vg.$_t.%p" "$BIN/$_t" "$@"
}
jq -nc 'range(24) | {id: "q\(.)", input: "What is \(.) + \(. + 1)?", answer: "\(. + . + 1)", domain: ["a", "b"][. % 2]}' >tasks.jsonl
mkfifo "$TMP/sim.fifo"
$VG --log-file="$TMP/vg.pb-sim.%p" "$BIN/pb-sim" --tasks tasks.jsonl --seed 5 \
    --fault 429:0.1,500:0.05 --retry-after 0.05 \
    --stats-file "$TMP/sim.stats" >"$TMP/sim.fifo" 2>"$TMP/sim.err" &
SIM_PID=$!
read -r OPENAI_BASE_URL <"$TMP/sim.fifo" || { echo "Bail out! pb-sim did not start: $(cat "$TMP/sim.err")"; exit 2; }
export OPENAI_BASE_URL

fail= failu=
vg pb-update -s st.json --init "$DATA/arms3.jsonl" --policy thompson --context domain --seed 2 || failu="$failu init"
for k in 1 1 2 1; do
	vg pb-sample -s st.json -n 8 -k $k tasks.jsonl >pulls 2>>err.log || fail="$fail pb-sample"
	vg pb-query -q -j 4 --cache "$TMP/c" <pulls >answers 2>>err.log || fail="$fail pb-query"
	vg pb-score --scorer number <answers >scored 2>>err.log || fail="$fail pb-score"
	vg pb-update -s st.json scored 2>>err.log || failu="$failu update"
	cat scored >>all.jsonl
done
vg pb-report -s st.json >report.txt 2>>err.log || fail="$fail pb-report"
vg pb-report -s st.json --json --history >report.json 2>>err.log || fail="$fail pb-report"
stop_sim
# an error exit: records to a full disk (the pulls stay pending, pb-sample(1))
pb-sample -s st.json -n 2 tasks.jsonl >/dev/full 2>full.err
rc=$?
$VG --log-file="$TMP/vgerr.%p" "$BIN/pb-sample" -s st.json -n 2 tasks.jsonl >/dev/full 2>/dev/null
# errors TOOL: what memcheck said about TOOL's processes
errors() { cat "$TMP"/vg."$1".*; }
is "$fail" "" "pb-sample, pb-query, pb-score and pb-report exited 0 under memcheck"
is "$(cat err.log)" "" "nothing on stderr"
is "$(jq .updates st.json)" 40 "40 pulls applied"
is "$(jq -c '[.arms[].pulls] | add' st.json)" "$(jq -s 'map(select(.reward != null)) | length' all.jsonl)" \
   "the state counts every rewarded pull"
ok "$([ -s report.txt ] && jq -e '.points | length > 0' report.json >/dev/null; echo $?)" "pb-report wrote its reports"
is "$rc:$(cat full.err)" "2:pb-sample: write error on <stdout>: No space left on device" "pb-sample to /dev/full: exit 2, says why"
is "$(ls "$TMP"/vg.* | wc -l | tr -d ' ')" 20 "20 processes ran under memcheck, pb-sim included"
for t in pb-sample pb-query pb-score pb-report; do
	is "$(errors $t)" "" "memcheck: no error, no leak in $t"
done
is "$(errors pb-sim)" "" "memcheck: no error, no leak in pb-sim (stopped with $(cat "$TMP/sim.stats" 2>/dev/null))"
e=$(errors pb-update)
ok "$([ -z "$failu$e" ]; echo $?)" "memcheck: no error, no leak in pb-update, and exit 0"
e2=$(cat "$TMP"/vgerr.*)
ok "$([ -z "$e2" ]; echo $?)" "memcheck: no leak in pb-sample's write-error exit"
[ -n "$e2" ] && diag "$(printf '%s\n' "$e2" | grep -m1 -B2 -A8 'definitely')"
[ -n "$e" ] && diag "$(printf '%s\n' "$e" | grep -m1 -A12 'uninitialised')"
done_testing
