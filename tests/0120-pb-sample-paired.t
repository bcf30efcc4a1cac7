#!/bin/sh
# Paired evaluation (pb-sample -k, --arms, the race policy), contexts and
# a changing pool, through the command-line tools: the records, the
# state's pairs against a recount with jq, errors that change nothing,
# and a race against pb-sim that ends by itself naming the world's best.
. "$(dirname "$0")/lib.sh"
plan 89

# Rewards from the pull id (deterministic), as in 0110.
score() {
	jq -c '. + {reward: (if ((.pull * 7919 + 13) % 100) <
	       {"careful": 90, "turing": 50, "plain": 20}[.arm] then 1 else 0 end)}'
}

for i in $(seq 60); do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done >tasks300.jsonl
pb-update -s p.json --init "$DATA/arms3.jsonl" --policy thompson
run pb-sample -s p.json -k 2 "$DATA/tasks5.jsonl"
is "$RC $(printf '%s\n' "$OUT" | grep -c .)" "0 10" "-k 2: five tasks, ten pulls"
is "$(printf '%s\n' "$OUT" | jq -sc '[group_by(.group)[] | [length, (map(.task.id) | unique | length),
      (map(.arm) | unique | length)]] | unique')" '[[2,1,2]]' \
   "each group: two pulls of one task to two distinct arms"
is "$(printf '%s\n' "$OUT" | jq -sc '[.[] | .pull - .group] | unique')" '[0,1]' \
   "a group's pulls have consecutive ids from its group id"
is "$(jq -c '.pending[0] | [.n, .k]' p.json)" '[10,2]' "the batch knows its group size"

# Scored in two halves, in reverse order: the pairs still match a recount.
printf '%s\n' "$OUT" | score >scored.jsonl
tail -r scored.jsonl >/dev/null 2>&1 && rev="tail -r" || rev=tac
$rev scored.jsonl | head -5 >half1.jsonl
$rev scored.jsonl | tail -n +6 >half2.jsonl
pb-update -s p.json half1.jsonl
ok $? "the first half applies"
is "$(jq '.groups | length > 0' p.json)" true "groups wait for their other member"
pb-update -s p.json half2.jsonl
ok $? "the second half applies"
is "$(jq -c '[(.groups // [] | length), (.pending | length)]' p.json)" '[0,0]' \
   "then no group and no batch is left"
