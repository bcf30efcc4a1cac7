#!/bin/sh
# pb-report: the ranking in four formats, from a state with known counts.
. "$(dirname "$0")/lib.sh"
plan 45

trained_state st.json

run pb-report -s st.json --json --interval auto
is "$RC" 0 "--json"
is "$(printf '%s' "$OUT" | jq -r '[.arms[].id] | join(" ")')" "careful turing plain" "arms best first"
is "$(printf '%s' "$OUT" | jq -c '.arms[0] | [.rank, .pulls, .mean, .errors]')" "[1,10,0.8,0]" "rank, pulls, mean, errors"
is "$(printf '%s' "$OUT" | jq -r '.arms[1] | [.ci_low, .ci_high] | map(. * 1e6 | round) | join(" ")')" \
   "236593 763407" "the Wilson 95% interval of 5/10"
is "$(printf '%s' "$OUT" | jq -r '.arms[0].ci_method')" "wilson" "names the interval"
is "$(printf '%s' "$OUT" | jq -r '.policy.name + " " + (.updates|tostring)')" "uniform 30" "policy and updates"

# The default beside a verdict: the anytime interval, valid at whatever
# moment the run stopped, so wider than the fixed-sample Wilson one.
run pb-report -s st.json --json
is "$(printf '%s' "$OUT" | jq -r '[.arms[].ci_method] | unique | join(" ")')" "anytime" "the default interval is anytime-valid"
is "$(printf '%s' "$OUT" | jq -r '.arms[1] | [.ci_low, .ci_high] | map(. * 1e6 | round) | join(" ")')" \
   "117563 882437" "the anytime 95% interval of 5/10 (Jeffreys mixture)"
printf '%s' "$OUT" | jq -e '.arms[1] | .ci_low < 0.236593 and .ci_high > 0.763407' >/dev/null
ok $? "wider than Wilson's"
run pb-report -s st.json
is "$(printf '%s\n' "$OUT" | head -1)" "policy uniform, 30 pulls applied, 0 pending; 95% intervals (anytime-valid, Jeffreys mixture)" "the table names the anytime interval"
run pb-report -s st.json --interval nosuch
is "$ERR" "pb-report: --interval: 'nosuch' is not anytime, auto or bernstein" "a bad --interval"
is "$RC" 2 "exit 2"

run pb-report -s st.json --interval auto
is "$(printf '%s\n' "$OUT" | head -1)" "policy uniform, 30 pulls applied, 0 pending; 95% intervals (fixed-sample, Wilson score)" "table header line: fixed-sample intervals say so"
is "$(printf '%s\n' "$OUT" | sed -n 3p | tr -s ' ')" " 1 careful 10 33.3% 0.800 [0.490, 0.943] 0.800 0 0.905" "table row, with P(best)"
is "$(printf '%s\n' "$OUT" | sed -n 6p)" "P(best): Monte Carlo over 10000 draws from Beta(1 + wins, 1 + losses) posteriors (seed 1)" \
   "the table names how P(best) was computed"
is "$(printf '%s\n' "$OUT" | sed -n 7p)" "P(best) is a posterior estimate, not a verdict: no arm is called best until the glr rule separates it at confidence 0.95" \
   "beside a verdict not yet reached, P(best) is said to be no verdict"
like "$(printf '%s\n' "$OUT" | tail -1)" "^verdict: " "the verdict comes last"

# A retired arm can no longer be chosen: it has no P(best), and the
# others' add up to 1 without it.
cp st.json retired.json
pb-update -s retired.json --retire plain
run pb-report -s retired.json --json
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | select(.id == "plain") | .pbest]')" "[null]" "a retired arm has no P(best)"
is "$(printf '%s' "$OUT" | jq '[.arms[].pbest | numbers] | add * 1e9 | round')" 1000000000 "the others' add up to 1"

# Arms answered the same tasks: P(best) is drawn jointly, through the pairs.
pb-update -s paired.json --init "$DATA/arms3.jsonl" --policy uniform
jq -nc 'range(20) | {id: "t\(.)", input: "question \(.)", answer: "1"}' >tasks20.jsonl
pb-sample -s paired.json -k all tasks20.jsonl |
	jq -c '. + {reward: (if .arm == "plain" then (.group % 3 == 0 | if . then 1 else 0 end) else (.group % 2 | if . == 0 then 1 else 0 end) end)}' |
	pb-update -s paired.json
