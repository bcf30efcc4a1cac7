#!/bin/sh
# pb-report --validate: held-out accuracy, uplift over a baseline with a
# paired bootstrap interval and an exact McNemar p-value, the winner's
# curse, and the --require gates.  Numbers checked by hand in comments.
. "$(dirname "$0")/lib.sh"
plan 33

# held-out records: 10 tasks; careful right on h1-h6, plain on h1, h2, h9.
# b (careful right, plain wrong) = h3-h6 = 4, c = h9 = 1;
# McNemar p = 2 (C(5,0) + C(5,1)) / 2^5 = 0.375; uplift (6 - 3) / 10 = 0.3
heldout() { # FILE NTASKS CAREFUL-RIGHT PLAIN-RIGHT-LIST
	awk -v n="$2" -v k="$3" -v pl="$4" 'BEGIN {
		split(pl, p, ","); for (j in p) pr[p[j]] = 1
		for (i = 1; i <= n; i++) {
			printf "{\"run\":\"r\",\"pull\":%d,\"arm\":\"careful\",\"task\":{\"id\":\"h%d\",\"input\":\"q%d\"},\"reward\":%d,\"response\":{\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":10}}}\n", i, i, i, i <= k
			printf "{\"run\":\"r\",\"pull\":%d,\"arm\":\"plain\",\"task\":{\"id\":\"h%d\",\"input\":\"q%d\"},\"reward\":%d,\"response\":{\"usage\":{\"prompt_tokens\":90,\"completion_tokens\":10}}}\n", 1000 + i, i, i, (i in pr)
		} }' >"$1"
}
heldout held.jsonl 10 6 1,2,9

run pb-report --validate held.jsonl --baseline plain --json
is "$RC" 0 "--validate --json"
v() { printf '%s' "$OUT" | jq -c "$1"; }
is "$(v '.validate | [.tasks, .baseline, .chosen]')" '[10,"plain","careful"]' \
   "10 tasks; with two arms the other one is the chosen arm"
is "$(v '.validate.arms[0] | [.id, .tasks, .accuracy, .paired, .uplift, .b, .c, (.p_mcnemar * 1e6 | round)]')" \
   '["careful",10,0.6,10,0.3,4,1,375000]' "accuracy, uplift, discordant pairs and the exact McNemar p"
is "$(v '.validate.arms[1] | [.id, .accuracy, .uplift]')" '["plain",0.3,null]' "the baseline has no uplift"
is "$(v '.validate.arms[0] | [(.ci_low * 1e6 | round), (.ci_high * 1e6 | round), .ci_method]')" \
   '[312674,831820,"wilson"]' "the Wilson interval of 6/10"
lo=$(v '.validate.arms[0].uplift_low'); hi=$(v '.validate.arms[0].uplift_high')
ok "$(awk -v l="$lo" -v h="$hi" 'BEGIN { exit !(l < 0.3 && 0.3 < h && l >= -0.1 && h <= 0.7) }'; echo $?)" \
   "the bootstrap interval [$lo, $hi] holds the uplift, within [-1/10, 7/10] (the sum of 10 draws of +1, -1, 0)"
run pb-report --validate held.jsonl --baseline plain --json
is "$(v '[.validate.arms[0].uplift_low, .validate.arms[0].uplift_high]')" "[$lo,$hi]" "the same seed, the same interval"
run pb-report --validate held.jsonl --baseline plain --json --seed 2 --resamples 500
is "$(v '.validate | [.seed, .resamples]')" "[2,500]" "--seed and --resamples"
is "$(v '.validate.arms[0] | [.prompt_tokens, .completion_tokens, .cost]')" "[1000,100,null]" \
   "tokens from response.usage; no cost without --price"
run pb-report --validate held.jsonl --baseline plain --json --price 3,15
is "$(v '.validate.arms[0].cost * 1e6 | round')" 4500 "cost: 1000 in at \$3/M + 100 out at \$15/M = \$0.0045"

run pb-report --validate held.jsonl --baseline plain
is "$(printf '%s\n' "$OUT" | head -1)" \
   "held-out validation: 2 arms on 10 tasks of held.jsonl, paired by task; baseline plain" "table heading"
like "$(printf '%s\n' "$OUT" | sed -n 4p)" '^careful +10 +0\.600  \[0\.313, 0\.832\] +\+0\.300  \[[-+]0\.[0-9]{3}, \+0\.[0-9]{3}\] +4 +1 +0\.375 +0 +1100 +-$' \
   "table row"
like "$(printf '%s\n' "$OUT" | tail -1)" '^uplift of careful over plain: \+0\.300 on 10 paired tasks \(95% CI .*\), McNemar p = 0\.375: not significant at 0\.05: ' \
   "the uplift in words"

