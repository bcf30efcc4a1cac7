#!/bin/sh
# pb-sample stops by itself: exit 3, nothing written, the state as it was,
# once a fixed-confidence rule fires or a fixed budget is spent; pb-report
# names the arm.
. "$(dirname "$0")/lib.sh"
plan 17

# Rewards from the pull id, as if careful were right 90% of the time,
# turing 50%, plain 20%.
score() {
	jq -c '. + {reward: (if ((.pull * 7919 + 13) % 100) <
	       {"careful": 90, "turing": 50, "plain": 20}[.arm] then 1 else 0 end)}'
}
# 300 distinct tasks: an arm is never given one twice
for i in $(seq 60); do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done >tasks300.jsonl
# loop STATE: sample, score, update until pb-sample fails; leaves its
# status in RC and the number of rounds in ROUNDS.
loop() {
	ROUNDS=0
	while :; do
		pb-sample -s "$1" -n 8 tasks300.jsonl >pulls.jsonl 2>loop.err
		RC=$?
		[ "$RC" -eq 0 ] && [ "$ROUNDS" -lt 200 ] || return
		ROUNDS=$((ROUNDS + 1))
		score <pulls.jsonl | pb-update -s "$1" || return
	done
}

for pol in lucb top-two; do
	pb-update -s "$pol.json" --init "$DATA/arms3.jsonl" --policy "$pol:delta=0.05"
	loop "$pol.json"
	is "$RC" 3 "$pol: the loop ends by itself with status 3"
	like "$(cat loop.err)" "^pb-sample: done: arm careful is best with confidence 1-delta = 0.95 after [0-9]+ pulls$" \
	     "$pol: says why on one line"
	before=$(sum "$pol.json")
	run pb-sample -s "$pol.json" -n 8 tasks300.jsonl
	is "$RC/$OUT/$(sum "$pol.json")" "3//$before" "$pol: again: nothing written, state unchanged"
	run pb-report -s "$pol.json"
	like "$(printf '%s\n' "$OUT" | tail -1)" "^verdict: arm careful is best with confidence 0.95 \((box|glr) rule\)$" \
	     "$pol: pb-report names the best arm"
done

run pb-report -s lucb.json --json --epsilon 0
is "$(printf '%s' "$OUT" | jq -c '.verdict | [.done, .best, .confidence, .remaining, .rule]')" \
   '[true,"careful",0.95,[],"box"]' "the verdict in JSON"
is "$(printf '%s' "$OUT" | jq -c '.verdict.eps_good')" '["careful"]' "the 0-good set is the best arm, once separated"
run pb-report -s lucb.json --epsilon 0.9
is "$(printf '%s\n' "$OUT" | tail -1)" "eps-good set (epsilon 0.9, confidence 0.95): careful turing plain" \
   "a wide epsilon takes in every arm"

# The loop of pb(7), through all five tools against pb-sim, ends by
# itself: pipefail reports pb-sample's 3 (pb-update, with no input, says
# 0).
jq -nc 'range(3000) | {id: "q\(.)", input: "Tom has \(. + 3) apples and buys \(. * 7 % 13 + 2) more. How many apples does he have?",
        answer: "\(. + 3 + (. * 7 % 13 + 2))"}' >simtasks.jsonl
start_sim --tasks simtasks.jsonl --world "$TOP/examples/world.jsonl" --seed 5
pb-update -s sim.json --init "$TOP/examples/arms.jsonl" --policy lucb:delta=0.05
bash -c 'set -o pipefail
n=0
while :; do
	pb-sample -s sim.json -n 32 "$1" 2>stop.err | pb-query -q --no-cache -j 16 --temperature 0.7 |
		pb-score | pb-update -s sim.json 2>/dev/null || { rc=$?; break; }
	n=$((n + 1)); [ $n -lt 400 ] || exit 99
done
exit $rc' loop simtasks.jsonl
is "$?" 3 "the pipeline pb-sample | pb-query | pb-score | pb-update ends with status 3"
like "$(cat stop.err)" "^pb-sample: done: arm first-principles is best with confidence 1-delta = 0.95" \
     "naming the world's best arm"
stop_sim

# A fixed budget: the batch that spends it is cut short, the next run stops.
pb-update -s b.json --init "$DATA/arms3.jsonl" --policy successive-halving:budget=20
run pb-sample -s b.json -n 15 tasks300.jsonl
is "$RC $(printf '%s\n' "$OUT" | grep -c .)" "0 15" "15 of the budget of 20"
score <"$TMP/out" | pb-update -s b.json
run pb-sample -s b.json -n 15 tasks300.jsonl
is "$RC $(printf '%s\n' "$OUT" | grep -c .)" "0 5" "the next batch is cut at the budget"
is "$ERR" "pb-sample: budget of 20 pulls reached: 5 of 15 pulls written" "saying so"
score <"$TMP/out" | pb-update -s b.json
run pb-sample -s b.json -n 15 tasks300.jsonl
like "$RC $ERR" "^3 pb-sample: done: budget of 20 pulls spent; arm careful is recommended" "then exit 3, naming the arm"
done_testing
