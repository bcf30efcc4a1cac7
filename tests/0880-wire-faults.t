#!/bin/sh
# Faults on the wire: pb-query against pb-sim injecting 10% 429 with
# Retry-After, 5% 5xx, 2% dropped connections, 1% malformed bodies and 2%
# replies slower than the timeout.  Every record comes out exactly once,
# in order, answered or carrying its error; a rerun with the cache asks
# again for the failures only.  PB_STRESS=1 (make stress): 5,000
# records, else 1,000.
. "$(dirname "$0")/lib.sh"
N=$(long 1000 5000)
plan 16

sum_tasks "$N"
awk '{ printf "{\"pull\":%d,\"arm\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"Think.\\n\\nWhat is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
start_sim --tasks tasks.jsonl --seed 9 --retry-after 0.02 --slow 30 \
    --fault 429:0.10,500:0.02,502:0.01,503:0.01,504:0.01,drop:0.02,malformed:0.01,slow:0.02
# One retry only, so that some records fail for the rerun to fill in.
Q="pb-query -j 32 --retries 1 --timeout 0.5 -q --cache $TMP/c"
answered() { grep -c '"response":{"text"' "$1"; }
failed() { grep -c '"error":' "$1"; }
attempts() { grep -o '"attempts":[0-9]*' "$1" | awk -F: '{ s += $2 } END { print s + 0 }'; }
kinds() { printf '%s\n' "$1" | jq -c '.faults'; }

run $Q <pulls.jsonl
s=$(reset)
cp out first.jsonl
a=$(answered first.jsonl)
f=$(failed first.jsonl)
diag "first run: $(field "$s" requests) requests, faults $(kinds "$s"); $a answered, $f failed"
is "$RC" 1 "first run: exit 1, some records failed"
is "$(pulls first.jsonl)" "$(pulls pulls.jsonl)" "first run: every record once, in input order"
is "$(pulls first.jsonl | tr ' ' '\n' | sort | uniq -d)" "" "first run: no record twice"
is "$((a + f))" "$N" "first run: each answered or carrying its error"
is "$(grep -c '"response":{"text".*"error":\|"error":.*"response":{"text"' first.jsonl)" 0 "first run: none both"
ok "$([ "$f" -gt 0 ] && [ "$a" -gt $((N * 9 / 10)) ]; echo $?)" "first run: a few failed ($f), most answered ($a)"
is "$(printf '%s\n' "$s" | jq -c '.faults | [has("429"), (has("500") or has("502") or has("503") or has("504")), has("drop"), has("malformed"), has("slow")]')" \
   "[true,true,true,true,true]" "first run: every kind of fault was injected"
ok "$([ "$(field "$s" completions)" -ge "$a" ]; echo $?)" \
   "first run: each record answered was answered by the server ($(field "$s" completions) answers, slow ones given up included)"
ok "$([ "$(field "$s" requests)" -ge "$(attempts first.jsonl)" ]; echo $?)" \
   "first run: no fewer requests than the records count (libcurl resends on a drop)"

run $Q <pulls.jsonl
s=$(reset)
cp out second.jsonl
diag "rerun: $(field "$s" requests) requests, faults $(kinds "$s"); $(answered second.jsonl) answered, $(failed second.jsonl) failed"
is "$(pulls second.jsonl)" "$(pulls pulls.jsonl)" "rerun: every record once, in input order"
is "$(grep -c '"cached":true' second.jsonl)" "$a" "rerun: the $a answered before come from the cache"
is "$(jq -c 'select(.response.cached != true) | .pull' second.jsonl | tr '\n' ' ')" \
   "$(jq -c 'select(.error) | .pull' first.jsonl | tr '\n' ' ')" "rerun: exactly the $f failed records were asked again"
ok "$([ "$(field "$s" requests)" -ge "$(attempts second.jsonl)" ] && [ "$(attempts second.jsonl)" -ge "$f" ]; echo $?)" \
   "rerun: the server saw only their requests ($(field "$s" requests))"
is "$(jq -c 'select(.response.cached == true) | [.pull, .response.text]' second.jsonl)" \
   "$(jq -c 'select(.response.text) | [.pull, .response.text]' first.jsonl)" "rerun: the cached answers are the first run's"
is "$(($(answered second.jsonl) + $(failed second.jsonl)))" "$N" "rerun: each answered or carrying its error"
# until every record is answered: none lost, none doubled
n=0
while [ "$(failed out)" -gt 0 ] && [ $n -lt 10 ]; do
	n=$((n + 1))
	run $Q <pulls.jsonl
done
reset >/dev/null
is "$(answered out):$(pulls out | tr ' ' '\n' | sort | uniq -d | wc -l | tr -d ' ')" "$N:0" \
   "after $n more reruns every record is answered, once"
stop_sim
done_testing
