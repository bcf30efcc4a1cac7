#!/bin/sh
# bench.sh - `make bench`: pb-query's throughput against pb-sim beside the
# xargs+curl a shell user would write, and the local stages' speed and
# memory beside jq.  Prints one report; the goals of issue 3 are shown as
# PASS or FAIL but never change the exit status, which is 1 only if a
# command under test failed and 2 if the bench could not be set up.
# Usage: sh tests/bench.sh [BUILD-DIR]
# Environment: BENCH_QUICK=1 sends 200 requests at -j 1 instead of 2000
# (100 s at 50 ms each); BENCH_REPEAT=N runs every case but -j 1 and jq
# N times and keeps the median by wall time (default 3); BENCH_ONLY=score
# runs only the pb-score scorers (section 4).  TMPDIR holds about 2.5 GB
# of input files while it runs.
set -u
LC_ALL=C
export LC_ALL
unset PB_STATE PB_MODEL OPENAI_API_KEY OPENAI_BASE_URL ANTHROPIC_API_KEY \
    ANTHROPIC_BASE_URL
top=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-build} in /*) bin=${1:-build} ;; *) bin=$top/${1:-build} ;; esac
PATH=$bin:$PATH
export PATH
here=$top/tests/bench
quick=${BENCH_QUICK:-0}
only=${BENCH_ONLY:-}
repeat=${BENCH_REPEAT:-3}
latency=50           # ms, pb-sim's delay per reply
nreq=2000            # requests per pb-query case
nbig=1000000         # records per local stage
nsmall=100000        # the size "flat memory" is compared with
xargsj=64

T=$(mktemp -d "${TMPDIR:-/tmp}/pbbench.XXXXXX") || exit 2
sim=
trap '[ -n "$sim" ] && kill "$sim" 2>/dev/null && wait "$sim" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 2' HUP INT TERM
status=0
started=$(date +%s)
load=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
# broken WHAT FILE: a command under test failed; show why, go on.
broken() {
	say "$1 failed; its stderr:"
	sed 's/^/    /' "$2" >&2
	status=1
	echo "$1" >>"$T/failed"
}

# CPU and peak RSS come from wait4(2) in a small C helper rather than GNU
# time, a package of its own that minimal systems lack: cc is needed for
# the build anyway, and the helper reports microseconds where GNU time
# rounds CPU to 10 ms, a fair share of the 0.1-0.2 s pb-query spends on
# 2,000 requests.
cc -O2 -o "$T/rusage" "$here/rusage.c" || die "cannot compile $here/rusage.c"
# measure NAME CMD...: runs CMD (the caller redirects its input and output)
# and leaves "WALL USER SYS MAXRSS_KiB" in $T/NAME.m; returns CMD's status.
measure() {
	_m=$1
	shift
	"$T/rusage" "$T/$_m.m" "$@"
}
# median NAME R: the run of NAME.1.m .. NAME.R.m with the median wall time.
median() {
	sort -n "$T/$1".[0-9]*.m | sed -n "$((($2 + 1) / 2))p" >"$T/$1.m"
}
lines() { wc -l <"$1" | tr -d ' '; }

for t in pb-sample pb-query pb-score pb-update pb-sim; do
	[ -x "$bin/$t" ] || die "no $bin/$t; run make first"
done
for t in jq curl xargs awk; do
	command -v $t >/dev/null || die "$t is needed"
done

# ---------------------------------------------------------------------
# 4: pb-score's scorers over the same answered records: the built-in
# number scorer, a jq program (one jq coprocess) beside the same program
# run by jq alone, and --cmd with a trivial program that answers 1.
score_jq='.task.answer as $a | if (.response.text | contains($a)) then 1 else 0 end'
score_bench() { # FILE N
	cc -O2 -o "$T/one" "$here/one.c" || die "cannot compile $here/one.c"
	stage "snum.$2" "$T/s.out" : pb-score --scorer number "$1"
	[ "$(lines "$T/s.out")" -eq "$2" ] || broken "pb-score number: short output" "$T/err"
	stage "sjq.$2" "$T/s.out" : pb-score --jq "$score_jq" "$1"
	[ "$(lines "$T/s.out")" -eq "$2" ] || broken "pb-score --jq: short output" "$T/err"
	stage "scmd.$2" "$T/s.out" : pb-score "$1" --cmd-plain --cmd "$T/one"
	[ "$(lines "$T/s.out")" -eq "$2" ] || broken "pb-score --cmd: short output" "$T/err"
	stage "pjq.$2" "$T/s.out" : jq -c "$score_jq" "$1"
	[ "$(lines "$T/s.out")" -eq "$2" ] || broken "jq alone: short output" "$T/err"
	rm -f "$T/s.out"
}
score_report() { # N
	echo "4. pb-score's scorers, $1 answered records (~180-character responses)"
	[ "$repeat" -gt 1 ] && echo "   the median of $repeat runs by wall time"
	printf '%-34s %7s %9s %7s %9s\n' case "wall s" "rec/s" "CPU s" "peak RSS"
	for c in "snum|pb-score --scorer number" "sjq|pb-score --jq PROGRAM" \
	    "pjq|jq -c PROGRAM (alone)" "scmd|pb-score --cmd one (answers 1)"; do
		read -r w u s m <"$T/${c%%|*}.$1.m"
		awk -v l="${c#*|}" -v n="$1" -v w="$w" -v u="$u" -v s="$s" -v m="$m" 'BEGIN {
			printf "%-34s %7.2f %9.0f %7.2f %5.1f MiB\n", l, w, n / w, u + s, m / 1024 }'
	done
	read -r jw _ <"$T/sjq.$1.m"
	read -r pw _ <"$T/pjq.$1.m"
	awk -v a="$jw" -v b="$pw" -v goals="$T/goals" 'BEGIN {
		r = a / b
		printf "pb-score --jq time / jq alone: %.2fx (goal <= 1.5x: %s)\n", r,
		    (r <= 1.5 ? "PASS" : "FAIL")
		printf "pb-score --jq: time over jq alone|%.2fx|<= 1.5x|%s\n", r,
		    (r <= 1.5 ? "PASS" : "FAIL") >>goals }'
	echo "PROGRAM: $score_jq"
	echo "pb-score runs one jq (jq -c --unbuffered) and one --cmd program for the"
	echo "whole input; jq alone prints only the numbers, pb-score whole records."
	echo
}

# ---------------------------------------------------------------------
# Inputs, made once: tasks, pull records from pb-sample, answered records
# with an awk step standing in for pb-query, scored records from the
# measured pb-score run.
say "making $nbig tasks in $T"
awk -v n=$nbig -f "$here/tasks.awk" >"$T/tasks.$nbig" || die "tasks.awk failed"
head -n $nsmall "$T/tasks.$nbig" >"$T/tasks.$nsmall"
head -n $nreq "$T/tasks.$nbig" >"$T/tasks.$nreq"
pb-update -s "$T/s0.json" --init "$top/examples/arms.jsonl" ||
	die "pb-update --init failed"

# ---------------------------------------------------------------------
# 1 and 2: requests.  pb-sim knows the tasks, so every answer is a real one.
if [ "$only" != score ]; then
qopts="--model pb-sim"
qhelp=$(pb-query -h 2>&1)
case $qhelp in *--no-cache*) qopts="$qopts --no-cache" ;; esac
printf '%s\n' "$qhelp" | grep -Eq '^ *-q[, ]' && qopts="$qopts -q"

cp "$T/s0.json" "$T/sq.json"
pb-sample -s "$T/sq.json" "$T/tasks.$nreq" >"$T/pulls.$nreq" ||
	die "pb-sample failed on the request tasks"
head -n 200 "$T/pulls.$nreq" >"$T/pulls.200"

mkfifo "$T/sim.url"
pb-sim --tasks "$T/tasks.$nreq" --latency $latency >"$T/sim.url" 2>"$T/sim.err" &
sim=$!
read -r url <"$T/sim.url" || die "pb-sim did not start: $(cat "$T/sim.err")"
rm -f "$T/sim.url"
qopts="$qopts --base-url $url"

# query J N R: R runs of pb-query -j J over the first N pulls; the median
# run by wall time goes to $T/qJ.m, the fewest answers of any run to $T/qJ.ok.
query() {
	_i=0
	_ok=$2
	while [ $_i -lt "$3" ]; do
		_i=$((_i + 1))
		say "pb-query -j $1, $2 requests (run $_i of $3)"
		# shellcheck disable=SC2086
		measure "q$1.$_i" pb-query -j "$1" $qopts <"$T/pulls.$2" \
		    >"$T/q.out" 2>"$T/q.err" || broken "pb-query -j $1" "$T/q.err"
		_n=$(grep -c '"response":{"text":' "$T/q.out")
		[ "$_n" -lt "$_ok" ] && _ok=$_n
	done
	median "q$1" "$3"
	echo "$_ok" >"$T/q$1.ok"
	rm -f "$T/q.out"
}
if [ "$quick" = 1 ]; then query 1 200 1; else query 1 $nreq 1; fi
for j in 16 64 256; do query $j $nreq "$repeat"; done

# The same bodies pb-query sends, one curl process per request.
jq -c '{model: "pb-sim", messages: .messages, temperature: 0}' \
    "$T/pulls.$nreq" | tr '\n' '\0' >"$T/bodies"
_i=0
_ok=$nreq
while [ $_i -lt "$repeat" ]; do
	_i=$((_i + 1))
	say "xargs -P $xargsj curl, $nreq requests (run $_i of $repeat)"
	measure "curl.$_i" xargs -0 -n 1 -P $xargsj curl -sS -o /dev/null \
	    -w '%{http_code}\n' -H 'Content-Type: application/json' \
	    "$url/chat/completions" --data-binary <"$T/bodies" \
	    >"$T/codes" 2>"$T/curl.err" || broken "xargs curl" "$T/curl.err"
	_n=$(grep -c '^200$' "$T/codes")
	[ "$_n" -lt "$_ok" ] && _ok=$_n
done
median curl "$repeat"
echo "$_ok" >"$T/curl.ok"
kill "$sim" 2>/dev/null && wait "$sim" 2>/dev/null
sim=
fi # not BENCH_ONLY=score

# ---------------------------------------------------------------------
# 3: local stages, ours at both sizes, then jq at the large one.
# stage NAME OUT SETUP CMD...: BENCH_REPEAT runs of CMD with stdout to OUT,
# each after `eval SETUP`; the median run by wall time goes to $T/NAME.m.
stage() {
	_name=$1 _out=$2 _setup=$3
	shift 3
	_i=0
	while [ $_i -lt "$repeat" ]; do
		_i=$((_i + 1))
		say "$1, ${_name#*.} records (run $_i of $repeat)"
		eval "$_setup"
		measure "$_name.$_i" "$@" >"$_out" 2>"$T/err" || broken "$1" "$T/err"
	done
	median "$_name" "$repeat"
}
if [ "$only" = score ]; then
	: >"$T/goals"
	cp "$T/s0.json" "$T/s.$nbig"
	pb-sample -s "$T/s.$nbig" "$T/tasks.$nbig" >"$T/pulls.$nbig" || die "pb-sample failed"
	awk -f "$here/answer.awk" "$T/pulls.$nbig" >"$T/answered.$nbig"
	rm -f "$T/pulls.$nbig"
	score_bench "$T/answered.$nbig" $nbig
	echo "promptbandit benchmark (pb-score only), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "$(uname -srm), $(getconf _NPROCESSORS_ONLN 2>/dev/null) CPUs, load ${load:-?} at the start; $(jq --version)"
	echo
	score_report $nbig
	[ -s "$T/failed" ] && { echo "FAILED:"; sort -u "$T/failed" | sed 's/^/  /'; }
	echo "$(($(date +%s) - started)) s in all.  The goals are reported, not enforced."
	exit $status
fi
for n in $nsmall $nbig; do
	# pb-sample hands the pulls out from a fresh state each time, and
	# pb-update applies them to a copy of the state the last one left.
	stage "sample.$n" "$T/pulls.$n" 'cp "$T/s0.json" "$T/s.$n"' \
	    pb-sample -s "$T/s.$n" "$T/tasks.$n"
	[ "$(lines "$T/pulls.$n")" -eq "$n" ] || broken "pb-sample ($n): short output" "$T/err"
	awk -f "$here/answer.awk" "$T/pulls.$n" >"$T/answered.$n"
	rm -f "$T/pulls.$n"
	stage "score.$n" "$T/scored.$n" : pb-score --scorer number "$T/answered.$n"
	[ "$(lines "$T/scored.$n")" -eq "$n" ] || broken "pb-score ($n): short output" "$T/err"
	stage "update.$n" /dev/null 'cp "$T/s.$n" "$T/u.$n"' \
	    pb-update -s "$T/u.$n" "$T/scored.$n"
	[ "$n" = $nbig ] || rm -f "$T/answered.$n" "$T/scored.$n"
done

# jq doing comparable work: build the pull record; take the last number of
# the response and compare it with the reference; sum rewards per arm.
jq_sample='{run: "x", pull: input_line_number, arm: "a", task: .,
  messages: [{role: "user", content: .input}]}'
jq_score='([.response.text | scan("-?[0-9]+(?:\\.[0-9]+)?")] | last) as $x
  | (.task.answer | tostring) as $ref
  | (if $x == null then "no-answer"
     elif ($x | tonumber) == ($ref | tonumber) then "ok" else "wrong" end) as $s
  | . + {reward: (if $s == "ok" then 1 else 0 end),
         score: {scorer: "number", extracted: $x, reference: $ref, status: $s}}'
jq_update='reduce inputs as $r ({}; .[$r.arm] += $r.reward)'
say "jq sample, $nbig tasks"
measure jqsample jq -c "$jq_sample" "$T/tasks.$nbig" >"$T/jq.out" 2>"$T/err" ||
	broken "jq sample" "$T/err"
say "jq score, $nbig records"
measure jqscore jq -c "$jq_score" "$T/answered.$nbig" >"$T/jq.out" 2>"$T/err" ||
	broken "jq score" "$T/err"
score_bench "$T/answered.$nbig" $nbig
say "jq update, $nbig records"
measure jqupdate jq -n "$jq_update" "$T/scored.$nbig" >"$T/jq.out" 2>"$T/err" ||
	broken "jq update" "$T/err"
rm -f "$T/jq.out"

# ---------------------------------------------------------------------
# The report.  Goals go to $T/goals as "what|measured|goal|PASS or FAIL".
: >"$T/goals"
cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
echo "promptbandit benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$(uname -srm), $(getconf _NPROCESSORS_ONLN 2>/dev/null) CPUs${cpu:+ ($cpu)}, load ${load:-?} at the start"
echo "$(pb-query --version 2>&1 | head -n 1); $(jq --version); $(curl --version | head -n 1 | cut -d' ' -f1-2)"
echo
echo "1+2. $nreq requests to pb-sim --latency $latency on 127.0.0.1 (default threads)"
echo "     pb-query $qopts" | sed 's/ --base-url.*//'
[ "$repeat" -gt 1 ] && echo "     -j 16, 64, 256 and curl: the median of $repeat runs by wall time"
printf '%-20s %8s %6s %8s %8s %7s %8s %7s %10s %9s\n' client requests ok "wall s" \
    "req/s" bound "of bound" "CPU s" "CPU s/1k" "peak RSS"
