#!/bin/sh
# pb-sample: drawing tasks, choosing arms, rendering prompts, pending pulls.
. "$(dirname "$0")/lib.sh"
plan 38

pb-update -s st.json --init "$DATA/arms3.jsonl" --policy uniform --seed 3

run pb-sample -s st.json <"$DATA/tasks5.jsonl"
is "$RC" 0 "every task, exit 0"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 5 "one pull per task"
is "$(printf '%s\n' "$OUT" | jq -r .pull | tr '\n' ' ')" "1 2 3 4 5 " "pull ids count up from 1"
is "$(printf '%s\n' "$OUT" | jq -r .task.id | tr '\n' ' ')" "t1 t2 t3 t4 t5 " "tasks in input order"
is "$(printf '%s\n' "$OUT" | jq -r .arm | tr '\n' ' ')" "plain turing careful plain turing " "uniform is round robin"
is "$(printf '%s\n' "$OUT" | jq -r .run | sort -u)" "$(jq -r .run st.json)" "records carry the state's run id"
is "$(printf '%s\n' "$OUT" | sed -n 2p | jq -c .messages)" \
   '[{"role":"user","content":"Answer the task below as if you were Alan Turing.\n\nWhat is 7 * 6?"}]' \
   "default: prefix, blank line, input"
is "$(printf '%s\n' "$OUT" | sed -n 1p | jq -c .messages)" '[{"role":"user","content":"What is 2 + 3?"}]' \
   "an empty prefix leaves the input alone"
is "$(printf '%s\n' "$OUT" | sed -n 1p | jq -c .task)" "$(sed -n 1p "$DATA/tasks5.jsonl")" "the task is passed through untouched"
is "$(jq -c '.pending | map([.first, .n, (.left | add)])' st.json)" "[[1,5,5]]" "the pulls are pending in the state, as one batch"
is "$(jq .next_pull st.json)" 6 "next_pull advanced"

run pb-sample -s st.json --system <"$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -c 'select(.task.id == "t1") | [.arm, .messages]')" \
   '["careful",[{"role":"system","content":"Check every step twice before answering."},{"role":"user","content":"What is 2 + 3?"}]]' \
   "--system puts the prefix in a system message"

run pb-sample -s st.json -t '[{arm.style}] {input} (id {task.id})' <"$DATA/tasks5.jsonl"
is "$RC" 1 "a template field missing for some arm: exit 1"
like "$ERR" '^pb-sample: <stdin>:1: --template with arm .plain.: template: no field .arm\.style. in the arm or the task' \
     "names the line, the arm and the field"
is "$OUT" "" "no pulls written when no task fits"

run pb-sample -s st.json -t 'Q: {input} ({id})' <"$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.task.id == "t1") | .messages[0].content')" "Q: What is 2 + 3? (turing)" \
   "--template: bare names look in the arm first"

# -n draws without replacement, reproducibly with --seed
rm -f st.json
pb-update -s st.json --init "$DATA/arms3.jsonl" --policy ucb1
run pb-sample -s st.json -n 5 --seed 9 "$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -r .task.id | sort | tr '\n' ' ')" "t1 t2 t3 t4 t5 " "-n 5 of 5 draws each task once"
first=$(printf '%s\n' "$OUT" | jq -r .task.id | tr '\n' ' ')
run pb-sample -s st.json -n 5 --seed 9 "$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -r .task.id | tr '\n' ' ')" "$first" "--seed repeats the draw"
is "$(printf '%s\n' "$OUT" | jq -r .pull | head -1)" 6 "but the pull ids go on"
rm -f st12.json
pb-update -s st12.json --init "$DATA/arms3.jsonl" --policy ucb1
run pb-sample -s st12.json -n 12 "$DATA/tasks5.jsonl"
is "$(printf '%s\n' "$OUT" | jq -r .task.id | sort | uniq -c | awk '{print $1}' | sort | tr '\n' ' ')" "2 2 2 3 3 " \
   "-n 12 of 5: every task twice, then two more"
is "$(printf '%s\n' "$OUT" | jq -r .arm | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "4 4 4 " \
   "ucb1 with pending pulls spreads a batch over the arms"

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
PB_STATE=st.json run pb-sample <"$DATA/tasks5.jsonl"
is "$RC" 0 "PB_STATE names the state"

run pb-sample -s st.json -n 0 <"$DATA/tasks5.jsonl"
is "$ERR" "pb-sample: -n: '0' is not an integer in [1, 2147483647]" "-n 0 is a usage error"
run pb-sample --version
is "$OUT" "pb-sample (promptbandit) 0.1.0" "--version"
run pb-sample -h
like "$OUT" '^usage: pb-sample' "-h prints usage on stdout"
done_testing
