#!/bin/sh
# layers.sh - checks the library's shape from its objects' symbols: every
# arrow between two files of lib/ points down a layer or within one, and
# no files call each other in a circle.  Run by make check after the
# build; prints the layers and exits 1, naming each bad arrow, if the
# shape is broken.
#
# A file's layer is the layer header it includes (base.h, bandit.h,
# llm.h or score.h; internal.h does not count): the compiler then refuses
# a call up a layer it cannot see, and this check catches what slips by
# through a lower layer's header.  The layers:
#
#	base   <- bandit
#	base   <- llm <- score
#
# cmd/util.o may use base only; the simulator (sim/*.o) base only.
#
# usage: sh tests/layers.sh [BUILD-DIR] [-v]

O=${1:-build}
verbose=${2:-}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

say() { printf '%s\n' "$*"; }
bad() { say "layers: $*" >&2; fail=1; }

rank() {
	case $1 in
	base) echo 0 ;; bandit|llm) echo 1 ;; score) echo 2 ;; *) echo 9 ;;
	esac
}

# may FROM call TO?
allowed() {
	[ "$1" = "$2" ] && return 0
	[ "$2" = base ] && return 0
	[ "$1" = score ] && [ "$2" = llm ] && return 0
	return 1
}

# the layer of source file $1
layer_of() {
	l=$(sed -n 's/^#include "\(base\|bandit\|llm\|score\)\.h".*/\1/p' "$1")
	n=$(printf '%s\n' "$l" | grep -c .)
	if [ "$n" -eq 0 ]; then
		if grep -q '^#include "pb\.h"' "$1"; then
			echo "pb.h"
		else
			echo "none"
		fi
		return
	fi
	# several layer headers: the highest is the file's layer
	best=base
	for x in $l; do
		[ "$(rank "$x")" -gt "$(rank "$best")" ] && best=$x
	done
	echo "$best"
}

ls "$O"/lib/*.o >/dev/null 2>&1 || { say "layers: no objects in $O/lib (build first)" >&2; exit 2; }

: >"$tmp/layer"
# the sources decide which objects count: a stale object of a file that
# is gone stays out
for src in lib/*.c; do
	f=$(basename "$src" .c)
	o=$O/lib/$f.o
	[ -f "$o" ] || { bad "$src: no $o (build first)"; continue; }
	l=$(layer_of "$src")
	case $l in
	pb.h) bad "$src includes pb.h: a file of lib/ includes its own layer's header" ;;
	none) bad "$src includes no layer header" ;;
	esac
	say "$f $l" >>"$tmp/layer"
	nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 && $2 ~ /[TDBRCV]/ { print $3, f }' >>"$tmp/defs"
	nm -u "$o" | awk -v f="$f" '{ print $NF, f }' >>"$tmp/uses"
done
sort -u "$tmp/defs" >"$tmp/defs.s"
sort -u "$tmp/uses" >"$tmp/uses.s"

# symbols defined twice would make the arrows ambiguous
awk '{ print $1 }' "$tmp/defs.s" | uniq -d | while read -r s; do
	bad "$s is defined in more than one file: $(awk -v s="$s" '$1 == s { printf "%s ", $2 }' "$tmp/defs.s")"
done

# file -> file arrows, with how many symbols each carries
join "$tmp/uses.s" "$tmp/defs.s" | awk '$2 != $3 { print $2, $3 }' | sort | uniq -c |
	awk '{ print $2, $3, $1 }' >"$tmp/edges"

while read -r from to n; do
	lf=$(awk -v f="$from" '$1 == f { print $2 }' "$tmp/layer")
	lt=$(awk -v f="$to" '$1 == f { print $2 }' "$tmp/layer")
	if ! allowed "$lf" "$lt"; then
		syms=$(join "$tmp/uses.s" "$tmp/defs.s" | awk -v a="$from" -v b="$to" '$2 == a && $3 == b { printf "%s ", $1 }')
		bad "lib/$from.c ($lf) calls up into lib/$to.c ($lt): $syms"
	fi
done <"$tmp/edges"

# circles between files: tsort names the files of each loop
awk '{ print $2, $1 }' "$tmp/edges" | tsort >/dev/null 2>"$tmp/loops"
if [ -s "$tmp/loops" ]; then
	bad "files call each other in a circle:"
	sed -n 's/^tsort: //p' "$tmp/loops" | grep -v 'input contains a loop' | sed 's/^/layers:   /' >&2
fi

# tools' helpers and the simulator stay on the base layer
check_base_only() {
	what=$1
	shift
	for o in "$@"; do
		[ -f "$o" ] || continue
		nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$tmp/defs.s" |
		while read -r s f; do
			l=$(awk -v f="$f" '$1 == f { print $2 }' "$tmp/layer")
			[ "$l" = base ] || bad "$o ($what) uses $s from lib/$f.c ($l): base only"
		done
	done
}
check_base_only "cmd/util.c" "$O/cmd/util.o"
check_base_only "the simulator" "$O"/sim/*.o

nfiles=$(wc -l <"$tmp/layer")
nedges=$(wc -l <"$tmp/edges")
if [ -n "$verbose" ]; then
	for l in base bandit llm score; do
		files=$(awk -v l="$l" '$2 == l { printf "%s ", $1 }' "$tmp/layer")
		say "$l: $files"
	done
	awk '{ printf "  %s -> %s (%d)\n", $1, $2, $3 }' "$tmp/edges"
fi
if [ "$fail" -ne 0 ]; then
	say "layers: the library's shape is broken (tests/layers.sh)" >&2
	exit 1
fi
say "layers: $nfiles files of lib/ in 4 layers, $nedges arrows, all pointing down, no circle"
