#!/bin/sh
# pb-sim: the simulated model server, over real HTTP on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
plan 122

T=$DATA/sim-tasks.jsonl
W=$DATA/sim-world.jsonl

# --- the command line --------------------------------------------------
run pb-sim -h
is "$RC" 0 "-h: exit 0"
like "$OUT" '^usage: pb-sim --tasks FILE' "-h: usage on stdout"
run pb-sim --version
is "$OUT" "pb-sim (promptbandit) $(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")" "--version"
run pb-sim
is "$RC:$ERR" "2:pb-sim: no tasks: give --tasks FILE" "no --tasks: exit 2"
run pb-sim --tasks nosuch.jsonl
is "$RC:$ERR" "2:pb-sim: nosuch.jsonl: No such file or directory" "missing tasks file: exit 2"
run pb-sim --tasks "$DATA/sim-bad.jsonl"
is "$RC:$ERR" "2:pb-sim: $DATA/sim-bad.jsonl:3: duplicate task id 't1' (first on line 1)" \
   "bad tasks file: FILE:LINE and exit 2"
run pb-sim --tasks "$T" --world "$DATA/sim-badworld.jsonl"
is "$RC:$ERR" "2:pb-sim: $DATA/sim-badworld.jsonl:2: rule has no \"skill\" number" \
   "bad world file: FILE:LINE and exit 2"
run pb-sim --tasks "$T" --error-rate 2
is "$RC:$ERR" "2:pb-sim: --error-rate: '2' is not a number in [0, 1]" "bad option value: exit 2"
run pb-sim --tasks "$T" stray
is "$RC" 2 "an operand: exit 2"

# --- serving -----------------------------------------------------------
# chat BODY: POSTs BODY to the chat endpoint; the reply body is printed.
chat() {
	curl -sS -H 'Content-Type: application/json' --data-binary "$1" \
	     "$OPENAI_BASE_URL/chat/completions"
}
# status METHOD PATH [BODY]: prints the HTTP status; the body goes to $TMP/body.
status() {
	curl -sS -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' -X "$1" \
	     ${3+--data-binary "$3"} "$OPENAI_BASE_URL$2"
}
# stop_ok DESC: stops the sim and checks it exited 0 with nothing to say
# (under the sanitizers that includes no leaks).
stop_ok() {
	kill "$SIM_PID"
	wait "$SIM_PID"
	is "$?:$(cat "$TMP/sim.err")" "0:" "$1"
	SIM_PID=
}
ask() { # ask TEMPERATURE CONTENT
	printf '{"model":"m1","temperature":%s,"messages":[{"role":"user","content":"%s"}]}' "$1" "$2"
}

start_sim --tasks "$T" --world "$W" --seed 3
like "$OPENAI_BASE_URL" '^http://127\.0\.0\.1:[0-9]+/v1$' "prints its URL"

r=$(chat "$(ask 0 'Be brief.\n\nWhat is 2 + 3?')")
is "$(printf '%s' "$r" | jq -r .object)" chat.completion "a chat.completion"
is "$(printf '%s' "$r" | jq -r .model)" m1 "the model is echoed"
like "$(printf '%s' "$r" | jq -r .id)" '^chatcmpl-[0-9a-f]{16}$' "an id"
is "$(printf '%s' "$r" | jq -r .created)" 0 "created is fixed"
is "$(printf '%s' "$r" | jq -r '.choices[0].message.role + " " + .choices[0].finish_reason')" \
   "assistant stop" "an assistant message, finish_reason stop"
like "$(printf '%s' "$r" | jq -r '.choices[0].message.content')" '[0-9]' "the reply holds a number"
is "$(printf '%s' "$r" | jq '.usage | .prompt_tokens > 0 and .completion_tokens > 0 and
   .total_tokens == .prompt_tokens + .completion_tokens')" true "usage adds up"
is "$(printf '%s' "$r" | jq -r .x_pb_sim.task)" t1 "the task is recognised"

