#!/bin/sh
# pb-report --replay: the ranking rebuilt from the scored records alone
# equals the state's, and a state that disagrees with its logs is caught.
. "$(dirname "$0")/lib.sh"
plan 14

pb-update -s st.json --init "$DATA/arms3.jsonl" --policy thompson --seed 5
for i in 1 2 3 4 5 6; do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done >tasks30.jsonl
for b in 1 2 3; do
	pb-sample -s st.json -n 10 tasks30.jsonl |
	jq -c '. as $r | ({"careful": 8, "turing": 5, "plain": 2}[.arm]) as $k |
	       $r + {reward: (if (.pull % 7) == 0 then null elif (.pull % 10) < $k then 1 else 0 end),
	             response: {usage: {prompt_tokens: 50, completion_tokens: 5}}}' >"scored$b.jsonl"
	pb-update -s st.json <"scored$b.jsonl"
done

cols='[.arms[] | [.id, .pulls, .mean, .ci_low, .ci_high, .errors, .pbest]]'
pb-report -s st.json --json >state.out
run pb-report --replay scored1.jsonl scored2.jsonl scored3.jsonl --json
is "$RC" 0 "--replay without a state"
is "$(printf '%s' "$OUT" | jq -c "$cols")" "$(jq -c "$cols" state.out)" \
   "replay equals the state: order, pulls, means, intervals, errors, P(best)"
is "$(printf '%s' "$OUT" | jq -c '[.updates, .verdict.rule, .verdict.done]')" \
   "$(jq -c '[.updates, .verdict.rule, .verdict.done]' state.out)" "and the updates and the verdict"
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | .prompt_tokens + .completion_tokens] | add')" 1650 \
   "tokens from the records: 30 x 55"
is "$(printf '%s' "$OUT" | jq -c '.replay')" '{"records":30,"agrees":false}' \
   "no state: nothing to agree with"

# records given twice count once, as pb-update applies them once
cat scored1.jsonl scored2.jsonl scored3.jsonl scored2.jsonl >dup.jsonl
run pb-report -s st.json --replay --json <dup.jsonl
is "$RC/$(printf '%s' "$OUT" | jq -c '.replay')" '0/{"records":40,"agrees":true}' \
   "with the state, from stdin, a pull seen twice counts once: they agree"
is "$(printf '%s' "$OUT" | jq -c "$cols")" "$(jq -c "$cols" state.out)" "still the same numbers"

run pb-report -s st.json --replay scored1.jsonl scored2.jsonl scored3.jsonl --price 1,2
is "$(printf '%s\n' "$OUT" | tail -1)" "replay: 30 records agree with st.json" "the table says they agree"
is "$(printf '%s\n' "$OUT" | sed -n 2p | tr -s ' ')" \
   "rank arm pulls share mean CI index errors P(best) tokens cost" "tokens and cost columns"

# a log that misses a batch disagrees
run pb-report -s st.json --replay scored1.jsonl scored2.jsonl
is "$RC" 1 "a missing log: exit 1"
like "$(printf '%s\n' "$ERR" | head -1)" \
   "^pb-report: replay: arm [a-z]+: [0-9]+ rewarded pulls summing to [0-9.]+ and [0-9]+ errors in the records; [0-9]+ summing to [0-9.]+ and [0-9]+ in the state$" \
   "naming the arm and both counts"

# records of another run, or not scored
jq -c '.run = "0123456789abcdef0123456789abcdef"' scored1.jsonl | head -1 >other.jsonl
jq -c 'del(.reward)' scored1.jsonl | head -1 >>other.jsonl
run pb-report -s st.json --replay scored1.jsonl scored2.jsonl scored3.jsonl other.jsonl
is "$RC" 1 "foreign records: exit 1"
is "$(printf '%s\n' "$ERR" | sed 's/pull [0-9]*/pull N/')" \
   "pb-report: other.jsonl:1: pull N: from run 0123456789abcdef0123456789abcdef, not the state's
pb-report: other.jsonl:2: pull N: not scored (no \"reward\"; run pb-score first)" "each reported"
run pb-report --replay --history scored1.jsonl
is "$ERR/$RC" "pb-report: --replay rebuilds the ranking only: no --history or --plot/2" \
   "replay has no history"
done_testing
