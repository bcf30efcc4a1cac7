#!/bin/sh
# pb-query against pb-sim: order, pass-through, errors of every kind, the key.
. "$(dirname "$0")/lib.sh"
plan 46
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME

# Ten tasks and 100 pulls in pb-sample's format, written the way cJSON
# writes them, so a record that passed through unchanged compares equal.
i=0
while [ $i -lt 10 ]; do
	i=$((i + 1))
	printf '{"id":"t%d","input":"What is %d + %d?","answer":"%d"}\n' \
	    $i $i $i $((i + i))
done >tasks.jsonl
awk '{ t[NR] = $0 }
END {
	for (p = 1; p <= 100; p++) {
		k = (p - 1) % 10 + 1
		printf "{\"run\":\"0123456789abcdef0123456789abcdef\",\"pull\":%d,", p
		printf "\"arm\":\"a%d\",\"task\":%s,\"extra\":{\"x\":[0.5,null,true],", p % 3, t[k]
		printf "\"s\":\"caf\303\251\\n\\\"q\\\"\"},\"messages\":[{\"role\":\"user\","
		printf "\"content\":\"Think step by step.\\n\\nWhat is %d + %d?\"}]}\n", k, k
	}
}' tasks.jsonl >pulls.jsonl
pulls() { sed 's/^{"run":"[0-9a-f]*","pull":\([0-9]*\),.*/\1/' "$@"; }
strip() { sed 's/,"response":{.*}}$/}/; s/,"error":{.*}}$/}/' "$@"; }

start_sim --tasks tasks.jsonl --seed 7
URL=$OPENAI_BASE_URL

run pb-query -j 16 <pulls.jsonl
is "$RC" 0 "-j 16: exit 0"
is "$ERR" "" "-j 16: nothing on stderr"
is "$(wc -l <out | tr -d ' ')" 100 "-j 16: 100 records out for 100 in"
is "$(pulls out | tr '\n' ' ')" "$(pulls pulls.jsonl | tr '\n' ' ')" \
    "-j 16: records in input order"
is "$(grep -c ',"response":{"text":"' out)" 100 "every record has a response with text"
is "$(grep -Ec '"usage":\{"prompt_tokens":[0-9]+,"completion_tokens":[0-9]+,"total_tokens":[0-9]+\},"latency_ms":[0-9.]+,"attempts":(1|0,"cached":true)\}\}$' out)" \
    100 "every response has usage and latency"
is "$(grep -c '"error"' out)" 0 "no record has an error"
strip out >stripped
is "$(cksum <stripped)" "$(cksum <pulls.jsonl)" "every other field passes through untouched"
cp out answered.jsonl

run pb-query -j 3 --model sim-test --temperature 0.5 --max-tokens 64 --seed 3 <answered.jsonl
is "$RC" 0 "a second pass: exit 0"
is "$(grep -c '"response".*"response"' out)" 0 "a second pass replaces the response"
is "$(strip out | cksum)" "$(cksum <pulls.jsonl)" "a second pass keeps the other fields"

run pb-query -j 8 --unordered pulls.jsonl
is "$RC" 0 "--unordered: exit 0"
is "$(pulls out | sort -n | tr '\n' ' ')" "$(pulls pulls.jsonl | tr '\n' ' ')" \
    "--unordered: every record once"

run pb-query -j 1 <pulls.jsonl
is "$(pulls out | tr '\n' ' ')" "$(pulls pulls.jsonl | tr '\n' ' ')" "-j 1: in order"

# Bad input: a line that is not JSON is reported and cannot be passed on;
# a record without messages is passed on with an input error.
{ head -n 2 pulls.jsonl; echo 'not json'; echo '{"pull":77,"task":{}}'
  echo '{"id":"no-pull","messages":[]}'; sed -n 3p pulls.jsonl; } >bad.jsonl
run pb-query bad.jsonl
is "$RC" 1 "bad input: exit 1"
is "$ERR" "pb-query: bad.jsonl:3: not valid JSON
pb-query: bad.jsonl:4: pull 77: no messages
pb-query: bad.jsonl:5: no messages" "bad input: each reported with file and line"
is "$(wc -l <out | tr -d ' ')" 5 "bad input: every record passed on"
is "$(sed -n 3p out)" '{"pull":77,"task":{},"error":{"kind":"input","status":0,"type":null,"message":"no messages"}}' \
    "bad input: the record without messages has an input error"
