#!/bin/sh
# pb-report --validate on a state with contexts (pb-update --context):
# the totals as for any state, then each context's validation, its arm
# chosen by that context's own bandit, as the ranking shows each
# context after the totals.
. "$(dirname "$0")/lib.sh"
plan 18

# training: tests/data/tasks5.jsonl six times over, in two domains
# (tasks -1 to -3 "math", -4 to -6 "misc"); careful right 8 times in 10,
# turing 5, plain 2, as trained_state gives them
pb-update -s st.json --init "$DATA/arms3.jsonl" --policy uniform --context domain
for i in 1 2 3 4 5 6; do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done |
jq -c '.domain = (if (.id | test("-[123]$")) then "math" else "misc" end)' >tasks.jsonl
pb-sample -s st.json tasks.jsonl |
jq -c '. as $r | ({"careful": 8, "turing": 5, "plain": 2}[.arm]) as $k |
       ((.pull - 1) / 3 | floor) as $i | $r + {reward: (if $i < $k then 1 else 0 end)}' |
pb-update -s st.json
lead() { pb-report -s st.json --context "$1" --json | jq -r .arms[0].id; }
is "$(lead math)/$(lead misc)" "turing/careful" "each domain has its own leader in training"

# held-out: h1-h5 math, h6-h10 misc; careful right on h1-h6, plain on
# h1, h2, h9, turing on the odd ones
awk 'BEGIN { for (i = 1; i <= 10; i++) {
	d = i <= 5 ? "math" : "misc"
	printf "{\"run\":\"r\",\"pull\":%d,\"arm\":\"careful\",\"task\":{\"id\":\"h%d\",\"input\":\"q%d\",\"domain\":\"%s\"},\"reward\":%d}\n", i, i, i, d, i <= 6
	printf "{\"run\":\"r\",\"pull\":%d,\"arm\":\"plain\",\"task\":{\"id\":\"h%d\",\"input\":\"q%d\",\"domain\":\"%s\"},\"reward\":%d}\n", 1000 + i, i, i, d, i == 1 || i == 2 || i == 9
	printf "{\"run\":\"r\",\"pull\":%d,\"arm\":\"turing\",\"task\":{\"id\":\"h%d\",\"input\":\"q%d\",\"domain\":\"%s\"},\"reward\":%d}\n", 2000 + i, i, i, d, i % 2
} }' >held.jsonl
# the same records without the contexts
jq -c 'del(.task.domain)' held.jsonl >plain.jsonl

run pb-report -s st.json --validate held.jsonl --json
is "$RC" 0 "--validate on a state with contexts: status 0"
v() { printf '%s' "$OUT" | jq -c "$1"; }
is "$(v '.validate | [.tasks, .records, .baseline, .context_field]')" '[10,30,"plain","domain"]' \
   "the totals: every record, and the context field"
is "$(v '.validate.arms | map([.id, .accuracy])')" '[["careful",0.6],["turing",0.5],["plain",0.3]]' \
   "the totals' accuracies, as without contexts"
is "$(v '[.validate.contexts[] | [.context, .tasks, .records, .chosen]]')" \
   '[["math",5,15,"turing"],["misc",5,15,"careful"]]' \
   "each context: its tasks, its records, and the arm its own bandit chose"
is "$(v '.validate.contexts[0].arms | map([.id, .accuracy, .uplift])')" \
   '[["careful",1,0.6],["turing",0.6,0.2],["plain",0.4,null]]' "math: accuracy and uplift on its own tasks"
is "$(v '.validate.contexts[0].winners_curse | [.arm, .train_pulls, .train_mean, .heldout_mean, .significant]')" \
   '["turing",5,1,0.6,true]' "math: the winner's curse against the context's own training"
is "$(v '.validate.contexts[1].winners_curse | [.arm, .train_pulls, .train_mean, .heldout_mean]')" \
   '["careful",5,0.6,0.2]' "misc: likewise"
is "$(v '[.validate.contexts[] | has("gate")] | any')" false "no gate in a context: --require gates the totals"

# pb-report(1)'s example: each domain's winner and its uplift
is "$(printf '%s' "$OUT" | jq -r '.validate.contexts[] | .chosen as $c |
        "\(.context): \($c), uplift \(.arms[] | select(.id == $c) | .uplift)"')" \
   "math: turing, uplift 0.2
misc: careful, uplift 0" "the man page's example: each domain's winner and its uplift"

run pb-report -s st.json --validate held.jsonl
is "$(printf '%s\n' "$OUT" | grep -c '^held-out validation: 3 arms on 5 tasks of held.jsonl')" 2 \
   "the table: a validation per context"
is "$(printf '%s\n' "$OUT" | grep '^context ')" "context domain = math
context domain = misc" "each under its heading, as in the ranking"
is "$(printf '%s\n' "$OUT" | grep '^winner' | cut -c1-60)" \
   "winner's curse: the run chose turing on a training mean of 1" "the math bandit's pick was flattered"

run pb-report -s st.json --validate held.jsonl --csv
is "$(printf '%s\n' "$OUT" | cut -d, -f1-4 | head -5)" "context,id,tasks,accuracy
,careful,10,0.6
,turing,10,0.5
,plain,10,0.3
math,careful,5,1" "CSV: a context column, empty for the totals"
run pb-report -s st.json --validate held.jsonl --markdown
like "$OUT" 'Context `domain` = `misc`\.' "Markdown: the context's heading"

# pb-sample's "context" of a record counts before the task's field;
# a held-out context the state never trained on has no chosen arm
jq -c 'if .task.id == "h10" then .context = "art" | del(.task.domain) else . end' held.jsonl >art.jsonl
run pb-report -s st.json --validate art.jsonl --json
is "$(v '[.validate.contexts[] | [.context, .tasks, .chosen]]')" \
   '[["math",5,"turing"],["misc",4,"careful"],["art",1,null]]' \
   "a record's own context; a new context last, with no chosen arm"
# a context without the baseline's records: said, not fatal
jq -c 'select(.arm != "plain" or .task.domain != "misc")' held.jsonl >nobase.jsonl
run pb-report -s st.json --validate nobase.jsonl
is "$RC|$(printf '%s\n' "$OUT" | grep 'no records in this context')" \
   "0|the baseline arm plain has no records in this context" "a context without the baseline: a line, status 0"
# the gate: the totals' uplift, as without contexts (careful's p is
# 0.375 on all the tasks, 1 on misc's alone, where it gains nothing)
run pb-report -s st.json --validate held.jsonl --arm careful --require uplift:0.5
rc=$RC
run pb-report --validate plain.jsonl --baseline plain --arm careful --require uplift:0.5
is "$rc/$RC" "0/0" "--require uplift: the totals decide, as for the same records without contexts"
done_testing
