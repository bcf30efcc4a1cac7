#!/bin/sh
# pb-update: creating states, applying scored pulls exactly once, errors
# never as rewards, all-or-nothing on bad input, merging shards.
. "$(dirname "$0")/lib.sh"
plan 75

out() { printf '%s\n' "$OUT"; }
# more tasks: an arm is never given the same task twice
for i in 2 3; do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl" >"tasks5-$i.jsonl"; done

# --init
run pb-update -s st.json --init "$DATA/arms3.jsonl" --policy thompson:a=1,b=1 --seed 5
is "$RC" 0 "--init creates a state"
is "$(jq -r '.format + " " + (.version|tostring) + " " + .policy.name' st.json)" \
   "promptbandit-state 2 thompson" "format, version and policy"
is "$(jq -r '[.arms[].id] | join(",")' st.json)" "plain,turing,careful" "arms in file order"
is "$(jq -r '.arms[2].fields.style' st.json)" "terse" "arm fields kept"
run pb-update -s st.json --init "$DATA/arms3.jsonl"
is "$RC" 2 "--init refuses an existing state"
is "$ERR" "pb-update: st.json: already exists (remove it first to start afresh)" "and says so"
printf '{"id":"a"}\n{"id":"b"}\n{"id":"a"}\n' >dup.jsonl
run pb-update -s d.json --init dup.jsonl
is "$ERR" "pb-update: dup.jsonl:3: duplicate arm id 'a'" "duplicate arm ids"
is "$RC" 2 "exit 2"
ok "$([ ! -e d.json ]; echo $?)" "no state written"
run pb-update -s d.json --init dup.jsonl --policy ucb3
is "$ERR" "pb-update: --policy: unknown policy 'ucb3' (uniform, epsilon-greedy, softmax, ucb1, ucb-v, kl-ucb, thompson, exp3, successive-halving, successive-rejects, lucb, top-two, race)" "unknown policy"
run pb-update -s st.json --seed 4 </dev/null
is "$ERR" "pb-update: --policy, --seed, --pending-ttl and --context only go with --init" "--seed without --init"
run pb-update -s d.json --init /nonexistent/arms.jsonl
is "$ERR" "pb-update: /nonexistent/arms.jsonl: No such file or directory" "missing arms file"

# apply
pb-sample -s st.json "$DATA/tasks5.jsonl" >pulls.jsonl
jq -c '. + {reward: (if .arm == "turing" then 1 else 0 end)}' pulls.jsonl >scored.jsonl
run pb-update -s st.json -v scored.jsonl
is "$RC" 0 "apply scored pulls"
is "$ERR" "pb-update: applied 5 pulls (0 unscored, counted as errors)" "-v says what was applied"
is "$(jq -c '[.arms[] | [.id, .pulls, .sum]]' st.json)" \
   "$(jq -sc '[group_by(.arm)[] | [.[0].arm, length, (map(.reward)|add)]] | sort_by(.[0] | {"plain":0,"turing":1,"careful":2}[.])' scored.jsonl)" \
   "pulls and sums per arm match the records"
is "$(jq '.pending | length' st.json)" 0 "no pull pending"
is "$(jq .updates st.json)" 5 "updates counted"
before=$(sum st.json)
run pb-update -s st.json scored.jsonl
is "$RC" 0 "the same file again: exit 0"
is "$ERR" "pb-update: 5 pulls were applied before; skipped" "says they were applied before"
is "$(sum st.json)" "$before" "and changes nothing"

# errors are not rewards
pb-sample -s st.json tasks5-2.jsonl >p2.jsonl
jq -c 'if .pull % 2 == 0 then . + {reward: null, error: {message: "HTTP 500"}} else . + {reward: 1} end' p2.jsonl >s2.jsonl
errs_before=$(jq '[.arms[].errors] | add' st.json)
run pb-update -s st.json s2.jsonl
is "$RC" 0 "unscored records are accepted"
is "$(jq '[.arms[].errors] | add' st.json)" "$((errs_before + $(jq -s 'map(select(.reward == null)) | length' s2.jsonl)))" "and counted as errors"
is "$(jq '[.arms[].pulls] | add' st.json)" "$((5 + $(jq -s 'map(select(.reward != null)) | length' s2.jsonl)))" "not as rewards"