is "$(grep -c '"response"' out)" 3 "bad input: the good records answered"
echo '{"messages":{}}' >nomsg.jsonl
run pb-query <nomsg.jsonl
is "$RC$ERR" '1pb-query: <stdin>:1: no messages' "standard input is named <stdin>"

# The key is sent, never shown.
OPENAI_API_KEY=sk-test-SECRET run pb-query -j 4 <pulls.jsonl
is "$RC" 0 "with a key: exit 0"
is "$(grep -c SECRET out err)" "out:0
err:0" "with a key: the key is in neither output nor stderr"
echo sk-test-SECRET >key
run pb-query --key-file key --key-env NOPE <pulls.jsonl
is "$RC" 2 "--key-file and --key-env together: exit 2"
unset NOPE
run pb-query --key-env NOPE <pulls.jsonl
is "$RC$ERR" '2pb-query: --key-env: $NOPE is not set' "--key-env naming an unset variable"
run pb-query --key-file missing <pulls.jsonl
is "$RC$ERR" '2pb-query: missing: No such file or directory' "--key-file missing"
stop_sim

# Every request failing: each record keeps its fields, gets an error, and
# is reported once.
start_sim --tasks tasks.jsonl --error-rate 1 --error-status 500
OPENAI_API_KEY=sk-test-SECRET run pb-query -j 16 --retries 0 --key-env OPENAI_API_KEY <pulls.jsonl
is "$RC" 1 "--error-rate 1: exit 1"
is "$(wc -l <out | tr -d ' ')" 100 "--error-rate 1: no record lost"
is "$(grep -c ',"error":{"kind":"http","status":500,"type":' out)" 100 \
    "--error-rate 1: every record has an HTTP 500 error"
is "$(grep -c '"response"' out)" 0 "--error-rate 1: and no response"
is "$(grep -Ec '^pb-query: pull [0-9]+: HTTP 500: .' err)" 100 \
    "--error-rate 1: each failure reported once"
is "$(strip out | cksum)" "$(cksum <pulls.jsonl)" "--error-rate 1: other fields untouched"
is "$(grep -c SECRET out err)" "out:0
err:0" "--error-rate 1: the key is in neither output nor stderr"
stop_sim

# Nothing listening: the port pb-sim had is closed now.
run pb-query -j 16 --retries 0 --no-cache --base-url "$URL" <pulls.jsonl
is "$RC" 1 "closed port: exit 1"
is "$(wc -l <out | tr -d ' ')" 100 "closed port: no record lost"
is "$(grep -c ',"error":{"kind":"connect","status":0,"type":null,"message":"' out)" 100 \
    "closed port: every record has a connect error"
like "$(head -n 1 err)" '^pb-query: pull [0-9]+: connect: .' "closed port: reported"

# A server slower than --timeout.
start_sim --tasks tasks.jsonl --latency 10000
run pb-query --timeout 0.3 --retries 1 <bad.jsonl
is "$RC" 1 "--timeout: exit 1"
is "$(grep -c '"error":{"kind":"timeout","status":0,' out)" 3 "--timeout: kind timeout"
stop_sim

# Usage.
run pb-query -h
is "$RC" 0 "-h: exit 0"
like "$OUT" '^usage: pb-query ' "-h: usage on stdout"
missing=
for o in $(printf '%s\n' "$OUT" | grep -Eo -- '--[a-z-]+' | sort -u); do
	grep -q -- "^\.It .*Fl -${o#--}( |$)" "$TOP/man/pb-query.1" 2>/dev/null ||
	    grep -Eq -- "Fl -${o#--}( |$)" "$TOP/man/pb-query.1" || missing="$missing $o"
done
is "$missing" "" "every option in --help is in the man page"
run pb-query --version
like "$RC $OUT" '^0 pb-query \(promptbandit\) ' "--version"
run pb-query -j 0 </dev/null
is "$RC" 2 "-j 0: exit 2"
run pb-query --base-url ftp://example.org/v1 </dev/null
is "$RC$ERR" "2pb-query: base URL 'ftp://example.org/v1' is not http:// or https://" \
    "--base-url must be HTTP"
run pb-query --api-key sk-test-SECRET </dev/null
is "$RC" 2 "no option takes the key on the command line"
run pb-query nonexistent.jsonl
is "$RC$ERR" "2pb-query: nonexistent.jsonl: No such file or directory" "a missing file: exit 2"
done_testing
