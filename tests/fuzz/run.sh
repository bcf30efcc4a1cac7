#!/bin/sh
# run.sh - builds the libFuzzer targets of tests/fuzz/ with clang (ASan,
# UBSan) and runs each for SECONDS, from its seeds in
# tests/fuzz/corpus/TARGET; what a run finds is kept in
# build-fuzz/corpus/TARGET for the next.  Prints the executions of each.
# -q (make check): skip, saying so, where clang cannot build a fuzzer.
# Exits 1 if a target crashed (its input is build-fuzz/crash-TARGET-*).
quiet=
[ "$1" = -q ] && { quiet=1; shift; }
secs=${1:-60}
targets=${FUZZ_TARGETS:-"jsonl state template extract llm sim endpoint"}
O=build-fuzz

probe=$(mktemp -d) || exit 2
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>/dev/null; then
	if [ -n "$quiet" ]; then
		echo "fuzz: skipped (no clang with libFuzzer; make fuzz installs it)"
		exit 0
	fi
	echo "fuzz: clang cannot build a libFuzzer target (run: sh tests/fuzz/deps.sh)" >&2
	exit 2
fi

make --no-print-directory -s -j2 O=$O CC=clang \
    CFLAGS="-O1 -g -Wno-unknown-warning-option -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
    $(for t in $targets; do printf '%s ' "$O/fuzz/$t"; done) || exit 2

# make check (-q) starts from the seeds alone, with a fixed seed, so that
# what earlier long runs found does not make it fail by chance; make fuzz
# goes on from all that was found before.
status=0
for t in $targets; do
	if [ -n "$quiet" ]; then
		corpus=$O/corpus-check/$t
		rm -rf "$corpus"
		set -- -seed=1
	else
		corpus=$O/corpus/$t
		set --
	fi
	mkdir -p "$corpus"
	log="$O/fuzz-$t.log"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    "$O/fuzz/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$O/crash-$t-" "$@" \
	    "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -ne 0 ]; then
		echo "fuzz: $t: FAILED after ${runs:-?} executions (status $rc); see $log"
		grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log"
		status=1
	else
		echo "fuzz: $t: ${runs:-?} executions in ${secs} s, no crash"
	fi
done
exit $status
