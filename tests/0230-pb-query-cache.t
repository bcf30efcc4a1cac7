#!/bin/sh
# pb-query's response cache: a rerun costs no requests, distinct pulls at
# temperature > 0 stay distinct, --refresh asks again, a damaged entry is
# replaced, failures are not kept, and the API key is in no entry.
. "$(dirname "$0")/lib.sh"
plan 29

sum_tasks 10
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
# Ten pulls of one task: the same request ten times.
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is 1 + 1?\"}]}\n", NR }' \
    tasks.jsonl >same.jsonl
texts() { sed 's/.*"response":{"text":"\([^"]*\)".*/\1/' "$@"; }
entries() { find "$1" -type f -name '*.json' | wc -l | tr -d ' '; }
XDG_CACHE_HOME=$TMP/xdg
export XDG_CACHE_HOME
C=$TMP/xdg/promptbandit

start_sim --tasks tasks.jsonl --seed 4 --api-key sk-canary-XYZ
OPENAI_API_KEY=sk-canary-XYZ
export OPENAI_API_KEY

run pb-query -j 4 <pulls.jsonl
s=$(reset)
is "$RC" 0 "first run: exit 0"
is "$(field "$s" requests)" 10 "first run: ten requests"
is "$(entries "$C")" 10 "first run: ten entries under \$XDG_CACHE_HOME/promptbandit"
is "$(grep -c '"cached"' out)" 0 "first run: nothing from the cache"
cp out first.jsonl

run pb-query -j 4 <pulls.jsonl
s=$(reset)
is "$RC" 0 "second run: exit 0"
is "$(field "$s" requests)" 0 "second run: no request reached the server"
is "$(grep -c '"attempts":0,"cached":true}}$' out)" 10 "second run: every record says it was cached"
is "$(texts out)" "$(texts first.jsonl)" "second run: the same answers"
is "$(find "$C" -type f -name '*.json' ! -perm 0600 | wc -l | tr -d ' ')" 0 "entries are mode 0600"

run pb-query -j 4 --refresh <pulls.jsonl
s=$(reset)
is "$(field "$s" requests)" 10 "--refresh: every record asked again"
is "$(grep -c '"cached"' out)" 0 "--refresh: and none says cached"

run pb-query -j 4 --no-cache <pulls.jsonl
s=$(reset)
is "$(field "$s" requests)" 10 "--no-cache: every record asked"

# Temperature > 0: the pull tells the draws apart.
run pb-query -j 4 --temperature 0.7 --cache "$TMP/c2" <same.jsonl
s=$(reset)
is "$(field "$s" requests)" 10 "temperature 0.7: ten pulls of one task, ten requests"
is "$(entries "$TMP/c2")" 10 "temperature 0.7: ten entries"
cp out warm.jsonl
run pb-query -j 4 --temperature 0.7 --cache "$TMP/c2" <same.jsonl
s=$(reset)
is "$(field "$s" requests)" 0 "temperature 0.7: a rerun asks nothing"
is "$(texts out)" "$(texts warm.jsonl)" "temperature 0.7: each pull gets its own answer back"
# (How many of the ten reach the server depends on how many were in
# flight before the first answer was stored: 1 to 10.)
run pb-query -j 4 --cache "$TMP/c3" <same.jsonl
s=$(reset)
n=$(field "$s" requests)
is "$([ "$n" -ge 1 ] && [ "$n" -le 10 ] && echo 1):$(entries "$TMP/c3"):$(grep -c '"response"' out)" "1:1:10" \
    "temperature 0: ten identical requests share one entry, all answered ($n asked)"
run pb-query -j 4 --cache "$TMP/c3" <same.jsonl
s=$(reset)
is "$(field "$s" requests):$(grep -c '"cached":true' out)" "0:10" \
    "temperature 0: a rerun asks nothing"


# A damaged entry is a miss, asked again and replaced.
f=$(find "$TMP/c2" -type f -name '*.json' | head -n 1)
printf '{"format":"pb-cache-1","key":"trunc' >"$f"
run pb-query -j 4 --temperature 0.7 --cache "$TMP/c2" <same.jsonl
s=$(reset)
is "$RC" 0 "damaged entry: exit 0"
is "$(field "$s" requests)" 1 "damaged entry: that one request asked again"
run pb-query -j 4 --temperature 0.7 --cache "$TMP/c2" <same.jsonl
s=$(reset)
is "$(field "$s" requests)" 0 "damaged entry: replaced"
stop_sim

# Failures are not cached: a rerun asks only for them.
start_sim --tasks tasks.jsonl --seed 4 --fault invalid:0.5
run pb-query -j 4 --cache "$TMP/c4" <pulls.jsonl
s=$(reset)
nerr=$(grep -c '"error"' out)
is "$RC:$(field "$s" requests)" "1:10" "with failures: exit 1, ten requests"
like "$nerr" '^[1-9]$' "with failures: some records failed"
is "$(entries "$TMP/c4")" $((10 - nerr)) "with failures: only the successes are kept"
run pb-query -j 4 --cache "$TMP/c4" <pulls.jsonl
s=$(reset)
is "$(field "$s" requests)" "$nerr" "with failures: a rerun asks only for the failed records"
is "$(wc -l <out | tr -d ' ')" 10 "with failures: every record passed on"
stop_sim

is "$(grep -rl canary "$TMP/xdg" "$TMP/c2" "$TMP/c3" "$TMP/c4" | wc -l | tr -d ' ')" 0 \
    "the key is in no cache file"
is "$(cat out err first.jsonl warm.jsonl | grep -c canary)" 0 "nor in any output"

run pb-query --cache "$TMP/pulls.jsonl" <pulls.jsonl
is "$RC" 2 "--cache naming a file: exit 2"
done_testing
