#!/bin/sh
# mc.sh - the Monte Carlo benchmark of sample efficiency (tests/bench/mc.c):
# compiles it against BUILD-DIR/libpb.a and runs it; extra arguments go to
# mc (--seeds N, --quick, --threads N, --world W, --no-null, --no-finite,
# --finite-only, --race-only, --method N, --bounds-only, --finite-seeds N).
# The finite-pool table (N = 50, 200, 1000, 5000 tasks, each outcome a
# frozen draw) comes first, then worlds 1-3 (each method over the lower
# bound that fits it: unpaired or paired) and world 4 (world 1 with an
# arm x task interaction, which breaks the Rasch model), the null
# false-declaration rates beside their bounds, and a summary row per
# method.  --quick: 40 seeds, finite pools on 100 seeds and N <= 1000,
# null cells of 200 runs, no runs in world 3; a few minutes on a shared
# 2-core machine.
# Usage: sh tests/bench/mc.sh [BUILD-DIR] [ARGS...]
# Environment: BENCH_QUICK=1 adds --quick.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
case ${1:-build} in /*) bin=${1:-build} ;; *) bin=$top/${1:-build} ;; esac
[ $# -gt 0 ] && shift
[ "${BENCH_QUICK:-0}" = 1 ] && set -- --quick "$@"
T=$(mktemp -d "${TMPDIR:-/tmp}/pbmc.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
trap 'exit 2' HUP INT TERM
${CC:-cc} -O2 -std=c11 -D_DEFAULT_SOURCE -pthread -I"$top/lib" \
    $(pkg-config --cflags libcjson) -o "$T/mc" "$top/tests/bench/mc.c" \
    "$bin/libpb.a" $(pkg-config --libs libcjson) -lm || exit 2
"$T/mc" "$@"
