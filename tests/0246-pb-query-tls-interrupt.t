#!/bin/sh
# pb-query over TLS (a test CA and a server certificate made here, served
# by openssl s_server), a server echoing the key JSON-escaped, and a clean
# interrupt: every input answered or written as interrupted.
. "$(dirname "$0")/lib.sh"
plan 17
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR

sum_tasks 40
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
head -n 1 pulls.jsonl >one.jsonl

# --- TLS ---------------------------------------------------------------------
# tls_server BODY: an HTTPS server on a free port for one connection,
# answering BODY as JSON; sets PORT.  tls_done stops it.
tls_server() {
	rm -f s.out
	{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
	      "${#1}" "$1"; sleep 30 & echo $! >sleep.pid; wait; } |
	    openssl s_server -accept 0 -naccept 1 -cert srv.pem -key srv.key >s.out 2>s.err &
	PORT=
	for _i in $(seq 100); do
		PORT=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' s.out 2>/dev/null)
		[ -n "$PORT" ] && break
		sleep 0.1
	done
}
tls_done() { kill "$(cat sleep.pid)" 2>/dev/null; wait; }
if ! command -v openssl >/dev/null 2>&1; then
	for i in $(seq 8); do echo "ok $((i)) # skip openssl is not installed"; done
	_n=8
else
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
	    -subj /CN=pb-test-ca >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
	    -subj /CN=127.0.0.1 >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1\n' >ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -out srv.pem -days 2 -extfile ext >/dev/null 2>&1
	body='{"choices":[{"message":{"role":"assistant","content":"over TLS, key sk\u002dcanary-77"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}'

	tls_server "$body"
	start=$(now)
	run pb-query --no-cache --base-url "https://127.0.0.1:$PORT/v1" <one.jsonl
	is "$RC" 1 "an unknown CA: exit 1"
	like "$OUT" '"error":\{"kind":"tls","status":0,"type":null,"message":"SSL certificate problem: [^"]*","attempts":1\}' \
	    "an unknown CA: kind tls, tried once"
	is "$(at_least "$(now)" "$start" 5)" 1 "an unknown CA: fails fast (under 5 s), no backoff"
	like "$ERR" "tls: SSL certificate problem" "an unknown CA: the TLS message on stderr"
	tls_done

	tls_server "$body"
	OPENAI_API_KEY=sk-canary-77 run pb-query --cache c1 --cacert ca.pem \
	    --base-url "https://127.0.0.1:$PORT/v1" <one.jsonl
	is "$RC" 0 "--cacert: the server is trusted, exit 0"
	like "$OUT" '"response":\{"text":"over TLS, key \[redacted\]"' \
	    "a key echoed JSON-escaped (sk\\u002d...) is redacted in the record"
	is "$(cat out c1/*/*.json | grep -c 'canary-77\|u002dcanary')" 0 \
	    "the escaped key reaches neither the record nor the cache"
	tls_done

	tls_server "$body"
	SSL_CERT_FILE=$TMP/ca.pem run pb-query --no-cache --base-url "https://127.0.0.1:$PORT/v1" <one.jsonl
	is "$RC" 0 "\$SSL_CERT_FILE is honoured"
	tls_done
fi

# --- interrupts ---------------------------------------------------------------
start_sim --tasks tasks.jsonl --seed 2 --latency 1000
# perl -e "$DFL" CMD...: CMD with SIGINT as at a terminal, not ignored as
# the shell leaves it for a background job (which pb-query respects).
DFL='$SIG{INT} = "DEFAULT"; exec @ARGV or die "$ARGV[0]: $!\n"'
# interrupted SIGNAL ARGS: pb-query ARGS in the background, the signal
# sent once some answers of this run are out; RC, OUT and ERR as run sets
# them.
interrupted() {
	sig=$1
	shift
	rm -f "$TMP/out"
	perl -e "$DFL" pb-query --no-cache -j 4 "$@" <pulls.jsonl >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for _i in $(seq 200); do
		[ -s "$TMP/out" ] && break
		sleep 0.05
	done
	kill -"$sig" "$pid"
	wait "$pid"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}
# ok_range N: "yes" when 0 < N < 40
ok_range() { [ "$1" -gt 0 ] && [ "$1" -lt 40 ] && echo yes || echo no; }
interrupted INT
answered=$(grep -c '"response":' out)
stopped=$(grep -c '"error":{"kind":"interrupted"' out)
is "$RC" 130 "SIGINT: exit 130"
is "$(pulls out)" "$(pulls pulls.jsonl)" "SIGINT: every input written once, in order"
is "$((answered + stopped)):$(ok_range "$answered")" "40:yes" \
    "SIGINT: each answered or written as interrupted (some of each)"
is "$ERR" "pb-query: interrupted (Interrupt): 40 records written, $stopped of them as error records of kind \"interrupted\"" \
    "SIGINT: one line on stderr with the counts"
interrupted TERM
is "$RC:$(grep -c '"kind":"interrupted"' out)" "143:$(($(wc -l <out) - $(grep -c '"response":' out)))" \
    "SIGTERM: exit 143, the rest interrupted"
interrupted INT --no-interrupted
is "$RC:$(grep -c '"kind":"interrupted"' out)" "130:0" "--no-interrupted: no interrupted records"
like "$ERR" "not written \(--no-interrupted\); the rest of the input was not read" \
    "--no-interrupted: says what was left"
# An input that never ends: the first signal interrupts, the second stops
# the reading.
mkfifo feed
{ cat pulls.jsonl; sleep 30 & echo $! >feed.pid; wait; } >feed &
rm -f out
perl -e "$DFL" pb-query --no-cache -j 4 <feed >out 2>err &
pid=$!
for _i in $(seq 200); do
	[ -s out ] && break
	sleep 0.05
done
# Signals of one kind do not queue, and a loaded machine may hold the
# first back: signal again until it stops (at most 20 s).
for _i in $(seq 60); do
	kill -INT "$pid" 2>/dev/null || break
	sleep 0.3
done
wait "$pid"
RC=$?
kill "$(cat feed.pid)" 2>/dev/null
is "$RC:$(grep -vc '"response":\|"error":{"kind":"interrupted"' out)" "130:0" \
    "a second signal: exit 130, every line written whole"
like "$(cat err)" "signalled again: the rest of the input was not read$" \
    "a second signal: the reading stops, and it says so"
stop_sim
done_testing
