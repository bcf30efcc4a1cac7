#!/bin/sh
# 0310-pb-score-programs.t - pb-score's jq and external-program scorers:
# one long-lived process each (counted), rewards read strictly, errors
# per record, a program that dies early, blends, and bad options.
. "$(dirname "$0")/lib.sh"
plan 72

REALJQ=$(command -v jq)
rec() { # rec PULL RESPONSE ANSWER: an answered record
	printf '{"pull":%s,"task":{"answer":"%s"},"response":{"text":"%s"}}\n' "$1" "$3" "$2"
}
failed() { # failed PULL: a record whose query failed
	printf '{"pull":%s,"task":{"answer":"1"},"error":{"kind":"http","status":500,"message":"HTTP 500: boom"}}\n' "$1"
}
col() { jq -c "$1" "$TMP/out" | tr '\n' ' '; }

# ------------------------------------------------------------------ jq
{ rec 1 "The answer is 1" 1; rec 2 "It is 5" 2; failed 3; rec 4 "x" 4; } >in.jsonl
run pb-score --jq '.pull / 10' in.jsonl
is "$RC" 0 "jq: exit 0"
is "$(col .reward)" "0.1 0.2 null 0.4 " "jq: rewards in input order, failed query null"
is "$(col '.score | [.scorer, .extracted, .status]')" '["jq","0.1","partial"] ["jq","0.2","partial"] ["jq",null,"unscored"] ["jq","0.4","partial"] ' \
	"jq: scorer, extracted value, status"
is "$(jq -c 'select(.pull == 3) | .score.reason' "$TMP/out")" '"query failed: HTTP 500: boom"' "jq: failed query not scored"
run pb-score --jq '.response.text | test("answer")' in.jsonl
is "$(col .reward)" "1 0 null 0 " "jq: booleans are 1 and 0"
is "$(col .score.status)" '"ok" "wrong" "unscored" "wrong" ' "jq: boolean statuses"

# Errors, no value, several values, not a number, out of range: each
# record unscored with its reason, the rest scored, exit 1.
seq 1 6 | while read -r i; do rec "$i" "r$i" "$i"; done >six.jsonl
run pb-score --jq 'if .pull == 1 then error("boom") elif .pull == 2 then empty
  elif .pull == 3 then (1, 0) elif .pull == 4 then "0.5" elif .pull == 5 then 7
  else 0.25 end' six.jsonl
is "$RC" 1 "jq errors: exit 1"
is "$(col .reward)" "null null null null null 0.25 " "jq errors: unscored, never dropped"
is "$(col .score.reason)" '"jq error: boom" "the program gave no value" "the program gave 2 values, not one" "not a number or boolean: \"0.5\"" "7 is outside [0,1] (give --scale LO:HI for another range)" null ' \
	"jq errors: reasons"
is "$ERR" 'pb-score: six.jsonl:1: jq: jq error: boom
pb-score: six.jsonl:2: jq: the program gave no value
pb-score: six.jsonl:3: jq: the program gave 2 values, not one
pb-score: six.jsonl:4: jq: not a number or boolean: "0.5"
pb-score: six.jsonl:5: jq: 7 is outside [0,1] (give --scale LO:HI for another range)' "jq errors: one message each"
run pb-score --jq '.pull' --scale 0:10 six.jsonl
is "$RC $(col .reward)" "0 0.1 0.2 0.3 0.4 0.5 0.6 " "--scale maps LO:HI onto [0,1]"
run pb-score --jq '.pull' --scale 2:5 six.jsonl
is "$RC $(col .reward)" "1 null 0 0.3333333333333333 0.6666666666666666 1 null " "--scale refuses values outside it"

# One jq for the whole run: a jq first in PATH that counts its starts.
mkdir bin
printf '#!/bin/sh\necho $$ >>"%s/jq.pids"\nexec "%s" "$@"\n' "$TMP" "$REALJQ" >bin/jq
chmod +x bin/jq
awk 'BEGIN { for (i = 1; i <= 3000; i++)
	printf "{\"pull\":%d,\"task\":{\"answer\":\"%d\"},\"response\":{\"text\":\"%d\"}}\n", i, i, i % 7 }' >many.jsonl
