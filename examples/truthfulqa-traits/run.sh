#!/bin/sh
# run.sh - experiment 3 of the study: misconceptions (TruthfulQA) and
# preferences (UltraFeedback) as True/False tasks, two pools of prefixes
# (famous people; traits), training on one part of the tasks and a check
# of the winner against the bare prompt on a held-out part that shares no
# question with it.  sh run.sh [--quick]
# Environment: OPENAI_BASE_URL, PB_MODEL, OPENAI_API_KEY for a real model
# (else pb-sim); TRUTHFULQA=FILE.csv and ULTRAFEEDBACK=FILE.jsonl for the
# real data sets (README.md); OUTDIR.
. "$(dirname "$0")/../lib/common.sh"
quick=0
[ "${1:-}" = --quick ] && quick=1
out=${OUTDIR:-$PWD/truthfulqa-traits.out}
mkdir -p "$out"
sh "$here/convert.sh" "${TRUTHFULQA:-$here/data/truthfulqa.csv}" \
	"${ULTRAFEEDBACK:-$here/data/ultrafeedback.jsonl}" >"$work/tasks.jsonl"
sh "$here/split.sh" "$work/tasks.jsonl" "$out/train.jsonl" "$out/heldout.jsonl"
use_model "$work/tasks.jsonl" "$here/world.jsonl"
say "tasks:  $(wc -l <"$out/train.jsonl") for training, $(wc -l <"$out/heldout.jsonl") held out" \
    "(no question on both sides)"
if [ "$quick" -eq 1 ]; then max=20; else max=400; fi

for pool in people traits; do
	say
	say "pool:   $pool: $(jq -r .id "$here/arms-$pool.jsonl" | tr '\n' ' ')"
	st=$work/$pool.json
	pb-update -s "$st" --init "$here/arms-$pool.jsonl" --policy lucb:delta=0.05 --seed 1
	loop "$st" "$out/train.jsonl" 32 "$max" pb-score -q --scorer bool
	lead=$(pb-report -s "$st" --json | jq -r '.arms[0].id')
	say "train:  $rounds rounds; leader $lead"
	# held out: the leader and the bare prompt on every held-out task
	pb-update -s "$work/val-$pool.json" --init "$here/arms-$pool.jsonl" --policy uniform
	pb-sample -s "$work/val-$pool.json" -k all --arms "$lead,plain" "$out/heldout.jsonl" |
		pb-query $QUERY_OPTS -q | pb-score -q --scorer bool >"$out/heldout-$pool.jsonl"
	rc=0
	pb-report -s "$st" --validate "$out/heldout-$pool.jsonl" --baseline plain --arm "$lead" || rc=$?
	pb-report -s "$st" --validate "$out/heldout-$pool.jsonl" --baseline plain --arm "$lead" \
		--json >"$out/validate-$pool.json" || :
	cp "$st" "$out/"
	[ "$rc" -le 4 ] || exit "$rc"
done