recount=$(jq -sc --slurpfile st p.json '
	($st[0].arms | map(.id)) as $order |
	[group_by(.group)[] | sort_by(.arm as $a | $order | index($a)) |
	 {arms: map(.arm), d: (.[0].reward - .[1].reward)}] |
	group_by(.arms) | map({arms: .[0].arms, tasks: length,
	  sum: (map(.d) | add), wins: map(select(.d > 0)) | length,
	  losses: map(select(.d < 0)) | length}) | sort_by(.arms)' scored.jsonl)
is "$(jq -c '.pairs | map({arms, tasks, sum, wins, losses}) | sort_by(.arms)' p.json)" \
   "$recount" "the state's pairs equal a recount of the records with jq"

# -k all and --arms
run pb-sample -s p.json -k all -n 2 --seed 1 tasks300.jsonl
is "$(printf '%s\n' "$OUT" | jq -sc 'group_by(.group) | map(map(.arm) | sort)')" \
   '[["careful","plain","turing"],["careful","plain","turing"]]' "-k all: every arm on every task"
run pb-sample -s p.json -k all --arms careful,plain -n 3 tasks300.jsonl
is "$(printf '%s\n' "$OUT" | jq -sc 'map(.arm) | unique')" '["careful","plain"]' \
   "--arms narrows the choice to the arms listed"
before=$(sum p.json)
run pb-sample -s p.json --arms careful,nosuch tasks300.jsonl
is "$RC|$ERR|$(sum p.json)" "2|pb-sample: --arms: no arm 'nosuch' in the state|$before" \
   "an unknown arm in --arms: exit 2, state unchanged"
run pb-sample -s p.json --arms careful,careful tasks300.jsonl
is "$RC|$ERR|$(sum p.json)" "2|pb-sample: --arms: arm 'careful' is named twice|$before" \
   "an arm named twice in --arms: exit 2, state unchanged"
run pb-sample -s p.json -k 0 tasks300.jsonl
is "$RC" 2 "-k 0 is a usage error"
run pb-sample -s p.json -k 7 -n 1 tasks300.jsonl
is "$(printf '%s\n' "$OUT" | grep -c .)" 3 "-k larger than the pool: every arm once"
pb-update -s p.json --forget-pending >/dev/null 2>&1

# A changing pool
printf '%s\n' '{"id":"steps","prefix":"Think step by step."}' >more.jsonl
before=$(jq -c '[.arms[] | {id, pulls, sum}], .pairs' p.json)
run pb-update -s p.json --add-arms more.jsonl --retire plain
is "$RC" 0 "--add-arms and --retire together"
is "$(jq -c '[.arms[] | {id, pulls, sum}][:3], .pairs' p.json)" "$before" \
   "the other arms keep their statistics and pairs"
is "$(jq -c '[.arms[] | [.id, (.retired // false), .pulls]]' p.json)" \
   '[["plain",true,'"$(jq '.arms[0].pulls' p.json)"'],["turing",false,'"$(jq '.arms[1].pulls' p.json)"'],["careful",false,'"$(jq '.arms[2].pulls' p.json)"'],["steps",false,0]]' \
   "plain retired, steps added with nothing"
run pb-sample -s p.json -k all -n 20 tasks300.jsonl
is "$(printf '%s\n' "$OUT" | jq -sc 'map(.arm) | unique')" '["careful","steps","turing"]' \
   "a retired arm is never chosen; the new one is"
before=$(sum p.json)
run pb-update -s p.json --add-arms more.jsonl
is "$RC|$ERR|$(sum p.json)" "2|pb-update: --add-arms: more.jsonl: arm 'steps' is in the state already; p.json not changed|$before" \
   "adding an arm twice: exit 2, nothing changed"
run pb-update -s p.json --retire nosuch
is "$RC|$ERR" "2|pb-update: --retire: no arm 'nosuch' in the state; p.json not changed" "retiring an unknown arm"
run pb-update -s p.json --retire turing --retire careful --retire steps
is "$RC|$(sum p.json)" "2|$before" "retiring every arm is refused, and nothing changes"
run pb-update -s p.json --add-arms more.jsonl --init "$DATA/arms3.jsonl"
is "$RC" 2 "pool changes go alone"

# Contexts
printf '%s\n' '{"id":"m1","input":"q1","answer":"1","domain":"music"}' \
	'{"id":"m2","input":"q2","answer":"2","domain":"music"}' \
	'{"id":"t1","input":"q3","answer":"3","domain":"tennis"}' \
	'{"id":"x","input":"q4","answer":"4"}' >ctx.jsonl
pb-update -s c.json --init "$DATA/arms3.jsonl" --policy uniform --context domain
run pb-sample -s c.json ctx.jsonl
is "$RC" 1 "a task without the context field: exit 1"
is "$ERR" "pb-sample: ctx.jsonl:4: task has no \"domain\" (the state's context field: a string or a number)" \
   "naming the file, line and field"
m0=$(jq -r '.contexts.values[] | select(.value == "music") | .tasks[0][0]' c.json)
is "$(printf '%s\n' "$OUT" | jq -c '[.task.id, .context]' | tr '\n' ' ')" \
   "[\"$m0\",\"music\"] [\"$m0\",\"music\"] [\"t1\",\"tennis\"] " \
   "the others carry their context; each context's pool is its own, walked by each arm from its start"
is "$(printf '%s\n' "$OUT" | jq -r .arm | tr '\n' ' ')" "plain turing plain " \
   "each context has its own round robin"
printf '%s\n' "$OUT" | score >cs.jsonl
pb-update -s c.json cs.jsonl
is "$(jq -c '[.contexts.field, [.contexts.values[] | [.value, [.arms[] | .pulls + .errors]]]]' c.json)" \
   '["domain",[["music",[1,1,0]],["tennis",[1,0,0]]]]' "statistics per context"
is "$(jq -c '[.arms[] | .pulls + .errors]' c.json)" '[2,1,0]' "and in all"
pb-sample -s c.json -n 1 --seed 3 ctx.jsonl 2>/dev/null | score | jq -c 'del(.context)' >nocontext.jsonl
before=$(sum c.json)
run pb-update -s c.json nocontext.jsonl
like "$RC|$ERR" "^1\|pb-update: nocontext.jsonl:1: pull [0-9]+: the pull has no \"context\", but the state keeps statistics per task field 'domain'" \
     "a record without its context is refused"
is "$(sum c.json)" "$before" "and nothing is applied"
run pb-update -s p.json cs.jsonl
like "$ERR" "from run [0-9a-f]+, not this state's" "records of another run"
run pb-update -s c.json --context domain
is "$RC" 2 "--context without --init"
run pb-report -s c.json
is "$(printf '%s\n' "$OUT" | grep '^context ' | tr '\n' ' ')" "context domain = music context domain = tennis " \
   "pb-report: the totals, then each context"
run pb-report -s c.json --json
is "$(printf '%s' "$OUT" | jq -c '[.context_field, [.contexts[] | [.context, ([.arms[] | .pulls + .errors] | add)]]]')" \
   '["domain",[["music",2],["tennis",1]]]' "in JSON, each context's ranking of its own pulls"
run pb-report -s c.json --context tennis --csv
is "$(printf '%s\n' "$OUT" | head -2 | cut -d, -f1-4 | tr '\n' ' ')" "context,rank,id,pulls tennis,1,plain,1 " \
   "--context VALUE alone, in CSV with its context column"
run pb-report -s c.json --context golf
is "$RC|$ERR" "2|pb-report: --context: no context 'golf' of domain in c.json" "an unknown context"
run pb-report -s p.json
like "$OUT" "plain \(retired\)" "pb-report marks a retired arm"

# Bad input: one line naming what is wrong, the documented status, the
# state as it was.
pb-update -s bad.json --init "$DATA/arms3.jsonl"
pb-update -s bad.json --retire plain
before=$(sum bad.json)
run pb-sample -s bad.json --arms plain tasks300.jsonl
is "$RC|$ERR|$(sum bad.json)" "2|pb-sample: --arms: arm 'plain' is retired|$before" "--arms naming a retired arm"
run pb-sample -s bad.json --arms , tasks300.jsonl
is "$RC|$ERR" "2|pb-sample: --arms: no arm named" "--arms naming no arm"
run pb-sample -s bad.json -k 0 tasks300.jsonl
is "$RC|$ERR" "2|pb-sample: --arms-per-task: '0' is not an integer in [1, 2147483647]" "-k 0"
run pb-update -s bad.json --retire turing --retire careful
is "$RC|$ERR|$(sum bad.json)" "2|pb-update: --retire: cannot retire 'careful': it is the last arm in the pool; bad.json not changed|$before" \
   "retiring the last arm in the pool"
run pb-update -s bad.json --add-arms more.jsonl --init "$DATA/arms3.jsonl"
is "$RC|$ERR" "2|pb-update: --init, --merge, --forget-pending and --add-arms/--retire go alone" "pool changes go alone"
run pb-update -s bad.json --add-arms /nonexistent/arms.jsonl
is "$RC|$ERR|$(sum bad.json)" "2|pb-update: /nonexistent/arms.jsonl: No such file or directory|$before" "--add-arms: a missing file"
run pb-update -s bad.json --context domain
is "$RC|$ERR" "2|pb-update: --policy, --seed, --pending-ttl and --context only go with --init" "--context without --init"
run pb-update -s empty.json --init "$DATA/arms3.jsonl" --context ''
is "$RC|$ERR|$(test -e empty.json && echo made)" "2|pb-update: --context: empty field name|" "--context with an empty name"
pb-sample -s bad.json -n 1 --seed 1 tasks300.jsonl | jq -c '. + {reward: 1, context: "music"}' >withctx.jsonl
before=$(sum bad.json)
run pb-update -s bad.json withctx.jsonl
like "$RC|$ERR" "^1\|pb-update: withctx.jsonl:1: pull [0-9]+: the pull has a context but the state keeps none \(pb-update --init --context FIELD\)" \
     "a context where the state keeps none"
jq -c '.context = 5' withctx.jsonl >numctx.jsonl
run pb-update -s bad.json numctx.jsonl
like "$RC|$ERR" "^1\|pb-update: numctx.jsonl:1: pull [0-9]+: \"context\" is not a string" \
     "a context that is not a string"
is "$(sum bad.json)" "$before" "neither changed the state"
# A task's two pulls that disagree on its context; the first one waits
# in the state between the two runs.
pb-update -s grp.json --init "$DATA/arms3.jsonl" --context domain
printf '%s\n' '{"id":"m1","input":"q","answer":"1","domain":"music"}' >one.jsonl
pb-sample -s grp.json -k 2 one.jsonl | jq -c '. + {reward: 1}' >grp.jsonl
head -1 grp.jsonl | pb-update -s grp.json
is "$(jq -c '.groups | map([.first, .k, .context, (.back | length)])' grp.json)" '[[1,2,"music",1]]' \
   "a task's first pull back: its group waits in the state, with its context"
tail -1 grp.jsonl | jq -c '.context = "tennis"' >tennis.jsonl
before=$(sum grp.json)
run pb-update -s grp.json tennis.jsonl
is "$RC|$ERR|$(sum grp.json)" "1|pb-update: tennis.jsonl:1: pull 2: context 'tennis' is not that of the other pulls of its task ('music')
pb-update: 1 bad record; grp.json not changed (use -k to apply the rest)|$before" "a pull whose context is not its task's"
# States whose paired parts are damaged are refused on load.
jq '.pairs = [{"arms":["careful","plain"],"tasks":1,"sum":0,"sumsq":0,"wins":0,"losses":0}]' bad.json >badpairs.json
run pb-report -s badpairs.json
is "$RC|$ERR" "2|pb-report: badpairs.json: not a valid state file: pairs[0] is malformed (arms in file order, tasks, sum, sumsq, wins, losses)" \
   "pairs out of file order"
jq '.groups = [{"first":1,"k":2,"back":[]}]' bad.json >badgroups.json
run pb-report -s badgroups.json
is "$RC|$ERR" "2|pb-report: badgroups.json: not a valid state file: groups[0] is malformed" "a group with nothing back"
jq '.contexts = {"field":"d","values":[{"value":"x","arms":[]}]}' bad.json >badctx.json
run pb-update -s badctx.json withctx.jsonl
is "$RC|$ERR" "2|pb-update: badctx.json: not a valid state file: contexts.values[0] is malformed (its arms must be the state's, in order)" \
   "a context without the state's arms"
run pb-report -s bad.json --context music
is "$RC|$ERR" "2|pb-report: --context: bad.json keeps no contexts" "pb-report --context on a state without contexts"
run pb-report -s c.json --context music --replay cs.jsonl
is "$RC|$ERR" "2|pb-report: --context does not go with --replay or --validate" "--context with --replay"

# A race against pb-sim, through all five tools, ends by itself and
# names the world's best arm; the state's pairs hold every shared task.
jq -nc 'range(3000) | {id: "q\(.)", input: "Tom has \(. + 3) apples and buys \(. * 7 % 13 + 2) more. How many apples does he have?",
        answer: "\(. + 3 + (. * 7 % 13 + 2))"}' >simtasks.jsonl
