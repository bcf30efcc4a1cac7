#!/bin/sh
# pb-query: what is not retried is tried once; Retry-After is waited for;
# a wait over --max-retry-wait and used-up retries fail the record, and
# the run goes on.
. "$(dirname "$0")/lib.sh"
plan 31

sum_tasks 6
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl

# kind status type: every request fails with kind, which no retry mends.
final() {
	kind=$1 status=$2 type=$3
	start_sim --tasks tasks.jsonl --fault "$kind:1" --should-retry-header
	run pb-query --no-cache -j 4 <pulls.jsonl
	s=$(reset)
	is "$RC" 1 "$kind: exit 1"
	is "$(pulls out)" "$(pulls pulls.jsonl)" "$kind: every record once, in order"
	is "$(grep -c "\"error\":{\"kind\":\"http\",\"status\":$status,\"type\":\"$type\",.*\"attempts\":1}}\$" out)" 6 \
	    "$kind: every record has its HTTP $status $type error, after one try"
	is "$(field "$s" requests)" 6 "$kind: one request per record"
	is "$(grep -c "^pb-query: pull [1-6]: HTTP $status: " err)" 6 "$kind: each reported once"
	stop_sim
}
final quota 429 insufficient_quota
final auth 401 invalid_request_error
final invalid 400 invalid_request_error

# Retry-After: 0.2 s, three tries: at least two waits.  (Each 429 also
# slows the whole client down: pb-query sends one request at a time.)
start_sim --tasks tasks.jsonl --fault 429:1 --retry-after 0.2
head -n 3 pulls.jsonl >three.jsonl
t0=$(now)
run pb-query --no-cache -j 6 --retries 2 <three.jsonl
t1=$(now)
s=$(reset)
is "$RC" 1 "429 every time: exit 1"
is "$(grep -c '"error":{"kind":"http","status":429,"type":"requests","code":"rate_limit_exceeded",.*"attempts":3}}$' out)" 3 \
    "--retries 2: three tries, then the last error"
is "$(field "$s" requests)" 9 "--retries 2: 9 requests for 3 records"
ok "$(at_least "$t1" "$t0" 0.4)" "Retry-After was waited for (twice 0.2 s at least)"
is "$(grep -c '^pb-query: pull [1-3]: HTTP 429: .* (after retries)$' err)" 3 \
    "each failure reported once, after its retries"

run pb-query --no-cache --retries 0 <pulls.jsonl
s=$(reset)
is "$(field "$s" requests)" 6 "--retries 0: one try each"
stop_sim

# A server asking for a longer wait than allowed fails the record at once.
start_sim --tasks tasks.jsonl --fault 503:1 --retry-after 30
run pb-query --no-cache --max-retry-wait 2 <pulls.jsonl
s=$(reset)
is "$RC" 1 "--max-retry-wait: exit 1"
is "$(field "$s" requests)" 6 "--max-retry-wait: no retry"
is "$(grep -c '"message":"the server asked to wait 30 s, more than --max-retry-wait 2: ' out)" 6 \
    "--max-retry-wait: the record says why"
is "$(grep -c '^pb-query: pull [1-6]: HTTP 503: the server asked to wait 30 s, more than --max-retry-wait 2: ' err)" 6 \
    "--max-retry-wait: and so does stderr"
stop_sim

# A reply that sends nothing for --stall seconds is given up.
start_sim --tasks tasks.jsonl --fault slow:1 --slow 10
head -n 2 pulls.jsonl >two.jsonl
run pb-query --no-cache --retries 0 --stall 1 <two.jsonl
is "$RC" 1 "--stall: exit 1"
is "$(grep -c '"error":{"kind":"timeout","status":0,"type":null,"message":"stalled: no data for 1 s","attempts":1}}$' out)" 2 \
    "--stall: a timeout that says it stalled"
stop_sim

# Some records fail, the rest go on: exit 1, every record passed on.
start_sim --tasks tasks.jsonl --fault invalid:0.5 --seed 2
run pb-query --no-cache <pulls.jsonl
s=$(reset)
is "$RC" 1 "some failures: exit 1"
is "$(pulls out)" "$(pulls pulls.jsonl)" "some failures: every record passed on"
is "$(( $(grep -c '"response"' out) + $(grep -c '"error"' out) ))" 6 \
    "some failures: each has a response or an error"
is "$(grep -c '"error"' out)" "$(field "$s" 400)" "some failures: the 400s, not retried"
stop_sim
done_testing
