#!/bin/sh
# pb-query against what providers and gateways need: extra headers (and
# secret ones never echoed), URLs with paths and queries, Azure, base URLs
# checked, the response size cap, streaming, rate-limit headers, cache
# keys per run, and the judge's key file.  pb-sim only: never the internet.
. "$(dirname "$0")/lib.sh"
plan 51
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR

sum_tasks 6
awk '{ printf "{\"run\":\"r1\",\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
# strip: the records without what differs between two equal runs
strip() { sed 's/"latency_ms":[0-9.]*,//' "$@"; }
start_sim --tasks tasks.jsonl --seed 3 --api-key sk-canary-KEY --echo-headers
BASE=${OPENAI_BASE_URL%/v1}
OPENAI_API_KEY=sk-canary-KEY
export OPENAI_API_KEY

# --- headers -------------------------------------------------------------
run pb-query --cache c1 --header 'X-Trace: t-123' --header 'OpenAI-Organization:org-9' <pulls.jsonl
is "$RC" 0 "--header: exit 0"
is "$(cat c1/*/*.json | grep -c '"x-trace":"t-123"')" 6 "--header: the header arrives (pb-sim echoes it)"
is "$(cat c1/*/*.json | grep -c '"openai-organization":"org-9"')" 6 "--header NAME:VALUE without a space arrives as NAME: VALUE"
reset >/dev/null

# A canary secret, from a header file and from a credential-named header.
printf '# the gateway\nX-Gateway-Token: canary-SECRET-42\n\n' >hdr.txt
run pb-query --cache c2 --header-file hdr.txt --header 'X-Api-Session: canary-OTHER-43' \
    --progress <pulls.jsonl
is "$RC" 0 "--header-file: exit 0"
is "$(cat c2/*/*.json | grep -c '"x-gateway-token":"\[redacted\]"')" 6 \
    "--header-file: the secret header arrived, and the echo was redacted"
run pb-query --dry-run --header-file hdr.txt --header 'X-Api-Session: canary-OTHER-43' <pulls.jsonl
cp out dry.jsonl
printf 'not a header canary-SECRET-42\n' >badhdr.txt
run pb-query --header-file badhdr.txt <pulls.jsonl
is "$RC:$ERR" "2:pb-query: --header-file: badhdr.txt:1: not NAME:VALUE (a header name is letters, digits and -_.!#\$%&'*+^\`|~, then a colon)" \
    "a bad header line: FILE:LINE, exit 2, the line not quoted"
run pb-query --header 'X-Token: canary-SECRET-42
more' <pulls.jsonl
like "$RC:$ERR" "^2:pb-query: --header: header X-Token: the value has a control character$" \
    "a header value with a newline: refused, the value not quoted"
is "$(cat c2/*/*.json out err dry.jsonl "$TMP/err" | grep -c 'canary-SECRET-42\|canary-OTHER-43')" 0 \
    "the canary secrets are in no record, cache entry, dry run or message"
run pb-query --header 'Bad Name: x' <pulls.jsonl
is "$RC" 2 "a header name with a space: exit 2"
reset >/dev/null

# --- URLs ------------------------------------------------------------------
url_of() { pb-query --dry-run "$@" <pulls.jsonl | head -n 1 | sed 's/.*"request":{"url":"\([^"]*\)".*/\1/'; }
is "$(url_of --base-url 'http://h.example/openai/deployments/x?api-version=2024-06-01')" \
    "http://h.example/openai/deployments/x/chat/completions?api-version=2024-06-01" \
    "a base with a query: the path goes before the query"
is "$(url_of --base-url 'http://h.example/v1/')" "http://h.example/v1/chat/completions" \
    "trailing slashes dropped"
is "$(url_of --api anthropic --model m --base-url 'http://h.example/anthropic')" \
    "http://h.example/anthropic/v1/messages" "an Anthropic gateway path gets /v1/messages, as the SDK does"
is "$(url_of --api anthropic --model m --base-url 'http://h.example')" \
    "http://h.example/v1/messages" "an Anthropic host gets /v1/messages"
is "$(url_of --api azure --model dep1 --base-url 'https://r.openai.azure.com')" \
    "https://r.openai.azure.com/openai/deployments/dep1/chat/completions?api-version=2024-10-21" \
    "--api azure: the deployment URL and a default api-version"
is "$(OPENAI_API_VERSION=2025-01-01 url_of --api azure --base-url 'https://r.openai.azure.com/openai/deployments/d2')" \
    "https://r.openai.azure.com/openai/deployments/d2/chat/completions?api-version=2025-01-01" \
    "--api azure: \$OPENAI_API_VERSION, and the deployment from the URL"
