#!/bin/sh
# examples/personas-gsm8k in its quick mode: what its README claims.
. "$(dirname "$0")/lib.sh"
# A run of a whole example, its shell as much as the tools: once, with
# the plain build; the sanitizers' pass covers the tools' code through
# the other tests (0700, 0750, 0760 and the unit tests).
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
plan 7
ex=$TOP/examples/personas-gsm8k
run env OUTDIR="$TMP/pics" PB_BIN="$BIN" WORK="$TMP/w" sh "$ex/run.sh" --quick
[ "$RC" -eq 0 ] || diag "$ERR"
is "$RC" 0 "run.sh --quick: status 0"
like "$OUT" "stop:   done: arm emmy-noether is best with confidence" "LUCB stops with a verdict"
like "$OUT" "best:   emmy-noether" "the world's best persona found"
is "$(pb-report -s "$TMP/pics/best.json" --json | jq -r .verdict.best)" "emmy-noether" "... in the saved state's report"
is "$(jq -s 'length' "$ex/arms.jsonl")/$(sh "$ex/gen-gsm8k.sh" 400 8 | jq -s '[.[] | select(.answer | test("\n#### [0-9]+$"))] | length')" \
   "26/400" "25 personas and plain; 400 tasks in GSM8K's shape"
like "$OUT" "ucb1:   10 rounds" "the UCB1 comparison ran"
if command -v gnuplot >/dev/null 2>&1; then
	[ -s "$TMP/pics/ucb1.png" ] && [ -s "$TMP/pics/lucb.png" ]; ok $? "both pictures drawn"
else
	ok 0 "# SKIP no gnuplot"
fi
done_testing