run pb-report -s paired.json
like "$(printf '%s\n' "$OUT" | grep '^P(best): ')" "joint normal posterior, correlated through the tasks arms shared" \
   "paired arms: a joint posterior"

run pb-report -s st.json --csv --interval auto
is "$(printf '%s\n' "$OUT" | head -1)" "rank,id,pulls,share,mean,ci_low,ci_high,ci_method,index,errors,pbest,prompt_tokens,completion_tokens,cost" "CSV header"
is "$(printf '%s\n' "$OUT" | sed -n 4p)" "3,plain,10,0.333333,0.2,0.0566822,0.509838,wilson,0.2,0,0.0021,-,-,-" "CSV row: no tokens in a state"

run pb-report -s st.json --markdown --interval auto
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "| rank | arm | pulls | share | mean | 95% CI | index | errors | P(best) |" "Markdown header"
is "$(printf '%s\n' "$OUT" | sed -n 5p)" "| 1 | careful | 10 | 33.3% | 0.800 | [0.490, 0.943] | 0.800 | 0 | 0.905 |" "Markdown row"

# an arm id with a | stays one Markdown cell; an arm without rewards has no share
printf '{"id":"a|b"}\n{"id":"c"}\n' >pipe.jsonl
pb-update -s p.json --init pipe.jsonl
run pb-report -s p.json --markdown
is "$(printf '%s\n' "$OUT" | grep -c 'a\\|b')" 1 "a | in an arm id is escaped in Markdown"
run pb-report -s p.json --csv --interval auto
is "$(printf '%s\n' "$OUT" | sed -n 2p)" '1,a|b,0,-,-,0,1,wilson,-,0,0.5121,-,-,-' "CSV: no pulls, no share or mean; P(best) from the prior"

run pb-report -s st.json --json --level 0.9 --interval auto
is "$(printf '%s' "$OUT" | jq -r '.arms[1].ci_low * 1e4 | round')" 2693 "--level 0.9 narrows the interval"

# P(best) against the two-arm exact value is in tests/unit/report.c;
# here: the JSON carries it, and it is reproducible
run pb-report -s st.json --json --draws 2000 --seed 9
a=$(printf '%s' "$OUT" | jq -c '[.arms[].pbest]')
run pb-report -s st.json --json --draws 2000 --seed 9
is "$(printf '%s' "$OUT" | jq -c '[.arms[].pbest]')" "$a" "P(best) is the same for the same seed"
is "$(printf '%s' "$OUT" | jq '[.arms[].pbest] | add * 1e9 | round')" 1000000000 "and adds up to 1"
run pb-report -s st.json --json --interval bernstein
is "$(printf '%s' "$OUT" | jq -c '.arms[0] | [.ci_method, (.ci_low * 1e6 | round), (.ci_high * 1e6 | round)]')" \
   '["bernstein",0,1000000]' "--interval bernstein: 8/10 is still [0, 1] by empirical Bernstein"

# Two claims: the verdict is about the population the tasks came from;
# the pool line about these tasks themselves, with finite-population
# intervals that close on the pool's own mean once every task is in.
jq -nc 'range(30) | {id: "t\(.)", input: "q \(.)", answer: "1"}' >t30.jsonl
reward='. + {reward: ((if .arm == "careful" then 80 elif .arm == "turing" then 50 else 20 end) as $p |
	(.task.id[1:] | tonumber) as $t | if (($t * 7919) % 100) < $p then 1 else 0 end)}'
