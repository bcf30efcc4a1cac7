#!/bin/sh
# run.sh - experiment 1 of the study: 25 well-known people as prefixes on
# GSM8K-style arithmetic word problems.  First a best-arm policy (LUCB)
# that stops when one persona is best with confidence 1 - delta, then the
# study's UCB1 on the same tasks for comparison, with its picture.
#   sh run.sh [--quick]          (README.md says what it prints)
# Environment: OPENAI_BASE_URL, PB_MODEL, OPENAI_API_KEY for a real model
# (else pb-sim); TASKS=FILE your own tasks (see README.md for GSM8K's);
# JUDGE=1 blends a style judge into the reward; OUTDIR=DIR for the pictures.
. "$(dirname "$0")/../lib/common.sh"
quick=0
[ "${1:-}" = --quick ] && quick=1
out=${OUTDIR:-$PWD/personas-gsm8k.out}
mkdir -p "$out"

tasks=${TASKS:-$work/tasks.jsonl}
[ -n "${TASKS:-}" ] || sh "$here/gen-gsm8k.sh" 400 8 >"$tasks"
use_model "$tasks" "$here/world.jsonl"
if [ -n "${JUDGE:-}" ]; then
	set -- pb-score -q --blend number:0.8,judge:0.2 --judge "$here/judge-style.txt"
else
	set -- pb-score -q --scorer number
fi
say "arms:   $(($(wc -l <"$here/arms.jsonl") - 1)) personas and the bare prompt; tasks: $(wc -l <"$tasks")"

# 1. Which persona is best?  LUCB stops by itself (pb-sample exits 3).
if [ "$quick" -eq 1 ]; then delta=0.05 max=60; else delta=0.01 max=400; fi
pb-update -s "$work/best.json" --init "$here/arms.jsonl" --policy "lucb:delta=$delta" --seed 1
loop "$work/best.json" "$tasks" 100 "$max" "$@"
say "lucb:   $rounds rounds of 100 pulls"
pb-report -s "$work/best.json" | sed 6q
best=$(pb-report -s "$work/best.json" --json | jq -r '.verdict.best // "none"')
say "best:   $best"
if [ -n "$sim" ]; then
	m=$(jq -rs 'max_by(.skill) | .match' "$here/world.jsonl")
	say "world:  pb-sim's most skilled persona is $m:" \
	    "$(jq -r --arg m "$m" 'select(.prefix | contains($m)) | .id' "$here/arms.jsonl")"
fi

# 2. The study's UCB1 on the same tasks: it never stops, so a fixed budget.
if [ "$quick" -eq 1 ]; then n=10; else n=50; fi
say
say "ucb1:   $n rounds of 100 pulls, the study's policy"
pb-update -s "$work/ucb1.json" --init "$here/arms.jsonl" --policy ucb1 --seed 1
loop "$work/ucb1.json" "$tasks" 100 "$n" "$@"
pb-report -s "$work/ucb1.json" | sed 6q
cp "$work/ucb1.json" "$work/best.json" "$out/"
if command -v gnuplot >/dev/null 2>&1; then
	pb-report -s "$work/ucb1.json" --plot "$out/ucb1.png" >/dev/null
	pb-report -s "$work/best.json" --plot "$out/lucb.png" >/dev/null
	say "pictures: $out/ucb1.png and lucb.png (share of recent pulls, means, reward)"
else
	pb-report -s "$work/ucb1.json" --chart | sed -n '/^selection/,/^mean/p'
	say "(no gnuplot: apt-get install gnuplot-nox for the pictures)"
fi
