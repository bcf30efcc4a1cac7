#!/bin/sh
# The state file as text: a file laid out as promptbandit writes it and
# the same state in any other layout (spacing, member order, escapes)
# read alike, so the runs that follow write the same bytes; numbers read
# back exactly; a failed run leaves the file as it was.
. "$(dirname "$0")/lib.sh"
plan 9

# a race of three arms over 15 tasks, graded rewards (fractional pairs)
for i in 1 2 3; do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done >tasks.jsonl
pb-update -s st.json --init "$DATA/arms3.jsonl" --policy race --seed 7
pb-sample -s st.json -n 2 tasks.jsonl | jq -c '. + {reward: ((.pull * 7) % 5 / 4)}' |
	pb-update -s st.json
pb-sample -s st.json -n 2 tasks.jsonl >pulls.jsonl
jq -c '. + {reward: ((.pull * 3) % 7 / 6)}' pulls.jsonl >scored.jsonl

apply() { # apply STATE: the scored pulls applied to a copy of STATE
	cp "$1" "$1.run" && pb-update -s "$1.run" scored.jsonl && cat "$1.run"
}
want=$(apply st.json)
ok "$([ -n "$want" ]; echo $?)" "the pulls applied"
is "$(printf '%s\n' "$want" | wc -l | tr -d ' ')" 1 "the state is one line"
jq . st.json >pretty.json
is "$(apply pretty.json)" "$want" "the state indented by jq: the same run writes the same bytes"
jq -c 'to_entries | sort_by(.key) | from_entries' st.json >sorted.json
is "$(apply sorted.json)" "$want" "top-level members sorted by name: the same bytes"
jq -c '.run as $r | .merged = [] | .repeats = 1 | .' st.json >same.json
is "$(apply same.json)" "$want" "rewritten by jq -c: the same bytes"

# numbers read back exactly (cJSON's 15 digits made 0.1 + 0.2 0.3)
jq -c '.created = 0.1 + 0.2' st.json >third.json
cp third.json third.run
pb-update -s third.run scored.jsonl
is "$(grep -o '"created":[^,]*' third.run)" '"created":0.30000000000000004' \
   "0.1 + 0.2 written with the digits it needs"

# escapes in a task id (the general parser reads the file)
jq -c '.tasks[0][0] = "task \"quoted\""' st.json >esc.json
cp esc.json esc.run
run pb-update -s esc.run scored.jsonl
is "$RC|$(jq -r '.tasks[0][0]' esc.run)" "0|task \"quoted\"" "a task id with an escape reads and stays"

# a bad state: the same message in any layout, the file as it was
jq -c '.tasks[1][0] = .tasks[0][0]' st.json >dup.json
jq '.tasks[1][0] = .tasks[0][0]' st.json >dup-pretty.json
run pb-update -s dup.json scored.jsonl
e1=$(printf '%s' "$ERR" | sed 's/dup.json/X/')
run pb-update -s dup-pretty.json scored.jsonl
e2=$(printf '%s' "$ERR" | sed 's/dup-pretty.json/X/')
like "$e1" "duplicate task id" "a duplicate task id is refused"
is "$e2" "$e1" "with the same message when indented"
done_testing
