#!/bin/sh
# gen-gsm8k.sh - N arithmetic word problems in GSM8K's own JSON-lines shape
# ("question", and an "answer" that ends "#### N"), from a seed, with the
# "id" pb-sample wants and the "difficulty" pb-sim reads (a real model
# ignores it).  sh gen-gsm8k.sh [N [SEED]] > tasks.jsonl
# The problems come from ../gen-tasks.sh, the demo's generator (its own
# random numbers, so every awk gives the same file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/../gen-tasks.sh" "${1:-400}" "${2:-8}" |
	jq -c '{id: ("gsm8k-" + (.id | ltrimstr("gsm-"))), question: .input,
	        answer: ("Working through the problem one step at a time gives " +
	                 .answer + ".\n#### " + .answer), difficulty}'
