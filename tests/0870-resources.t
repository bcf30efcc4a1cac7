#!/bin/sh
# Resources: a full disk and a read-only folder, for the state and for
# pb-query's cache.  The state: a clear error naming the file, exit 2, the
# old state byte for byte, no temp file left.  The cache: one warning and
# on without it, every record answered.  The full disk and the read-only
# folder are a 256 KiB tmpfs (remounted read-only), so this needs root and
# mount(8); else it is skipped.  (chmod does not stop root.)
. "$(dirname "$0")/lib.sh"
M=$TMP/m
mkdir "$M"
if ! err=$(mount -t tmpfs -o size=256k,mode=0700 pbtest "$M" 2>&1); then
	echo "1..0 # SKIP cannot mount a small tmpfs for a full disk: ${err:-not root}"
	exit 0
fi
trap 'umount "$M" 2>/dev/null || umount -l "$M" 2>/dev/null; cleanup' EXIT
plan 39

# fill: use up the rest of the tmpfs.  rw / ro: remount it so.
fill() { dd if=/dev/zero of="$M/fill" bs=1k 2>/dev/null; }
rw() { mount -o remount,rw "$M"; }
ro() { mount -o remount,ro "$M"; }
left() { ls -A "$M" | grep -v '^fill$' | tr '\n' ' '; }

# ---- the state on a full disk
pb-update -s "$M/st.json" --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s "$M/st.json" "$DATA/tasks5.jsonl" | jq -c '. + {reward: 1}' >s.jsonl
fill
before=$(sum "$M/st.json")
run pb-update -s "$M/st.json" s.jsonl
is "$RC" 2 "full disk: pb-update exits 2"
is "$ERR" "pb-update: $M/st.json: cannot write state: No space left on device" "full disk: pb-update names the state and the cause"
is "$(sum "$M/st.json")" "$before" "full disk: the old state intact"
is "$(left)" "st.json " "full disk: no temp file left"
run pb-sample -s "$M/st.json" "$DATA/tasks5.jsonl"
is "$RC:$OUT" "2:" "full disk: pb-sample exits 2 and writes no record"
is "$ERR" "pb-sample: $M/st.json: cannot write state: No space left on device" "full disk: pb-sample names the state and the cause"
is "$(sum "$M/st.json")" "$before" "full disk: the old state intact"
run pb-update -s "$M/new.json" --init "$DATA/arms3.jsonl"
is "$RC" 2 "full disk: pb-update --init exits 2"
is "$ERR" "pb-update: $M/new.json: cannot write state: No space left on device" "full disk: and names the new state"
is "$(left)" "st.json " "full disk: no new state, no temp file"
rm -f "$M/fill"
run pb-update -s "$M/st.json" s.jsonl
is "$RC:$(jq .updates "$M/st.json")" "0:5" "space again: the same input applies"

