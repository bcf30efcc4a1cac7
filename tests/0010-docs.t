#!/bin/sh
# Every tool: -h and --version work, and its --help and man page name the
# same options; every man page is mandoc -Tlint clean.
. "$(dirname "$0")/lib.sh"
tools="pb-sample pb-query pb-score pb-update pb-report pb-sim"
plan 33

for t in $tools; do
	run "$t" --version
	is "$OUT" "$t (promptbandit) 0.1.0" "$t --version"
	run "$t" -h
	ok "$([ "$RC" -eq 0 ] && printf '%s' "$OUT" | grep -q "^usage: $t"; echo $?)" "$t -h: usage on stdout, exit 0"
	help=$(printf '%s\n' "$OUT" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	man=$(grep -E -- '^\.It Fl ' "$TOP/man/$t.1" |
		grep -oE -- 'Fl -[a-z][a-z-]*' | sed 's/^Fl -/--/' | sort -u)
	missing=$(printf '%s\n' "$help" | while read -r o; do
		printf '%s\n' "$man" | grep -qx -- "$o" || printf '%s ' "$o"; done)
	is "$missing" "" "$t: every option in --help is in the man page"
	extra=$(printf '%s\n' "$man" | while read -r o; do
		printf '%s\n' "$help" | grep -qx -- "$o" || printf '%s ' "$o"; done)
	is "$extra" "" "$t: every option in the man page is in --help"
	run "$t" --no-such-option
	is "$RC" 2 "$t: an unknown option exits 2"
done
if command -v mandoc >/dev/null 2>&1; then
	is "$(mandoc -Tlint -W warning "$TOP"/man/*.[157] 2>&1)" "" "mandoc -Tlint is clean"
else
	ok 0 "# SKIP mandoc not installed"
fi
for p in pb.7 pb-state.5; do
	ok "$([ -s "$TOP/man/$p" ]; echo $?)" "man/$p exists"
done
done_testing
