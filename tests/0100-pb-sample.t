#!/bin/sh
# pb-sample: drawing tasks, choosing arms, rendering prompts, pending pulls.
. "$(dirname "$0")/lib.sh"
plan 51

pb-update -s st.json --init "$DATA/arms3.jsonl" --policy uniform --seed 3

run pb-sample -s st.json <"$DATA/tasks5.jsonl"
is "$RC" 0 "every task, exit 0"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 5 "one pull per task"
is "$(printf '%s\n' "$OUT" | jq -r .pull | tr '\n' ' ')" "1 2 3 4 5 " "pull ids count up from 1"
is "$(jq -r '.tasks | map(.[0]) | sort | join(" ")' st.json)" "t1 t2 t3 t4 t5" "the state knows the five tasks"
is "$(printf '%s\n' "$OUT" | jq -r .task.id | tr '\n' ' ')" \
   "$(jq -r '.tasks | [.[0][0], .[0][0], .[0][0], .[1][0], .[1][0]] | join(" ")' st.json) " \
   "each arm walks the pool's one random order from its start"
is "$(jq -c '[.arms[].cursor]' st.json)" "[2,2,1]" "each arm's cursor is past the tasks it was given"
is "$(printf '%s\n' "$OUT" | jq -r .arm | tr '\n' ' ')" "plain turing careful plain turing " "uniform is round robin"
is "$(printf '%s\n' "$OUT" | jq -r .run | sort -u)" "$(jq -r .run st.json)" "records carry the state's run id"
is "$(printf '%s\n' "$OUT" | sed -n 2p | jq -r '.messages == [{role: "user", content: ("Answer the task below as if you were Alan Turing.\n\n" + .task.input)}]')" \
   true "default: prefix, blank line, input"
is "$(printf '%s\n' "$OUT" | sed -n 1p | jq -r '.messages == [{role: "user", content: .task.input}]')" true \
   "an empty prefix leaves the input alone"
is "$(printf '%s\n' "$OUT" | sed -n 1p | jq -c .task)" "$(grep "\"$(printf '%s\n' "$OUT" | sed -n 1p | jq -r .task.id)\"" "$DATA/tasks5.jsonl")" \
   "the task is passed through untouched"
is "$(jq -c '.pending | map([.first, .n, (.left | add)])' st.json)" "[[1,5,5]]" "the pulls are pending in the state, as one batch"
is "$(jq .next_pull st.json)" 6 "next_pull advanced"

run pb-sample -s st.json --system <"$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -c 'select(.arm == "careful") | .messages == [{role: "system", content: "Check every step twice before answering."}, {role: "user", content: .task.input}]' | sort -u)" \
   true "--system puts the prefix in a system message"

run pb-sample -s st.json -t '[{arm.style}] {input} (id {task.id})' <"$DATA/tasks5.jsonl"
is "$RC" 1 "a template field missing for some arm: exit 1"
like "$ERR" '^pb-sample: <stdin>:1: --template with arm .plain.: template: no field .arm\.style. in the arm or the task' \
     "names the line, the arm and the field"
is "$OUT" "" "no pulls written when no task fits"

jq -c '.id += "-2"' "$DATA/tasks5.jsonl" >tasks5-2.jsonl
run pb-sample -s st.json -t 'Q: {input} ({id})' tasks5-2.jsonl
is "$(printf '%s\n' "$OUT" | head -1 | jq -r '.messages[0].content == "Q: " + .task.input + " (" + .arm + ")"')" true \
   "--template: bare names look in the arm first"

# -n N: N choices; no arm is ever given the same task twice, over runs
rm -f st.json
pb-update -s st.json --init "$DATA/arms3.jsonl" --policy ucb1
run pb-sample -s st.json -n 5 --seed 9 "$DATA/tasks5.jsonl"
is "$RC $(printf '%s\n' "$OUT" | grep -c .)" "0 5" "-n 5: five pulls"
cp "$TMP/out" all.jsonl
run pb-sample -s st.json -n 12 "$DATA/tasks5.jsonl"
is "$RC $(printf '%s\n' "$OUT" | grep -c .)" "0 10" "-n 12 of a pool of 5 tasks and 3 arms: the 10 pairs left"
is "$ERR" "pb-sample: pool exhausted after 5 tasks: not separated: plain, turing, careful
pb-sample: 10 of 12 tasks sampled" "saying so"
cat "$TMP/out" >>all.jsonl
is "$(jq -r '[.arm, .task.id] | join(" ")' all.jsonl | sort | uniq -d | wc -l | tr -d ' ')" 0 \
   "no (arm, task) pair twice"
is "$(jq -r .arm all.jsonl | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "5 5 5 " \
   "every arm was given every task once"
before=$(sum st.json)
run pb-sample -s st.json -n 5 "$DATA/tasks5.jsonl"
is "$RC|$ERR|$OUT|$(sum st.json)" "3|pb-sample: done: pool exhausted after 5 tasks: not separated: plain, turing, careful||$before" \
   "then exit 3, nothing written, the state unchanged: never recycled"
