#!/bin/sh
# End to end: six arms, one clearly best in the simulated world; 30 rounds
# of 16 pulls through all five tools against pb-sim over loopback HTTP.
. "$(dirname "$0")/lib.sh"
plan 9

jq -nc 'range(400) | {id: "q\(.)", input: "Tom has \(. + 3) apples and buys \(. * 7 % 13 + 2) more. How many apples does he have?",
        answer: "\(. + 3 + (. * 7 % 13 + 2))", difficulty: ((. * 37 % 11) / 5 - 1)}' >tasks.jsonl
cat >arms.jsonl <<'ARMS'
{"id":"plain","prefix":""}
{"id":"turing","prefix":"Answer the task below as if you were Alan Turing."}
{"id":"first-principles","prefix":"You are a first-principles thinker. Reason step by step."}
{"id":"pirate","prefix":"Answer like a pirate would."}
{"id":"poet","prefix":"Answer in the style of a poet."}
{"id":"hasty","prefix":"Answer as fast as you can, no checking."}
ARMS
cat >world.jsonl <<'WORLD'
{"match":"first-principles thinker","skill":2.5}
{"match":"Alan Turing","skill":0.5}
{"match":"pirate","skill":-0.5}
{"match":"poet","skill":-0.3}
{"match":"as fast as you can","skill":-1.0}
WORLD

start_sim --tasks tasks.jsonl --world world.jsonl --seed 11
pb-update -s st.json --init arms.jsonl --policy ucb1 --seed 3
fail=0
i=0
while [ $i -lt 30 ]; do
	i=$((i + 1))
	pb-sample -s st.json -n 16 tasks.jsonl >pulls.$i 2>>err.log || fail=$((fail + 1))
	pb-query -j 16 --model pb-sim <pulls.$i >answers.$i 2>>err.log || fail=$((fail + 1))
	pb-score --scorer number <answers.$i >scored.$i 2>>err.log || fail=$((fail + 1))
	pb-update -s st.json scored.$i 2>>err.log || fail=$((fail + 1))
done
is "$fail" 0 "30 rounds, every stage exited 0"
is "$(cat err.log)" "" "nothing on stderr"
is "$(jq .updates st.json)" 480 "480 pulls applied"
is "$(jq '.pending | length' st.json)" 0 "none left pending"
is "$(cat scored.* | jq -s 'map(select(.reward == null)) | length')" 0 "every answer scored"
run pb-report -s st.json --json
is "$(printf '%s' "$OUT" | jq -r '.arms[0].id')" "first-principles" "pb-report ranks the world's best arm first"
is "$(printf '%s' "$OUT" | jq '[.arms[].pulls] | add')" 480 "the report counts every pull"
best=$(printf '%s' "$OUT" | jq '.arms[0].pulls')
ok "$([ "$best" -gt 160 ]; echo $?)" "ucb1 gave the best arm the largest share ($best of 480)"
# the same run, replayed from the saved records into a fresh state, agrees
cp st.json st.orig
is "$(jq -c '[.arms[] | [.id, .pulls, .sum]]' st.json)" \
   "$(cat scored.* | jq -sc 'group_by(.arm) | map([.[0].arm, length, (map(.reward) | add)]) as $g |
      ["plain","turing","first-principles","pirate","poet","hasty"] | map(. as $a | ($g[] | select(.[0] == $a)) // [$a, 0, 0])')" \
   "the state's statistics equal the records'"
done_testing
