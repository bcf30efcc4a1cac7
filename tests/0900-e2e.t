#!/bin/sh
# End to end: six arms, one clearly best in the simulated world; 30 rounds
# of 16 pulls through all five tools against pb-sim over loopback HTTP.
. "$(dirname "$0")/lib.sh"
plan 18

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
stop_sim

# The task is the unit: 60 tasks at temperature 0 (pb-query's default,
# each answer fixed), six equal arms.  No fixed-confidence policy may
# name a best arm; each loop ends by itself once the arms in contention
# have used every task, with status 3, and never recycles a task.
jq -c 'select((.id | ltrimstr("q") | tonumber) < 60)' tasks.jsonl >t60.jsonl
# loop STATE TASKS: the pipeline until pb-sample stops; its status in RC
loop() {
	bash -c 'set -o pipefail
	n=0
	while :; do
		pb-sample -s "$1" -n 16 "$2" 2>stop.err | tee -a "$1.pulls" | pb-query -q -j 16 --model pb-sim |
			pb-score --scorer number | pb-update -s "$1" 2>/dev/null || exit $?
		n=$((n + 1)); [ $n -lt 200 ] || exit 99
	done' loop "$1" "$2"
	RC=$?
}
start_sim --tasks t60.jsonl --seed 11
for pol in lucb top-two race; do
	pb-update -s "eq-$pol.json" --init arms.jsonl --policy "$pol:delta=0.05"
	loop "eq-$pol.json" t60.jsonl
	is "$RC|$(cat stop.err)" "3|pb-sample: done: pool exhausted after 60 tasks: not separated: $(pb-report -s "eq-$pol.json" --json | jq -r '.verdict.why | sub(".*not separated: "; "")')" \
	   "$pol, six equal arms, 60 tasks: status 3, pool exhausted, not separated"
	like "$(jq -r '[.arm, .task.id] | join(" ")' "eq-$pol.json.pulls" | sort | uniq -d | wc -l | tr -d ' ')|$(pb-report -s "eq-$pol.json" | tail -1)" \
	     "^0\|verdict: pool exhausted after 60 tasks: not separated: " "$pol: no (arm, task) pair twice, and pb-report gives no verdict"
done
stop_sim
# An unequal world: with a pool that supports it (the 400 tasks), each
# names the world's best arm.
start_sim --tasks tasks.jsonl --world world.jsonl --seed 11
for pol in lucb top-two race; do
	pb-update -s "uneq-$pol.json" --init arms.jsonl --policy "$pol:delta=0.05"
	loop "uneq-$pol.json" tasks.jsonl
	like "$RC|$(cat stop.err)|$(pb-report -s "uneq-$pol.json" --json | jq -c '.verdict | [.done, .best, .exhausted]')" \
	     "^3\|pb-sample: done: arm first-principles is best with confidence 1-delta = 0.95.*\|\[true,\"first-principles\",false\]$" \
	     "$pol, an unequal world, 400 tasks: names the world's best arm, and pb-report agrees"
done
stop_sim
done_testing
