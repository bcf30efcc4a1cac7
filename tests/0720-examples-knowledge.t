#!/bin/sh
# examples/knowledge-personas in its quick mode: what its README claims.
. "$(dirname "$0")/lib.sh"
plan 6
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
if command -v gnuplot >/dev/null 2>&1; then
	[ -s "$TMP/pics/domains.png" ]; ok $? "the per-domain picture drawn"
else
	ok 0 "# SKIP no gnuplot"
fi
done_testing
