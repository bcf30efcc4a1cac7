#!/bin/sh
# pb-query against pb-sim's faults: each kind that a retry can mend is
# retried until it succeeds, with no record lost or doubled, and exactly
# the requests the records count reached the server.
. "$(dirname "$0")/lib.sh"
plan 55

sum_tasks 20
awk '{ printf "{\"pull\":%d,\"arm\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"Think.\\n\\nWhat is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
attempts() { grep -o '"attempts":[0-9]*' out | awk -F: '{ s += $2 } END { print s + 0 }'; }

# kind [pb-query options]: a fault of that kind on a quarter of the
# requests, then every record answered.
retried() {
	kind=$1
	shift
	reset >/dev/null
	run pb-query --no-cache -j 8 "$@" <pulls.jsonl
	s=$(reset)
	is "$RC" 0 "$kind: exit 0"
	is "$(pulls out)" "$(pulls pulls.jsonl)" "$kind: every record once, in order"
	is "$(grep -c '"response":{"text"' out)" 20 "$kind: every record answered"
	like "$(field "$s" "$kind")" '^[1-9]' "$kind: faults were met"
	ok "$(grep -q '"attempts":[2-9]' out; echo $?)" "$kind: and retried"
}

start_sim --tasks tasks.jsonl --seed 3 --retry-after 0.1 \
    --fault 429:0.25 --should-retry-header
retried 429
is "$(field "$s" requests)" "$(attempts)" "429: the server got exactly the requests counted"
stop_sim

for k in 500 502 503 504 529 malformed; do
	start_sim --tasks tasks.jsonl --seed 5 --retry-after 0.1 --fault $k:0.25
	retried $k
	is "$(field "$s" requests)" "$(attempts)" "$k: the server got exactly the requests counted"
	stop_sim
done

# A dropped connection: libcurl resends a request itself when a reused
# connection dies without a reply, so the server may see more requests
# than the records count, never fewer; each answer still comes once.
start_sim --tasks tasks.jsonl --seed 5 --fault drop:0.25
retried drop
ok "$([ "$(field "$s" requests)" -ge "$(attempts)" ]; echo $?)" "drop: no fewer requests than counted"
is "$(field "$s" completions)" 20 "drop: one answer per record"
stop_sim

# A reply held back past --timeout is given up and asked again.
start_sim --tasks tasks.jsonl --seed 5 --fault slow:0.2 --slow 30
retried slow --timeout 0.5
is "$(field "$s" requests)" "$(attempts)" "slow: the server got exactly the requests counted"
stop_sim
done_testing
