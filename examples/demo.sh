#!/bin/sh
# demo.sh - the README's `make demo`: start pb-sim on a free loopback port,
# run a real bandit loop against it, print the ranking and the run as text
# charts, check the leader on held-out tasks, draw the run with gnuplot
# into BUILD-DIR/demo.svg, stop the server.
# Usage: sh examples/demo.sh [BUILD-DIR]   (ROUNDS and BATCH in the environment)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/${1:-build}
ex=$top/examples
rounds=${ROUNDS:-30}
batch=${BATCH:-16}
PATH=$bin:$PATH
export PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/pbdemo.XXXXXX")
sim=
trap '[ -n "$sim" ] && kill "$sim" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 2' HUP INT TERM

# held-out tasks the loop never samples; pb-sim knows their answers too
sh "$ex/gen-tasks.sh" 60 777 | jq -c '.id = "heldout-" + .id' >"$work/heldout.jsonl"
cat "$ex/tasks.jsonl" "$work/heldout.jsonl" >"$work/sim-tasks.jsonl"
mkfifo "$work/url"
pb-sim --tasks "$work/sim-tasks.jsonl" --world "$ex/world.jsonl" --seed 1 --latency 20 \
	>"$work/url" 2>"$work/sim.err" &
sim=$!
read -r OPENAI_BASE_URL <"$work/url" || { cat "$work/sim.err" >&2; exit 2; }
export OPENAI_BASE_URL
echo "pb-sim: a simulated model at $OPENAI_BASE_URL"
echo "arms:   $(jq -r .id "$ex/arms.jsonl" | tr '\n' ' ')"
echo "loop:   $rounds rounds of $batch pulls: pb-sample | pb-query | pb-score | pb-update"
echo

state=$work/state.json
# Thompson sampling: its selection probabilities move smoothly, as in the
# study's figures of each persona's probability over time
pb-update -s "$state" --init "$ex/arms.jsonl" --policy thompson --seed 7
start=$(date +%s)
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	pb-sample -s "$state" -n "$batch" "$ex/tasks.jsonl" |
		pb-query -j 16 --model pb-sim --temperature 0.7 --no-cache |
		pb-score --scorer number |
		pb-update -s "$state" || { echo "demo: round $i failed" >&2; exit 1; }
	# progress: a bar on a terminal, a line every 10 rounds elsewhere
	lead=$(pb-report -s "$state" --json |
		jq -r '.arms[0] | "\(.id) (mean \(.mean * 1000 | round / 1000))"')
	if [ -t 2 ]; then
		n=$((i * 40 / rounds))
		bar=$(printf '%*s' "$n" '' | tr ' ' '#')$(printf '%*s' $((40 - n)) '' | tr ' ' '.')
		printf '\r[%s] round %d/%d  leader: %-34s' "$bar" "$i" "$rounds" "$lead" >&2
	elif [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$rounds" ]; then
		printf 'round %d/%d  leader: %s\n' "$i" "$rounds" "$lead" >&2
	fi
done
[ -t 2 ] && printf '\n' >&2
echo
# the ranking, the run as text charts, and the run as a picture
plot=$bin/demo.svg
if command -v gnuplot >/dev/null 2>&1; then
	pb-report -s "$state" --chart --plot "$plot"
else
	pb-report -s "$state" --chart
	plot=
fi
echo
best=$(jq -rs 'max_by(.skill) | .match' "$ex/world.jsonl")
echo "$((rounds * batch)) pulls in $(( $(date +%s) - start )) s.  In pb-sim's world the most skilled"
echo "arm is $(jq -r --arg m "$best" 'select(.prefix | contains($m)) | .id' "$ex/arms.jsonl"): \"$(jq -r --arg m "$best" 'select(.prefix | contains($m)) | .prefix' "$ex/arms.jsonl")\""

# Is it real?  The leader and the bare prompt on 60 tasks the run never
# saw, every task to both, then pb-report --validate.
echo
lead=$(pb-report -s "$state" --json | jq -r '.arms[0].id')
echo "held-out check: $lead and plain on 60 new tasks"
# a state of its own, so the run's state sees nothing of the held-out set
pb-update -s "$work/heldout-state.json" --init "$ex/arms.jsonl" --policy uniform
pb-sample -s "$work/heldout-state.json" -k all --arms "$lead,plain" "$work/heldout.jsonl" |
	pb-query -j 16 --model pb-sim --temperature 0.7 --no-cache |
	pb-score --scorer number >"$work/heldout-scored.jsonl"
pb-report -s "$state" --validate "$work/heldout-scored.jsonl" --baseline plain --arm "$lead"
echo
if [ -n "$plot" ]; then
	echo "picture of the run (share of recent pulls, mean with its interval, cumulative reward): $plot"
else
	echo "no picture: gnuplot is not installed (apt-get install gnuplot-nox)"
fi