qrow() { # LABEL J N MFILE OKFILE [NOTE]
	read -r w u s m <"$4"
	awk -v l="$1" -v j="$2" -v n="$3" -v ok="$(cat "$5")" -v w="$w" -v u="$u" \
	    -v s="$s" -v m="$m" -v lat=$latency -v note="${6:-}" -v goals="$T/goals" 'BEGIN {
		rps = n / w; bound = j * 1000 / lat; share = rps / bound * 100
		c1k = (u + s) / n * 1000; mib = m / 1024
		printf "%-20s %8d %6d %8.2f %8.1f %7.0f %7.1f%% %7.2f %10.3f %5.1f MiB%s\n",
		    l, n, ok, w, rps, bound, share, u + s, c1k, mib, note
		if (l == "pb-query -j 64") {
			printf "pb-query -j 64: share of the bound|%.1f%%|>= 90%%|%s\n",
			    share, (share >= 90 ? "PASS" : "FAIL") >>goals
			printf "pb-query -j 64: CPU per request|%.3f ms|< 1 ms|%s\n",
			    c1k, (c1k < 1 ? "PASS" : "FAIL") >>goals
			printf "pb-query -j 64: peak RSS|%.1f MiB|< 32 MiB|%s\n",
			    mib, (mib < 32 ? "PASS" : "FAIL") >>goals
		}
		if (l ~ /curl/)
			printf "(xargs -P 64 curl: share of the bound)|%.1f%%|(baseline)|-\n",
			    share >>goals
	}'
}
if [ "$quick" = 1 ]; then
	qrow "pb-query -j 1" 1 200 "$T/q1.m" "$T/q1.ok" "  (BENCH_QUICK: 200 requests)"
