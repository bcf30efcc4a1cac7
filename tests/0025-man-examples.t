#!/bin/sh
# The man pages' examples, run as a reader would paste them (as jq runs
# its manual, tests/man.test): every .Bd -literal block and every .Dl
# line of each page's EXAMPLES section (pb.7 has none: its examples are
# in TOOLS, PIPELINES and TESTING LOCALLY), mdoc escapes turned back into
# what a user types.  Each runs in a fresh folder holding the fixture
# files it names, made below with the tools themselves against a pb-sim,
# under `bash -e -o pipefail`: every command of a block must succeed, and
# the block must exit 0 or the status the table below gives it.  Where a
# block shows `$ command` and its output, the output is compared too.
# A block that cannot run here is listed in decide() with its reason and
# reported as a SKIP, so a new example is run unless someone decides not.
. "$(dirname "$0")/lib.sh"
# The docs, not the code: once, with the plain build, as tests/0020 does;
# the sanitizers' pass covers the tools' code through the other tests.
[ -n "${PB_SAN:-}" ] && { echo "1..0 # SKIP examples run without the sanitizers"; exit 0; }
# The pages ask for a shell with pipefail, such as bash (pb.7).
command -v bash >/dev/null || { echo "1..0 # SKIP no bash"; exit 0; }
EX=$TOP/examples
# TAP lines by printf: a block's first line may hold a backslash, which
# lib.sh's ok (echo, in dash) would read as an escape.
check() { # check COND-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then printf 'ok %d - %s\n' "$_n" "$2"
	else printf 'not ok %d - %s\n' "$_n" "$2"; _fail=$((_fail + 1)); fi
}
same() { # same GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	check $? "$3"
	[ "$1" = "$2" ] || diag "got:" "$1" "want:" "$2"
}
skipped() { _n=$((_n + 1)); printf 'ok %d # SKIP %s\n' "$_n" "$1"; }
PAGES="pb-sample.1 pb-query.1 pb-score.1 pb-update.1 pb-report.1 pb-sim.1 pb-state.5 pb.7"

# ---- the blocks ---------------------------------------------------------
# extract PAGE SECTION...: each block as $TMP/blocks/PAGE.N, and a line
# "PAGE N KIND FIRST-LINE" (tab-separated) on stdout.  In a literal
# block only escapes are undone; a .Dl line is also split into arguments
# as mdoc does (quotes delimit an argument and are not shown; "" in
# quotes is one quote).
extract() {
	_page=$1
	shift
	awk -v page="$_page" -v dir="$TMP/blocks" -v secs="|$(printf '%s|' "$@")" '
	function unesc(s,   o, i, c, d) {
		o = ""
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (c != "\\") { o = o c; continue }
			d = substr(s, ++i, 1)
			if (d == "e") o = o "\\"
			else if (d == "&") ;
			else if (d == "-") o = o "-"
			else if (d == "\"") break
			else if (d == "(") {
				d = substr(s, i + 1, 2); i += 2
				o = o (d == "em" ? "\342\200\224" : d == "aq" ? "\047" : d == "dq" ? "\"" : "?")
			} else o = o "\\" d
		}
		return o
	}
	function args(s,   o, w, i, c, q) {
		o = ""; w = 0; q = 0
		for (i = 1; i <= length(s); i++) {
			c = substr(s, i, 1)
			if (q) {
				if (c == "\"" && substr(s, i + 1, 1) == "\"") { o = o c; i++ }
				else if (c == "\"") q = 0
				else o = o c
			} else if (c == " ") {
				if (w) o = o " "
				w = 0
				while (substr(s, i + 1, 1) == " ") i++
			} else if (c == "\"" && !w) { q = 1; w = 1 }
			else { o = o c; w = 1 }
		}
		sub(/ $/, "", o)
		return o
	}
	function start(kind) { n++; f = dir "/" page "." n; first = ""; k = kind }
	function line(s) { print s > f; if (first == "") first = s }
	function end() { close(f); printf "%s\t%d\t%s\t%s\n", page, n, k, first }
	/^\.Sh / { on = index(secs, "|" substr($0, 5) "|") > 0; next }
	!on { next }
	inb && /^\.Ed/ { inb = 0; end(); next }
	inb { line(unesc($0)); next }
	/^\.Bd -literal/ { inb = 1; start("bd"); next }
	/^\.Dl / { start("dl"); line(args(unesc(substr($0, 5)))); end() }
	' "$TOP/man/$_page"
}
mkdir blocks
for p in $PAGES; do
	case $p in
	pb.7) extract "$p" TOOLS PIPELINES "TESTING LOCALLY" ;;
	*) extract "$p" EXAMPLES ;;
	esac
