#!/bin/sh
# examples/truthfulqa-traits in its quick mode: what its README claims.
. "$(dirname "$0")/lib.sh"
# A run of a whole example, its shell as much as the tools: once, with
# the plain build; the sanitizers' pass covers the tools' code through
# the other tests (0700, 0750, 0760 and the unit tests).
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
plan 9
ex=$TOP/examples/truthfulqa-traits
run env OUTDIR="$TMP/pics" PB_BIN="$BIN" WORK="$TMP/w" sh "$ex/run.sh" --quick
[ "$RC" -eq 0 ] || diag "$ERR"
is "$RC" 0 "run.sh --quick: status 0"
d=$TMP/pics
both=$(jq -r .group "$d/train.jsonl" | sort -u | comm -12 - "$(jq -r .group "$d/heldout.jsonl" | sort -u >"$TMP/hg"; echo "$TMP/hg")" | wc -l)
is "$both" 0 "no question on both sides of the split"
is "$(jq -c .question "$d/train.jsonl" | sort | comm -12 - "$(jq -c .question "$d/heldout.jsonl" | sort >"$TMP/hq"; echo "$TMP/hq")" | wc -l)" 0 \
   "no task text on both sides"
is "$(jq -s 'length' "$d/train.jsonl")+$(jq -s 'length' "$d/heldout.jsonl")" "84+28" "112 tasks: 84 to train on, 28 held out"
is "$(jq -s '[.[] | select(.source == "ultrafeedback")] | length' "$d/train.jsonl" "$d/heldout.jsonl")" 16 \
   "the 16 preference pairs are tasks too"
like "$OUT" "train:  [0-9]+ rounds; leader richard-feynman" "people: the world's best person leads"
like "$OUT" "train:  [0-9]+ rounds; leader first-principles" "traits: the world's best trait leads"
is "$(jq -c '.validate | [.baseline, .chosen, .tasks, (.arms[0] | has("uplift") and has("uplift_low") and has("p_mcnemar") and has("accuracy")), (.winners_curse | has("train_mean") and has("heldout_mean"))]' "$d/validate-traits.json")" \
   '["plain","first-principles",28,true,true]' "the validation report's fields"
like "$OUT" "uplift of first-principles over plain: .*significant at 0.05" "... and its verdict on the uplift"
done_testing
