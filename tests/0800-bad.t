#!/bin/sh
# 0800-bad.t - the hostile-input corpus of tests/bad/: each case there
# (NAME.case, shell variables) runs one command on bad input and states
# the exit status and the message (an ERE on stderr, naming the file and
# line or pull).  Every case also asserts that nothing crashed (status
# below 128, no sanitizer report) and that the state file is byte for
# byte what it was.  A case that shows a defect in another part says
# todo='owner: PART' and is reported "not ok ... # TODO" until fixed.
#
# A case's variables: cmd (run by sh in a folder holding the fixtures
# below), stdin (text, a newline added) or stdin_file, setup (shell run
# first, to make big or odd inputs at test time), status (an ERE:
# "1", "141|2"), err (ERE; '' for an empty stderr), state=changed when
# the command is meant to change $S, todo.
#
# Fixtures: S a state with 3 arms and 3 pending pulls (1-3), P their
# pull records, A answered, R scored (reward 1), ARMS the arms file,
# TASKS five tasks.
. "$(dirname "$0")/lib.sh"
BAD=$TOP/tests/bad
TOP_DATA=$DATA
export TOP_DATA
cases=$(ls "$BAD"/*.case | sort)
plan "$(printf '%s\n' "$cases" | grep -c .)"

# the fixtures, made once
mkdir fix
(
	cd fix || exit 2
	pb-update -s S --init "$DATA/arms3.jsonl" --policy uniform &&
	pb-sample -s S -n 3 --seed 1 "$DATA/tasks5.jsonl" >P &&
	jq -c '.response = {"text": "The answer is 6."}' P >A &&
	jq -c '.reward = 1' A >R &&
	cp "$DATA/arms3.jsonl" ARMS && cp "$DATA/tasks5.jsonl" TASKS
) || { echo "Bail out! cannot make the fixtures"; exit 2; }

for c in $cases; do
	name=$(basename "$c" .case)
	rm -rf w && cp -R fix w
	(
		cd w || exit 2
		cmd= stdin= stdin_file= setup= status= err= state= todo= what=
		S=$TMP/w/S P=$TMP/w/P A=$TMP/w/A R=$TMP/w/R ARMS=$TMP/w/ARMS TASKS=$TMP/w/TASKS
		export S P A R ARMS TASKS
		. "$c"
		[ -n "$setup" ] && { sh -c "$setup" >/dev/null 2>&1 || echo "setup failed" >>why; }
		before=$(cksum <S)
		if [ -n "$stdin_file" ]; then
			sh -c "$cmd" <"$stdin_file" >out 2>err
		elif [ -n "$stdin" ]; then
			printf '%s\n' "$stdin" | sh -c "$cmd" >out 2>err
		else
			sh -c "$cmd" </dev/null >out 2>err
		fi
		rc=$?
		[ -n "$(printf '%s' "$rc" | grep -Ex -- "$status")" ] || echo "status $rc, want $status" >>why
		if [ -z "$err" ]; then
			[ -s err ] && echo "stderr not empty" >>why
		elif ! grep -Eq -- "$err" err; then
			echo "stderr does not match /$err/" >>why
		fi
		[ "$rc" -lt 128 ] || [ "$status" = "141|2" ] || echo "killed by signal $((rc - 128))" >>why
		grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' err && echo "sanitizer report" >>why
		[ "$state" = changed ] || [ "$(cksum <S)" = "$before" ] || echo "state changed" >>why
		desc="$name: $what"
		if [ -s why ]; then
			printf 'not ok - %s%s\n' "$desc" "${todo:+ # TODO $todo}"
			sed 's/^/#   /' why
			head -n 6 err | cut -c 1-160 | sed 's/^/#   stderr: /'
		else
			printf 'ok - %s%s\n' "$desc" "${todo:+ # TODO $todo}"
		fi
	) >result
	_n=$((_n + 1))
	sed "1s/^\(not \)\{0,1\}ok /&$_n /" result
	head -1 result | grep -q '^not ok' && ! head -1 result | grep -q '# TODO' && _fail=$((_fail + 1))
done
done_testing