# the winner's curse: a state that saw careful right 8 times in 10
trained_state st.json
run pb-report --validate held.jsonl -s st.json
is "$RC" 0 "with the state: the baseline is the arm with an empty prefix"
# 0.8 on 10 against 0.6 on 10: a drop of one standard error
# (sqrt(0.16 / 10 + 0.24 / 10) = 0.2), which chance gives often
is "$(printf '%s\n' "$OUT" | grep "^training against held-out")" \
   "training against held-out: the run chose careful on a training mean of 0.800 [0.490, 0.943] over 10 pulls; on 10 held-out tasks it scored 0.600 [0.313, 0.832], 0.200 lower, within chance (z = 1.00, not significant at 0.05): no evidence of the winner's curse." \
   "training estimate next to held-out estimate, in plain words; a drop within chance is no curse"
run pb-report --validate held.jsonl -s st.json --json
is "$(v '.validate.winners_curse | [.arm, .train_mean, .heldout_mean, .train_pulls, (.z * 1e6 | round), .significant]')" '["careful",0.8,0.6,10,1000000,false]' \
   "the comparison in JSON"
# 0.8 on 10 against 2 of 40: z = 0.75 / sqrt(0.016 + 0.0475 / 40) = 5.72
heldout weak.jsonl 40 2 1,2,3
run pb-report --validate weak.jsonl -s st.json
is "$(printf '%s\n' "$OUT" | grep "^winner's curse")" \
   "winner's curse: the run chose careful on a training mean of 0.800 [0.490, 0.943] over 10 pulls; on 40 held-out tasks it scored 0.050 [0.014, 0.165], 0.750 lower (z = 5.72, significant at 0.05): the training figure was flattered by picking the luckiest arm; believe the held-out one." \
   "a significant drop is called the winner's curse"
run pb-report --validate weak.jsonl -s st.json --json
is "$(v '.validate.winners_curse.significant')" true "significant in JSON"

# the chosen arm is the baseline: nothing to test, and the gate says so
run pb-report --validate held.jsonl --baseline careful --arm careful --require uplift
is "$RC" 4 "--require uplift with the baseline as the chosen arm: exit 4"
is "$ERR" "pb-report: gate: the chosen arm is the baseline itself: no uplift to test" "saying exactly that"
is "$(printf '%s\n' "$OUT" | tail -1)" \
   "uplift: the chosen arm careful is the baseline itself: there is no uplift to measure (name another with --arm, or another baseline with --baseline)" \
   "and the report says it in words"

# gates
run pb-report --validate held.jsonl --baseline plain --require uplift
is "$RC" 4 "--require uplift: not significant, exit 4"
is "$ERR" "pb-report: gate: the held-out uplift of the chosen arm is not significant" "saying why"
run pb-report --validate held.jsonl --baseline plain --require uplift:0.4
is "$RC" 0 "--require uplift:0.4: p = 0.375 passes"
heldout strong.jsonl 20 20 1,2,3,4,5
run pb-report --validate strong.jsonl --baseline plain --require uplift --json
is "$RC/$(v '.validate.arms[0] | [.b, .c, .p_mcnemar * 1e9 | round]')" "0/[15,0,61035]" \
   "20/20 against 5/20: b 15, c 0, p = 2 / 2^15, the gate passes"
run pb-report -s st.json --require verdict
is "$RC" 4 "--require verdict: not reached, exit 4"
is "$ERR" "pb-report: gate: the verdict is not reached" "saying why"

# pairing by the task's text when it has no id; null rewards are errors
cat held.jsonl >mixed.jsonl
printf '%s\n' '{"run":"r","pull":50,"arm":"careful","task":{"input":"no id"},"reward":1}' \
	'{"run":"r","pull":51,"arm":"plain","task":{"input":"no id"},"reward":0}' \
	'{"run":"r","pull":52,"arm":"plain","task":{"id":"h20"},"reward":null}' >>mixed.jsonl
run pb-report --validate mixed.jsonl --baseline plain --json
is "$(v '.validate.arms[0] | [.tasks, .paired, .b, .c]')" '[11,11,5,1]' "a task without id pairs by its text"
is "$(v '.validate.arms[1] | [.tasks, .errors]')" '[11,1]' "a null reward is an error, not a task"

# bad input
printf '%s\n' '{"arm":"plain","reward":1}' 'not json' >>mixed.jsonl
run pb-report --validate mixed.jsonl --baseline plain --json
is "$RC" 1 "bad records: exit 1"
is "$ERR" 'pb-report: mixed.jsonl:24: no "task"
pb-report: mixed.jsonl:25: not valid JSON' "each named by file and line"
run pb-report --validate held.jsonl --baseline nosuch
is "$ERR/$RC" "pb-report: --validate: the baseline arm 'nosuch' has no records in held.jsonl/2" "an unknown baseline"
run pb-report --validate held.jsonl --baseline plain --require verdict
is "$ERR/$RC" "pb-report: --require verdict needs the ranking, not --validate/2" "gates go with their mode"
done_testing
