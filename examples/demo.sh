#!/bin/sh
# demo.sh - the README's `make demo`: start pb-sim on a free loopback port,
# run a real bandit loop against it, print the ranking, stop the server.
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

mkfifo "$work/url"
pb-sim --tasks "$ex/tasks.jsonl" --world "$ex/world.jsonl" --seed 1 --latency 20 \
	>"$work/url" 2>"$work/sim.err" &
sim=$!
read -r OPENAI_BASE_URL <"$work/url" || { cat "$work/sim.err" >&2; exit 2; }
export OPENAI_BASE_URL
echo "pb-sim: a simulated model at $OPENAI_BASE_URL"
echo "arms:   $(jq -r .id "$ex/arms.jsonl" | tr '\n' ' ')"
echo "loop:   $rounds rounds of $batch pulls: pb-sample | pb-query | pb-score | pb-update"
echo

state=$work/state.json
pb-update -s "$state" --init "$ex/arms.jsonl" --policy ucb1 --seed 7
start=$(date +%s)
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	pb-sample -s "$state" -n "$batch" "$ex/tasks.jsonl" |
		pb-query -j 16 --model pb-sim |
		pb-score --scorer number |
		pb-update -s "$state" || { echo "demo: round $i failed" >&2; exit 1; }
	# a progress bar on the terminal: rounds done, and the current leader
	done_=$((i * 40 / rounds))
	bar=$(printf '%*s' "$done_" '' | tr ' ' '#')$(printf '%*s' $((40 - done_)) '' | tr ' ' '.')
	lead=$(pb-report -s "$state" --json | jq -r '.arms[0] | "\(.id) \(.mean * 1000 | round / 1000)"')
	printf '\r[%s] round %d/%d  leader: %-28s' "$bar" "$i" "$rounds" "$lead" >&2
done
printf '\n\n' >&2
pb-report -s "$state"
echo
echo "$((rounds * batch)) pulls in $(( $(date +%s) - start )) s.  The world file gives"
echo "$(jq -rs 'max_by(.skill) | "\"\(.match)\""' "$ex/world.jsonl") the highest skill."
