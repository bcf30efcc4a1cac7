#!/bin/sh
# The small things the examples lean on: -t escapes, pb-score -q,
# --replay on nothing, pb-sim's "where" rules and text judge over HTTP.
. "$(dirname "$0")/lib.sh"
plan 17

# -t: \n \t \\ in the template's own text; a placeholder's text is not read
printf '%s\n' '{"id":"a","prefix":"Be brief.\\n"}' >arms.jsonl
printf '%s\n' '{"id":"t1","input":"x\\ny"}' >tasks.jsonl
pb-update -s st.json --init arms.jsonl
run pb-sample -s st.json -t '{prefix}\n\n{input}\tend\\n\q' tasks.jsonl
is "$(printf '%s' "$OUT" | jq -r '.messages[0].content')" "$(printf 'Be brief.\\n\n\nx\\ny\tend\\n\\q')" \
   "-t: backslash-n a newline, backslash-t a tab, two backslashes one, others as written, inserted text untouched"
is "$RC" 0 "... status 0"

# pb-score -q: no line per unscored record, the same records and status
printf '%s\n' '{"task":{"answer":"3"},"response":{"text":"3"}}' \
	'{"task":{"answer":"3"}}' >ans.jsonl
run pb-score <ans.jsonl
loud=$OUT
like "$ERR" "no .*response" "without -q the unscored record is reported"
run pb-score -q <ans.jsonl
is "$RC|$ERR" "1|" "-q: nothing on standard error, status 1 still"
is "$OUT" "$loud" "-q: the same records written"
run pb-score -q --summary <ans.jsonl
is "$ERR" "pb-score: 2 records: 1 ok, 0 wrong, 0 no-answer, 1 unscored; 0 bad lines" \
   "-q --summary: the count only"

# --replay with a state but nothing to read
run pb-report -s st.json --replay </dev/null
is "$RC|$ERR" "2|pb-report: replay: no scored records" "--replay of nothing says so, not '0 records disagree'"

# pb-sim: where rules and the text judge, through HTTP
cat >ktasks.jsonl <<'T'
{"id":"m1","input":"Which clef has middle C on its second ledger line below?","answer":"treble clef","domain":"music","difficulty":0}
{"id":"n1","input":"How many sets does a men's Grand Slam final have at most?","answer":"5","domain":"tennis","difficulty":0}
T
cat >kworld.jsonl <<'W'
{"match":"Mozart","where":{"domain":"music"},"skill":9}
{"match":"Mozart","skill":-9}
W
start_sim --tasks ktasks.jsonl --world kworld.jsonl
printf '%s\n' '{"id":"mozart","prefix":"You only know what Mozart knows."}' >karms.jsonl
pb-update -s k.json --init karms.jsonl
pb-sample -s k.json -k all ktasks.jsonl |
	jq -c '{messages, temperature: 0}' |
	while read -r body; do
		curl -s -d "$body" -H 'Content-Type: application/json' "$OPENAI_BASE_URL/chat/completions" |
			jq -r '[.x_pb_sim.task, .x_pb_sim.skill] | map(tostring) | join(":")'
	done | sort >skills.txt
is "$(tr '\n' ' ' <skills.txt)" "m1:9 n1:-9 " "pb-sim: the same prefix, skill by the task's domain"
printf 'Grade.\n<response>{response}</response>\n<reference>{reference}</reference>\n' >rubric.txt
printf '%s\n' '{"task":{"input":"Which clef?","answer":"treble clef"},"response":{"text":"The Treble Clef."}}' \
	'{"task":{"input":"Which clef?","answer":"treble clef"},"response":{"text":"The bass clef."}}' \
	'{"task":{"input":"Sets?","answer":"#### 5"},"response":{"text":"At most 5 sets."}}' >jans.jsonl
run pb-score --judge rubric.txt --judge-model pb-sim --no-cache <jans.jsonl
is "$(printf '%s\n' "$OUT" | jq -r .reward | tr '\n' ' ')" "1 0.2 1 " \
   "pb-sim's judge: text right after normalisation, text wrong, a number"
is "$RC" 0 "... status 0"
printf '%s\n' '{"match":"x","where":["music"],"skill":1}' >bw.jsonl
run pb-sim --tasks ktasks.jsonl --world bw.jsonl </dev/null
is "$RC|$ERR" "2|pb-sim: bw.jsonl:1: \"where\" is not an object of task fields" "a bad where: one line, status 2"

# merged states with contexts keep each context's history (two shards,
# the odd and the even tasks)
kt=$TOP/examples/knowledge-personas/tasks.jsonl ka=$TOP/examples/knowledge-personas/arms.jsonl
for k in 1 2; do
	awk -v k=$k 'NR % 2 == k - 1' "$kt" >kshard$k.jsonl
	pb-update -s c$k.json --init "$ka" --policy uniform --context domain --seed $k
	pb-sample -s c$k.json -k all kshard$k.jsonl |
		jq -c '. + {reward: (if (.arm == "mozart") == (.task.domain == "music") then 1 else 0 end)}' |
		pb-update -s c$k.json
done
pb-update -s call.json --init "$ka" --policy uniform --context domain
pb-update -s call.json --merge c1.json c2.json
run pb-report -s call.json --context music --history --json
is "$RC/$(printf '%s' "$OUT" | jq -S -c '.points[-1].arms | map_values(.pulls)')" \
   "0/$(pb-report -s call.json --context music --json | jq -S -c '[.arms[] | {(.id): .pulls}] | add')" \
   "merged contexts: a context's history ends at its merged pulls"
is "$(printf '%s' "$OUT" | jq -c '.points[-1].arms.mozart.mean')" 1 "... and its means"
is "$(pb-report -s call.json --history --json | jq -c '.points[-1].arms.mozart.pulls')" 60 \
   "... and the totals' history its totals"
run pb-report -s call.json --context music
is "$RC|$ERR" "0|" "... and the merged pools hold every task: no pair counted twice"
jq '.history.contexts = 5' call.json >bad.json
run pb-report -s bad.json
is "$RC|$ERR" "2|pb-report: bad.json: not a valid state file: history: malformed (arrays of numbers or nulls, one per point, updates increasing)" \
   "a history whose contexts are no object is refused"
jq '.history.contexts.music.contexts = {}' call.json >bad.json
run pb-report -s bad.json
is "$RC" 2 "... and one nested in a context"
done_testing
