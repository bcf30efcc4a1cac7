#!/bin/sh
# Concurrent writers: 8 pb-update processes apply disjoint scored files of
# 5,000 pulls each to one state at once, while pb-sample hands out more
# pulls and pb-report reads it; the totals of arms, pairs and contexts are
# exactly those of the records, every time.  PB_STRESS=1 (make stress):
# 20 repetitions and 5 with overlapping inputs, else 3 and 1.
. "$(dirname "$0")/lib.sh"
REPS=$(long 3 20)
OVER=$(long 1 5)
W=8
N=5000
plan $(((REPS + OVER) * 6 + 3 + 3))

# Tasks in 4 contexts; each writer's file a batch of 2,500 tasks sent to 2
# arms each (pairs), scored with rewards that are multiples of 1/4 (exact
# in any order of addition) and every 13th pull an error.  The state never
# hands an (arm, task) pair out twice (pb-sample(1)), so the pool holds
# enough tasks for all the files and the readers' pulls: about one task per
# pair of 3 arms, $W * $N / 2 = 20,000, 5,000 a context; 5,500 a context
# leaves room for the draw's spread and the readers.
T=$((W * N / 2 + 2000))
jq -nc --argjson t $T 'range($t) | {id: "t\(.)", input: "What is \(.) + \(.)?", answer: "\(. + .)",
        domain: ["music", "tennis", "maths", "art"][. % 4]}' >tasks.jsonl
pb-update -s st0.json --init "$DATA/arms3.jsonl" --policy uniform --context domain --seed 7
i=0
while [ $i -lt $W ]; do
	i=$((i + 1))
	pb-sample -s st0.json -k 2 -n $((N / 2)) tasks.jsonl >p$i.jsonl
	jq -c 'if .pull % 13 == 0 then . + {reward: null, error: {message: "HTTP 500"}}
	       else . + {reward: ((.pull * 7 + (.arm | length)) % 5 / 4)} end' p$i.jsonl >s$i.jsonl
done
is "$(cat s*.jsonl | wc -l | tr -d ' ')" $((W * N)) "$W scored files of $N pulls, built with pb-sample"
# pairs FILE...: each pull's arm and task, one a line, sorted
pairs() { jq -r '[.arm, .task.id] | @tsv' "$@" | sort; }
pairs s*.jsonl >pairs.files
is "$(uniq -d pairs.files | wc -l | tr -d ' ')" 0 "no (arm, task) pair handed out twice in the files"
order=$(jq -c '[.arms[].id]' st0.json)
want=$(expected "$order" $((W * N)) s*.jsonl)
is "$(printf '%s' "$want" | jq -c '[(.contexts | length), ([.contexts[] | .pairs[][2]] | add), ([.arms[][4]] | add)]')" \
   "[4,$(jq -s 'map(select(.reward != null)) | group_by(.group) | map(select(length == 2)) | length' s*.jsonl),$(grep -c '"reward":null' s*.jsonl | awk -F: '{ s += $2 } END { print s }')]" \
   "the expected totals: 4 contexts, every task with both rewards a pair, every null an error"

# rep NAME OVERLAP: one repetition on a fresh copy of st0.json; with
# OVERLAP each writer also applies its neighbour's file.
rep() {
	cp st0.json st.json
	rm -f w*.rc w*.err rd.fail rs.all
	i=0
	while [ $i -lt $W ]; do
		i=$((i + 1))
		files=s$i.jsonl
		[ "$2" = 1 ] && files="$files s$((i % W + 1)).jsonl"
		( pb-update -s st.json $files 2>w$i.err; echo $? >w$i.rc ) &
	done
	# readers, while any writer is still at work (and at least once)
	reads=0
	while [ $reads -eq 0 ] || [ "$(ls w*.rc 2>/dev/null | wc -l)" -lt $W ]; do
		pb-report -s st.json --json >rd.out 2>rd.err &&
		    jq -e '[.arms[].pulls] | add <= '$((W * N)) rd.out >/dev/null ||
		    { echo "pb-report: $(cat rd.err)" >>rd.fail; }
		pb-sample -s st.json -k 2 -n 3 tasks.jsonl >rs.out 2>rd.err &&
		    [ "$(wc -l <rs.out)" -eq 6 ] ||
		    { echo "pb-sample: $(cat rd.err)" >>rd.fail; }
		cat rs.out >>rs.all
		reads=$((reads + 1))
	done
	wait
	is "$(cat w*.rc | sort -u | tr '\n' ' ')" "0 " "$1: every writer exited 0"
	if [ "$2" = 1 ]; then
		is "$(cat w*.err | grep -v 'pulls were applied before; skipped$')" "" "$1: nothing on stderr but pulls applied before"
	else
		is "$(cat w*.err)" "" "$1: nothing on stderr"
	fi
	is "$(cat rd.fail 2>/dev/null)" "" "$1: $reads rounds of pb-report and pb-sample -k 2 read it meanwhile"
	is "$(pairs rs.all | sort -m - pairs.files | uniq -d | wc -l | tr -d ' ')" 0 \
	   "$1: pb-sample, beside the writers, handed out no (arm, task) pair twice"
	got=$(summary st.json)
	is "$got" "$want" "$1: pulls, sums, errors, pairs and contexts exactly the records'"
	[ "$got" = "$want" ] || diag "$(printf '%s\n%s\n' "$got" "$want" | jq -c .arms)"
	is "$(jq --argjson n $((W * N)) '[.pending[] | select(.first <= $n)] | length' st.json)" 0 \
	   "$1: no pull of the $W files left pending"
}
r=0
while [ $r -lt "$REPS" ]; do
	r=$((r + 1))
	rep "repetition $r" 0
done
r=0
while [ $r -lt "$OVER" ]; do
	r=$((r + 1))
	rep "overlapping $r" 1
done

# --init by 8 processes at once on one path: one creates it, whole.
r=0 won= bad=0
: >errs.all
while [ $r -lt "$REPS" ]; do
	r=$((r + 1))
	rm -f init.json i*.rc i*.err
	i=0
	while [ $i -lt $W ]; do
		i=$((i + 1))
		( pb-update -s init.json --init "$DATA/arms3.jsonl" --seed $i 2>i$i.err; echo $? >i$i.rc ) &
	done
	wait
	won="$won$(grep -l '^0$' i*.rc | wc -l | tr -d ' ')"
	cat i*.err >>errs.all
	pb-report -s init.json >/dev/null 2>&1 || bad=$((bad + 1))
	ls init.json.tmp* >/dev/null 2>&1 && bad=$((bad + 1))
done
is "$won" "$(printf "%${REPS}s" | tr ' ' 1)" "--init by $W at once, $REPS times: one succeeds each time"
is "$(sort errs.all | uniq -c | sed 's/^ *//')" \
   "$((REPS * (W - 1))) pb-update: init.json: already exists (remove it first to start afresh)" "the others say the state exists"
is "$bad" 0 "the state it made loads; no temp file left"
done_testing
