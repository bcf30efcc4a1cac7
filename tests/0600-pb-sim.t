#!/bin/sh
# pb-sim: the simulated model server, over real HTTP on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
plan 47

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

done_testing
