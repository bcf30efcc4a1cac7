#!/bin/sh
# pb(7)'s shell loops (PIPELINES: "A loop", "One stage at a time"),
# extracted from the page and run as pasted, each in a fresh plain sh
# (Debian's is dash: no pipefail), against pb-sim.  Round counts are
# cut short.
. "$(dirname "$0")/lib.sh"
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
plan 9

# The literal blocks under ".Ss HEADING" of pb.7, one file per block.
blocks() { # blocks HEADING OUTPREFIX
	awk -v h=".Ss $1" -v out="$2" '
	/^\.S[sh] / { on = ($0 == h); next }
	on && /^\.Bd -literal/ { n++; inb = 1; next }
	on && /^\.Ed/ { inb = 0; next }
	inb { gsub(/\\e/, "\\"); print > (out n ".sh") }' "$TOP/man/pb.7"
}
blocks "A loop" loop
blocks "One stage at a time" stage
ok "$( [ -f loop1.sh ] && [ -f loop2.sh ] && [ -f stage1.sh ] && [ -f stage2.sh ]; echo $?)" \
   "two loops and two stage-by-stage snippets"
ok "$(! grep -q pipefail loop1.sh loop2.sh; echo $?)" "the loops need no pipefail"
sed -i 's/seq 30/seq 3/' loop1.sh
grep -q 'seq 3)' loop1.sh; ok $? "the first loop's round count found and cut"

start_sim --tasks "$TOP/examples/tasks.jsonl" --world "$TOP/examples/world.jsonl"
for d in l1 l2 s; do
	mkdir "$d"
	cp "$TOP/examples/arms.jsonl" "$TOP/examples/tasks.jsonl" "$d/"
done

cd l1 || exit 2
run timeout 120 sh ../loop1.sh
is "$RC|$(jq .updates state.json)" "0|48" "A loop: 3 rounds of 16 pulls, in a plain sh"
like "$OUT" "^policy ucb1, 48 pulls applied" "... then the ranking"

cd ../l2 || exit 2
run timeout 300 sh ../loop2.sh
is "$RC" 0 "the loop without a count ends by itself on pb-sample's status 3"
like "$OUT" "verdict: (arm .* is best with confidence|.*no more tasks to hand out)" "... with the verdict"

cd ../s || exit 2
pb-update -s state.json --init arms.jsonl --policy ucb1
PB_STATE=state.json
export PB_STATE
run sh ../stage1.sh
is "$RC|$(jq .updates state.json)" "0|64" "One stage at a time: 64 pulls applied from the saved files"
run sh ../stage2.sh
is "$RC|$(wc -l <scored.jsonl)" "0|64" "... and the rescoring snippet rebuilds the scored file"
done_testing