else
	qrow "pb-query -j 1" 1 $nreq "$T/q1.m" "$T/q1.ok"
fi
for j in 16 64 256; do qrow "pb-query -j $j" $j $nreq "$T/q$j.m" "$T/q$j.ok"; done
qrow "xargs -P $xargsj curl" $xargsj $nreq "$T/curl.m" "$T/curl.ok" "  (largest process)"
echo "bound: j / $latency ms.  CPU s: user+sys of pb-query, or of xargs and every"
echo "curl it ran.  CPU s/1k: CPU seconds per 1,000 requests (= ms per request)."
echo

echo "3. Local stages beside jq on the same file"
[ "$repeat" -gt 1 ] && echo "   ours: the median of $repeat runs by wall time; jq: one run"
printf '%-10s %8s %7s %9s %9s | %7s %9s %9s | %7s %5s\n' stage records "wall s" \
    "rec/s" "peak RSS" "jq s" "jq rec/s" "jq RSS" "ours/jq" "RSS x"
srow() { # STAGE NAME
	read -r w u s m <"$T/$2.$nsmall.m"
	awk -v l="$1" -v n=$nsmall -v w="$w" -v m="$m" 'BEGIN {
		printf "%-10s %8d %7.2f %9.0f %5.1f MiB |\n", l, n, w, n / w, m / 1024 }'
	read -r w u s m <"$T/$2.$nbig.m"
	read -r jw _ _ jm <"$T/jq$2.m"
	awk -v l="$1" -v n=$nbig -v w="$w" -v m="$m" -v jw="$jw" -v jm="$jm" \
	    -v sm="$(cut -d' ' -f4 "$T/$2.$nsmall.m")" -v ns=$nsmall -v goals="$T/goals" 'BEGIN {
		r = jw / w; g = m / sm
		printf "%-10s %8d %7.2f %9.0f %5.1f MiB | %7.2f %9.0f %5.1f MiB | %6.2fx %4.1fx\n",
		    l, n, w, n / w, m / 1024, jw, n / jw, jm / 1024, r, g
		printf "%s: records/s over jq|%.2fx|>= 3x|%s\n", l, r,
		    (r >= 3 ? "PASS" : "FAIL") >>goals
		printf "%s: flat memory, peak RSS %s vs %s|%.1f vs %.1f MiB (%.1fx)|<= 2x|%s\n",
		    l, size(n), size(ns), m / 1024, sm / 1024, g, (g <= 2 ? "PASS" : "FAIL") >>goals
	}
	function size(k) { return k >= 1e6 ? k / 1e6 "M" : k >= 1e3 ? k / 1e3 "k" : k }'
}
srow pb-sample sample
srow pb-score score
srow pb-update update
echo "pb-sample: every task once, ucb1 over examples/arms.jsonl; jq: the same pull record"
echo "  with input_line_number as the pull.  pb-score --scorer number on answered records"
echo "  (~180-character responses); jq: last number of the text against the reference."
echo "  pb-update applying the scored records to the state pb-sample left; jq: a sum of"
echo "  rewards per arm.  RSS x: our peak RSS at $nbig over that at $nsmall records."
echo

score_report $nbig

echo "Goals (issues 3 and 5)"
awk -F'|' '{ printf "%-46s %-26s %-9s %s\n", $1, $2, $3, $4 }' "$T/goals"
echo
if [ -s "$T/failed" ]; then
	echo "FAILED, so the numbers above are not to be trusted:"
	sort -u "$T/failed" | sed 's/^/  /'
	echo
fi
echo "$(($(date +%s) - started)) s in all.  The goals are reported, not enforced."
exit $status