# ---- the state in a read-only folder
pb-sample -s "$M/st.json" "$DATA/tasks5.jsonl" | jq -c '. + {reward: 0}' >s2.jsonl
before=$(sum "$M/st.json")
ro
run pb-update -s "$M/st.json" s2.jsonl
is "$RC" 2 "read-only: pb-update exits 2"
is "$ERR" "pb-update: $M/st.json: cannot create temp file: Read-only file system" "read-only: pb-update names the state and the cause"
run pb-sample -s "$M/st.json" "$DATA/tasks5.jsonl"
is "$RC:$OUT" "2:" "read-only: pb-sample exits 2 and writes no record"
is "$ERR" "pb-sample: $M/st.json: cannot create temp file: Read-only file system" "read-only: pb-sample names the state and the cause"
run pb-update -s "$M/new.json" --init "$DATA/arms3.jsonl"
is "$RC:$ERR" "2:pb-update: $M/new.json: cannot create temp file: Read-only file system" "read-only: pb-update --init exits 2 naming the file"
run pb-report -s "$M/st.json" --json
is "$RC" 0 "read-only: pb-report still reads the state"
is "$(sum "$M/st.json")" "$before" "read-only: the old state intact"
rw
run pb-update -s "$M/st.json" s2.jsonl
is "$RC:$(jq .updates "$M/st.json")" "0:10" "writable again: the same input applies"
rm -f "$M"/*

# ---- the cache
sum_tasks 20
awk '{ printf "{\"pull\":%d,\"messages\":[{\"role\":\"user\",\"content\":\"What is %d + %d?\"}]}\n", NR, NR, NR }' \
    tasks.jsonl >pulls.jsonl
start_sim --tasks tasks.jsonl --seed 4
answered() { grep -c '"response":{"text"' out; }
mkdir "$M/c"
fill
run pb-query -q -j 4 --cache "$M/c" <pulls.jsonl
s=$(reset)
is "$RC" 0 "cache on a full disk: exit 0"
is "$(answered):$(field "$s" requests)" "20:20" "cache on a full disk: every record answered, each asked once"
is "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" 1 "cache on a full disk: one warning"
like "$ERR" "^pb-query: cache: $M/c/.*: No space left on device \(going on without it\)$" "cache on a full disk: naming the file and the cause"
is "$(find "$M/c" -type f | wc -l | tr -d ' ')" 0 "cache on a full disk: no entry, no temp file left"
rm -f "$M/fill"
mkdir -p "$M/c2" "$M/xdg"
ro
run pb-query -q -j 4 --cache "$M/c2" <pulls.jsonl
s=$(reset)
is "$RC:$(answered):$(field "$s" requests)" "0:20:20" "cache in a read-only folder: exit 0, every record answered once"
like "$ERR" "^pb-query: cache: $M/c2/[0-9a-f]{2}: cannot make folder: Read-only file system \(going on without it\)$" \
   "cache in a read-only folder: one warning naming the folder"
XDG_CACHE_HOME=$M/xdg run pb-query -q -j 4 <pulls.jsonl
s=$(reset)
is "$RC:$(answered):$(field "$s" requests)" "0:20:20" "default cache in a read-only folder: exit 0, every record answered once"
is "$ERR" "pb-query: cache: $M/xdg/promptbandit: cannot make folder: Read-only file system (going on without it)" \
   "default cache in a read-only folder: one warning naming the folder"
run pb-query -q -j 4 --cache "$M/c3" <pulls.jsonl
is "$RC:$OUT" "2:" "--cache DIR that cannot be made: exit 2 (pb-query(1)), nothing written"
is "$ERR" "pb-query: $M/c3: cannot make folder: Read-only file system" "--cache DIR that cannot be made: says which"
rw
run pb-query -q -j 4 --cache "$M/c2" <pulls.jsonl
s=$(reset)
is "$RC:$(answered):$(field "$s" requests):$(find "$M/c2" -type f -name '*.json' | wc -l | tr -d ' ')" "0:20:20:20" \
   "writable again: the cache fills"
run pb-query -q -j 4 --cache "$M/c2" <pulls.jsonl
s=$(reset)
is "$(answered):$(field "$s" requests)" "20:0" "and answers the rerun"
stop_sim

# ---- temporary files on a full disk: pb-update and pb-sample spool to
# tmpfile(3), in /tmp whatever TMPDIR says; a full tmpfs on /tmp in a
# mount namespace of their own (the test's folder stays the current one).
# fulltmp CMD...: run, as run does, with /tmp full.
# The tool runs from a copy in the test's folder: the tmpfs hides all of
# /tmp, and so the build when the checkout itself is under /tmp.
fulltmp() {
	mkdir -p fbin && cp "$(command -v "$1")" fbin/ || exit 2
	_t=$1
	shift
	unshare -m sh -c 'mount -t tmpfs -o size=4k pbfull /tmp &&
	    { dd if=/dev/zero of=/tmp/fill bs=1k 2>/dev/null; "$@" >t.out 2>t.err; echo $? >t.rc; }' sh "./fbin/$_t" "$@"
	RC=$(cat t.rc) OUT=$(cat t.out) ERR=$(cat t.err)
	rm -f t.rc t.out t.err
}
if command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
	pb-update -s st.json --init "$DATA/arms3.jsonl" --policy uniform
	# 1,000 distinct tasks (the same line twice is one task, pb-sample(1))
	jq -c -s '. as $t | range(200) as $i | $t[] | .id += "-\($i)"' "$DATA/tasks5.jsonl" >t1000.jsonl
	pb-sample -s st.json t1000.jsonl | jq -c '. + {reward: 1}' >s1000.jsonl
	before=$(sum st.json)
	fulltmp pb-update -s st.json s1000.jsonl
	is "$RC:$ERR" "2:pb-update: spool file: No space left on device" "full /tmp: pb-update exits 2 and says why"
	is "$(sum st.json)" "$before" "full /tmp: pb-update leaves the state as it was"
	fulltmp pb-sample -s st.json t1000.jsonl
	is "$RC:$OUT:$ERR" "2::pb-sample: spool file: No space left on device" "full /tmp: pb-sample exits 2, writes nothing, says why"
	is "$(sum st.json)" "$before" "full /tmp: pb-sample leaves the state as it was"
	# 5 tasks new to the pool: spools so small that only their flush
	# finds the full /tmp, after the choices are made
	jq -c '.id += "-new"' "$DATA/tasks5.jsonl" >t5.jsonl
	fulltmp pb-sample -s st.json -n 3 t5.jsonl
	is "$RC:$OUT" "2:" "full /tmp, pb-sample -n 3: exit 2, nothing written"
	is "$(sum st.json)" "$before" "full /tmp, pb-sample -n 3: the state as it was"
	is "$ERR" "pb-sample: spool file: No space left on device" "full /tmp, pb-sample -n 3: says why"
	[ "$(sum st.json)" = "$before" ] || diag "$ERR; pending now: $(jq -c .pending st.json)"
else
	skip 7 "no mount namespace (unshare -m) for a full /tmp"
fi
done_testing
