#!/bin/sh
# scale.sh - the scale table of `make bench`: how the local stages cope
# with many arms.  For K = 10, 100, 1,000 and 10,000 arms, all equal (so
# race eliminates nobody: the worst case), it runs rounds of 64 pulls
# (pb-sample -n 4 -k 16, rewards drawn by awk, pb-update) and reports the
# state's size and bytes per arm, the CPU per round of pb-sample and of
# pb-update (medians), pb-report's CPU and the peak resident set; then a
# task sent to all of K = 1,000 arms (-k all): 1,000 records applied.
# With BASELINE=REF (a git commit) the same rounds run on a build of REF
# too, and each figure is printed beside the baseline's with the ratio.
#
# Usage: sh tests/bench/scale.sh [BUILD-DIR]
# Environment: SCALE_K="10 100 1000 10000" (the pool sizes), SCALE_WARM=20
# (rounds before measuring), SCALE_ROUNDS=10 (rounds measured),
# BASELINE=REF, BENCH_QUICK=1 (K up to 1,000, fewer rounds).
set -u
LC_ALL=C
export LC_ALL
unset PB_STATE
top=$(cd "$(dirname "$0")/../.." && pwd)
case ${1:-build} in /*) bin=${1:-build} ;; *) bin=$top/${1:-build} ;; esac
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	ks=${SCALE_K:-10 100 1000}
	warm=${SCALE_WARM:-5}
	rounds=${SCALE_ROUNDS:-5}
else
	ks=${SCALE_K:-10 100 1000 10000}
	warm=${SCALE_WARM:-20}
	rounds=${SCALE_ROUNDS:-10}
fi
base=${BASELINE:-}

T=$(mktemp -d "${TMPDIR:-/tmp}/pbscale.XXXXXX") || exit 2
cleanup() {
	[ -d "$T/base" ] && git -C "$top" worktree remove --force "$T/base" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

say() { printf 'scale: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

cc -O2 -o "$T/rusage" "$top/tests/bench/rusage.c" || die "cannot compile rusage.c"
for t in pb-sample pb-update pb-report; do
	[ -x "$bin/$t" ] || die "no $bin/$t; run make first"
done

if [ -n "$base" ]; then
	say "building the baseline $base"
	git -C "$top" worktree add --detach "$T/base" "$base" >/dev/null 2>&1 ||
		die "cannot check out $base"
	make -s -C "$T/base" O="$T/base/build" all >"$T/base.log" 2>&1 ||
		{ cat "$T/base.log" >&2; die "cannot build $base"; }
fi

# measure OUT CMD...: "WALL USER SYS MAXRSS_KiB" of CMD into OUT.
measure() {
	_o=$1
	shift
	"$T/rusage" "$_o" "$@"
}
cpu() { awk '{ printf "%.6f\n", $2 + $3 }' "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }

# Bernoulli(1/2) rewards, the same for every arm: a seeded awk.
score='BEGIN { srand(seed) }
{ r = rand() < 0.5 ? 1 : 0; sub(/}$/, ",\"reward\":" r "}"); print }'

# run BIN K TASKS KARG LABEL: prints "bytes sample_ms update_ms report_s rss_MiB"
run() {
	_b=$1 _k=$2 _n=$3 _karg=$4 _d=$T/run.$5.$2
	mkdir -p "$_d"
	awk -v k="$_k" 'BEGIN { for (i = 1; i <= k; i++) printf "{\"id\":\"a%d\",\"prefix\":\"Prefix %d.\"}\n", i, i }' >"$_d/arms.jsonl"
	awk -v n="$_n" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"id\":\"t%d\",\"input\":\"Question %d?\"}\n", i, i }' >"$_d/tasks.jsonl"
	"$_b/pb-update" -s "$_d/st.json" --init "$_d/arms.jsonl" --policy race --seed 1 ||
		die "$_b: pb-update --init failed at K = $_k"
	_per=4
	[ "$_karg" = all ] && _per=1
	_i=0 _rss=0
	: >"$_d/sample" 
	: >"$_d/update"
	while [ "$_i" -lt $((warm + rounds)) ]; do
		_i=$((_i + 1))
		measure "$_d/s.m" sh -c '"$1" -s "$2" -n "$3" -k "$4" "$5" >"$6"' sh \
			"$_b/pb-sample" "$_d/st.json" "$_per" "$_karg" "$_d/tasks.jsonl" "$_d/pulls" ||
			die "$_b: pb-sample failed at K = $_k, round $_i"
		awk -v seed="$_i" "$score" "$_d/pulls" >"$_d/scored"
		measure "$_d/u.m" sh -c '"$1" -s "$2" <"$3"' sh "$_b/pb-update" "$_d/st.json" "$_d/scored" ||
			die "$_b: pb-update failed at K = $_k, round $_i"
		if [ "$_i" -gt "$warm" ]; then
			cpu "$_d/s.m" >>"$_d/sample"
			cpu "$_d/u.m" >>"$_d/update"
			_r=$(awk '{ print $4 }' "$_d/u.m")
			[ "$_r" -gt "$_rss" ] && _rss=$_r
		fi
	done
	measure "$_d/r.m" sh -c '"$1" -s "$2" >/dev/null' sh "$_b/pb-report" "$_d/st.json" ||
		die "$_b: pb-report failed at K = $_k"
	_r=$(awk '{ print $4 }' "$_d/r.m")
	[ "$_r" -gt "$_rss" ] && _rss=$_r
	printf '%s %s %s %s %s\n' "$(wc -c <"$_d/st.json" | tr -d ' ')" \
		"$(median <"$_d/sample" | awk '{ printf "%.1f", $1 * 1000 }')" \
		"$(median <"$_d/update" | awk '{ printf "%.1f", $1 * 1000 }')" \
		"$(cpu "$_d/r.m" | awk '{ printf "%.3f", $1 }')" \
		"$(awk -v r="$_rss" 'BEGIN { printf "%.1f", r / 1024 }')"
	rm -rf "$_d"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

printf '\n## Scale: race, all arms equal, rounds of 64 pulls (-k 16, 4 tasks)\n\n'
printf 'median CPU per round of %d after %d warm-up rounds; pb-report: one run on the final state\n\n' "$rounds" "$warm"
if [ -n "$base" ]; then
	printf '| K | tasks | state bytes (base) | bytes/arm | sample ms (base) | update ms (base) | report s (base) | peak RSS MiB (base) |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
else
	printf '| K | tasks | state bytes | bytes/arm | sample ms | update ms | report s | peak RSS MiB |\n'
	printf '|---|---|---|---|---|---|---|---|\n'
fi
for k in $ks; do
	n=10000
	[ "$k" -ge 1000 ] && n=100000
	set -- $(run "$bin" "$k" "$n" 16 now)
	if [ -n "$base" ]; then
		b=$(run "$T/base/build" "$k" "$n" 16 base)
		set -- "$@" $b
		printf '| %s | %s | %s (%s) | %s | %s (%s, %s) | %s (%s, %s) | %s (%s, %s) | %s (%s) |\n' \
			"$k" "$n" "$1" "$6" "$(($1 / k))" "$2" "$7" "$(ratio "$2" "$7")" \
			"$3" "$8" "$(ratio "$3" "$8")" "$4" "$9" "$(ratio "$4" "$9")" "$5" "${10}"
	else
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" "$n" "$1" "$(($1 / k))" "$2" "$3" "$4" "$5"
	fi
done

printf '\n## Scale: one task to all of 1,000 arms (-k all), 1,000 records applied\n\n'
printf '| build | state bytes | sample ms | update ms | report s | peak RSS MiB |\n|---|---|---|---|---|---|\n'
saved_w=$warm saved_r=$rounds
warm=2 rounds=3
set -- $(run "$bin" 1000 10000 all now)
printf '| now | %s | %s | %s | %s | %s |\n' "$@"
if [ -n "$base" ]; then
	set -- $(run "$T/base/build" 1000 10000 all base)
	printf '| %s | %s | %s | %s | %s | %s |\n' "$base" "$@"
fi
warm=$saved_w rounds=$saved_r
