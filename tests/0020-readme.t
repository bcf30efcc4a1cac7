#!/bin/sh
# The README's shell snippets, extracted and run as pasted, one fresh sh
# each (no shell option carries over from one to the next; only the
# environment the first one exports), against pb-sim, in the sections
# that need no real model.  Round counts are cut short.
. "$(dirname "$0")/lib.sh"
# A run of a whole example, its shell as much as the tools: once, with
# the plain build; the sanitizers' pass covers the tools' code through
# the other tests (0700, 0750, 0760 and the unit tests).
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
plan 21

# The indented blocks under a "## " heading, one file per block.
blocks() { # blocks HEADING OUTPREFIX
	awk -v h="## $1" -v out="$2" '
	/^## / { on = ($0 == h); inb = 0; next }
	on && /^    / { if (!inb) { n++; inb = 1 }; sub(/^    /, ""); print > (out n ".sh"); next }
	on && /^$/ { if (inb) print "" > (out n ".sh"); next }
	{ inb = 0 }' "$TOP/README.md"
}
ln -s "$BIN" build
ln -s "$TOP/examples" examples
blocks "A first run by hand" first
blocks "Stopping when the answer is known" stop
blocks "Same question, several prefixes" race
blocks "Is it real?" real
blocks "Sharded runs" shard
blocks "A make workflow" make
ok "$( [ -f first1.sh ] && [ -f stop1.sh ] && [ -f race1.sh ] && [ -f real1.sh ] && [ -f shard1.sh ]; echo $?)" \
   "a snippet under each heading"
# short runs: 30 rounds become 3
sed -i 's/seq 30/seq 3/' first1.sh
grep -q 'seq 3)' first1.sh; ok $? "the first run's round count found and cut"

# The first run leaves pb-sim running: its pid and the URL kept for the rest.
printf '\necho "$!" > sim.pid\necho "$OPENAI_BASE_URL" > base.url\n' >>first1.sh
unset OPENAI_BASE_URL
run timeout 120 sh -eu first1.sh
SIM_PID=$(cat sim.pid 2>/dev/null)
is "$RC" 0 "A first run by hand: status 0"
like "$OUT" "first-principles" "... and the ranking printed"
is "$(jq '[.arms[].pulls] | add' state.json)" "48" \
   "... 3 rounds of 16 pulls applied"
OPENAI_BASE_URL=$(cat base.url)
export OPENAI_BASE_URL

# "Stopping": pasted alone, in a plain sh (no pipefail): it must end.
run timeout 120 sh stop1.sh
is "$RC" 0 "Stopping: ends by itself in a plain sh"
like "$OUT" "best with confidence|pool exhausted" "... with the verdict"

run timeout 120 sh race1.sh
is "$RC" 0 "race: ends by itself in a plain sh"
like "$OUT" '^\[\["' "... and prints the pairs"

cp examples/heldout.jsonl heldout.before
run timeout 120 sh real1.sh
is "$RC" 0 "Is it real?: status 0 (the uplift is significant)"
like "$OUT" "first-principles" "... the validation names the arm"
cmp -s heldout.before examples/heldout.jsonl; ok $? "... and the held-out set is left as it was"

run timeout 120 sh make1.sh
is "$RC|$(jq .updates run/state.json)" "0|128" "A make workflow: 8 rounds of 16 pulls"
like "$OUT" "^rank +arm" "... and the report"

run timeout 120 sh shard1.sh
n1=$(jq .updates shard1.json) n2=$(jq .updates shard2.json) na=$(jq .updates all.json)
is "$RC|$na" "0|$((n1 + n2))" "Sharded runs: the merged state has both shards' updates"
is "$(jq '.tasks | length' all.json)" "$(($(jq '.tasks | length' shard1.json) + $(jq '.tasks | length' shard2.json)))" \
   "... and both shards' tasks"
printf '%s' "$OUT$ERR" | grep -q "counted more than once"
is "$?" 1 "... so the report has no pair counted twice"

# "A clean Ctrl-C": the README's pattern, pb-query interrupted for real,
# against a slow pb-sim.  SIGTERM, as a background job of a
# non-interactive sh starts with SIGINT ignored (and pb-query keeps it
# so); both take the same path.
blocks "Against a real model" model
f=$(grep -l -e '--release' model*.sh | head -1)
[ -n "$f" ]; ok $? "the interrupt pattern is in the README"
kill "$SIM_PID" 2>/dev/null
mkdir ctrlc && cd ctrlc || exit 2
sum_tasks 40
pb-update -s state.json --init "$TOP/examples/arms.jsonl" --policy ucb1
start_sim --tasks tasks.jsonl --world "$TOP/examples/world.jsonl" --latency 400
export OPENAI_API_KEY=x
sh "../$f" >out 2>err &
shpid=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	q=$(pgrep -P "$shpid" pb-query) && break
	sleep 0.2
done
sleep 0.1
[ -n "$q" ] && kill -TERM "$q"
wait "$shpid"
is "$(pb-report -s state.json --json | jq -c '[.pending, .updates]')" \
   "[0,$(jq -s '[.[] | select(.error.kind != "interrupted")] | length' answers.jsonl)]" \
   "after the interrupt: nothing pending, every answer applied once"
is "$(jq -s '[.[] | select(.error.kind == "interrupted")] | length' answers.jsonl)" \
   "$(sed -n 's/^pb-update: released \([0-9]*\) pulls$/\1/p' err)" \
   "every interrupted pull released"
jq -s -e 'length == 16 and ([.[] | select(.error.kind == "interrupted")] | length) > 0' answers.jsonl >/dev/null
ok $? "the interrupt landed: 16 records, some of them interrupted"
cd ..
done_testing