r=$(chat "$(ask 0 'You are a first-principles thinker.\n\nTom has 6 bags with 7 apples in each. How many apples does he have?')")
is "$(printf '%s' "$r" | jq -c '[.x_pb_sim.task, .x_pb_sim.skill]')" '["t2",1.5]' "the world gives the skill"
r=$(chat '{"model":"m","messages":[{"role":"system","content":"Talk like a pirate."},{"role":"user","content":[{"type":"text","text":"Is 17 a prime number?"}]}]}')
is "$(printf '%s' "$r" | jq -c '[.x_pb_sim.task, .x_pb_sim.skill]')" '["t3",-1]' \
   "system message and content parts"
like "$(printf '%s' "$r" | jq -r '.choices[0].message.content')" '^(\*\*)?(True|False)|[Aa]nswer' \
   "a true/false task gets a true/false reply"
r=$(chat "$(ask 0 'Which is a mammal?\n\n(A) trout\n(B) whale\n(C) eagle')")
like "$(printf '%s' "$r" | jq -r '.choices[0].message.content')" '(^|[^A-Za-z])[A-E]([^A-Za-z]|$)' \
   "a choice task gets a letter"
r=$(chat "$(ask 0 'Hello, who are you?')")
is "$(printf '%s' "$r" | jq -c '[.x_pb_sim.task, (.choices[0].message.content | test("not sure"))]')" \
   '[null,true]' "an unknown prompt: not sure"

# Temperature 0: the same request, the same reply.
req=$(ask 0 'Think.\n\nWhat is the capital of France?')
for i in 1 2 3 4 5 6; do chat "$req" | jq -r '.choices[0].message.content'; done >t0
is "$(sort -u t0 | wc -l | tr -d ' ')" 1 "temperature 0: one reply, always"
# Temperature 1: identical requests are numbered, and the replies vary.
req=$(ask 1 'Be brief.\n\nWhat is 2 + 3?')
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do chat "$req"; done >t1
is "$(jq -r .x_pb_sim.repeat t1 | tr '\n' ' ')" "0 1 2 3 4 5 6 7 8 9 10 11 " \
   "temperature 1: repeats are counted"
ok "$([ "$(jq -r '.choices[0].message.content' t1 | sort -u | wc -l)" -gt 1 ]; echo $?)" \
   "temperature 1: replies vary"
# A request without temperature counts as temperature 1.
req='{"messages":[{"role":"user","content":"What is 2 + 3?"}]}'
is "$(chat "$req" | jq -r .x_pb_sim.repeat)$(chat "$req" | jq -r '.x_pb_sim.repeat, .model')" \
   "01
pb-sim" "no temperature: 1; no model: pb-sim"

is "$(status GET /models)" 200 "GET /v1/models: 200"
is "$(jq -r '.object + " " + .data[0].id' "$TMP/body")" "list pb-sim" "one model, pb-sim"
is "$(status POST /chat/completions '{"messages": [')" 400 "bad JSON: 400"
is "$(jq -c '.error | [.type, .param, .code]' "$TMP/body")" '["invalid_request_error",null,null]' \
   "bad JSON: OpenAI's error shape"
is "$(status POST /chat/completions '{"messages":[]}')" 400 "no messages: 400"
is "$(jq -r .error.param "$TMP/body")" messages "no messages: param names them"
is "$(status GET /nope)" 404 "unknown path: 404"
is "$(jq -r .error.message "$TMP/body")" "Unknown request URL: GET /v1/nope." "unknown path: says so"
is "$(status GET /chat/completions)" 405 "GET on the chat endpoint: 405"
like "$(cat "$TMP/head")" 'Allow: POST' "405 says what is allowed"