start_sim --tasks simtasks.jsonl --world "$TOP/examples/world.jsonl" --seed 3
pb-update -s race.json --init "$TOP/examples/arms.jsonl" --policy race:delta=0.05
bash -c 'set -o pipefail
n=0
while :; do
	pb-sample -s race.json -n 16 "$1" 2>stop.err | tee -a race-pulls.jsonl |
		pb-query -q --no-cache -j 16 --temperature 0.7 |
		pb-score | pb-update -s race.json 2>/dev/null || { rc=$?; break; }
	n=$((n + 1)); [ $n -lt 300 ] || exit 99
done
exit $rc' loop simtasks.jsonl
is "$?" 3 "the race ends with status 3"
like "$(cat stop.err)" "^pb-sample: done: arm first-principles is best with confidence 1-delta = 0.95: every other arm lost a paired test" \
     "naming the world's best arm"
is "$(jq '[.arms[] | select(.policy_state[0] == 1)] | map(.id)' race.json | jq -c .)" \
   '["first-principles"]' "one survivor in the state"
is "$(jq -s 'group_by(.group) | map(length) | add' race-pulls.jsonl)" "$(jq '[.arms[] | .pulls + .errors] | add' race.json)" \
   "every pull handed out came back and was applied"
is "$(jq -s '[group_by(.group)[] | length | . * (. - 1) / 2] | add' race-pulls.jsonl)" \
   "$(jq '[.pairs[].tasks] | add' race.json)" "every pair of arms on a task is in the pairs"
