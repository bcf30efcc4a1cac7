#!/bin/sh
# sharded.sh - a non-adaptive evaluation (every chosen arm on every task)
# split into K shards, each run on its own state copy, in parallel on
# this host or several (GNU parallel's --sshlogin, or a cluster
# scheduler running shard.sh), then merged with pb-update --merge; the
# merged state keeps the history, so pb-report --plot and --history work.
#   sh sharded.sh ARMS TASKS OUT.json [K]
# Environment: ARMLIST (pb-sample --arms, default every arm), SSHLOGIN,
# SCORE, QUERY (as for adaptive.sh).
set -eu
arms=$1 tasks=$2 out=$3 k=${4:-4}
command -v parallel >/dev/null 2>&1 || { echo "sharded.sh: GNU parallel is not installed" >&2; exit 2; }
dir=$(dirname "$out")
# shard j of k: the tasks on lines j, j+k, j+2k, ...
for j in $(seq "$k"); do
	awk -v k="$k" -v j="$j" 'NR % k == j % k' "$tasks" >"$dir/shard$j.tasks.jsonl"
done
# one shell per shard; its own state made from the same arms file
# shellcheck disable=SC2016
seq "$k" | parallel -j "$k" ${SSHLOGIN:+--sshlogin "$SSHLOGIN"} \
	--env OPENAI_BASE_URL --env PB_MODEL --env OPENAI_API_KEY --env PATH \
	--env ARMLIST --env SCORE --env QUERY \
	'set -e; d='"$dir"'; rm -f $d/shard{}.json
	 pb-update -s $d/shard{}.json --init '"$arms"' --policy uniform --seed {}
	 pb-sample -s $d/shard{}.json -k all ${ARMLIST:+--arms $ARMLIST} $d/shard{}.tasks.jsonl |
	   pb-query -q $QUERY | pb-score -q ${SCORE:---scorer number} | pb-update -s $d/shard{}.json'
rm -f "$out"
pb-update -s "$out" --init "$arms" --policy uniform
set --
for j in $(seq "$k"); do set -- "$@" "$dir/shard$j.json"; done
pb-update -s "$out" --merge "$@"
echo "sharded.sh: $k shards merged into $out"