done >index

# ---- what each block needs, or why it does not run ----------------------
# decide PAGE FIRST-LINE: sets
#   skip   a reason not to run it here (reported as # SKIP)
#   want   the exit status the page gives it (default 0)
#   setup  a shell command run in the block's folder first
#   mode   run | server (a pb-sim that serves until stopped: it passes
#          when it prints its URL, and exits 0 on SIGTERM) | file NAME
#          (the block is a file another block uses, saved as NAME)
#   shape  compare the shown output with numbers and spacing left out
#   edit   a sed script for the block before it runs (a shorter run)
#   after  a shell command run in the folder after it, which must succeed:
#          for a block whose status says nothing (curl -s, jq)
#   errs   an ERE every line of its standard error must match (and
#          there must be one)
# The first line identifies a block; two blocks with the same one are
# decided alike.
decide() {
	skip= want=0 setup=: mode=run shape= errs= edit= after=:
	case "$1: $2" in
	"pb-query.1: pb-query --base-url http://127.0.0.1:8000/v1 "*)
		skip="a vLLM server on 127.0.0.1:8000 and llama.cpp on :8080" ;;
	"pb-query.1: pb-query --base-url http://127.0.0.1:11434/v1 "*)
		skip="an Ollama server on 127.0.0.1:11434 and its key in ~/.config" ;;
	"pb-query.1: pb-query --api azure "*)
		skip="Azure OpenAI at myres.openai.azure.com" ;;
	"pb-query.1: printf 'X-Gateway-Token: "*)
		skip="a gateway at gw.example.com (and \$TOKEN)" ;;
	"pb-query.1: pb-query --base-url https://llm.internal:8443/v1 "*)
		skip="a TLS server llm.internal behind a company CA" ;;
	"pb-report.1: \$ pb-report -s state.json --interval auto")
		# the 6-pull state of three arms the table shows (fixture
		# table.json); P(best) is a Monte Carlo estimate, so the shape
		setup="cp \"\$FIX/table.json\" state.json" shape=1 ;;
	"pb-report.1: pb-report -s state.json --validate heldout-scored.jsonl --json |")
		# the per-context validation needs a state with contexts and
		# held-out records that carry the context field
		setup="cp \"\$FIX/kctx.json\" state.json && cp \"\$FIX/kctx-held-scored.jsonl\" heldout-scored.jsonl" ;;
	"pb-report.1: pb-report -s state.json --context music --plot music.png" | \
	"pb-report.1: pb-report --state state.json --context physics "*)
		setup="cp \"\$FIX/ctx.json\" state.json" ;;
	"pb-report.1: pb-report --json | jq -r "* | "pb-query.1: pb-query --dry-run "* | \
	"pb-sample.1: pb-sample -n 8 tasks.jsonl | jq -r "*)
		after="filled .out" ;;
	"pb-report.1: watch -n 10 "*)
		skip="watch(1) runs until it is interrupted, on a terminal" ;;
	"pb-score.1: Is this answer to "*)
		# pb-sim judges only a template with <reference> tags; shown
		# here: pb-score takes this one and sends it (a bad placeholder
		# would stop it first, exit 2)
		mode="file pass-fail.txt"
		want=1 errs="^pb-score: <stdin>:[0-9]+: judge: the judge's reply has no PASS or FAIL\$" ;;
	"pb-score.1: import json, sys")
		# the page leaves score() to the reader: here every record gets 3
		mode="file rm.py" ;;
	"pb-score.1: pb-score --judge pass-fail.txt --judge-scale pass-fail "*)
		skip="Anthropic's API at api.anthropic.com" ;;
	"pb-score.1: pb-score --judge rubric.txt --judge-url https://gw.example.com/v1 "*)
		skip="a gateway at gw.example.com and its key files in ~/.config" ;;
	"pb-score.1: pb-score --scorer exact --case-sensitive --keep-punct "*)
		# "a field of the record's own": the answers get one
		setup="jq -c '.response.final = .response.text' \"\$FIX/answered.jsonl\" >answered.jsonl" ;;
	"pb-sim.1: pb-sim --tasks examples/tasks.jsonl --api-key sk-test "*)
		# it follows the first example, which made sim.url a FIFO
		setup="mkfifo sim.url" after="grep -q '^event: message_stop' .out" ;;
	"pb-sim.1: pb-sim --tasks tasks.jsonl "*)
		mode=server
		case $2 in *--jitter*) after="jq -e '.requests == 0' stats.json" ;; esac ;;
	"pb-sim.1: mkfifo sim.url")
		after="[ -s .out ] && ! grep -qx null .out" ;;
	"pb-sim.1: curl -s \""*)
		after="jq -e '.content[0].text' .out" ;;
	"pb-sim.1: curl -s -X POST "*)
		after="jq -e '.requests >= 0' .out" ;;
	"pb-state.5: jq -c '.arms[].fields' state.json > arms.jsonl")
		after="filled arms.jsonl" ;;
	"pb-state.5: "*)
		after="filled .out" ;;
	"pb-update.1: pb-update -k -s state.json scored.jsonl")
		# "a file with a few broken lines": two, so 1 (pb-update(1))
		setup="sed -e '2s/^/{/' -e '4s/\$/,/' \"\$FIX/scored.jsonl\" >scored.jsonl"
		want=1 ;;
	"pb.7: set -o pipefail")
		edit='s/seq 30/seq 3/' ;; # 3 rounds of 16 pulls for 30, as tests/0020
	"pb.7: arms --> pb-update --init --> state")
		skip="a picture, not a command" ;;
	"pb.7: pb-sample -s state.json -n 64 tasks.jsonl |")
		skip="ssh hosts gpu1 and gpu2 for parallel --sshlogin" ;;
	"pb.7: seq 4 | parallel "*)
		command -v parallel >/dev/null || skip="GNU parallel not installed"
		setup="rm -f shard?.json" ;;
	esac
	case "$2" in
	*--plot*) command -v gnuplot >/dev/null || skip="gnuplot not installed" ;;
	esac
}