run pb-sample -s st.json -n 4 tasks5-2.jsonl
is "$RC $(printf '%s\n' "$OUT" | grep -c .)" "0 4" "new tasks join the pool"
is "$(jq '.tasks | length' st.json)" 10 "the pool holds both files' tasks"
is "$(jq -r '.tasks[5:] | map(.[0]) | sort | join(" ")' st.json)" "t1-2 t2-2 t3-2 t4-2 t5-2" \
   "after the old ones"
rm -f st12.json
pb-update -s st12.json --init "$DATA/arms3.jsonl" --policy ucb1
run pb-sample -s st12.json -n 12 "$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -r .arm | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "4 4 4 " \
   "ucb1 with pending pulls spreads a batch over the arms"
# a task's identity: its id, and its input under that id
before=$(sum st12.json)
printf '%s\n' '{"id":"t1","input":"What is 2 + 4?","answer":"6"}' '{"id":"t9","input":"a","answer":"a"}' >changed.jsonl
run pb-sample -s st12.json changed.jsonl
like "$RC|$ERR" "^1\|pb-sample: changed.jsonl:1: task 't1' changed: its input is not the one the state has under this id" \
     "a task whose input changed under the same id: named, exit 1"
is "$(printf '%s\n' "$OUT" | jq -r .task.id | sort -u)" "t9" "the other tasks are still sampled"
printf '%s\n' '{"id":"u1","input":"a"}' '{"id":"u1","input":"b"}' >dupid.jsonl
run pb-sample -s st12.json dupid.jsonl
is "$RC|$ERR" "1|pb-sample: dupid.jsonl:2: task 'u1' is in dupid.jsonl:1 already, with another input" \
   "one id with two inputs in one file"
printf '%s\n' '{"id":1.5,"input":"a"}' >fid.jsonl
run pb-sample -s st12.json fid.jsonl
is "$RC|$ERR" "1|pb-sample: fid.jsonl:1: task \"id\" is not a non-empty string or an integer
pb-sample: no tasks to sample (every line was bad); state not changed" "an id that is neither a string nor an integer"
printf '%s\n' '{"input":"no id here"}' '{"id":7,"input":"seven"}' >noid.jsonl
pb-sample -s st12.json noid.jsonl >/dev/null
like "$(jq -r '.tasks | map(.[0]) | join(" ")' st12.json)" "(^| )#[0-9a-f]{16}( |$)" "no id: a digest of the input"
like "$(jq -r '.tasks | map(.[0]) | join(" ")' st12.json)" "(^| )7( |$)" "an integer id"

# the input field
printf '{"question":"Who?","answer":"x"}\n' >q.jsonl
run pb-sample -s st.json q.jsonl
is "$(printf '%s\n' "$OUT" | jq -r '.messages[-1].content' | tail -c 5)" "Who?" "question is a default input field"
printf '{"q":"Who?"}\n' >q2.jsonl
run pb-sample -s st.json --input-field q q2.jsonl
is "$RC" 0 "--input-field names another field"

# bad input
before=$(sum st.json)
printf '{"id":"a","input":"ok"}\nnot json\n{"id":"b","text":"no input"}\n' >bad.jsonl
run pb-sample -s st.json bad.jsonl
is "$RC" 1 "bad lines: exit 1"
is "$(printf '%s\n' "$ERR" | head -1)" "pb-sample: bad.jsonl:2: not valid JSON" "a line that is not JSON is named"
is "$(printf '%s\n' "$ERR" | sed -n 2p)" \
   'pb-sample: bad.jsonl:3: task has no "input" string field (nor question, prompt; see --input-field)' \
   "a task without the input field is named"
is "$(printf '%s\n' "$OUT" | jq -r .task.id)" "a" "the good task is still sampled"

before=$(sum st.json)
run pb-sample -s st.json </dev/null
is "$RC" 2 "empty input: exit 2"
is "$ERR" "pb-sample: no tasks to sample (empty input); state not changed" "says so"
is "$(sum st.json)" "$before" "the state is unchanged"

run pb-sample -s missing.json <"$DATA/tasks5.jsonl"
is "$RC" 2 "missing state: exit 2"
is "$ERR" "pb-sample: missing.json: No such file or directory" "names the file"

head -c 100 st.json >trunc.json
run pb-sample -s trunc.json <"$DATA/tasks5.jsonl"
is "$ERR" "pb-sample: trunc.json: not a valid state file: not a JSON object (truncated?)" "a truncated state"

run pb-sample <"$DATA/tasks5.jsonl"
is "$ERR" "pb-sample: no state file: give -s FILE or set PB_STATE" "no state given"
jq -c '.id += "-3"' "$DATA/tasks5.jsonl" >tasks5-3.jsonl
PB_STATE=st.json run pb-sample <tasks5-3.jsonl
is "$RC" 0 "PB_STATE names the state"

run pb-sample -s st.json -n 0 <"$DATA/tasks5.jsonl"
is "$ERR" "pb-sample: -n: '0' is not an integer in [1, 2147483647]" "-n 0 is a usage error"
run pb-sample --version
is "$OUT" "pb-sample (promptbandit) 0.1.0" "--version"
run pb-sample -h
like "$OUT" '^usage: pb-sample' "-h prints usage on stdout"
done_testing