pb-update -s pool.json --init "$DATA/arms3.jsonl" --policy uniform
for i in 1 2 3; do pb-sample -s pool.json -n 9 t30.jsonl | jq -c "$reward" | pb-update -s pool.json; done
run pb-report -s pool.json --json
printf '%s' "$OUT" | jq -e '[.arms[] | select(.pool_low <= .mean and .mean <= .pool_high and .pool_low > 0.01 and .pool_high < 0.99)] | length == 3' >/dev/null
ok $? "nine of 30 tasks in: each arm's pool interval holds its mean, narrower than [0, 1]"
printf '%s' "$OUT" | jq -e '[.arms[] | (.pool_high - .pool_low) < (.ci_high - .ci_low)] | all' >/dev/null
ok $? "and narrower than the population's interval: a third of the pool is known"
for i in 4 5 6 7 8 9 10 11; do
	pb-sample -s pool.json -n 9 t30.jsonl 2>/dev/null | jq -c "$reward" | pb-update -s pool.json 2>/dev/null
done
run pb-report -s pool.json
is "$(printf '%s\n' "$OUT" | grep '^on these')" \
   "on these 30 tasks themselves (finite-population 95% intervals, sampling without replacement): careful 0.800 [0.800, 0.800] on 30, turing 0.500 [0.500, 0.500] on 30, plain 0.233 [0.233, 0.233] on 30" \
   "every task in: the pool's own means, exactly"
is "$(printf '%s\n' "$OUT" | grep '^best on these')" \
   "best on these 30 tasks: careful (its interval clears every other arm's, each at 0.05 / 3)" \
   "best on these 30 tasks"
like "$(printf '%s\n' "$OUT" | tail -1)" "^verdict: pool exhausted after 30 tasks: not separated: " \
   "while the population claim stays open"
run pb-report -s pool.json --json
is "$(printf '%s' "$OUT" | jq -c '[.pool_best, .verdict.best, .verdict.exhausted]')" '["careful",null,true]' \
   "the two claims apart in JSON"
# graded rewards: no finite-population interval from sums alone
pb-update -s graded.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s graded.json -n 9 t30.jsonl | jq -c '. + {reward: 0.5}' | pb-update -s graded.json
run pb-report -s graded.json --json
is "$(printf '%s' "$OUT" | jq -c '[.arms[].pool_low] | unique')" "[null]" "graded rewards, pool not used up: no pool interval"

# a large pool: beyond 1,000 arms P(best) is integrated, not drawn
awk 'BEGIN { for (i = 1; i <= 1001; i++) printf "{\"id\":\"a%04d\",\"prefix\":\"P%d.\"}\n", i, i }' >arms1001.jsonl
printf '{"id":"q1","input":"one?"}\n{"id":"q2","input":"two?"}\n' >q2.jsonl
pb-update -s big.json --init arms1001.jsonl --policy uniform
pb-sample -s big.json -k all q2.jsonl |
	jq -c '. + {reward: (if .arm == "a0007" then 1 elif .arm == "a0001" and .task.id == "q1" then 1 else 0 end)}' |
	pb-update -s big.json
run pb-report -s big.json
like "$OUT" "P\(best\): integrated over 2048 cells from independent Beta\(1 \+ wins, 1 \+ losses\) posteriors \(more than 1000 arms: no draws\)" \
   "1,001 arms: P(best) integrated, and the line under the table says so"
run pb-report -s big.json --json
is "$(printf '%s' "$OUT" | jq -c '[.pbest_draws, (.arms[0].id), ([.arms[].pbest] | add * 1e6 | round)]')" \
   '[0,"a0007",1000000]' "in JSON: no draws, the 2/2 arm first, the P(best)s add up to 1"
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | select(.id != "a0007" and .id != "a0001") | .pbest] | unique | length')" \
   1 "arms with the same rewards have the same P(best)"
a=$(pb-report -s big.json --json --seed 5 | jq -c '[.arms[].pbest]')
b=$(pb-report -s big.json --json --seed 9 | jq -c '[.arms[].pbest]')
is "$a" "$b" "and no seed changes it"

run pb-report -s st.json --level 2
is "$ERR" "pb-report: --level: '2' is not a number in [0.5, 0.9999]" "a bad --level"
is "$RC" 2 "exit 2"
run pb-report -s nosuch.json
is "$ERR" "pb-report: nosuch.json: No such file or directory" "a missing state"
run pb-report --version
is "$OUT" "pb-report (promptbandit) 0.1.0" "--version"
done_testing