# Same seed, same answers after a restart, on a port of our choosing.
port=${OPENAI_BASE_URL#http://127.0.0.1:}
port=${port%/v1}
stop_ok "SIGTERM: exit 0, nothing on stderr"
start_sim --tasks "$T" --world "$W" --seed 3 --port "$port" --latency 5
is "$OPENAI_BASE_URL" "http://127.0.0.1:$port/v1" "--port"
run pb-sim --tasks "$T" --port "$port"
is "$RC|$ERR" "2|pb-sim: cannot listen on 127.0.0.1:$port: Address already in use" \
   "a port in use: one line that names it and why (not libmicrohttpd's 'port 0')"
req=$(ask 1 'Be brief.\n\nWhat is 2 + 3?')
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do chat "$req"; done >t1b
is "$(jq -r '.choices[0].message.content' t1b)" "$(jq -r '.choices[0].message.content' t1)" \
   "a restart with the same seed replays the same replies"
stop_ok "with --latency: exit 0, nothing on stderr"
start_sim --tasks "$T" --world "$W" --seed 4
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do chat "$req"; done >t1c
ok "$([ "$(jq -r '.choices[0].message.content' t1c)" != "$(jq -r '.choices[0].message.content' t1)" ]; echo $?)" \
   "another seed, other replies"
stop_sim

# --- fault injection ---------------------------------------------------
start_sim --tasks "$T" --error-rate 1
is "$(status POST /chat/completions "$(ask 0 'What is 2 + 3?')")" 500 "--error-rate 1: 500"
is "$(jq -r .error.type "$TMP/body")" server_error "... with an OpenAI error body"
is "$(status GET /models)" 200 "... but /v1/models still works"
stop_sim
start_sim --tasks "$T" --error-rate 1 --error-status 429
is "$(status POST /chat/completions "$(ask 0 'What is 2 + 3?')")" 429 "--error-status 429"
like "$(cat "$TMP/head")" 'Retry-After: 1' "429 carries Retry-After: 1"
stop_sim

# post PATH BODY [CURL-ARGS...]: POSTs BODY; prints the HTTP status, or
# curl's exit status after an x when there was no reply; the body goes to
# $TMP/body, the headers to $TMP/head.
post() {
	_p=$1 _b=$2
	shift 2
	rm -f "$TMP/body" "$TMP/head"
	curl -s -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@" \
	     --data-binary "$_b" "$OPENAI_BASE_URL$_p" >"$TMP/code"
	_rc=$?
	if [ "$_rc" -eq 0 ]; then cat "$TMP/code"; else printf 'x%s' "$_rc"; fi
}
# hdr NAME: the value of header NAME in $TMP/head, if any.
hdr() { grep -i "^$1:" "$TMP/head" | sed 's/^[^:]*: *//' | tr -d '\r'; }
# stats: GET /pb-sim/stats, outside /v1.
stats() { curl -s "${OPENAI_BASE_URL%/v1}/pb-sim/stats"; }
Q=$(ask 0 'What is 2 + 3?')
M='{"max_tokens":100,"temperature":0,"messages":[{"role":"user","content":"What is 2 + 3?"}]}'
AV='anthropic-version: 2023-06-01'

run pb-sim --tasks "$T" --fault teapot:1
is "$RC:$ERR" "2:pb-sim: --fault: unknown fault kind 'teapot' (known: 429, 500, 502, 503, 504, 529, quota, auth, invalid, malformed, slow, drop)" \
   "--fault: an unknown kind, exit 2"
run pb-sim --tasks "$T" --fault 429:0.6 --fault 500:0.5
is "$RC:$ERR" "2:pb-sim: --fault: the fault rates add up to 1.1, more than 1" \
   "--fault: rates over 1 in all, exit 2"
run pb-sim --tasks "$T" --fault 500:0.6 --error-rate 0.5
is "$RC:$ERR" "2:pb-sim: --fault: the fault rates and --error-rate add up to 1.1, more than 1" \
   "--fault: --error-rate counts too, in any order"
run pb-sim --tasks "$T" --fault 429:x
is "$RC:$ERR" "2:pb-sim: --fault: fault 429: 'x' is not a rate in [0, 1]" "--fault: a bad rate"
run pb-sim --tasks "$T" --slow -1
is "$RC" 2 "--slow: a negative time, exit 2"

# Each kind at rate 1: status, type, code, and the retry headers.
while read -r kind want; do
	start_sim --tasks "$T" --fault "$kind:1" --retry-after 2.5 --should-retry-header
	got=$(post /chat/completions "$Q")
	got="$got $(jq -c '[.error.type, .error.code]' "$TMP/body") $(hdr Retry-After)/$(hdr retry-after-ms)/$(hdr x-should-retry)"
	is "$got" "$want" "--fault $kind:1: $want"
	stop_sim
done <<'END'
429 429 ["requests","rate_limit_exceeded"] 3/2500/true
500 500 ["server_error",null] //true
502 502 ["server_error",null] //true
503 503 ["server_error",null] 3/2500/true
504 504 ["server_error",null] //true
529 529 ["overloaded_error",null] //true
quota 429 ["insufficient_quota","insufficient_quota"] //false
auth 401 ["invalid_request_error","invalid_api_key"] //false
invalid 400 ["invalid_request_error",null] //false
END
# ... and on the Anthropic endpoint, in Anthropic's shape.
while read -r kind want; do
	start_sim --tasks "$T" --fault "$kind:1"
	got=$(post /messages "$M" -H "$AV")
	is "$got $(jq -c '[.type, .error.type]' "$TMP/body")" "$want" \
	   "Anthropic, --fault $kind:1: $want"
	stop_sim
done <<'END'
429 429 ["error","rate_limit_error"]
529 529 ["error","overloaded_error"]
500 500 ["error","api_error"]
quota 429 ["error","insufficient_quota"]
auth 401 ["error","authentication_error"]
END

start_sim --tasks "$T" --fault malformed:1
is "$(post /chat/completions "$Q")" 200 "malformed: status 200"
ok "$(jq . "$TMP/body" >/dev/null 2>&1; [ $? -ne 0 ]; echo $?)" "malformed: the body is not JSON"
like "$(cat "$TMP/body")" '^\{"id":"chatcmpl-' "malformed: the start of a real reply"
stop_ok "malformed: exit 0, nothing on stderr"

start_sim --tasks "$T" --fault drop:1 --latency 5 --stats-file "$TMP/drop.json"
is "$(post /chat/completions "$Q")" x52 "drop: curl gets an empty reply (exit 52)"
is "$(post /messages "$M" -H "$AV")" x52 "drop: on the Anthropic endpoint too"
is "$(post /models '' -X GET)" 200 "drop: the server still serves"
stop_ok "drop: exit 0, nothing on stderr"
is "$(cat "$TMP/drop.json")" '{"requests":3,"completions":0,"by_status":{"200":1},"faults":{"drop":2}}' \
   "drop: counted as a fault with no status"

# slow holds its reply without holding the (only) thread.
start_sim --tasks "$T" --fault slow:1 --slow 3 --threads 1
curl -s -o slow.body -w '%{http_code}' -m 10 --data-binary "$Q" \
     "$OPENAI_BASE_URL/chat/completions" >slow.code &
bg=$!
is "$(post /chat/completions "$Q" -m 1)" x28 "slow: curl -m 1 times out"
is "$(post /models '' -X GET -m 2)" 200 "slow: other requests are served meanwhile"
wait "$bg"
is "$(cat slow.code) $(jq -r .object slow.body)" "200 chat.completion" \
   "slow: the real answer comes after --slow"
stop_ok "slow: exit 0, nothing on stderr"

# A retry of the same request draws anew: with rate 0.5 some 500 is
# followed by a 200 (the same on every run: the seed and count decide).
start_sim --tasks "$T" --fault 500:0.5
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do post /chat/completions "$Q"; echo; done >codes
like "$(tr '\n' ' ' <codes)" '500 (500 )*200' "a retry of a failed request can succeed"
is "$(stats | jq -c '[.requests, .completions, .by_status["200"] + .by_status["500"], .faults["500"] == .by_status["500"]]')" \
   "[16,$(grep -c 200 codes),16,true]" "the stats agree with what the client saw"
stop_sim

# The statistics: exact counts, reset, and the file at exit.
start_sim --tasks "$T" --stats-file "$TMP/stats.json"
is "$(stats)" '{"requests":0,"completions":0,"by_status":{},"faults":{}}' "stats: zero at first"
post /chat/completions "$Q" >/dev/null
post /messages "$M" -H "$AV" >/dev/null
post /messages "$M" >/dev/null
curl -s -o /dev/null "$OPENAI_BASE_URL/nope"
want='{"requests":4,"completions":2,"by_status":{"200":2,"400":1,"404":1},"faults":{}}'
is "$(stats)" "$want" "stats: every request counted, by status"
is "$(stats)" "$want" "stats: reading them is not counted"
is "$(curl -s -X POST "${OPENAI_BASE_URL%/v1}/pb-sim/reset")" "$want" "reset: returns the counts"
is "$(stats)" '{"requests":0,"completions":0,"by_status":{},"faults":{}}' "reset: and zeroes them"
is "$(post /chat/completions "$Q") $(jq -r .x_pb_sim.repeat "$TMP/body")" "200 2" \
   "reset: the repeat counts stay (the Anthropic request was the same one)"
stop_ok "--stats-file: exit 0"
is "$(cat "$TMP/stats.json")" '{"requests":1,"completions":1,"by_status":{"200":1},"faults":{}}' \
   "--stats-file: written at exit"
start_sim --tasks "$T" --stats-file "$TMP/no/such/dir/stats.json"
kill "$SIM_PID"
wait "$SIM_PID"
rc=$?
SIM_PID=
like "$rc:$(cat "$TMP/sim.err")" '^2:pb-sim: .*/no/such/dir/stats\.json\.[A-Za-z0-9]{6}: No such file or directory$' \
   "--stats-file: an unwritable place, reported, exit 2"

# --api-key: a canary that must show up nowhere.
KEY=sk-canary-5d41402abc4b2a76
start_sim --tasks "$T" --api-key "$KEY"
is "$(post /chat/completions "$Q") $(jq -r .error.code "$TMP/body")" "401 invalid_api_key" \
   "--api-key: no key, 401"
is "$(post /chat/completions "$Q" -H "Authorization: Bearer sk-canary-wrong")" 401 \
   "--api-key: a wrong key, 401"
cat "$TMP/body" "$TMP/head" >replies
is "$(post /chat/completions "$Q" -H "Authorization: Bearer $KEY")" 200 "--api-key: Bearer KEY, 200"
is "$(post /messages "$M" -H "$AV" -H "Authorization: Bearer sk-wrong") $(jq -r .error.type "$TMP/body")" \
   "401 authentication_error" "--api-key: Anthropic checks a Bearer key too"
cat "$TMP/body" "$TMP/head" >>replies
is "$(post /messages "$M" -H "$AV" -H "x-api-key: $KEY")" 200 "--api-key: x-api-key KEY, 200"
is "$(post /models '' -X GET)" 401 "--api-key: /v1/models too"
is "$(stats | jq .requests)" 6 "--api-key: /pb-sim/stats needs none"
stop_ok "--api-key: exit 0, nothing on stderr"
is "$(grep -c canary replies)" 0 "--api-key: no reply names a key"

# The Anthropic Messages endpoint.
start_sim --tasks "$T" --world "$W" --seed 3 --jitter 2
S='{"max_tokens":100,"temperature":0,"system":"You are a first-principles thinker.","messages":[{"role":"user","content":"Tom has 6 bags with 7 apples in each. How many apples does he have?"}]}'
B='{"max_tokens":100,"temperature":0,"model":"claude-x","system":[{"type":"text","text":"You are a first-principles thinker."}],"messages":[{"role":"user","content":[{"type":"text","text":"Tom has 6 bags with 7 apples in each. How many apples does he have?"}]}]}'
is "$(post /messages "$S" -H "$AV")" 200 "messages: 200"
is "$(jq -c '[.type, .role, .model, .content[0].type, .stop_reason, .stop_sequence, (.id | test("^msg_")), (.usage.input_tokens > 0 and .usage.output_tokens > 0)]' "$TMP/body")" \
   '["message","assistant","pb-sim","text","end_turn",null,true,true]' "messages: Anthropic's reply shape"
is "$(jq -c '[.x_pb_sim.task, .x_pb_sim.skill]' "$TMP/body")" '["t2",1.5]' \
   "messages: system as a string counts as prompt text"
jq -r '.content[0].text' "$TMP/body" >text.s
is "$(post /messages "$B" -H "$AV") $(jq -c '[.model, .x_pb_sim.task, .x_pb_sim.skill, .x_pb_sim.repeat]' "$TMP/body")" \
   '200 ["claude-x","t2",1.5,1]' "messages: system and content as blocks, the same request"
is "$(jq -r '.content[0].text' "$TMP/body")" "$(cat text.s)" "messages: ... and the same answer"
is "$(post /messages "$S") $(jq -c '[.type, .error.type, .error.message]' "$TMP/body")" \
   '400 ["error","invalid_request_error","anthropic-version: header is required"]' \
   "messages: no anthropic-version, 400"
is "$(post /messages '{"messages":[{"role":"user","content":"hi"}]}' -H "$AV") $(jq -r .error.message "$TMP/body")" \
   "400 max_tokens: Field required" "messages: no max_tokens, 400"
stop_ok "messages, --jitter: exit 0, nothing on stderr"

# --- what the SDKs expect ------------------------------------------------
start_sim --tasks "$T" --seed 3 --api-key sk-sdk-1 --echo-headers
is "$(post /messages "$M" -H "$AV" -H 'Authorization: Bearer sk-sdk-1')" 200 \
   "messages: Authorization: Bearer is accepted (the SDK's other auth mode)"
like "$(hdr x-request-id)" '^req_[0-9a-f]{16}$' "every reply has an x-request-id"
is "$(post /messages "$M" -H "$AV" -H 'x-api-key: sk-sdk-1' -H 'X-Trace: t9')" 200 "messages: x-api-key"
is "$(jq -r '.x_pb_sim.headers["x-trace"]' "$TMP/body")" t9 "--echo-headers: the request's headers in x_pb_sim"
is "$(post /messages/count_tokens '{"model":"m","messages":[{"role":"user","content":"What is 2 + 3?"}]}' \
      -H "$AV" -H 'x-api-key: sk-sdk-1') $(jq -c 'keys' "$TMP/body")" '200 ["input_tokens"]' \
   "count_tokens: {\"input_tokens\":N}, no max_tokens needed"
is "$(curl -s -H "$AV" -H 'x-api-key: sk-sdk-1' "$OPENAI_BASE_URL/models" | jq -c '[.data[0].type, .data[0].id, .has_more]')" \
   '["model","pb-sim",false]' "models with anthropic-version: Anthropic's listing"
is "$(curl -s -H "$AV" -H 'x-api-key: sk-sdk-1' "$OPENAI_BASE_URL/nope" | jq -c '[.type, .error.type]')" \
   '["error","not_found_error"]' "an unknown path with anthropic-version: Anthropic's error shape"
is "$(post /messages '{"max_tokens":9,"stream":true,"messages":[{"role":"user","content":"What is 2 + 3?"}]}' \
      -H "$AV" -H 'x-api-key: sk-sdk-1'):$(hdr content-type)" "200:text/event-stream" \
   "messages, stream: server-sent events"
is "$(grep '^event:' "$TMP/body" | sed 's/event: //' | uniq | tr '\n' ' ')" \
   "message_start content_block_start ping content_block_delta content_block_stop message_delta message_stop " \
   "messages, stream: Anthropic's events in order"
is "$(post /chat/completions "$(printf '%s' "$Q" | jq -c '. + {stream: true}')" -H 'Authorization: Bearer sk-sdk-1'):$(tail -n 2 "$TMP/body" | head -n 1)" \
   "200:data: [DONE]" "chat, stream: ends with [DONE]"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'api-key: sk-sdk-1' --data-binary "$Q" \
      "${OPENAI_BASE_URL%/v1}/openai/deployments/d1/chat/completions")" 404 \
   "Azure's path without api-version: 404"
is "$(curl -s -H 'api-key: sk-sdk-1' --data-binary "$Q" \
      "${OPENAI_BASE_URL%/v1}/openai/deployments/d1/chat/completions?api-version=2024-06-01" |
      jq -r .object)" chat.completion "Azure's path with api-version and api-key: a chat completion"
stop_ok "SDK shapes: exit 0, nothing on stderr"
run pb-sim --tasks "$T" --rate-limit 5
is "$RC:$ERR" "2:pb-sim: --rate-limit: '5' is not N/SEC (N >= 1 requests per SEC > 0 seconds)" \
   "--rate-limit without /SEC: exit 2"

done_testing
