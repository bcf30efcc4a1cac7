#!/bin/sh
# pb-query --api anthropic against pb-sim's Messages API: the system
# prompt in its own field, content blocks, usage, stop reasons, errors in
# Anthropic's shape, and the key in x-api-key only.
. "$(dirname "$0")/lib.sh"
plan 25

sum_tasks 8
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"system\",\"content\":\"You are careful.\"},{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
texts() { sed 's/.*"response":{"text":"\([^"]*\)".*/\1/' "$@"; }
# with_fault KIND:RATE ARGS...: pb-query --api anthropic ARGS against a
# fresh pb-sim that injects the fault.
with_fault() {
	spec=$1
	shift
	start_sim --tasks tasks.jsonl --seed 8 --fault "$spec"
	ANTHROPIC_BASE_URL=$OPENAI_BASE_URL
	run pb-query --no-cache --api anthropic "$@" <pulls.jsonl
}

start_sim --tasks tasks.jsonl --seed 8 --api-key sk-canary-XYZ
ANTHROPIC_BASE_URL=$OPENAI_BASE_URL
ANTHROPIC_API_KEY=sk-canary-XYZ
export ANTHROPIC_BASE_URL ANTHROPIC_API_KEY

run pb-query --no-cache --api anthropic --model claude-sim <pulls.jsonl
s=$(reset)
is "$RC" 0 "anthropic: exit 0"
is "$ERR" "" "anthropic: nothing on stderr"
is "$(pulls out)" "$(pulls pulls.jsonl)" "anthropic: every record once, in order"
is "$(grep -Ec '"response":\{"text":"[^"]+","model":"claude-sim","finish_reason":"end_turn","usage":\{"prompt_tokens":[0-9]+,"completion_tokens":[0-9]+,"total_tokens":[0-9]+\},"latency_ms":[0-9.]+,"attempts":1\}\}$' out)" 8 \
    "anthropic: text, model, stop_reason as finish_reason, usage in OpenAI's names"
is "$(field "$s" 200)" 8 "anthropic: eight requests answered (the system prompt was accepted)"
cp out anthropic.jsonl

# Anthropic has no default model here: never an OpenAI name.
run pb-query --no-cache --api anthropic <pulls.jsonl
is "$RC" 2 "no --model for anthropic: exit 2"
like "$ERR" "no default model; give --model" "no --model for anthropic: says to give one"
is "$(field "$(reset)" requests)" 0 "no --model for anthropic: nothing sent"
PB_MODEL=claude-sim
export PB_MODEL

OPENAI_API_KEY=sk-canary-XYZ run pb-query --no-cache <pulls.jsonl
is "$(texts out)" "$(texts anthropic.jsonl)" \
    "the same conversation gets the same answers from either API"
reset >/dev/null

run pb-query --no-cache --api anthropic --max-tokens 2 <pulls.jsonl
is "$(grep -c '"finish_reason":"max_tokens"' out)" 8 "--max-tokens 2: stop_reason max_tokens"
run pb-query --no-cache --api anthropic --stop ' is' --stop '.' <pulls.jsonl
like "$(head -n 1 out)" '"finish_reason":"(stop_sequence|end_turn)"' "--stop: sent as stop_sequences"

# The request as it would be sent.
run pb-query --dry-run --api anthropic --temperature 0.5 <pulls.jsonl
is "$(head -n 1 out | sed 's/.*"request"://')" \
    "{\"url\":\"$OPENAI_BASE_URL/messages\",\"body\":{\"model\":\"claude-sim\",\"messages\":[{\"role\":\"user\",\"content\":\"What is 1 + 1?\"}],\"system\":\"You are careful.\",\"temperature\":0.5,\"max_tokens\":1024},\"est_prompt_tokens\":8}}" \
    "--dry-run: system in its own field, max_tokens 1024 by default"
reset >/dev/null

# Errors come in Anthropic's shape.
ANTHROPIC_API_KEY=sk-wrong run pb-query --no-cache --api anthropic <pulls.jsonl
s=$(reset)
is "$RC" 1 "a wrong key: exit 1"
is "$(grep -c '"error":{"kind":"http","status":401,"type":"authentication_error",.*"attempts":1}}$' out)" 8 \
    "a wrong key: authentication_error, tried once"
is "$(field "$s" requests)" 8 "a wrong key: no retries"
stop_sim

with_fault 529:1 --retries 1
s=$(reset)
is "$RC" 1 "529 every time: exit 1"
is "$(grep -c '"error":{"kind":"http","status":529,"type":"overloaded_error",.*"attempts":2}}$' out)" 8 \
    "529: overloaded_error, retried"
is "$(field "$s" requests)" 16 "529: two requests per record"
stop_sim

with_fault 529:0.3
is "$RC" 0 "529 at times: exit 0"
is "$(grep -c '"response"' out)" 8 "529 at times: every record answered in the end"
stop_sim

is "$(cat out err anthropic.jsonl | grep -c canary)" 0 "the key is in no output"

run pb-query --api anthropic --seed 1 </dev/null
is "$RC$ERR" "2pb-query: --seed: Anthropic's API takes no seed" "--seed: not for Anthropic"
run pb-query --api bard </dev/null
is "$RC$ERR" "2pb-query: --api: 'bard' is not openai, anthropic or azure" "--api: openai, anthropic or azure"
ANTHROPIC_BASE_URL= run pb-query --api anthropic --dry-run <pulls.jsonl
like "$(head -n 1 out)" '"url":"https://api.anthropic.com/v1/messages"' "the default Anthropic base"
ANTHROPIC_BASE_URL=http://127.0.0.1:9 run pb-query --api anthropic --dry-run <pulls.jsonl
like "$(head -n 1 out)" '"url":"http://127.0.0.1:9/v1/messages"' "a base without a path gets /v1"
done_testing
