#!/bin/sh
# Crashes: pb-update and pb-sample killed with SIGKILL at random moments.
# The state always loads and is byte for byte the old state or the new
# one, never a mixture, and rerunning the same inputs reaches the exact
# totals: each pull applied, and handed out, exactly once.  pb-query killed
# mid-run and rerun with its cache asks only for what was not answered.
# PB_STRESS=1 (make stress): 700 + 300 kills, 100 of --init and 20 of
# pb-query, else 80 + 40, 20 and 3.
. "$(dirname "$0")/lib.sh"
KU=$(long 80 700)
KS=$(long 40 300)
KQ=$(long 3 20)
KI=$(long 20 100)
plan $((1 + 6 + 7 + 2 + 4 * KQ + 1))

# A state with contexts and pairs, 400 scored pulls of it, and the state
# they make when applied without a crash.  The state hands no (arm, task)
# pair out twice (pb-sample(1)): 200 distinct tasks for the 400 pulls, 40
# more (tasks.jsonl) for the 80 pulls pb-sample hands out below.
tasks() {
	jq -nc --argjson a "$1" --argjson b "$2" 'range($a; $b) |
	    {id: "t\(.)", input: "What is \(.) + \(.)?", answer: "\(. + .)",
	     domain: ["music", "tennis", "maths", "art"][. % 4]}'
}
tasks 0 200 >tasks200.jsonl
tasks 200 240 >tasks.jsonl
pb-update -s st0.json --init "$DATA/arms3.jsonl" --policy ucb1 --context domain --seed 3
pb-sample -s st0.json -k 2 tasks200.jsonl |
	jq -c 'if .pull % 11 == 0 then . + {reward: null} else . + {reward: ((.pull * 3) % 5 / 4)} end' >s.jsonl
cp st0.json new.json
pb-update -s new.json s.jsonl
is "$(summary new.json)" "$(expected "$(jq -c '[.arms[].id]' st0.json)" 400 s.jsonl)" \
   "without a crash: the 400 pulls' exact totals"

# aim CMD...: how long CMD runs on a fresh copy of $BASE, in microseconds:
# the shortest of three runs.
aim() {
	_t=
	for _k in 1 2 3; do
		cp "$BASE" st.json
		killafter -t aim.us "$@" >/dev/null 2>&1 </dev/null
		[ -z "$_t" ] || [ "$(cat aim.us)" -lt "$_t" ] && _t=$(cat aim.us)
	done
	rm -f st.json.tmp*
	echo "$_t"
}
# delays SEED N: N kill moments in thousandths of a run, half over the
# whole run, half over its last third, where the state is saved.
delays() {
	randoms "$1" "$2" 1000 | awk '{ print NR % 2 ? $1 : int(700 + $1 * 0.3) }'
}
# adapt RC: the length of a run, T microseconds, follows the machine's
# load: a run that ended before its kill was shorter than T.
adapt() {
	if [ "$1" -eq 137 ]; then T=$((T * 51 / 50 + 1)); else T=$((T * 9 / 10)); fi
	[ "$T" -ge 200 ] || T=200
}

# ---- pb-update
BASE=st0.json
T=$(aim pb-update -s st.json s.jsonl)
kills=0 tries=0 old=0 newer=0 mixed=0 unloadable=0 inexact=0 temps=0
delays 14 $((5 * KU)) >delays.u
while { [ $kills -lt "$KU" ] || [ $old -eq 0 ] || [ $newer -eq 0 ]; } && read -r d; do
	tries=$((tries + 1))
	cp st0.json st.json
	killafter $((T * d / 1000)) pb-update -s st.json s.jsonl 2>/dev/null
	rc=$?
	adapt $rc
	[ $rc -eq 137 ] && kills=$((kills + 1))
	if cmp -s st.json st0.json; then old=$((old + 1))
	elif cmp -s st.json new.json; then newer=$((newer + 1))
	else
		mixed=$((mixed + 1))
		cp st.json mixed.$tries
		# (the old and the new state load: 0400 and 0500 show it)
		pb-report -s st.json --json >/dev/null 2>&1 || unloadable=$((unloadable + 1))
	fi
	for f in st.json.tmp*; do [ -e "$f" ] && temps=$((temps + 1)) && rm -f "$f"; done
	pb-update -s st.json s.jsonl 2>/dev/null
	cmp -s st.json new.json || inexact=$((inexact + 1))