PATH=$TMP/bin:$PATH run pb-score --jq '(.response.text | tonumber) / 10' many.jsonl
is "$RC" 0 "3000 records through jq: exit 0"
is "$(grep -c . jq.pids)" 1 "3000 records through jq: one jq process"
is "$(jq -r .pull "$TMP/out" | awk '$1 != NR { bad = 1 } END { print NR, bad + 0 }')" "3000 0" \
	"3000 records through jq: all written, in order"
is "$(jq -r '[.pull, .reward] | @tsv' "$TMP/out" | awk '{ if ($2 != ($1 % 7) / 10) bad++ } END { print bad + 0 }')" 0 \
	"3000 records through jq: each its own reward"

# A program that does not compile: jq's message, then ours, exit 2.
run pb-score --jq '.pull +' six.jsonl
is "$RC" 2 "jq compile error: exit 2"
like "$ERR" '^jq: error' "jq compile error: jq's own message"
like "$ERR" 'pb-score: --jq: jq exited with status 3 before answering: the program does not compile\?$' \
	"jq compile error: our message"
is "$OUT" "" "jq compile error: nothing written"
# A program that reads input of its own puts the answers out of step.
run pb-score --jq '[., input] | length' six.jsonl
is "$RC" 1 "jq reading input: exit 1"
like "$ERR" "pb-score: jq: jq's answers are out of step with the records" "jq reading input: said"
is "$(jq -r .score.reason "$TMP/out" | grep -c "jq's answers are out of step with the records (does the program use input or inputs?)")" 5 \
	"jq reading input: the records after unscored with the reason"
is "$(grep -c . "$TMP/out")" 6 "jq reading input: all six written"

# ----------------------------------------------------------------- cmd
cat >rm.sh <<'PROG'
#!/bin/sh
# a reward program: counts its starts and its records, dies on request
echo $$ >>"$PIDS"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	echo "$line" >>"$PIDS.in"
	[ -n "${DIE_AT:-}" ] && [ "$n" -ge "$DIE_AT" ] && exit 5
	case $line in
	*'"pull":2,'*) echo 'not json' ;;
	*'"pull":3,'*) printf '{"reward":0.25}\n' ;;
	*'"pull":4,'*) printf '{"reward":null,"reason":"too long to judge"}\n' ;;
	*'"pull":5,'*) echo true ;;
	*) echo 1 ;;
	esac
done
PROG
chmod +x rm.sh
PIDS=$TMP/cmd.pids
export PIDS
{ cat six.jsonl; failed 7; } >seven.jsonl
run pb-score --cmd-plain seven.jsonl --cmd ./rm.sh
is "$RC" 1 "cmd: exit 1 (a bad answer)"
is "$(col .reward)" "1 null 0.25 null 1 1 null " "cmd: rewards"
is "$(col .score.reason)" "null \"answer is not JSON: 'not json'\" null \"too long to judge\" null null \"query failed: HTTP 500: boom\" " \
	"cmd: reasons"
is "$ERR" "pb-score: seven.jsonl:2: cmd: answer is not JSON: 'not json'
pb-score: seven.jsonl:4: cmd: too long to judge" "cmd: messages"
is "$(grep -c . cmd.pids)" 1 "cmd: one process"
is "$(grep -c . cmd.pids.in)" 6 "cmd: the failed query was not sent"
is "$(head -n 1 cmd.pids.in)" "$(head -n 1 six.jsonl)" "cmd: records sent as read"
rm -f cmd.pids cmd.pids.in
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "{\"pull\":%d,\"task\":{\"answer\":\"1\"},\"response\":{\"text\":\"x\"}}\n", i + 10 }' >many2.jsonl
run pb-score --cmd-plain many2.jsonl --cmd ./rm.sh
is "$RC:$(grep -c . cmd.pids):$(jq -c .reward "$TMP/out" | sort | uniq -c | tr -s ' ')" "0:1: 2000 1" "cmd: 2000 records, one process"