run pb-query --base-url 'http://' <pulls.jsonl
is "$RC:$ERR" "2:pb-query: base URL 'http://' has no host" "a base URL without a host: exit 2"
run pb-query --api anthropic --model m --base-url 'http:///v1' <pulls.jsonl
is "$RC" 2 "an Anthropic base URL without a host: exit 2"
run pb-query --base-url '' <pulls.jsonl
is "$RC:$ERR" "2:pb-query: the base URL is empty" "--base-url '': exit 2, not the public endpoint"
run pb-query --dry-run --base-url 'http://user:hunter2@h.example/v1' <pulls.jsonl
is "$RC:$OUT" "2:" "user:pw@ in the base URL: exit 2, no record"
is "$(printf '%s' "$ERR" | grep -c hunter2)" 0 "user:pw@: the password is not quoted"
run pb-query --api azure <pulls.jsonl
like "$RC:$ERR" "^2:pb-query: Azure needs the resource's URL" "--api azure without a URL: exit 2"

# Azure against pb-sim: the key in api-key, the query kept.
AZURE_OPENAI_API_KEY=sk-canary-KEY run pb-query --no-cache --api azure \
    --base-url "$BASE/openai/deployments/dep1?api-version=2024-06-01" <pulls.jsonl
s=$(reset)
is "$RC:$(grep -c '"response":{"text":"[^"]*","model":"dep1"' out)" "0:6" "--api azure: answered by the deployment"
is "$(field "$s" 200)" 6 "--api azure: six requests, all 200 (path, query and api-key right)"
AZURE_OPENAI_API_KEY=sk-canary-KEY run pb-query --no-cache --api azure --model dep2 \
    --base-url "$BASE" <pulls.jsonl
is "$RC" 0 "--api azure --model: the deployment URL is made, api-version added"
reset >/dev/null

# --- the size cap ------------------------------------------------------------
run pb-query --no-cache --max-response-bytes 100 <pulls.jsonl
s=$(reset)
is "$RC" 1 "--max-response-bytes 100: exit 1"
is "$(grep -c '"error":{"kind":"size","status":0,"type":null,"message":"the response is larger than 100 bytes (--max-response-bytes)","attempts":1}' out)" 6 \
    "--max-response-bytes: an error record of kind size, never retried"
is "$(field "$s" requests)" 6 "--max-response-bytes: one request each"

# --- streaming -------------------------------------------------------------
run pb-query --no-cache <pulls.jsonl
strip out >whole.jsonl
run pb-query --no-cache --stream <pulls.jsonl
is "$RC" 0 "--stream: exit 0"
is "$(strip out)" "$(cat whole.jsonl)" "--stream: the same records as without (text, finish, usage)"
ANTHROPIC_BASE_URL=$OPENAI_BASE_URL ANTHROPIC_API_KEY=sk-canary-KEY \
    run pb-query --no-cache --api anthropic --model claude-sim <pulls.jsonl
strip out >whole.jsonl
ANTHROPIC_BASE_URL=$OPENAI_BASE_URL ANTHROPIC_API_KEY=sk-canary-KEY \
    run pb-query --no-cache --api anthropic --model claude-sim --stream <pulls.jsonl
is "$(strip out)" "$(cat whole.jsonl)" "--stream, anthropic: the same records as without"
like "$(head -n 1 out)" '"usage":\{"prompt_tokens":[0-9]+,"completion_tokens":[0-9]+,"total_tokens":[0-9]+\}' \
    "--stream, anthropic: usage from message_start and message_delta"
run pb-query --dry-run --stream <pulls.jsonl
like "$(head -n 1 out)" '"stream":true,"stream_options":\{"include_usage":true\}' \
    "--stream: stream and stream_options.include_usage sent"
run pb-query --cache c3 --stream <pulls.jsonl
run pb-query --cache c3 <pulls.jsonl
s=$(reset)
is "$(grep -c '"cached":true' out)" 6 "a streamed answer is cached as a whole one"
stop_sim

# --- rate-limit headers ----------------------------------------------------------
start_sim --tasks tasks.jsonl --seed 3 --rate-limit 2/1
run pb-query --no-cache -j 1 <pulls.jsonl
s=$(reset)
is "$RC" 0 "--rate-limit 2/1 at the server: exit 0"
is "$(field "$s" 429)" "" "x-ratelimit-remaining-requests: paced, no 429 at all"
stop_sim
start_sim --tasks tasks.jsonl --seed 3 --rate-limit 2/1
ANTHROPIC_BASE_URL=$OPENAI_BASE_URL run pb-query --no-cache -j 1 --api anthropic \
    --model claude-sim <pulls.jsonl
s=$(reset)
is "$RC:$(field "$s" 429)" "0:" "anthropic-ratelimit-requests-*: paced, no 429"
stop_sim

# --- the cache: a replication is not a replay --------------------------------------
start_sim --tasks tasks.jsonl --seed 3
run pb-query --cache c4 --temperature 0.7 <pulls.jsonl
reset >/dev/null
run pb-query --cache c4 --temperature 0.7 <pulls.jsonl
is "$(field "$(reset)" requests)" 0 "temperature 0.7, the same run again: all from the cache"
sed 's/"run":"r1"/"run":"r2"/' pulls.jsonl >run2.jsonl
run pb-query --cache c4 --temperature 0.7 <run2.jsonl
is "$(field "$(reset)" requests)" 6 "temperature 0.7, a new run: drawn anew"
run pb-query --cache c4 <pulls.jsonl
reset >/dev/null
run pb-query --cache c4 <run2.jsonl
is "$(field "$(reset)" requests)" 0 "temperature 0: a new run shares the cached answers"
unset OPENAI_API_KEY
run pb-query --cache c4 <pulls.jsonl
is "$RC:$(grep -c '"cached":true' out)" "0:6" "no key set: cached answers are still served"
run pb-query --cache c4 --refresh <pulls.jsonl
is "$(field "$(reset)" requests)" 6 "--refresh: asked again"
stop_sim

# --- the judge ---------------------------------------------------------------
start_sim --tasks tasks.jsonl --seed 3 --api-key sk-judge-KEY --echo-headers
printf 'Score this: {response}\n' >judge.txt
printf '{"pull":1,"task":{"input":"What is 1 + 1?","answer":"2"},"response":{"text":"2"}}\n' >scored.jsonl
printf 'sk-judge-KEY\n' >key.txt
run pb-score --scorer judge --judge judge.txt --judge-url "$OPENAI_BASE_URL" --no-cache \
    --judge-key-file key.txt --judge-header 'X-Judge-Route: j1' <scored.jsonl
s=$(reset)
is "$(field "$s" 200)" 1 "--judge-key-file and --judge-header: the judge was answered"
run pb-score --scorer judge --judge judge.txt --judge-url "$OPENAI_BASE_URL" --no-cache \
    --judge-key-file nosuch.txt <scored.jsonl
is "$RC:$ERR" "2:pb-score: --judge-key-file: nosuch.txt: No such file or directory" \
    "--judge-key-file missing: exit 2"
run pb-score --scorer judge --judge judge.txt --judge-api anthropic <scored.jsonl
like "$RC:$ERR" "^2:pb-score: --judge-api anthropic: no default model" \
    "--judge-api anthropic without a model: exit 2, never an OpenAI name"
run pb-score --scorer judge --judge judge.txt --judge-url "$OPENAI_BASE_URL" --no-cache \
    --judge-key-file key.txt --judge-header-file hdr.txt <scored.jsonl
is "$(cat out err | grep -c canary-SECRET-42)" 0 "--judge-header-file: the secret is not echoed"
is "$(field "$(reset)" 200)" 1 "--judge-header-file: the judge was answered"
stop_sim

# --- a key echoed escaped ----------------------------------------------------
# pb-sim echoes the key's header as a JSON string, where the quotes come
# escaped: the raw bytes never hold the key, the decoded string does.
start_sim --tasks tasks.jsonl --seed 3 --api-key 'sk-"q"-canary-55' --echo-headers
OPENAI_API_KEY='sk-"q"-canary-55' run pb-query --cache c5 <pulls.jsonl
is "$RC:$(cat c5/*/*.json | grep -c '"authorization":"Bearer \[redacted\]"')" "0:6" \
    "a key echoed JSON-escaped is redacted in the cache entry"
is "$(cat out err c5/*/*.json | grep -c 'canary-55')" 0 "... and nowhere else"
stop_sim

# --- the CA variables --------------------------------------------------------
SSL_CERT_FILE=nosuch.pem run pb-query --dry-run <pulls.jsonl
is "$RC:$ERR" "2:pb-query: \$SSL_CERT_FILE: nosuch.pem: No such file or directory" \
    "\$SSL_CERT_FILE that cannot be read: exit 2"
run pb-query --dry-run --cacert nosuch.pem <pulls.jsonl
is "$RC:$ERR" "2:pb-query: --cacert: nosuch.pem: No such file or directory" "--cacert missing: exit 2"
run pb-query --dry-run --capath tasks.jsonl <pulls.jsonl
is "$RC:$ERR" "2:pb-query: --capath: tasks.jsonl: not a folder" "--capath not a folder: exit 2"
done_testing
