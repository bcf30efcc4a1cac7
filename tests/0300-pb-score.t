#!/bin/sh
# 0300-pb-score.t - pb-score: the golden cases of every scorer through the
# command line, unscored records, bad lines, options and exit statuses.
. "$(dirname "$0")/lib.sh"

GOLDEN=$DATA/score-golden.jsonl
NGOLDEN=$(grep -c . "$GOLDEN")
plan $((NGOLDEN + 53))

# ---------------------------------------------------------------- golden
# One pb-score run per distinct option set ([scorer] + args); each case
# becomes a record carrying its index, and the results are joined back.
jq -c -n '[inputs] | to_entries[] | {case: .key, key: ([.value.scorer] +
    (.value.args // [])), task: {answer: .value.reference},
    response: {text: .value.response}}' "$GOLDEN" >cases.jsonl
jq -c .key cases.jsonl | sort -u >groups
: >results.jsonl
while read -r g; do
	eval "set -- $(printf '%s' "$g" | jq -r 'map(@sh) | join(" ")')"
	sc=$1
	shift
	jq -c --argjson g "$g" 'select(.key == $g)' cases.jsonl |
	    pb-score --scorer "$sc" "$@" >>results.jsonl 2>>golden.err ||
	    echo "pb-score $g exited $?" >>golden.err
done <groups
is "$(cat golden.err)" "" "golden runs: no errors"
jq -r -n --slurpfile res results.jsonl '
    ($res | map({key: (.case | tostring), value: .}) | from_entries) as $by |
    [inputs] | to_entries[] | .key as $i | .value as $c | $by[$i | tostring] as $r |
    (if $r != null and $r.score.extracted == $c.extracted and
        $r.reward == $c.reward then "ok" else "not ok" end) + "\t" +
    "golden \($i + 1): \($c.scorer) \($c.args // [] | join(" ")) " +
    ($c.response | gsub("[\\\\\n\t]"; " ") | .[0:50] | tojson) + "\t" +
    "got \([$r.score.extracted, $r.reward] | tojson), want \([$c.extracted, $c.reward] | tojson)"
    ' "$GOLDEN" >verdicts
if [ "$(grep -c . verdicts)" -ne "$NGOLDEN" ]; then
	echo "Bail out! golden comparison produced $(grep -c . verdicts) lines"
	exit 2
fi
TAB=$(printf '\t')
while IFS=$TAB read -r st desc why; do
	if [ "$st" = ok ]; then ok 0 "$desc"; else ok 1 "$desc"; diag "$why"; fi
done <verdicts

# ---------------------------------------------------------------- records
rec() { # rec RESPONSE-JSON ANSWER-JSON: a scored-stage record
	printf '{"run":"r","pull":1,"arm":"a","task":{"id":"t","answer":%s},"response":{"text":%s}}\n' "$2" "$1"
}

rec '"The answer is 8."' '"8"' >one.jsonl
run pb-score <one.jsonl
is "$RC" 0 "number: exit 0"
is "$OUT" '{"run":"r","pull":1,"arm":"a","task":{"id":"t","answer":"8"},"response":{"text":"The answer is 8."},"reward":1,"score":{"scorer":"number","extracted":"8","reference":"8","status":"ok"}}' \
	"number: fields added at the end, the rest passed through"
is "$ERR" "" "number: nothing on stderr"

cp "$TMP/out" scored.jsonl
run pb-score <scored.jsonl
is "$OUT" "$(pb-score <one.jsonl)" "scoring twice replaces reward and score"

for s in bool exact contains choice; do
	case $s in
	bool) r='"Yes, it is."' a='"yes"' ;;
	exact) r='"**Paris**"' a='"paris"' ;;
	contains) r='"It is Paris."' a='"Paris"' ;;
	choice) r='"Answer: (C)"' a='"C"' ;;
	esac
	rec "$r" "$a" | pb-score --scorer $s >out.jsonl
	is "$(jq -c '[.reward, .score.scorer, .score.status]' out.jsonl)" "[1,\"$s\",\"ok\"]" "$s through the command line"
done
rec '"Result=42"' '"42"' | pb-score --regex 'Result=([0-9]+)' >out.jsonl
is "$(jq -c '[.reward, .score.scorer, .score.extracted]' out.jsonl)" '[1,"regex","42"]' "--regex alone chooses the regex scorer"

rec '"I cannot answer that"' '"8"' | pb-score >out.jsonl
is "$(jq -c '[.reward, .score.status, .score.extracted]' out.jsonl)" '[0,"no-answer",null]' "no-answer: reward 0, extracted null"

# A failed query: unscored, written, exit 0 (normal data, not a failure).
printf '%s\n' '{"pull":2,"task":{"answer":"8"},"error":{"kind":"http","status":500,"type":"server_error","message":"HTTP 500: overloaded"}}' >err.jsonl
run pb-score <err.jsonl
is "$RC" 0 "failed query: exit 0"
is "$(printf '%s' "$OUT" | jq -c '[.reward, .score]')" \
	'[null,{"scorer":"number","extracted":null,"reference":"8","status":"unscored","reason":"query failed: HTTP 500: overloaded"}]' \
	"failed query: reward null, unscored, reason"
is "$ERR" "" "failed query: nothing on stderr"

# No reference, no response text: unscored, written, reported, exit 1.
printf '%s\n' '{"pull":3,"task":{"id":"x"},"response":{"text":"8"}}' >noref.jsonl
run pb-score <noref.jsonl
is "$RC" 1 "no reference: exit 1"
is "$ERR" "pb-score: <stdin>:1: no reference at task.answer" "no reference: message"
is "$(printf '%s' "$OUT" | jq -c '[.reward, .score.status, .score.reason]')" \
	'[null,"unscored","no reference at task.answer"]' "no reference: record still written"