# Dying early: the records it owed and all after are unscored, exit 1.
rm -f cmd.pids cmd.pids.in
DIE_AT=3 run pb-score --cmd-plain seven.jsonl --cmd ./rm.sh
is "$RC" 1 "cmd dies: exit 1"
is "$(col .reward)" "1 null null null null null null " "cmd dies: later records unscored, none dropped"
is "$(jq -r 'select(.pull == 3 or .pull == 6) | .score.reason' "$TMP/out" | sort -u)" "./rm.sh exited with status 5" \
	"cmd dies: the reason says how"
like "$ERR" "pb-score: cmd: \./rm\.sh exited with status 5; [0-9]+ records? it owed, and any after, left unscored" "cmd dies: said once"
run pb-score six.jsonl --cmd ./no-such-program
is "$RC:$ERR" "2:pb-score: --cmd: ./no-such-program: No such file or directory" "cmd not found: exit 2"
run pb-score --cmd-plain six.jsonl --cmd sh -c 'while read -r l; do echo 0.5; done; exit 3'
is "$RC:$ERR" "1:pb-score: cmd: sh exited with status 3 after answering" "cmd failing at the end: exit 1"

# The checked protocol (the default): each answer carries the record's
# pull, so a program that answers twice for one record is caught at the
# next answer instead of shifting every later reward onto the wrong one.
cat >echo.sh <<'PROG'
#!/bin/sh
# answers {"pull":P,"reward":R}; TWICE=P answers that pull twice; HANG=P
# stops answering there (exec: the kill reaches it)
while IFS= read -r line; do
	p=${line#*\"pull\":}
	p=${p%%,*}
	[ "$p" = "${HANG:-}" ] && exec sleep 60
	printf '{"pull":%s,"reward":%s}\n' "$p" "$([ "$p" = 1 ] && echo 1 || echo 0)"
	[ "$p" = "${TWICE:-}" ] && printf '{"pull":%s,"reward":1}\n' "$p"
done
exit 0
PROG
chmod +x echo.sh
run pb-score six.jsonl --cmd ./echo.sh
is "$RC:$(col .reward)" "0:1 0 0 0 0 0 " "checked: answers carrying the pull are taken"
TWICE=2 run pb-score six.jsonl --cmd ./echo.sh
is "$RC" 1 "checked: an answer too many: exit 1"
is "$(col .reward)" "1 0 null null null null " "checked: an answer too many: no reward lands on the wrong record"
like "$ERR" "pb-score: cmd: an answer for pull 2 where pull 3 was owed: the answers are out of step with the records; [0-9]+ records? it owed, and any after, left unscored" \
	"checked: an answer too many: said, naming both pulls"
run pb-score --cmd-plain six.jsonl --cmd sh -c 'n=0; while read -r l; do n=$((n + 1)); echo 1; [ $n = 2 ] && echo 0; done; exit 0'
is "$RC" 1 "plain: an answer too many fails the run at the end"
like "$ERR" "pb-score: cmd: sh gave more answers than records" "plain: and says so"
run pb-score six.jsonl --cmd sh -c 'while read -r l; do echo 1; done'
is "$RC:$(col .reward)" "1:null null null null null null " "checked: a plain answer is refused"
like "$ERR" "an answer without the record's pull .*--cmd-plain takes plain answers" "checked: and the message says how to take it"
printf '{"task":{"answer":"1"},"response":{"text":"x"}}\n' >nopull.jsonl
run pb-score nopull.jsonl --cmd sh -c 'read -r l; echo "{\"pull\":null,\"reward\":1}"'
is "$RC:$(col .reward)" "0:1 " "checked: a record without a pull is answered with pull null"

# --cmd-timeout: the record unscored with the reason, the program started
# again for the rest; three timeouts in a row end it for the run.
HANG=2 run pb-score --cmd-timeout 0.5 six.jsonl --cmd ./echo.sh
is "$RC:$(col .reward)" "1:1 null 0 0 0 0 " "timeout: that record unscored, the run goes on"
is "$(jq -r 'select(.pull == 2) | .score.reason' "$TMP/out")" "./echo.sh gave no answer in 0.5 s (--cmd-timeout)" \
	"timeout: the reason"
is "$ERR" "pb-score: six.jsonl:2: cmd: ./echo.sh gave no answer in 0.5 s (--cmd-timeout)" "timeout: one message"
run pb-score --cmd-timeout 0.2 six.jsonl --cmd sh -c 'exec sleep 60'
is "$RC:$(col .reward)" "1:null null null null null null " "timeout: a program that never answers: every record unscored"
like "$ERR" "pb-score: cmd: sh gave no answer in 0.2 s, 3 times in a row; [0-9]+ records? it owed, and any after, left unscored" \
	"timeout: three in a row end it"
run pb-score --cmd-timeout 5 </dev/null
is "$RC:$ERR" "2:pb-score: --cmd-timeout applies only to the cmd scorer" "--cmd-timeout without cmd"
run pb-score --cmd-plain </dev/null
is "$RC:$ERR" "2:pb-score: --cmd-plain applies only to the cmd scorer" "--cmd-plain without cmd"
run pb-score --cmd-timeout x </dev/null --cmd true
is "$RC:$ERR" "2:pb-score: --cmd-timeout: 'x' is not a number in [0, 1e+09]" "bad --cmd-timeout"

# --------------------------------------------------------------- blend
rm -f cmd.pids
{ rec 1 "The answer is 4" 4; rec 2 "The answer is 5" 4; } >b.jsonl
run pb-score --blend number:0.8,jq:0.2 --jq '.pull == 1' b.jsonl
is "$RC $(col .reward)" "0 1 0 " "blend number+jq"
is "$(jq -c '.score | [.scorer, .status, .components.number.reward, .components.jq.weight, .components.jq.extracted]' "$TMP/out" | tr '\n' ' ')" \
	'["blend","ok",1,0.2,"true"] ["blend","wrong",0,0.2,"false"] ' "blend: components kept"
run pb-score --cmd-plain --blend number:3,cmd:1 b.jsonl --cmd sh -c 'while read -r l; do echo 0.5; done'
is "$RC $(col .reward)" "0 0.875 0.125 " "blend: weights divided by their sum"

# -------------------------------------------------------- man example
printf '%s\n' '{"task":{"answer":"63"},"response":{"text":"So **63 bugs**!"}}' \
	'{"task":{"answer":"63"},"response":{"text":"63"}}' >m.jsonl
is "$(pb-score --jq '.task.answer as $a | (.response.text | test("\\*\\*")) as $b
    | if (.response.text | contains($a))
      then (if $b then 0.5 else 1 end) else 0 end' <m.jsonl | jq -c .reward | tr '\n' ' ')" "0.5 1 " \
	"man example: jq reward"

# --------------------------------------------------------- bad options
badopt() { # badopt WANT-STDERR DESCRIPTION ARGS...
	want=$1 desc=$2
	shift 2
	run pb-score "$@" </dev/null
	is "$RC:$ERR" "2:pb-score: $want" "$desc"
}
badopt "--jq applies only to the jq scorer" "--jq with number" --scorer number --jq .x
badopt "the jq scorer needs --jq EXPR" "jq without --jq" --scorer jq
badopt "the cmd scorer needs --cmd PROG [ARG ...]" "cmd without --cmd" --blend cmd:1
badopt "--cmd needs a program" "--cmd alone" --cmd
badopt "--scale applies only to the jq and cmd scorers" "--scale with number" --scale 0:10
badopt "--scale: '5:1' is not LO:HI with LO < HI" "bad --scale" --jq . --scale 5:1
badopt "--blend: 'number' is not NAME:WEIGHT" "--blend without weight" --blend number
badopt "--blend: the weight of length, '0', is not a number above 0" "--blend zero weight" --blend number:1,length:0
badopt "--blend: unknown scorer 'nope' (number, bool, exact, contains, regex, choice, length, jq, cmd, judge)" "--blend unknown" --blend nope:1
badopt "--blend: number named twice" "--blend twice" --blend number:1,number:2
badopt "--blend and --scorer go alone" "--blend with --scorer" --blend number:1 --scorer number
badopt "--max-words applies only to the length scorer" "--max-words with number" --max-words 5
badopt "--judge-model applies only to the judge scorer" "judge option without judge" --judge-model x
done_testing