# bad records: all or nothing
pb-sample -s st.json tasks5-3.jsonl >p3.jsonl
pb-sample -s st.json -n 1 tasks5-3.jsonl >one.jsonl
before=$(sum st.json)
jq -c '. + {reward: 1}' p3.jsonl | sed '2s/.*/not json/' >s3.jsonl
run pb-update -s st.json s3.jsonl
is "$RC" 1 "a bad line: exit 1"
is "$(printf '%s\n' "$ERR" | head -1)" "pb-update: s3.jsonl:2: not valid JSON" "names file and line"
like "$ERR" "1 bad record; st.json not changed \(use -k to apply the rest\)" "says the state is unchanged"
is "$(sum st.json)" "$before" "and it is"
jq -c '. + {reward: 1.5}' p3.jsonl | head -1 >r.jsonl
run pb-update -s st.json r.jsonl
like "$ERR" "^pb-update: r.jsonl:1: pull [0-9]+: reward 1.5 is not a number in \[0,1\]" "reward > 1"
printf '%s\n' "$(head -1 p3.jsonl | jq -c '. + {reward: 0}' | sed 's/"reward":0/"reward":NaN/')" >nan.jsonl
run pb-update -s st.json nan.jsonl
is "$(printf '%s\n' "$ERR" | head -1)" "pb-update: nan.jsonl:1: not valid JSON" "NaN is not JSON"
head -1 p3.jsonl | jq -c '. + {reward: "1"}' >str.jsonl
run pb-update -s st.json str.jsonl
like "$ERR" 'reward "1" is not a number in \[0,1\]' "a string reward"
head -1 p3.jsonl | jq -c '. + {reward: 1, arm: "nobody"}' >arm.jsonl
run pb-update -s st.json arm.jsonl
like "$ERR" "^pb-update: arm.jsonl:1: pull [0-9]+: unknown arm 'nobody'" "an unknown arm"
head -1 p3.jsonl >unscored.jsonl
run pb-update -s st.json unscored.jsonl
like "$ERR" 'not scored \(no "reward"; run pb-score first\)' "a record that was never scored"
head -1 p3.jsonl | jq -c '. + {reward: 1, pull: 9999}' >far.jsonl
run pb-update -s st.json far.jsonl
like "$ERR" "pull 9999: never handed out by this state" "a pull never handed out"
head -1 p3.jsonl | jq -c '. + {reward: 1, run: "0123456789abcdef0123456789abcdef"}' >run.jsonl
run pb-update -s st.json run.jsonl
like "$ERR" "from run 0123456789abcdef0123456789abcdef, not this state's" "a pull from another state"
wrong=$(jq -r 'if .arm == "plain" then "turing" else "plain" end' one.jsonl)
jq -c --arg a "$wrong" '. + {reward: 1, arm: $a}' one.jsonl >mis.jsonl
run pb-update -s st.json mis.jsonl
like "$ERR" "^pb-update: mis.jsonl:1: pull [0-9]+: handed out to arm '$(jq -r .arm one.jsonl)', not '$wrong'" "a pull given to another arm"
# an arm that does have pulls out in the same batch: still refused
jq -c 'select(.arm != "careful") | . + {reward: 1, arm: "careful"}' p3.jsonl | head -1 >mis2.jsonl
run pb-update -s st.json mis2.jsonl
like "$RC|$ERR" "^1\|pb-update: mis2.jsonl:1: pull [0-9]+: handed out to arm '(plain|turing)', not 'careful'" \
     "a record whose arm was changed to another arm of its batch"
is "$(sum st.json)" "$before" "none of these changed the state"
run pb-update -s st.json </dev/null
is "$ERR" "pb-update: no records to apply; st.json not changed" "empty input: says so"
is "$RC$(sum st.json)" "0$before" "exit 0 (so a stopped loop's status 3 shows), state unchanged"
jq -c '. + {reward: 1}' p3.jsonl | sed '2s/.*/not json/' >s3.jsonl
before=$(sum st.json)
run pb-update -k -s st.json s3.jsonl
is "$RC" 1 "-k: exit 1 still"
is "$(jq .updates st.json)" 14 "-k applies the 4 good records"

# truncated, not a state, missing
head -c 50 st.json >trunc.json
run pb-update -s trunc.json s3.jsonl
is "$ERR" "pb-update: trunc.json: not a valid state file: not a JSON object (truncated?)" "a truncated state"
echo '[1,2]' >notstate.json
run pb-update -s notstate.json s3.jsonl
is "$ERR" "pb-update: notstate.json: not a valid state file: not a JSON object (truncated?)" "not a state"
run pb-update -s nosuch.json s3.jsonl
is "$ERR" "pb-update: nosuch.json: No such file or directory" "a missing state"

# --merge: two shards of the same arms, each on its own tasks, every
# task to every arm
head -n 3 "$DATA/tasks5.jsonl" >shard-a.jsonl
tail -n 2 "$DATA/tasks5.jsonl" >shard-b.jsonl
pb-update -s a.json --init "$DATA/arms3.jsonl" --policy uniform
pb-update -s b.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s a.json -k all shard-a.jsonl | jq -c '. + {reward: 1}' | pb-update -s a.json
pb-sample -s b.json -k all shard-b.jsonl | jq -c '. + {reward: 0}' | pb-update -s b.json
pb-update -s all.json --init "$DATA/arms3.jsonl" --policy uniform
run pb-update -s all.json --merge a.json b.json
is "$(jq -c '[.arms[] | [.pulls, .sum]]' all.json)" "[[5,3],[5,3],[5,3]]" "--merge adds the shards' statistics"
is "$(jq -c '[(.tasks | length), [.arms[].cursor]]' all.json)" "[5,[5,5,5]]" \
   "... and their task pools: 5 tasks, each arm past all it used"
