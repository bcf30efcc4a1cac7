#!/bin/sh
# pb-report --validate refuses held-out tasks that the state used in
# training (the state knows its tasks), unless --force.
. "$(dirname "$0")/lib.sh"
plan 6

trained_state st.json
# held-out records for tasks FILE, careful right on all, plain on none
held() {
	jq -c '{run: "r", pull: input_line_number, arm: "careful", task: ., reward: 1},
	       {run: "r", pull: (1000 + input_line_number), arm: "plain", task: ., reward: 0}' "$1"
}
jq -c '.id += "-h"' "$TMP/tasks30.jsonl" >new.jsonl
held new.jsonl >fresh.jsonl
run pb-report -s st.json --validate fresh.jsonl --baseline plain
is "$RC|$ERR" "0|" "held-out tasks the state never saw: no complaint"
# three tasks the arms reached in the pool's order (10 of the 30)
jq -c --slurpfile st st.json 'select(.id as $i | $st[0].tasks[:3] | map(.[0]) | index($i))' "$TMP/tasks30.jsonl" >used.jsonl
first=$(jq -r '.id' used.jsonl | head -1)
cat new.jsonl >>used.jsonl
held used.jsonl >mixed.jsonl
run pb-report -s st.json --validate mixed.jsonl --baseline plain
is "$RC" 2 "tasks used in training: exit 2"
is "$ERR" "pb-report: --validate: 3 of the 33 tasks in mixed.jsonl were used in training (for example '$first'): they are not held out; use other tasks, or --force to report anyway" \
   "naming how many and one of them"
is "$OUT" "" "and no report"
run pb-report -s st.json --validate mixed.jsonl --baseline plain --force
is "$RC|$ERR" "0|pb-report: warning: --validate: 3 of the 33 tasks in mixed.jsonl were used in training (for example '$first'); the report is not a held-out check" \
   "--force: the report, with a warning"
run pb-report --validate mixed.jsonl --baseline plain
is "$RC|$ERR" "0|" "without a state there is nothing to check against"
done_testing