# ---- fixtures -----------------------------------------------------------
# In $FIX, each made by the tools as a user would make it: tasks.jsonl
# (examples/tasks.jsonl with the fields examples name: domain, text,
# meta.source, label), arms.jsonl (examples/arms.jsonl with a persona),
# state.json and st.json (every arm on 96 tasks, in six rounds applied
# from scored-001..006.jsonl, so that first-principles leads as pb-sim's
# world says it should; then pulls.jsonl handed out and pending),
# answered.jsonl and answers.jsonl (pulls.jsonl answered), scored.jsonl
# (those scored), damaged.jsonl, heldout.jsonl, heldout-scored.jsonl,
# shard1-4.json, candidates.jsonl, rubric.txt, world.jsonl; and for
# single blocks table.json and ctx.json.
FIX=$TMP/fix
mkdir "$FIX" && cd "$FIX" || exit 2
jq -c '(.id | ltrimstr("gsm-") | tonumber) as $i |
       . + {domain: (["music", "physics", "history"][$i % 3]), text: .input,
            meta: {source: "gsm8k-style"}, label: (["A", "B", "C", "D"][$i % 4])}' \
   "$EX/tasks.jsonl" >tasks.jsonl
jq -c '. + {persona: ("The " + .id + " voice")}' "$EX/arms.jsonl" >arms.jsonl
cp "$EX/heldout.jsonl" "$EX/world.jsonl" .
cp "$EX/judge-plain.txt" rubric.txt
cat tasks.jsonl heldout.jsonl >"$TMP/sim-tasks.jsonl"
start_sim --tasks "$TMP/sim-tasks.jsonl" --world world.jsonl
export OPENAI_API_KEY=sk-test
ANTHROPIC_BASE_URL=$OPENAI_BASE_URL ANTHROPIC_API_KEY=sk-test WORK_OPENAI_KEY=sk-test
export ANTHROPIC_BASE_URL ANTHROPIC_API_KEY WORK_OPENAI_KEY
fixtures() {
	pb-update -s state.json --init arms.jsonl --policy uniform || return
	for r in 001 002 003 004 005 006; do
		pb-sample -s state.json -n 16 -k all tasks.jsonl | pb-query -q |
		  pb-score --scorer number >scored-$r.jsonl &&
		pb-update -s state.json scored-$r.jsonl || return
	done
	pb-sample -s state.json -n 8 tasks.jsonl >pulls.jsonl &&
	pb-query -q <pulls.jsonl >answered.jsonl &&
	cp answered.jsonl answers.jsonl &&
	pb-score --scorer number <answered.jsonl >scored.jsonl &&
	cp state.json st.json &&
	{ head -n 3 scored.jsonl; echo '{"pull": 99,'; tail -n +4 scored.jsonl; } >damaged.jsonl || return
	pb-update -s val.json --init arms.jsonl --policy uniform &&
	pb-sample -s val.json -k all --arms careful,first-principles,turing,plain heldout.jsonl |
	  pb-query -q | pb-score >heldout-scored.jsonl || return
	for i in 1 2 3 4; do
		pb-update -s shard$i.json --init arms.jsonl --policy uniform --seed $i &&
		awk "NR % 4 == $i % 4" tasks.jsonl | pb-sample -s shard$i.json -k all |
		  pb-query -q | pb-score | pb-update -s shard$i.json || return
	done
	printf '%s\n' '{"id":"checker","prefix":"Check the answer against the question."}' \
	  '{"id":"brief","prefix":"Answer in one sentence."}' >candidates.jsonl
	# pb-report(1)'s table: steps right twice, plain wrong twice,
	# turing wrong once and failed once
	printf '%s\n' '{"id":"steps","prefix":"Think step by step."}' \
	  '{"id":"plain","prefix":""}' '{"id":"turing","prefix":"Answer as Alan Turing."}' >arms3.jsonl
	pb-update -s table.json --init arms3.jsonl --policy ucb1 &&
	pb-sample -s table.json -n 6 tasks.jsonl |
	  jq -c '.reward = (if .arm == "steps" then 1 elif .arm == "plain" then 0
	                    elif .pull <= 3 then 0 else null end)' |
	  pb-update -s table.json || return
	pb-update -s ctx.json --init arms.jsonl --policy thompson --context domain &&
	pb-sample -s ctx.json -n 48 tasks.jsonl | pb-query -q | pb-score | pb-update -s ctx.json &&
	# a state with contexts and held-out records of its own: the
	# knowledge example's four experts, each right on its own domain;
	# trained on the first ten tasks of each domain, held out the rest
	kp=$TOP/examples/knowledge-personas kr='.reward = (if (.arm == "mozart") == (.task.domain == "music") then 1 else 0 end)'
	jq -c 'select(.domain as $d | (.id | ltrimstr($d + "-") | tonumber) <= 10)' "$kp/tasks.jsonl" >kctx-train.jsonl &&
	jq -c 'select(.domain as $d | (.id | ltrimstr($d + "-") | tonumber) > 10)' "$kp/tasks.jsonl" >kctx-held.jsonl &&
	{ cat "$kp/arms.jsonl"; echo '{"id":"plain","prefix":""}'; } >kctx-arms.jsonl &&
	pb-update -s kctx.json --init kctx-arms.jsonl --policy uniform --context domain &&
	pb-sample -s kctx.json -k all -t '{question}' kctx-train.jsonl | jq -c "$kr" | pb-update -s kctx.json &&
	pb-update -s kval.json --init kctx-arms.jsonl --policy uniform &&
	pb-sample -s kval.json -k all -t '{question}' kctx-held.jsonl | jq -c "$kr" >kctx-held-scored.jsonl &&
	rm -f kval.json kctx-arms.jsonl kctx-train.jsonl kctx-held.jsonl
}
fixtures >"$TMP/fixtures.log" 2>&1 || {
	echo "Bail out! the fixtures could not be made: $(tail -n 5 "$TMP/fixtures.log")"
	exit 2
}
rm -f val.json arms3.jsonl
cd "$TMP" || exit 2
# The rest of the environment a reader has: a state named by PB_STATE
# (for the examples with no -s), and a home of the block's own.
PB_STATE=state.json
export PB_STATE

