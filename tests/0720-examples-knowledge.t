#!/bin/sh
# examples/knowledge-personas in its quick mode: what its README claims.
. "$(dirname "$0")/lib.sh"
# A run of a whole example, its shell as much as the tools: once, with
# the plain build; the sanitizers' pass covers the tools' code through
# the other tests (0700, 0750, 0760 and the unit tests).
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
plan 9
ex=$TOP/examples/knowledge-personas
run env OUTDIR="$TMP/pics" PB_BIN="$BIN" WORK="$TMP/w" sh "$ex/run.sh" --quick
[ "$RC" -eq 0 ] || diag "$ERR"
is "$RC" 0 "run.sh --quick: status 0"
winners=$(jq -r '.contexts[] | "\(.context)=\(.arms[0].id)"' "$TMP/pics/report.json" | sort | tr '\n' ' ')
is "$winners" "film=nolan music=mozart physics=einstein tennis=federer " "each domain's expert leads its domain"
like "$OUT" "  music: mozart " "... and the run says so"
is "$(jq -r .context_field "$TMP/pics/report.json")" domain "one bandit per domain (--context domain)"
is "$(jq -s 'length > 0 and all(.score.scorer == "judge")' "$TMP/pics/scored.jsonl")" \
   true "every reward is the judge's"
st=$TMP/pics/state.json
is "$(pb-report -s "$st" --context tennis --history --json | jq -S -c '.points[-1].arms | map_values(.pulls)')" \
   "$(pb-report -s "$st" --context tennis --json | jq -S -c '[.arms[] | {(.id): .pulls}] | add')" \
   "a history per domain: --history --context ends at the domain's pulls, arm by arm"
is "$(pb-report -s "$st" --context tennis --history --json | jq -c '[.points[-1].arms[].pulls] | add')" \
   "$(pb-report -s "$st" --context tennis --json | jq -c '[.arms[].pulls] | add')" "... ending at the domain's pulls"
run pb-report -s "$st" --context chess --history
is "$RC|$ERR" "2|pb-report: --context: no context 'chess' of domain in $st" \
   "--history of an unknown context: one line, status 2"
if command -v gnuplot >/dev/null 2>&1; then
	[ -s "$TMP/pics/music.png" ] && [ -s "$TMP/pics/tennis.png" ] && [ -s "$TMP/pics/physics.png" ] &&
		[ -s "$TMP/pics/film.png" ]; ok $? "a picture per domain (pb-report --context D --plot)"
else
	ok 0 "# SKIP no gnuplot"
fi
done_testing
