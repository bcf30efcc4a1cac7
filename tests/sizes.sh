#!/bin/sh
# sizes.sh - keeps files and functions short enough to read: no file of
# lib/, cmd/ or sim/ over MAXFILE lines, no function over MAXFUNC lines
# (counted from the line with its name to its closing brace; the house
# style puts both in column 0).  Run by make check; prints the longest
# and exits 1, naming each one over, if a limit is passed.
#
# usage: sh tests/sizes.sh [-v]

MAXFILE=${MAXFILE:-900}
MAXFUNC=${MAXFUNC:-120}
verbose=${1:-}

files=$(ls lib/*.c lib/*.h cmd/*.c cmd/*.h sim/*.c sim/*.h 2>/dev/null)
# shellcheck disable=SC2086
awk -v maxfile="$MAXFILE" -v maxfunc="$MAXFUNC" -v verbose="$verbose" '
FNR == 1 {
	if (NR > 1)
		endfile()
	name = ""
}
/^[A-Za-z_][A-Za-z0-9_]*\(/ && !/;[ \t]*$/ {
	name = $0
	sub(/\(.*/, "", name)
	start = FNR
}
/^}/ && name != "" {
	len = FNR - start + 1
	if (len > maxfunc) {
		printf "sizes: %s:%d: %s() is %d lines (at most %d)\n", FILENAME, start, name, len, maxfunc > "/dev/stderr"
		bad++
	}
	if (len > longest) {
		longest = len
		where = FILENAME ":" start ": " name "()"
	}
	nfunc++
	name = ""
}
function endfile() {
	if (lines > maxfile) {
		printf "sizes: %s is %d lines (at most %d)\n", prev, lines, maxfile > "/dev/stderr"
		bad++
	}
	if (lines > biggest) {
		biggest = lines
		bigname = prev
	}
	nfile++
}
{ lines = FNR; prev = FILENAME }
END {
	endfile()
	if (verbose != "")
		printf "sizes: longest file %s (%d lines), longest function %s (%d lines)\n", bigname, biggest, where, longest
	if (bad) {
		printf "sizes: %d over the limits (tests/sizes.sh)\n", bad > "/dev/stderr"
		exit 1
	}
	printf "sizes: %d files, %d functions: none over %d and %d lines\n", nfile, nfunc, maxfile, maxfunc
}' $files
