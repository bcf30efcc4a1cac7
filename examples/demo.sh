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
pb-report -s "$state"
echo
best=$(jq -rs 'max_by(.skill) | .match' "$ex/world.jsonl")
echo "$((rounds * batch)) pulls in $(( $(date +%s) - start )) s.  In pb-sim's world the most skilled"
echo "arm is $(jq -r --arg m "$best" 'select(.prefix | contains($m)) | .id' "$ex/arms.jsonl"): \"$(jq -r --arg m "$best" 'select(.prefix | contains($m)) | .prefix' "$ex/arms.jsonl")\""
