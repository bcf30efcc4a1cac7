#!/bin/sh
# examples/scale-out with GNU parallel's local slots standing in for
# hosts: the fanned-out adaptive loop reaches the single-host loop's
# verdict for the same seed, and 4 merged shards equal one run's totals,
# history included.
. "$(dirname "$0")/lib.sh"
command -v parallel >/dev/null 2>&1 || { echo "1..0 # SKIP GNU parallel is not installed"; exit 0; }
plan 10
ex=$TOP/examples/scale-out
arms=$TOP/examples/arms.jsonl tasks=$TOP/examples/tasks.jsonl
# the demo's world with a clearer winner, so that the verdict comes soon
sed 's/"first-principles thinker","skill":1.5/"first-principles thinker","skill":3/' \
	"$TOP/examples/world.jsonl" >world.jsonl
start_sim --tasks "$tasks" --world world.jsonl

# the single-host loop
pb-update -s one.json --init "$arms" --policy lucb:delta=0.05 --seed 3
i=0
while pb-sample -s one.json -n 128 "$tasks" >pulls.jsonl 2>sample.err; do
	pb-query -q --no-cache <pulls.jsonl | pb-score -q | pb-update -s one.json
	i=$((i + 1))
	[ "$i" -lt 200 ] || break
done
v1=$(pb-report -s one.json --json | jq -c '.verdict')
is "$(pb-report -s one.json --json | jq -r '.arms[0].id')" first-principles \
   "single host: the world's best arm leads (after $i rounds)"

pb-update -s fan.json --init "$arms" --policy lucb:delta=0.05 --seed 3
reset >/dev/null
run env N=128 JOBS=4 CHUNK=32 QUERY=--no-cache SCORE=--scorer=number sh "$ex/adaptive.sh" fan.json "$tasks" 200
is "$RC" 0 "adaptive.sh: status 0"
is "$(pb-report -s fan.json --json | jq -c '.verdict')" "$v1" "fanned out: the same verdict"
is "$(jq -c '[.arms[] | [.id, .pulls, .sum]]' fan.json)" "$(jq -c '[.arms[] | [.id, .pulls, .sum]]' one.json)" \
   "... after the same pulls and rewards, arm by arm"
is "$(field "$(reset)" completions)" "$(jq .updates fan.json)" "... every pull asked of the model once"

# sharded: 4 shards merged against one run over all the tasks
pb-update -s full.json --init "$arms" --policy uniform
pb-sample -s full.json -k all "$tasks" | pb-query -q | pb-score -q | pb-update -s full.json
mkdir sh
run sh "$ex/sharded.sh" "$arms" "$tasks" sh/all.json 4
is "$RC" 0 "sharded.sh: status 0"
is "$(jq -c '[.arms[] | [.id, .pulls, .sum, .errors]]' sh/all.json)" \
   "$(jq -c '[.arms[] | [.id, .pulls, .sum, .errors]]' full.json)" "4 merged shards equal one run's totals"
is "$(jq '.merged | length' sh/all.json)/$(jq .updates sh/all.json)" "4/$(jq .updates full.json)" \
   "... 4 runs merged, every update counted"
run pb-report -s sh/all.json --history --json
is "$RC/$(printf '%s' "$OUT" | jq -c '.points[-1].arms | to_entries | map([.key, .value.pulls])')" \
   "0/$(jq -c '[.arms[] | [.id, .pulls]]' full.json)" "the merged state has a history, ending at the totals"
if command -v gnuplot >/dev/null 2>&1; then
	run pb-report -s sh/all.json --plot merged.png
	is "$RC/$([ -s merged.png ] && echo drawn)" "0/drawn" "... and --plot draws it"
else
	ok 0 "# SKIP no gnuplot"
fi
done_testing
