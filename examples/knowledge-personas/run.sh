#!/bin/sh
# run.sh - experiment 2 of the study: "You only know the things [X]
# knows" for Mozart, Roger Federer, Albert Einstein and Christopher
# Nolan, on questions of music theory, tennis, physics and film; one
# bandit per domain (--context domain), rewards from a judge that
# prefers a plain correct answer.  sh run.sh [--quick]
# Environment: OPENAI_BASE_URL, PB_MODEL, OPENAI_API_KEY for a real model
# (else pb-sim); JUDGE_MODEL for the judge (default PB_MODEL); OUTDIR.
. "$(dirname "$0")/../lib/common.sh"
quick=0
[ "${1:-}" = --quick ] && quick=1
out=${OUTDIR:-$PWD/knowledge-personas.out}
mkdir -p "$out"
tasks=$here/tasks.jsonl
use_model "$tasks" "$here/world.jsonl"
say "arms:   $(jq -r .id "$here/arms.jsonl" | tr '\n' ' ')"
say "tasks:  $(jq -r .domain "$tasks" | sort | uniq -c | awk '{ printf "%s %s  ", $2, $1 }')"

if [ "$quick" -eq 1 ]; then max=60; else max=400; fi
pb-update -s "$work/state.json" --init "$here/arms.jsonl" --policy lucb:delta=0.05 \
	--context domain --seed 1
loop "$work/state.json" "$tasks" 32 "$max" \
	pb-score -q --judge "$here/judge.txt" --judge-model "${JUDGE_MODEL:-${PB_MODEL:-gpt-4o-mini}}"
say "rounds: $rounds"
pb-report -s "$work/state.json" --json >"$out/report.json"
cp "$work/state.json" "$work/scored.jsonl" "$out/"
say
say "per-domain winners (one bandit per domain):"
jq -r '.contexts[] | "  \(.context): \(.arms[0].id) (mean \(.arms[0].mean * 1000 | round / 1000)" +
	", \(.arms[0].pulls) pulls) \(if .verdict.done then "best with confidence \(.verdict.confidence)"
	else "not yet separated" end)"' "$out/report.json"

# The per-domain pictures: each domain's own history (pb-report --context)
if command -v gnuplot >/dev/null 2>&1; then
	for d in music tennis physics film; do
		pb-report -s "$work/state.json" --context "$d" --plot "$out/$d.png" >/dev/null
	done
	say "pictures: $out/music.png tennis.png physics.png film.png (one per domain)"
fi