done <delays.u
diag "pb-update: $kills kills in $tries runs (of ${T}us at the end): $old left the old state, $newer the new one; $temps stale temp files"
ok "$([ $kills -ge "$KU" ]; echo $?)" "pb-update: killed $kills times with SIGKILL"
is "$mixed" 0 "pb-update: the state always the old one or the new one, byte for byte"
is "$unloadable" 0 "pb-update: and always loads"
is "$inexact" 0 "pb-update: a rerun on the same input always reaches the exact totals"
ok "$([ $old -gt 0 ] && [ $newer -gt 0 ]; echo $?)" "pb-update: kills landed both before and after the save"
# A state killed again and again on its way reaches the totals too.
cp st0.json st.json
n=0
for d in $(delays 17 20); do
	killafter $((T * d / 1000)) pb-update -s st.json s.jsonl 2>/dev/null
	[ $? -eq 137 ] && n=$((n + 1))
done
pb-update -s st.json s.jsonl 2>/dev/null
is "$(summary st.json)" "$(summary new.json)" "pb-update: 20 runs killed $n times on one state, then a last run: exact totals"
rm -f st.json.tmp*

# ---- pb-sample: 80 pulls from the trained state.  The state handed out
# no pull or all 80; the records written are the first ones of the 80.
# (the state is compact JSON: the batch's time is a "t":NUMBER member)
norm() { sed 's/"t":[[:space:]]*[-+.0-9eE]*/"t":T/g' "$1"; }
cp new.json ref.json
pb-sample -s ref.json -k 2 tasks.jsonl >ref.out
norm ref.json >ref.norm
BASE=new.json
T=$(aim pb-sample -s st.json -k 2 tasks.jsonl)
kills=0 tries=0 old=0 newer=0 mixed=0 unloadable=0 inexact=0 once=0
delays 15 $((5 * KS)) >delays.s
while { [ $kills -lt "$KS" ] || [ $old -eq 0 ] || [ $newer -eq 0 ]; } && read -r d; do
	tries=$((tries + 1))
	cp new.json st.json
	killafter $((T * d / 1000)) pb-sample -s st.json -k 2 tasks.jsonl >o 2>/dev/null
	rc=$?
	adapt $rc
	[ $rc -eq 137 ] && kills=$((kills + 1))
	rm -f st.json.tmp*
	if cmp -s st.json new.json; then
		old=$((old + 1))
		# nothing was handed out, so nothing written; a rerun hands
		# out the same 80 pulls
		pb-sample -s st.json -k 2 tasks.jsonl >o2 2>/dev/null
		[ ! -s o ] && cmp -s o2 ref.out && [ "$(norm st.json)" = "$(cat ref.norm)" ] ||
		    inexact=$((inexact + 1))
	elif [ "$(norm st.json)" = "$(cat ref.norm)" ]; then
		newer=$((newer + 1))
		# all 80 handed out: the lines written are the first n of them,
		# and applying them leaves exactly the other 80 - n pending
		n=$(wc -l <o | tr -d ' ')
		head -n "$n" ref.out >r.n
		head -n "$n" o | cmp -s - r.n || inexact=$((inexact + 1))
		head -n "$n" o | jq -c '. + {reward: 1}' | pb-update -s st.json 2>/dev/null
		[ "$(pb-report -s st.json --json | jq -c '[.pending, .updates]')" = "[$((80 - n)),$((400 + n))]" ] ||
		    once=$((once + 1))
	else
		mixed=$((mixed + 1))
		cp st.json mixed.s$tries
		pb-report -s st.json --json >/dev/null 2>&1 || unloadable=$((unloadable + 1))
	fi