run pb-report -s all.json
is "$RC|$ERR" "0|" "... so the report finds no (arm, task) pair counted twice"
like "$OUT" "pool exhausted after 5 tasks" "... and knows the pool is used up"
run pb-update -s all.json --merge a.json
is "$ERR" "pb-update: a.json: run $(jq -r .run a.json) was merged already; all.json not changed" "a shard merged twice is refused"
# two runs over the same tasks would count an (arm, task) twice
pb-update -s c.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s c.json -k all shard-b.jsonl | jq -c '. + {reward: 1}' | pb-update -s c.json
cp all.json all.before
run pb-update -s all.json --merge c.json
like "$RC|$ERR" "^2\\|pb-update: c.json: task .*: arm .* has it in both states \\(its reward would count twice\\); all.json not changed\$" \
   "a shard over tasks already merged is refused, naming the task and arm"
cmp -s all.json all.before
is "$?" 0 "... and the state is left as it was"
pb-update -s t1.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s t1.json -k all shard-a.jsonl | jq -c '. + {reward: 1}' | pb-update -s t1.json
jq -c '.input += " (edited)"' shard-a.jsonl >shard-a2.jsonl
pb-update -s t2.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s t2.json -n 1 -k 1 shard-a2.jsonl | jq -c '. + {reward: 1}' | pb-update -s t2.json
run pb-update -s t1.json --merge t2.json
like "$ERR" "pb-update: t2.json: task .*: its text differs between the two states; t1.json not changed" \
   "a task whose text differs between the shards is refused"

# --repeats R: R pulls of each (arm, task), told apart by "sample",
# averaged per task before they count
run pb-update -s rep.json --init "$DATA/arms3.jsonl" --policy race --repeats 3
is "$RC|$(jq .repeats rep.json)" "0|3" "--repeats 3 is kept in the state"
pb-sample -s rep.json -n 2 "$DATA/tasks5.jsonl" >rep.jsonl
is "$(jq -sc 'group_by([.arm, .task.id]) | map([length, (map(.sample) | join(","))]) | unique' rep.jsonl)" '[[3,"0,1,2"]]' \
   "each (arm, task) three times, samples 0, 1, 2"
jq -c '. + {reward: (if .arm == "careful" then 1 elif .arm == "turing" then .sample / 2 else 0 end)}' rep.jsonl |
	pb-update -s rep.json
is "$(jq -c '[.arms[] | [.id, .pulls, .sum]]' rep.json)" '[["plain",2,0],["turing",2,1],["careful",2,2]]' \
   "an arm's statistics count tasks, each the mean of its three rewards"
is "$(jq -c '.pairs[] | select(.arms == ["turing","careful"]) | [.tasks, .sum]' rep.json)" '[2,-1]' \
   "pairs are of the per-task means"
run pb-update -s rep2.json --init "$DATA/arms3.jsonl" --repeats 0
is "$RC|$ERR" "2|pb-update: --repeats: '0' is not an integer in [1, 1000]" "--repeats 0"
run pb-update -s rep.json --repeats 2 </dev/null
is "$RC|$ERR" "2|pb-update: --repeats only goes with --init" "--repeats without --init"

# Token counts: each applied pull's response.usage, for the cost
pb-update -s tok.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s tok.json "$DATA/tasks5.jsonl" |
	jq -c '. + {reward: 1, response: {text: "1", usage: {prompt_tokens: (.pull * 10), completion_tokens: .pull}}}' >tok.jsonl
pb-update -s tok.json tok.jsonl
is "$(jq -c '[.arms[] | [.id, .prompt_tokens, .completion_tokens]]' tok.json)" \
   "$(jq -sc '[group_by(.arm)[] | [.[0].arm, (map(.response.usage.prompt_tokens) | add),
      (map(.response.usage.completion_tokens) | add)]] | sort_by(.[0] | {"plain":0,"turing":1,"careful":2}[.])' tok.jsonl)" \
   "each arm's tokens are the sum of its records' usage"
pb-update -s tok.json tok.jsonl 2>/dev/null
is "$(jq '[.arms[].prompt_tokens] | add' tok.json)" 150 "applied before: not counted twice"
run pb-report -s tok.json --json --price 1,2
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | select(.id == "plain") | .prompt_tokens, .completion_tokens, .cost]')" \
   "$(jq -c '.arms[0] | [.prompt_tokens, .completion_tokens, (.prompt_tokens + 2 * .completion_tokens) / 1000000]' tok.json)" \
   "pb-report's tokens and cost come from the state"