printf '%s\n' '{"pull":4,"task":{"answer":"8"}}' >in.jsonl
run pb-score <in.jsonl
is "$RC $ERR" "1 pb-score: <stdin>:1: no response text at response.text" "no response: exit 1 and message"
printf '%s\n' '{"task":{"answer":"eight"},"response":{"text":"8"}}' >in.jsonl
run pb-score <in.jsonl
is "$RC $ERR" "1 pb-score: <stdin>:1: reference at task.answer has no number: 'eight'" "reference without a number: exit 1 and message"
is "$(printf '%s' "$OUT" | jq -c .score.status)" '"unscored"' "bad reference: unscored"

# Bad lines are reported with file and line, the rest still scored.
{ rec '"8"' '"8"'; echo '{"broken":'; rec '"9"' '"8"'; echo '[1]'; } >bad.jsonl
run pb-score bad.jsonl
is "$RC" 1 "bad lines: exit 1"
is "$ERR" "pb-score: bad.jsonl:2: not valid JSON
pb-score: bad.jsonl:4: not a JSON object" "bad lines: one message each"
is "$(printf '%s\n' "$OUT" | jq -c .reward | tr '\n' ' ')" "1 0 " "bad lines: good records written"

# Files as arguments, "-" for standard input.
rec '"1"' '"1"' >a.jsonl
rec '"2"' '"3"' >b.jsonl
run pb-score a.jsonl - b.jsonl <one.jsonl
is "$RC" 0 "files: exit 0"
is "$(printf '%s\n' "$OUT" | jq -c .reward | tr '\n' ' ')" "1 1 0 " "files: read in order"
run pb-score a.jsonl missing.jsonl
is "$RC" 2 "missing file: exit 2"
like "$ERR" '^pb-score: missing.jsonl: No such file or directory$' "missing file: message"
is "$OUT" "$(pb-score a.jsonl)" "missing file: the others still scored"

# Other paths for the reference and the response.
printf '%s\n' '{"gold":{"v":"B"},"out":"(B)"}' >in.jsonl
run pb-score --scorer choice --reference gold.v --response out <in.jsonl
is "$RC $(printf '%s' "$OUT" | jq -c '[.reward, .score.extracted]')" '0 [1,"B"]' "--reference and --response paths"
printf '%s\n' '{"task":{"answer":"B"},"response":{"text":"B"}}' >in.jsonl
run pb-score --scorer choice --response text <in.jsonl
is "$RC $ERR" "1 pb-score: <stdin>:1: no response text at text" "--response names the missing path"

{ rec '"8"' '"8"'; rec '"7"' '"8"'; rec '"x"' '"8"'; cat err.jsonl; } >in.jsonl
run pb-score --summary <in.jsonl
is "$ERR" "pb-score: 4 records: 1 ok, 1 wrong, 1 no-answer, 1 unscored; 0 bad lines" "--summary"

# The examples in pb-score.1.
is "$(echo '{"task":{"answer":"#### 63"},"response":{"text":"So **63 bugs**!"}}' |
    pb-score)" '{"task":{"answer":"#### 63"},"response":{"text":"So **63 bugs**!"},"reward":1,"score":{"scorer":"number","extracted":"63","reference":"63","status":"ok"}}' \
	"man example: persona answer"
is "$(echo '{"task":{"answer":["Beatles","Fab Four"]},"response":{"text":"The Beatles."}}' |
    pb-score --scorer exact --no-articles | jq -c .reward)" 1 "man example: exact with --no-articles"
printf '%s\n' 'Result: 3' 'Result: 4.5' | jq -Rsc '{task: {answer: "4.5"}, response: {text: .}}' >in.jsonl
is "$(pb-score --regex '.*Result: *([0-9.]+)' <in.jsonl | jq -c .reward)" 1 "man example: last Result line"

# Help and man page list the same options.
pb-score -h | grep -o -- '--[a-z-]*' | sort -u >help.opts
grep -E -- '^\.It Fl ' "$TOP/man/pb-score.1" | grep -oE -- 'Fl -[a-z][a-z-]*' |
    sed 's/^Fl -/--/' | sort -u >man.opts
is "$(diff help.opts man.opts)" "" "man page options match --help"

# ---------------------------------------------------------------- options
run pb-score -h
is "$RC" 0 "-h: exit 0"
like "$OUT" '^usage: pb-score \[--scorer NAME \| --blend NAME:W,...\]' "-h: usage on stdout"
like "$OUT" '--no-articles' "-h: lists the options"
run pb-score --version
is "$RC $OUT" "0 pb-score (promptbandit) $(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")" "--version"

badopt() { # badopt WANT-STDERR-ERE DESCRIPTION ARGS...
	want=$1 desc=$2
	shift 2
	run pb-score "$@" </dev/null
	is "$RC:$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" "2:1" "$desc: exit 2, one line"
	like "$ERR" "$want" "$desc: message"
}
badopt "^pb-score: unknown scorer 'nope' \(number, bool, exact, contains, regex, choice, length, jq, cmd, judge\)$" \
	"unknown scorer" --scorer nope
badopt "^pb-score: --regex: bad regex '\(unclosed': " "bad --regex" --regex '(unclosed'
badopt "^pb-score: --tolerance: 'abc' is not a number" "bad --tolerance" --tolerance abc
badopt "^pb-score: --tolerance: '-1' is not a number" "negative --tolerance" --tolerance -1
badopt "^pb-score: --scorer regex needs --regex ERE$" "regex without --regex" --scorer regex
badopt "^pb-score: --regex applies only to --scorer regex$" "--regex with another scorer" --scorer exact --regex x
badopt "^pb-score: --no-articles does not apply to --scorer number$" "text option with number" --no-articles

done_testing
