#!/bin/sh
# 0320-pb-score-judge.t - pb-score --judge against pb-sim acting as the
# judge: verdicts on a scale and pass-fail, the reply kept, blends, the
# cache, Anthropic, a judge that fails, and bad templates.
. "$(dirname "$0")/lib.sh"
plan 21

RUBRIC=$TOP/examples/judge-plain.txt
printf '%s\n' '{"id":"t1","input":"What is 2 + 2?","answer":"4"}' >tasks.jsonl
start_sim --tasks tasks.jsonl
rec() { # rec PULL RESPONSE
	printf '{"pull":%s,"task":{"input":"What is 2 + 2?","answer":"4"},"response":{"text":"%s"}}\n' "$1" "$2"
}
{
	rec 1 "The answer is 4."
	rec 2 "So, the total is **4 apples**. Now that's a feast!"
	rec 3 "It is 5."
	rec 4 "I cannot help with that."
	printf '%s\n' '{"pull":5,"task":{"answer":"4"},"error":{"kind":"http","status":500,"message":"HTTP 500: boom"}}'
} >in.jsonl
col() { jq -c "$1" "$TMP/out" | tr '\n' ' '; }

run pb-score --judge "$RUBRIC" --judge-model pb-sim -j 4 in.jsonl
is "$RC" 0 "judge: exit 0"
is "$ERR" "" "judge: nothing on stderr"
is "$(col .reward)" "1 0.6 0.2 0 null " "judge: plain and right 1, persona 0.6, wrong 0.2, none 0, failed query null"
is "$(col .score.extracted)" '"10/10" "6/10" "2/10" "0/10" null ' "judge: the verdicts"
is "$(jq -c 'select(.pull == 1) | .score.judge' "$TMP/out")" \
	'{"model":"pb-sim","reply":"The answer is right and plainly stated.\nScore: 10/10"}' "judge: the raw reply kept"
is "$(col .score.status)" '"ok" "partial" "partial" "wrong" "unscored" ' "judge: statuses"
stats=$(reset)
is "$(field "$stats" completions)" 4 "judge: one request per answered record"

# The cache: the same judging again asks nothing.
run pb-score --judge "$RUBRIC" --judge-model pb-sim in.jsonl
is "$RC $(col .reward)" "0 1 0.6 0.2 0 null " "cache: same rewards"
is "$(field "$(reset)" requests)" 0 "cache: no requests the second time"
run pb-score --judge "$RUBRIC" --judge-model pb-sim --no-cache in.jsonl
is "$(field "$(reset)" completions)" 4 "--no-cache asks again"

# Pass-fail, through the Anthropic API.
cat >pf.txt <<'TPL'
Is this answer to "{task}" right (reference: <reference>{reference}</reference>)
and plainly stated?  <response>{response}</response>
Reply PASS or FAIL.
TPL
run pb-score --judge pf.txt --judge-scale pass-fail --judge-api anthropic \
	--judge-url "${OPENAI_BASE_URL%/v1}" --judge-model pb-sim --no-cache in.jsonl
is "$RC $(col .reward)" "0 1 0 0 0 null " "pass-fail over Anthropic"
is "$(col .score.extracted)" '"PASS" "FAIL" "FAIL" "FAIL" null ' "pass-fail: verdicts"

# A blend of correctness and the judge's view of plainness.
run pb-score --blend number:0.8,judge:0.2 --judge "$RUBRIC" --judge-model pb-sim in.jsonl
is "$RC $(col .reward)" "0 1 0.92 0.04 0 null " "blend number:0.8,judge:0.2"
is "$(jq -c 'select(.pull == 2) | .score.components | [.number.reward, .judge.reward, .judge.judge.model]' "$TMP/out")" \
	'[1,0.6,"pb-sim"]' "blend: each component kept"

# A reply without a verdict: the wrong scale for this judge.
run pb-score --judge "$RUBRIC" --judge-model pb-sim --judge-scale 5 in.jsonl
is "$RC" 1 "wrong scale: exit 1"
is "$(jq -r 'select(.pull == 1) | .score.reason' "$TMP/out")" "the judge scored out of 10, not 5" "wrong scale: reason"
stop_sim

# A judge that fails: records unscored, said, exit 1.
start_sim --tasks tasks.jsonl --fault auth:1
run pb-score --judge "$RUBRIC" --judge-model pb-sim --no-cache in.jsonl
is "$RC $(col .reward)" "1 null null null null null " "judge failing: unscored"
like "$(jq -r 'select(.pull == 1) | .score.reason' "$TMP/out")" '^judge failed: HTTP 401' "judge failing: reason"
like "$ERR" '^pb-score: judge: in.jsonl:1: HTTP 401' "judge failing: said per record"

# Bad templates.
printf 'Judge {answer}\n' >bad.txt
run pb-score --judge bad.txt </dev/null
is "$RC:$ERR" "2:pb-score: --judge: bad.txt: template: unknown placeholder {answer} (task, reference, response, prompt)" "unknown placeholder"
run pb-score --judge missing.txt </dev/null
is "$RC:$ERR" "2:pb-score: --judge: missing.txt: No such file or directory" "missing template"
done_testing
