#!/bin/sh
# examples/Makefile: each stage of each round a file; a deleted file is
# remade with only what depends on it, from the cache for free; make -j
# gives the same run; make report draws it.
. "$(dirname "$0")/lib.sh"
plan 12
command -v make >/dev/null || { echo "1..0 # SKIP no make"; exit 0; }
mk() { make --no-print-directory -f "$TOP/examples/Makefile" PB="$BIN" \
	ARMS="$TOP/examples/arms.jsonl" TASKS="$TOP/examples/tasks.jsonl" ROUNDS=4 "$@"; }
start_sim --tasks "$TOP/examples/tasks.jsonl" --world "$TOP/examples/world.jsonl"

run mk DIR=a
is "$RC/$(jq .updates a/state.json)" "0/64" "make: 4 rounds of 16 pulls applied"
is "$(ls a | grep -c '^round-00[1-4]\.\(pulls\.jsonl\|answers\.jsonl\|scored\.jsonl\|applied\)$')" 16 \
   "each stage of each round a file"
reset >/dev/null
run mk DIR=a
like "$OUT" "Nothing to be done" "a second make does nothing"

before=$(sum a/state.json)
rm a/round-002.answers.jsonl
run mk DIR=a
is "$(printf '%s\n' "$OUT" | sed 's/ .*//' | tr '\n' ' ')" "pb-query pb-score pb-update touch " \
   "answers deleted: pb-query, pb-score, pb-update again, nothing else"
like "$OUT" "round-002.answers.jsonl" "... for round 2"
is "$(field "$(reset)" requests)" 0 "... and from the cache: no request to the model"
is "$(jq .updates a/state.json)" 64 "... the state's counts unchanged (every pull counts once)"

rm -r a/cache a/round-003.scored.jsonl
run mk DIR=a
is "$(printf '%s\n' "$OUT" | sed 's/ .*//' | tr '\n' ' ')" "pb-score pb-update touch " \
   "scores deleted: only pb-score and pb-update run again"
rm a/round-003.answers.jsonl
run mk DIR=a
is "$(field "$(reset)" requests)" 16 "answers deleted with no cache: exactly that round's 16 requests"

run mk -j4 DIR=b
is "$RC/$(jq -c '[.arms[] | [.id, .pulls, .sum]]' b/state.json)" "0/$(jq -c '[.arms[] | [.id, .pulls, .sum]]' a/state.json)" \
   "make -j4 from scratch: the same run, arm by arm"

run mk DIR=a report PLOT="$TMP/run.png"
like "$OUT" "^rank +arm" "make report: the ranking"
if command -v gnuplot >/dev/null 2>&1; then
	[ -s "$TMP/run.png" ]; ok $? "... and the picture"
else
	ok 0 "# SKIP no gnuplot"
fi
done_testing