# ---- running a block ----------------------------------------------------
# prepare DIR BLOCK: the folder, with the fixtures the block names
# (or a pattern in it matches) and the state PB_STATE names, but not a
# state it makes itself with --init.  One awk for all the names: a
# process per name and block would cost seconds.
prepare() {
	mkdir "$1" && ln -s "$EX" "$1/examples" && ln -s "$BIN" "$1/build"
	ls "$FIX" files | awk -v block="$2" -v st="$PB_STATE" '
	function glob(g) { # a shell pattern as an ERE
		gsub(/[.+^$(){}|]/, "\\\\&", g); gsub(/\*/, ".*", g); gsub(/\?/, ".", g)
		return "^" g "$"
	}
	BEGIN {
		while ((getline l < block) > 0) {
			text = text l "\n"
			for (i = 1; i <= split(l, w, /[ <>|]+/); i++)
				if (w[i] ~ /[*?]/) pat[glob(w[i])]
			if (l !~ /--init/) continue
			s = st
			for (i = 1; i < split(l, w, / +/); i++)
				if (w[i] == "-s" || w[i] == "--state") s = w[i + 1]
			noinit[s]
		}
	}
	/^(files)?:?$/ || /:$/ { dir = substr($0, 1, length($0) - 1); next }
	$0 == "" { next }
	{
		use = index(text, $0) || $0 == st
		for (p in pat) if ($0 ~ p) use = 1
		if (use && !($0 in noinit)) print dir "/" $0
	}' | while read -r _f; do
		case $_f in /*) ;; *) _f=$TMP/$_f ;; esac
		cp "$_f" "$1/"
	done
}
# go DIR SCRIPT: runs it there; RC, and DIR/.out and DIR/.err.  timeout
# makes a process group of it, so what a block left running (a pb-sim
# started with &) is stopped after it.
go() {
	(cd "$1" && HOME=$1 exec timeout 60 bash -e -o pipefail "$2") \
	  </dev/null >"$1/.out" 2>"$1/.err" &
	_pid=$!
	wait "$_pid"
	RC=$?
	kill -TERM "-$_pid" 2>/dev/null
}
# serve DIR SCRIPT: a server block (one command, exec'd): its URL within
# 5 s, then exit 0 on the SIGTERM timeout hands on.
serve() {
	{ printf 'exec '; cat "$2"; } >"$2.exec"
	(cd "$1" && HOME=$1 exec timeout 60 bash -e "$2.exec") </dev/null >"$1/.out" 2>"$1/.err" &
	_pid=$!
	_i=0
	until grep -Eqs '^http://127\.0\.0\.1:[0-9]+/v1$' "$1/.out" || [ $_i -ge 50 ]; do
		kill -0 "$_pid" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -TERM "$_pid" 2>/dev/null # timeout passes it on
	wait "$_pid"
	RC=$?
	grep -Eq '^http://127\.0\.0\.1:[0-9]+/v1$' "$1/.out" || RC=1
}
# filled FILE: some text, and no null or empty tab-separated field in it
# (what jq prints for a field a page names and a state does not have).
filled() {
	[ -s "$1" ] && ! grep -qw null "$1" && ! grep -q "$(printf '\t\t')" "$1" &&
	  ! grep -Eq "$(printf '^\t|\t$')" "$1"
}
# shape: numbers as N, every run of blanks and line ends as one space
# (a page may fold a long line).
shape() { sed -E 's/[0-9]+(\.[0-9]+)?/N/g' | tr -s ' \t\n' '   ' | sed 's/ $//'; }

# runblock PAGE N FIRST: makes and runs one block in $TMP/run/PAGE.N,
# leaving its status in .rc there (or .setup, when its setup failed).
runblock() {
	decide "$1" "$3"
	[ -z "$skip" ] || return 0
	d=$TMP/run/$1.$2 b=$TMP/blocks/$1.$2
	case $3 in
	'$ '*) # the command: the $ line and the lines it continues onto
		awk 'NR == 1 { sub(/^\$ /, "") } c || NR == 1 { print; c = /[|\\]$/; next } { exit }' \
		  "$b" >"$b.sh"
		awk 'NR == 1 || c { c = /[|\\]$/; next } { print }' "$b" >"$b.want" ;;
	*) sed "$edit" "$b" >"$b.sh" ;;
	esac
	case $mode in
	file\ *) # the file's check: the page's own use of it
		prepare "$d" "$b"
		cp "$TMP/files/${mode#file }" "$FIX/answered.jsonl" "$d/"
		case ${mode#file } in
		pass-fail.txt) echo 'pb-score --judge pass-fail.txt --judge-scale pass-fail <answered.jsonl' ;;
		rm.py) echo 'python3 -m py_compile rm.py' ;;
		esac >"$b.sh" ;;
	*) prepare "$d" "$b.sh" ;;
	esac
	if ! (cd "$d" && eval "$setup") >"$d/.setup" 2>&1; then
		echo 2 >"$d/.setup-failed"
		return 0
	fi
	case $mode in
	server) serve "$d" "$b.sh" ;;
	*) go "$d" "$b.sh" ;;
	esac
	echo "$RC" >"$d/.rc"
	(cd "$d" && eval "$after") >"$d/.after" 2>&1 || echo 1 >"$d/.after-failed"
}

nblocks=$(wc -l <index)
plan $((nblocks + $(grep -c '	\$ ' index) + 2))
# Every page has examples, and every one of them is in the index: a
# broken extraction must not pass as "nothing to run".
for p in $PAGES; do grep -q "^$p	" index || echo "$p"; done >nopage
same "$(tr '\n' ' ' <nopage)" "" "every page has examples to run"
check "$([ "$nblocks" -ge 60 ]; echo $?)" "at least 60 blocks found ($nblocks)"

# First the files some blocks use; then the blocks, two at a time (odd
# and even lines of the index: each in a folder of its own, and pb-sim
# answers in parallel); then the results, in page order.
mkdir files run
while IFS='	' read -r page n kind first; do
	decide "$page" "$first"
	case $mode in
	"file rm.py") { echo 'def score(rec): return 3'; cat "blocks/$page.$n"; } >files/rm.py ;;
	file\ *) cp "blocks/$page.$n" "files/${mode#file }" ;;
	esac
done <index
runners=
for half in 1 0; do
	awk -v h=$half 'NR % 2 == h' index | while IFS='	' read -r page n kind first; do
		runblock "$page" "$n" "$first"
	done &
	runners="$runners $!"
done
wait $runners # (not a bare wait: pb-sim is a child too)
while IFS='	' read -r page n kind first; do
	decide "$page" "$first"
	name="$page: $first"
	if [ -n "$skip" ]; then
		skipped "$name: $skip"
		case $first in '$ '*) skipped "the output of $name: $skip" ;; esac
		continue
	fi
	d=$TMP/run/$page.$n b=$TMP/blocks/$page.$n
	if [ -f "$d/.setup-failed" ]; then
		check 1 "$name: setup"
		diag "$(cat "$d/.setup")"
		continue
	fi
	RC=$(cat "$d/.rc" 2>/dev/null || echo none)
	if [ "$mode" = server ] && [ "$RC" != 0 ] && grep -q 'cannot listen on' "$d/.err"; then
		skipped "$name: its port is taken here ($(tail -n 1 "$d/.err"))"
		continue
	fi
	fail=
	[ "$RC" = "$want" ] || fail="exit $RC, want $want"
	[ -z "$errs" ] || { [ -s "$d/.err" ] && ! grep -Evq -- "$errs" "$d/.err"; } ||
		fail="${fail:+$fail; }stderr is not /$errs/"
	[ ! -f "$d/.after-failed" ] || fail="${fail:+$fail; }after it, '$after' failed"
	st=
	[ "$want" -eq 0 ] || st=" (exit $want)"
	check "$([ -z "$fail" ]; echo $?)" "$name$st"
	[ -z "$fail" ] || diag "$fail" "stdout:" "$(sed -n '1,4p;$p' "$d/.out")" \
	  "stderr:" "$(sed -n '1,4p;$p' "$d/.err")"
	case $first in '$ '*)
		if grep -q '^[[{]' "$b.want"; then # JSON folded over lines
			got=$(jq -S -c . "$d/.out" 2>&1) want_out=$(tr -d '\n' <"$b.want" | jq -S -c . 2>&1)
			how="the output as JSON"
		elif [ -n "$shape" ]; then
			got=$(shape <"$d/.out") want_out=$(shape <"$b.want")
			how="the output's shape (numbers aside)"
		else
			got=$(cat "$d/.out") want_out=$(cat "$b.want")
			how="the output"
		fi
		same "$got" "$want_out" "$name: $how"
	esac
done <index
# PB_MAN_KEEP=DIR: each block's folder (.sh, .out, .err, .rc) kept there.
[ -z "${PB_MAN_KEEP:-}" ] || cp -R "$TMP/run" "$PB_MAN_KEEP"
done_testing