# The survivors got every task: first-principles answered each one.
is "$(jq -s 'group_by(.group) | length' race-pulls.jsonl)" \
   "$(jq '.arms[] | select(.id == "first-principles") | .pulls + .errors' race.json)" \
   "the winner answered every task of the race"
stop_sim
run pb-report -s race.json
like "$(printf '%s\n' "$OUT" | grep verdict)" "arm first-principles is best" "pb-report states the verdict"
# A race from before the leader rule kept one number per arm (in or
# out), without the e-processes: refused in one line, not misread.
jq '.arms[].policy_state |= [.[0]]' race.json >oldrace.json
msg="a race from before the leader rule (one number of policy_state per arm, not 11): its evidence does not carry over; finish it with the promptbandit that began it, or start a new state with pb-update --init"
run pb-update -s oldrace.json /dev/null
is "$RC|$ERR" "2|pb-update: oldrace.json: $msg" "an old race state is refused, in one line"
run pb-report -s oldrace.json
is "$RC|$ERR" "2|pb-report: oldrace.json: $msg" "by pb-report too"

# race -k 2 of three survivors: each task to the leader (the best mean)
# and one challenger, the leader's pull first; the race goes on to a
# verdict that way.
pb-update -s rk.json --init "$DATA/arms3.jsonl" --policy race:delta=0.05
pb-sample -s rk.json -k 2 -n 30 tasks300.jsonl | score | pb-update -s rk.json
run pb-sample -s rk.json -k 2 -n 5 tasks300.jsonl
lead=$(jq -r '[.arms[] | select(.policy_state[0] == 1)] | max_by(.mean) | .id' rk.json)
is "$(printf '%s\n' "$OUT" | jq -sc --arg l "$lead" '[group_by(.group)[] | [length, .[0].arm == $l, (map(.arm) | unique | length)]] | unique')" \
   '[[2,true,2]]' "race -k 2: each task to the leader, first, and one challenger"
