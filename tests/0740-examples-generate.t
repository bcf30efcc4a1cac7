#!/bin/sh
# examples/generate-arms in its quick mode: arms generated, added and
# retired, and the world's best instruction found among the new arms.
. "$(dirname "$0")/lib.sh"
# A run of a whole example, its shell as much as the tools: once, with
# the plain build; the sanitizers' pass covers the tools' code through
# the other tests (0700, 0750, 0760 and the unit tests).
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
plan 6
ex=$TOP/examples/generate-arms
run env OUTDIR="$TMP/pics" PB_BIN="$BIN" WORK="$TMP/w" sh "$ex/run.sh" --quick
[ "$RC" -eq 0 ] || diag "$ERR"
is "$RC" 0 "run.sh --quick: status 0"
st=$TMP/pics/state.json
gen=$(jq '[.arms[] | select(.id | startswith("gen"))] | length' "$st")
ok "$([ "$gen" -ge 4 ]; echo $?)" "arms generated and added to the state ($gen)"
like "$OUT" "^$gen arms generated and added, [1-9][0-9]* retired" "... as many as the run says"
ok "$([ "$(jq '[.arms[] | select(.retired)] | length' "$st")" -ge 1 ]; echo $?)" "the worst retired"
is "$(jq -r '[.arms[] | select(.id == "plain")][0].retired // false' "$st")" false "plain is never retired"
lead=$(pb-report -s "$st" --json | jq -r '.arms[0].id')
like "$(jq -r --arg l "$lead" '.arms[] | select(.id == $l) | "\(.id): \(.fields.prefix)"' "$st")" \
   "^gen[0-9]+-[0-9]+: .*Double-check the arithmetic" "the leader is a generated arm with the world's best instruction"
done_testing