# Hostile states (issue 14): refused with a message, nothing changed
pb-update -s h.json --init "$DATA/arms3.jsonl"
pb-sample -s h.json -n 2 "$DATA/tasks5.jsonl" >h-pulls.jsonl
cat h.json h.json >two.json
before=$(sum two.json)
run pb-update -s two.json h-pulls.jsonl
is "$RC|$ERR|$(sum two.json)" "2|pb-update: two.json: not a valid state file: data after the JSON object|$before" \
   "two states in one file: refused, unchanged"
jq '.arms[0].errors = 1e19' h.json >big.json
before=$(sum big.json)
run pb-update -s big.json --forget-pending
is "$RC|$ERR|$(sum big.json)" "2|pb-update: big.json: not a valid state file: arms[0] is malformed|$before" \
   "a count too large for a C long: refused"
sed 's/"left":[[:space:]]*{/"left": {"plain": 0, "plain": 0, /' h.json >dupkey.json
before=$(sum dupkey.json)
run pb-update -s dupkey.json --forget-pending
is "$RC|$ERR|$(sum dupkey.json)" "2|pb-update: dupkey.json: not a valid state file: pending batch names an arm twice in \"left\"|$before" \
   "a duplicate key in a batch's left: refused"
jq '.pending[0].arms[0] = 7' h.json >badarm.json
run pb-update -s badarm.json --forget-pending
is "$RC|$ERR" "2|pb-update: badarm.json: not a valid state file: pending batch: an arm number is not an index into arms" \
   "a pending pull's arm out of range"
jq '.pending[0].arms[0] = ((.pending[0].arms[0] + 1) % 3)' h.json >swap.json
run pb-update -s swap.json --forget-pending
is "$RC|$ERR" "2|pb-update: swap.json: not a valid state file: pending batch does not add up" \
   "arms that disagree with left"
# modes: a new state is 0600 whatever the umask; a save keeps the mode
(umask 000; pb-update -s mode.json --init "$DATA/arms3.jsonl")
is "$(stat -c %a mode.json 2>/dev/null || stat -f %Lp mode.json)" 600 "a new state is created 0600 (umask 000)"
chmod 640 mode.json
pb-sample -s mode.json -n 1 "$DATA/tasks5.jsonl" >/dev/null
is "$(stat -c %a mode.json 2>/dev/null || stat -f %Lp mode.json)" 640 "a saved state keeps its mode"
# 100,000 arms: --init is not quadratic (it took 44 s)
awk 'BEGIN { for (i = 1; i <= 100000; i++) printf "{\"id\":\"a%d\"}\n", i }' >arms100k.jsonl
start=$(date +%s)
pb-update -s big100k.json --init arms100k.jsonl
is "$(jq '.arms | length' big100k.json)|$(( $(date +%s) - start < 30 ))" "100000|1" "--init with 100,000 arms, in seconds"
# --release: pulls that will never come (pb-query's interrupted records)
# stop being pending at once, with no reward and no error
pb-update -s rl.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s rl.json "$DATA/tasks5.jsonl" >rl-pulls.jsonl
head -2 rl-pulls.jsonl | jq -c '. + {error: {kind: "interrupted", message: "interrupted"}}' >int.jsonl
run pb-update -s rl.json --release int.jsonl
is "$RC|$ERR" "0|pb-update: released 2 pulls" "--release hands back two pulls"
is "$(jq -c '[([.pending[].left[]] | add), .updates, ([.arms[] | .pulls + .errors] | add)]' rl.json)" '[3,0,0]' \
   "no longer pending, neither rewards nor errors"
run pb-update -s rl.json --release int.jsonl
is "$RC|$ERR" "0|pb-update: 2 pulls were applied or released before; skipped
pb-update: released 0 pulls" "releasing again changes nothing"
jq -c '. + {reward: 1}' rl-pulls.jsonl | pb-update -s rl.json 2>rl.err
is "$(jq -c '[.updates, (.pending | length)]' rl.json)|$(cat rl.err)" "[3,0]|pb-update: 2 pulls were applied before; skipped" \
   "the released pulls' records are not applied later"
jq -c '.arm = "careful"' int.jsonl | head -1 >int-bad.jsonl
pb-sample -s rl.json -n 1 tasks5-2.jsonl >/dev/null
before=$(sum rl.json)
run pb-update -s rl.json --release int-bad.jsonl
is "$RC|$(sum rl.json)" "0|$before" "a released pull's record with its arm changed: already back, skipped"
run pb-update -s rl.json --release --merge int.jsonl
is "$RC|$ERR" "2|pb-update: --release goes alone" "--release with another mode"
done_testing
