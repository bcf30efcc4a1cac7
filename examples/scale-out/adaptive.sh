#!/bin/sh
# adaptive.sh - an adaptive run whose model calls fan out, while sampling
# and updating stay on this host so the policy sees every reward:
#   pb-sample | parallel --pipe pb-query | pb-score | pb-update
#   sh adaptive.sh STATE TASKS [ROUNDS]
# Environment: JOBS (parallel pb-query processes, default 4), CHUNK
# (pulls per pb-query, default 8), SSHLOGIN (GNU parallel's --sshlogin,
# e.g. "4/gpu1,4/gpu2": the hosts need pb-query on their PATH and reach
# OPENAI_BASE_URL; the key travels with --env), N (pulls a round,
# default 32), SCORE (pb-score's options, default --scorer number),
# QUERY (pb-query's options).  Ends on pb-sample's status 3 (a verdict,
# or the tasks used up) or after ROUNDS rounds (default 1000).
set -eu
state=$1 tasks=$2 rounds=${3:-1000}
command -v parallel >/dev/null 2>&1 || { echo "adaptive.sh: GNU parallel is not installed" >&2; exit 2; }
i=0
while [ "$i" -lt "$rounds" ]; do
	rc=0
	pb-sample -s "$state" -n "${N:-32}" "$tasks" >"$state.pulls" || rc=$?
	[ "$rc" -eq 3 ] && break
	[ "$rc" -eq 0 ] || exit "$rc"
	i=$((i + 1))
	# shellcheck disable=SC2086
	parallel --pipe -N "${CHUNK:-8}" -j "${JOBS:-4}" --keep-order \
		${SSHLOGIN:+--sshlogin "$SSHLOGIN"} \
		--env OPENAI_BASE_URL --env PB_MODEL --env OPENAI_API_KEY \
		pb-query -q ${QUERY:-} <"$state.pulls" |
		pb-score -q ${SCORE:---scorer number} | pb-update -s "$state"
done
rm -f "$state.pulls"
echo "adaptive.sh: $i rounds"
