#!/bin/sh
# pb-report --history, --chart and --plot: the run as it unfolded, from the
# history the state keeps; gnuplot draws SVG and PNG files.
. "$(dirname "$0")/lib.sh"
plan 28

pb-update -s st.json --init "$DATA/arms3.jsonl" --policy ucb1 --seed 3
for i in 1 2 3 4 5 6 7 8; do jq -c --arg i "$i" '.id += "-" + $i' "$DATA/tasks5.jsonl"; done >tasks40.jsonl
# careful is right 8 times in 10, turing 5, plain 2, in two batches
for n in 16 24; do
	pb-sample -s st.json -n "$n" tasks40.jsonl |
	jq -c '. as $r | ({"careful": 8, "turing": 5, "plain": 2}[.arm]) as $k |
	       $r + {reward: (if (.pull % 10) < $k then 1 else 0 end)}' |
	pb-update -s st.json
done

is "$(jq '.history.updates | length' st.json)" 40 "the state holds a point per update"
is "$(jq -c '.history.arms | keys' st.json)" '["careful","plain","turing"]' "a series per arm"
is "$(jq '[.history.arms[].pulls[-1]] | add' st.json)" 40 "the last point counts every pull"
is "$(jq '[.history.arms[].prob[-1]] | add * 1e5 | round' st.json)" 100000 \
   "selection probabilities add up to 1"

run pb-report -s st.json --history
is "$RC" 0 "--history"
is "$(printf '%s\n' "$OUT" | head -1)" \
   "history: 40 points, one every 1 updates; each cell is selection probability / mean reward" \
   "its heading"
is "$(printf '%s\n' "$OUT" | sed -n 2p | tr -s ' ')" " updates plain turing careful cum.reward" \
   "a column per arm, and the cumulative reward"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 42 "a line per point"
last=$(jq -r '.arms | map(.sum) | add' st.json)
is "$(printf '%s\n' "$OUT" | tail -1 | awk '{ print $1, $NF }')" "40 $last" "the last line: 40 updates, the total reward"

run pb-report -s st.json --history --csv
is "$(printf '%s\n' "$OUT" | head -1)" "updates,id,pulls,mean,ci_low,ci_high,prob,cum_reward" "CSV history header"
is "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 121 "a row per point per arm"
run pb-report -s st.json --history --json
is "$(printf '%s' "$OUT" | jq -c '[.stride, (.points | length), .points[-1].updates]')" "[1,40,40]" \
   "JSON history: stride, points, last update"
is "$(printf '%s' "$OUT" | jq '[.points[].arms[] | select(.mean != null) |
     select(.ci_low <= .mean and .mean <= .ci_high)] | length')" \
   "$(printf '%s' "$OUT" | jq '[.points[].arms[] | select(.mean != null)] | length')" \
   "every point's mean lies in its interval"

run pb-report -s st.json --chart
is "$RC" 0 "--chart off a terminal"
is "$(printf '%s\n' "$OUT" | grep -c "^selection share over 40 updates (each arm's share of the pulls in the last 2 of 40 points, 0 to 1):$")" 1 \
   "a chart of each arm's share of the recent pulls (a fifteenth of the points), as the plot draws it"
like "$(printf '%s\n' "$OUT" | grep '^  careful ' | head -1)" '^  careful  [_.,=+*#-]{40} {20}  [01]\.[0-9]{3}$' \
   "ASCII sparklines in the C locale, ending in the last value"
# UCB1's own probability is 0 or 1: the chart shows the share of the
# pulls instead, here of the last 2 points' (40 / 15, rounded down)
want=$(jq -r '.history.arms | to_entries[] | "\(.key) \((.value.pulls[-1] - .value.pulls[-3]) / 2)"' st.json |
       awk '{ printf "%s %.3f\n", $1, $2 }' | sort)
got=$(printf '%s\n' "$OUT" | sed -n '/^selection share/,/^mean reward/p' | awk 'NF == 3 { print $1, $3 }' | sort)
is "$got" "$want" "each arm's last value is its share of the last 2 points' pulls"
run pb-report -s st.json
is "$(printf '%s\n' "$OUT" | grep -c 'selection share')" 0 "no chart in a plain table off a terminal"

# gnuplot
if command -v gnuplot >/dev/null 2>&1; then
	run pb-report -s st.json --plot run.svg
	is "$RC" 0 "--plot FILE.svg: gnuplot exits 0"
	like "$(head -c 400 run.svg | tr '\n' ' ')" '<svg' "an SVG file"
	ok "$([ "$(grep -c '>careful<' run.svg)" -ge 2 ]; echo $?)" "naming the arms in the keys of two panels"
	if command -v xmllint >/dev/null 2>&1; then
		ok "$(xmllint --noout run.svg >/dev/null 2>&1; echo $?)" "well-formed XML"
	else
		ok 0 "# SKIP xmllint not installed"
	fi
	run pb-report -s st.json --plot run.png
	is "$RC" 0 "--plot FILE.png: gnuplot exits 0"
	is "$(head -c 8 run.png | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "a PNG signature"
	is "$(printf '%s\n' "$OUT" | tail -1 | cut -c1-8)" "verdict:" "the table is still written"
else
	for i in 1 2 3 4 5 6 7; do ok 0 "# SKIP gnuplot not installed"; done
fi
PATH=$BIN pb-report -s st.json --plot x.svg >out 2>err
RC=$?
ERR=$(cat err)
is "$ERR/$RC" "pb-report: --plot: gnuplot not found; install it (Debian: apt-get install gnuplot-nox)/2" \
   "no gnuplot: one clear line, exit 2"
run pb-report -s st.json --plot x.pdf
is "$ERR/$RC" "pb-report: --plot: 'x.pdf' does not end in .svg or .png/2" "an unknown picture type"

pb-update -s fresh.json --init "$DATA/arms3.jsonl"
run pb-report -s fresh.json --history
is "$ERR/$RC" "pb-report: fresh.json: no history yet (no pulls applied since history was kept)/2" \
   "a state without history"
done_testing
