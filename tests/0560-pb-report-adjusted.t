#!/bin/sh
# pb-report --replay --adjusted: each arm's mean adjusted for the tasks it
# got by the additive model reward = arm + task (lib/pooled.c), on
# hand-made scored records whose truth is known.
. "$(dirname "$0")/lib.sh"
plan 13

R=0123456789abcdef0123456789abcdef
n=0
rec() { # rec ARM TASK REWARD: one scored record, the next pull id
	n=$((n + 1))
	printf '{"pull":%d,"run":"%s","arm":"%s","task":{"id":"%s","input":"q %s"},"reward":%s}\n' \
	       "$n" "$R" "$1" "$2" "$2" "$3"
}

# balanced: three arms on the same six tasks, rewards with an interaction
for t in 1 2 3 4 5 6; do
	rec A "t$t" "0.$(( (t * 7) % 10 ))"
	rec B "t$t" "0.$(( (t * 3 + 1) % 10 ))"
	rec C "t$t" "0.$(( (t * t) % 10 ))"
done >bal.jsonl
run pb-report --replay --adjusted --json bal.jsonl
is "$RC" 0 "balanced: exit 0"
is "$(printf '%s' "$OUT" | jq '[.arms[] | (.adjusted - .mean) | fabs] | max < 1e-12')" true \
   "balanced: adjusted = raw mean to 1e-12"
is "$(printf '%s' "$OUT" | jq -c '[.pooled.cells, .pooled.tasks, .pooled.components, .pooled.converged]')" \
   '[18,6,1,true]' "the fit: 18 cells of 6 tasks, one component, converged"

# confounded: A got only the easy tasks (0.8 for an arm of effect 0),
# B only the hard ones (0.2 + B's 0.15), C all eight: raw A > B, truth B > A
n=0
for t in e1 e2 e3 e4; do rec A "$t" 0.8; rec C "$t" 0.8; done >conf.jsonl
for t in h1 h2 h3 h4; do rec B "$t" 0.35; rec C "$t" 0.2; done >>conf.jsonl
run pb-report --replay --adjusted --json conf.jsonl
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | .id]')" '["A","C","B"]' \
   "raw means rank A above B (the ranking is unchanged)"
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | select(.id == "A" or .id == "B") | .adjusted * 1e6 | round]')" \
   '[487500,637500]' "adjusted: A 0.4875 below B 0.6375, the 0.15 built in"
is "$(printf '%s' "$OUT" | jq -c '[.verdict.rule, (.arms[0] | has("comp"))]')" '["glr",false]' \
   "the verdict as without --adjusted; no comp with one component"
run pb-report --replay --adjusted conf.jsonl
is "$(printf '%s\n' "$OUT" | grep -A4 '^adjusted:' | tr -s ' ')" \
   "adjusted: reward = arm + task, least squares on 16 (arm, task) cells of 8 tasks
rank arm pulls mean adjusted
 1 A 4 0.800 0.488
 2 C 8 0.500 0.487
 3 B 4 0.350 0.637" "the table: an adjusted column beside the mean"
is "$(printf '%s\n' "$OUT" | grep '^best adjusted')" "best adjusted: B" "best adjusted: B"

# disconnected: A and C share t1 t2, B and D share t3 t4, nothing between
n=0
{ rec A t1 1; rec A t2 0; rec C t1 1; rec C t2 1; rec B t3 0; rec B t4 0; rec D t3 1; rec D t4 0; } >dis.jsonl
run pb-report --replay --adjusted --json dis.jsonl
is "$(printf '%s' "$OUT" | jq -c '[.pooled.components, ([.arms[] | [.id, .comp]] | sort)]')" \
   '[2,[["A",1],["B",2],["C",1],["D",2]]]' "disconnected: two components, each arm's"
run pb-report --replay --adjusted dis.jsonl
is "$(printf '%s\n' "$OUT" | grep -E '^(the arms fall|best adjusted)')" \
   "the arms fall into 2 components that share no task: adjusted means compare only within a component
best adjusted in component 1: C; in component 2: D" "the table refuses to compare across components"

# usage, and a record with no task to place it by
run pb-report -s st.json --adjusted
is "$ERR/$RC" "pb-report: --adjusted needs --replay/2" "--adjusted without --replay: usage error, 2"
run pb-report --replay --adjusted --csv conf.jsonl
is "$ERR/$RC" "pb-report: --adjusted does not go with --csv/2" "nor with --csv"
jq -c 'del(.task) | .pull = 99' bal.jsonl | head -1 >notask.jsonl
run pb-report --replay --adjusted bal.jsonl notask.jsonl
is "$ERR/$RC" "pb-report: notask.jsonl:1: pull 99: --adjusted: no task id (no \"task\" with an \"id\" or an input field)/1" \
   "a record with no task: reported, exit 1"
done_testing