n=0
while pb-sample -s rk.json -k 2 -n 20 tasks300.jsonl >rk-pulls.jsonl 2>rk.err && [ $n -lt 200 ]; do
	score <rk-pulls.jsonl | pb-update -s rk.json
	n=$((n + 1))
done
like "$(cat rk.err)" "^pb-sample: done: arm careful is best with confidence 1-delta = 0.95" \
     "race -k 2 ends naming the best arm"
is "$(jq .policy.k rk.json)" 2 "pb-sample -k 2 records the group size in the race's policy"
run pb-report -s rk.json --json
is "$(printf '%s' "$OUT" | jq -c '[.arms[] | select(.prob > 0)] | length')" 1 \
   "race -k 2 with one survivor left: all the shares on it"

# lucb -k 2 from the first reward: paired.  Each task to the leader,
# first, and one challenger; the run stops naming the best arm.
pb-update -s lk.json --init "$DATA/arms3.jsonl" --policy lucb:delta=0.05
pb-sample -s lk.json -k 2 -n 6 tasks300.jsonl >lk-pulls.jsonl
is "$(jq .policy.k lk.json)" 2 "pb-sample -k 2 before any reward makes lucb paired (k = 2)"
is "$(jq -sc '[group_by(.group)[] | length] | unique' lk-pulls.jsonl)" '[2]' \
   "lucb -k 2: two arms a task"