done <delays.s
diag "pb-sample: $kills kills in $tries runs (of ${T}us at the end): $old left the old state, $newer the new one"
ok "$([ $kills -ge "$KS" ]; echo $?)" "pb-sample: killed $kills times with SIGKILL"
is "$mixed" 0 "pb-sample: the state always the old one or the new one (but for the batch's time)"
is "$unloadable" 0 "pb-sample: and always loads"
is "$inexact" 0 "pb-sample: old state: no record written, a rerun hands out the same pulls; new: the records written are the first ones"
is "$once" 0 "pb-sample: the pulls handed out are applied once, the rest stay pending"
ok "$([ $old -gt 0 ] && [ $newer -gt 0 ]; echo $?)" "pb-sample: kills landed both before and after the save"
is "$(ls mixed.* 2>/dev/null)" "" "no mixed state kept for inspection"

# ---- pb-update --init: the new state appears whole or not at all
T=$(killafter -t aim.us pb-update -s init.json --init "$DATA/arms3.jsonl" --seed 1 >/dev/null 2>&1; cat aim.us)
kills=0 tries=0 absent=0 whole=0 bad=0
delays 18 $((5 * KI)) >delays.i
while [ $kills -lt "$KI" ] && read -r d; do
	tries=$((tries + 1))
	rm -f init.json init.json.tmp*
	killafter $((T * d / 1000)) pb-update -s init.json --init "$DATA/arms3.jsonl" --seed 1 2>/dev/null
	rc=$?
	adapt $rc
	[ $rc -eq 137 ] && kills=$((kills + 1))
	if [ ! -e init.json ]; then absent=$((absent + 1))
	elif [ "$(pb-report -s init.json --json 2>/dev/null | jq '.arms | length')" = 3 ]; then whole=$((whole + 1))
	else bad=$((bad + 1)); cp init.json mixed.i$tries; fi
done <delays.i
diag "pb-update --init: $kills kills in $tries runs: $absent left no state, $whole a whole one"
ok "$([ $kills -ge "$KI" ]; echo $?)" "pb-update --init: killed $kills times with SIGKILL"
is "$bad" 0 "pb-update --init: the state absent or whole, never a part of one"
rm -f init.json.tmp*

# ---- pb-query: 80 requests, 4 at a time, each held 20 ms by pb-sim
start_sim --tasks tasks.jsonl --seed 2 --latency 20
answers() { jq -c '[.pull, .response.text]' "$1"; }
entries() { find "$1" -type f -name '*.json' 2>/dev/null | wc -l | tr -d ' '; }
pb-query -j 4 --no-cache -q <ref.out >q.ref
reset >/dev/null
T=$(killafter -t aim.us pb-query -j 4 --no-cache -q <ref.out >/dev/null; cat aim.us)
reset >/dev/null
i=0
randoms 16 "$KQ" 500 >delays.q
while read -r d; do
	i=$((i + 1))
	# 10% to 60% into a run; should this run be quicker, again sooner
	d=$((T * (d + 100) / 1000))
	for _k in 1 2 3 4; do
		rm -rf c$i
		killafter "$d" pb-query -j 4 --cache c$i -q <ref.out >o 2>/dev/null
		rc=$?
		[ $rc -eq 137 ] && break
		d=$((d / 2))
	done
	is "$rc" 137 "pb-query $i: killed after ${d}us"
	e=$(entries c$i)
	reset >/dev/null
	pb-query -j 4 --cache c$i -q <ref.out >o2 2>/dev/null
	s=$(reset)
	is "$(answers o2)" "$(answers q.ref)" "pb-query $i: the rerun reaches the same 80 records"
	is "$(field "$s" requests)" $((80 - e)) "pb-query $i: and asks only for the $((80 - e)) not answered before"
	is "$(grep -c '"cached":true' o2)" "$e" "pb-query $i: the $e answered came from the cache"
done <delays.q
stop_sim
is "$i" "$KQ" "pb-query: killed $KQ times"
done_testing
