#!/bin/sh
# pb-query: --dry-run, request options, --unordered, --rpm and --tpm
# pacing, the progress display.
. "$(dirname "$0")/lib.sh"
plan 26

sum_tasks 25
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
XDG_CACHE_HOME=$TMP/xdg
export XDG_CACHE_HOME

start_sim --tasks tasks.jsonl --seed 6 --jitter 20

# --dry-run: the exact body, nothing sent, no key needed, no cache made.
run pb-query --dry-run --key-env UNSET_VARIABLE --model m --temperature 0.3 \
    --max-completion-tokens 64 --top-p 0.9 --seed 7 --stop '####' \
    --body '{"logprobs":true,"temperature":0.4}' <pulls.jsonl
s=$(reset)
is "$RC" 0 "--dry-run: exit 0"
is "$(field "$s" requests)" 0 "--dry-run: nothing sent"
is "$(pulls out)" "$(pulls pulls.jsonl)" "--dry-run: every record once"
is "$(sed -n 2p out)" "{\"pull\":2,\"messages\":[{\"role\":\"user\",\"content\":\"What is 2 + 2?\"}],\"request\":{\"url\":\"$OPENAI_BASE_URL/chat/completions\",\"body\":{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"What is 2 + 2?\"}],\"temperature\":0.4,\"top_p\":0.9,\"max_completion_tokens\":64,\"seed\":7,\"stop\":[\"####\"],\"logprobs\":true},\"est_prompt_tokens\":4}}" \
    "--dry-run: the request, with every option and --body merged last"
ok "$([ ! -e "$TMP/xdg" ]; echo $?)" "--dry-run: no cache made"
cp out dry.jsonl
run pb-query --dry-run <dry.jsonl
is "$(grep -c '"request"' out)" 25 "--dry-run again: one request each, not two"
run pb-query --max-tokens 5 --max-completion-tokens 5 </dev/null
is "$RC$ERR" "2pb-query: --max-tokens and --max-completion-tokens go alone" \
    "--max-tokens and --max-completion-tokens: one or the other"
run pb-query --body '[1]' </dev/null
is "$RC$ERR" "2pb-query: --body: not a JSON object: [1]" "--body: an object"

# Ordered and unordered hold the same records.
run pb-query --no-cache -j 8 <pulls.jsonl
is "$(pulls out)" "$(pulls pulls.jsonl)" "ordered: input order"
sed 's/"latency_ms":[0-9.]*//' out | sort >ordered
run pb-query --no-cache -j 8 --unordered <pulls.jsonl
is "$RC" 0 "--unordered: exit 0"
sed 's/"latency_ms":[0-9.]*//' out | sort >unordered
is "$(cksum <unordered)" "$(cksum <ordered)" "--unordered: the same records"
reset >/dev/null

# --rpm 600: a burst of 10, then 10 a second: 25 requests take 1.5 s.
t0=$(now)
run pb-query --no-cache -j 8 --rpm 600 <pulls.jsonl
t1=$(now)
s=$(reset)
is "$RC:$(field "$s" requests)" "0:25" "--rpm: every record asked once"
ok "$(at_least "$t1" "$t0" 1.5)" "--rpm 600: 25 requests take 1.5 s at least"

# --tpm 600: 10 tokens a second; the estimate counts max_tokens too, so
# ten requests of 4 + 20 tokens take 2 s at least before any correction.
head -n 10 pulls.jsonl >ten.jsonl
t0=$(now)
run pb-query --no-cache -j 8 --tpm 1200 --max-tokens 20 <ten.jsonl
t1=$(now)
is "$RC" 0 "--tpm: exit 0"
ok "$(at_least "$t1" "$t0" 1)" "--tpm 1200: ten requests of 24 tokens take 1 s at least"
reset >/dev/null

# Progress: nothing on a pipe unless asked.
run pb-query --no-cache <pulls.jsonl
is "$ERR" "" "no --progress, stderr not a terminal: stderr empty"
run pb-query --no-cache --progress <pulls.jsonl
is "$RC" 0 "--progress: exit 0"
like "$(tail -n 1 err)" '^pb-query: 25/25 done  [0-9.]+ req/s  0 retries  0 errors  [0-9.]+k? tokens  0 cached$' \
    "--progress: a last line with the counters"
ok "$(! grep -q "$(printf '\033')" err; echo $?)" "--progress into a file: no escape codes"
pb-query <pulls.jsonl >/dev/null
run pb-query --progress <pulls.jsonl
like "$(tail -n 1 err)" ' 25 cached$' "--progress: cache hits counted"
run pb-query --progress -q </dev/null
is "$RC" 2 "--progress and -q: exit 2"
stop_sim

# On a terminal: redrawn in place, the error count in red unless NO_COLOR.
if command -v script >/dev/null 2>&1; then
	start_sim --tasks tasks.jsonl --seed 6 --fault invalid:0.2
	script -qec "pb-query --no-cache <pulls.jsonl >tty.out" /dev/null >tty.txt 2>&1
	like "$(tr '\r\033' '|~' <tty.txt | tail -n 1)" '\|pb-query: 25/25 done .*~\[31m[0-9]+ errors~\[0m' \
	    "a terminal: the line redrawn, errors in red"
	NO_COLOR=1 script -qec "pb-query --no-cache <pulls.jsonl >tty.out" /dev/null >tty.txt 2>&1
	ok "$(! grep -q "$(printf '\033')\[3" tty.txt; echo $?)" "NO_COLOR: no colour"
	ok "$(grep -q "$(printf '\r')pb-query: 25/25 done" tty.txt; echo $?)" "NO_COLOR: still redrawn"
	script -qec "pb-query -q --no-cache <pulls.jsonl >tty.out" /dev/null >tty.txt 2>&1
	is "$(grep -c 'done' tty.txt)" 0 "-q: no progress on a terminal"
	is "$(wc -l <tty.out | tr -d ' ')" 25 "a terminal: every record written"
	stop_sim
else
	for i in 1 2 3 4 5; do ok 0 "# SKIP script(1) not installed"; done
fi
done_testing