score <lk-pulls.jsonl | pb-update -s lk.json
n=0
while pb-sample -s lk.json -n 20 tasks300.jsonl >lk-pulls.jsonl 2>lk.err && [ $n -lt 200 ]; do
	score <lk-pulls.jsonl | pb-update -s lk.json
	n=$((n + 1))
done
like "$(cat lk.err)" "^pb-sample: done: arm careful is best with confidence 1-delta = 0.95" \
     "paired lucb ends naming the best arm"
is "$(jq '[.arms[] | select(.policy_state[3] == 1)] | length >= 1' lk.json)" true \
   "an arm was knocked out by its paired e-process on the way"
pb-update -s l1.json --init "$DATA/arms3.jsonl" --policy lucb:delta=0.05
pb-sample -s l1.json -n 3 tasks300.jsonl | score | pb-update -s l1.json
pb-sample -s l1.json -k 2 -n 2 tasks300.jsonl >/dev/null
is "$(jq .policy.k l1.json)" 1 "after a reward, pb-sample -k 2 leaves lucb's k (its rule) as it was"

# Two race shards on disjoint halves of the tasks, merged: each arm's
# e-process is the product of the shards', bet by bet.
head -150 tasks300.jsonl >half1.jsonl
tail -150 tasks300.jsonl >half2.jsonl
for s in 1 2; do
	pb-update -s sh$s.json --init "$DATA/arms3.jsonl" --policy race:delta=0.05
	pb-sample -s sh$s.json -n 12 half$s.jsonl | score | pb-update -s sh$s.json
done
pb-update -s tot.json --init "$DATA/arms3.jsonl" --policy race:delta=0.05
pb-update -s tot.json --merge sh1.json sh2.json
is "$(jq -n --slurpfile t tot.json --slurpfile a sh1.json --slurpfile b sh2.json '
      [range(3) as $i | range(1; 11) as $m |
       ($t[0].arms[$i].policy_state[$m] - $a[0].arms[$i].policy_state[$m] -
        $b[0].arms[$i].policy_state[$m]) | fabs < 1e-9] | all')" true \
   "merged race: log-wealths, wins and discordant tasks are the shards' sums"
is "$(jq -n --slurpfile a sh1.json --slurpfile b sh2.json '
      [range(3) as $i | $a[0].arms[$i].policy_state[1] + $b[0].arms[$i].policy_state[1]] | map(. != 0) | any')" true \
   "(and the shards had evidence to merge)"

# Contexts: no verdict on the totals (Simpson), a population-weighted
# mean per arm instead; each context judged at delta / C; --require
# verdict gates on every context's verdict.
jq -c '. + {domain: (if (.id | test("-[0-9]*[02468]$")) then "music" else "tennis" end)}' tasks300.jsonl >ctx300.jsonl
pb-update -s cx.json --init "$DATA/arms3.jsonl" --policy lucb:delta=0.05 --context domain
n=0
while pb-sample -s cx.json -n 8 ctx300.jsonl >cx-pulls.jsonl 2>cx.err && [ $n -lt 300 ]; do
	score <cx-pulls.jsonl | pb-update -s cx.json
	n=$((n + 1))
done
run pb-report -s cx.json
like "$(printf '%s\n' "$OUT" | grep '^verdict' | head -1)" \
     "^verdict: none on the totals: each of the 2 contexts has its own, at delta/2; population-weighted means \(each context by its share of the 300 tasks\): careful 0\.[0-9]+ turing 0\.[0-9]+ plain 0\.[0-9]+$" \
     "no verdict on the totals, weighted means instead"
is "$(printf '%s\n' "$OUT" | grep -c '^verdict: arm careful is best with confidence 0.975 (box rule)$')" 2 \
   "each context's verdict, at delta / 2"
run pb-report -s cx.json --json
is "$(printf '%s' "$OUT" | jq -c '.verdict | [.done, .contexts, (.weighted | keys)]')" '[false,2,["careful","plain","turing"]]' \
   "the same in JSON"
w=$(jq -r '[.contexts.values[] | {n: (.tasks | length), m: (.arms[] | select(.id == "careful") | .mean)}] | map(.n * .m) | add / 300' cx.json)
is "$(printf '%s' "$OUT" | jq -r '.verdict.weighted.careful * 1e9 | round')" "$(jq -n "$w * 1e9 | round")" \
   "the weighted mean: each context's mean by its share of the tasks"
run pb-report -s cx.json --require verdict
is "$RC" 0 "--require verdict: met when every context has its verdict"
jq '.policy = {name: "race", delta: 0.05} | .contexts.values[1].arms[2].policy_state = [1]' cx.json >oldcx.json
run pb-sample -s oldcx.json -n 1 ctx300.jsonl
is "$RC|$ERR" "2|pb-sample: oldcx.json: $msg" "an old race's context arms are refused too"
pb-update -s cx2.json --init "$DATA/arms3.jsonl" --policy lucb --context domain
pb-sample -s cx2.json -n 8 ctx300.jsonl | score | pb-update -s cx2.json
run pb-report -s cx2.json --require verdict
is "$RC|$(printf '%s\n' "$ERR" | tail -1)" "4|pb-report: gate: the verdict is not reached in 2 of the 2 contexts" \
   "--require verdict: not met while a context has none"
# bad k, and a lucb state from before the paired rule: one line, exit 2,
# nothing written
run pb-update -s badk.json --init "$DATA/arms3.jsonl" --policy lucb:k=0
is "$RC|$ERR" "2|pb-update: --policy: lucb: k=0 is not an integer in [1,1e+09]" "lucb:k=0 is refused"
run pb-update -s badk.json --init "$DATA/arms3.jsonl" --policy top-two:k=1.5
is "$RC|$ERR" "2|pb-update: --policy: top-two: k=1.5 is not an integer in [1,1e+09]" "top-two:k=1.5 is refused"
run pb-update -s badk.json --init "$DATA/arms3.jsonl" --policy ucb1:k=2
is "$RC|$ERR" "2|pb-update: --policy: policy ucb1 has no parameter 'k'" "ucb1 has no k"
[ ! -e badk.json ]; ok $? "and no state was written"
pb-update -s oldl.json --init "$DATA/arms3.jsonl" --policy lucb
pb-sample -s oldl.json -n 3 ctx300.jsonl | score | pb-update -s oldl.json
jq '.arms |= map(if .policy_state then .policy_state = .policy_state[0:3] else . end)' oldl.json >old3.json
cp old3.json old3.before
run pb-sample -s old3.json -n 1 ctx300.jsonl
is "$RC|$ERR" "2|pb-sample: old3.json: a lucb state from before its paired rule (3 numbers of policy_state per arm, not 12); finish it with the promptbandit that began it, or start a new state with pb-update --init" \
   "an old lucb state: refused with what to do"
cmp -s old3.json old3.before; ok $? "and left as it was"
done_testing
