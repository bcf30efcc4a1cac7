#!/bin/sh
# convert.sh - True/False tasks from TruthfulQA's CSV and UltraFeedback's
# preference pairs, as JSON lines on standard output:
#   sh convert.sh TruthfulQA.csv ultrafeedback.jsonl [SEED] > tasks.jsonl
# TruthfulQA (columns Type, Category, Question, Best Answer, Correct
# Answers, Incorrect Answers, Source; answers "; "-separated): every
# correct answer becomes a statement whose answer is True, every
# incorrect one a statement whose answer is False.  UltraFeedback (one
# object per line with "prompt_id", "prompt", and "chosen" and
# "rejected" conversations whose last message is the response): "Is
# response A better than response B?", the chosen response put first or
# second by a hash of SEED and the prompt id.  Every task has a "group"
# (the question or the prompt) for split.sh, so that the statements of
# one question never land on both sides of the split.
set -eu
csv=$1 uf=$2 seed=${3:-1}
# CSV (RFC 4180: quoted fields, "" for a quote) to tab-separated
# group, question, answer, verdict; then JSON with jq.
awk -v RS='\n' '
function field(   f) {
	f = ""
	if (substr(line, pos, 1) == "\"") {
		pos++
		while (pos <= length(line)) {
			c = substr(line, pos, 1)
			if (c == "\"" && substr(line, pos + 1, 1) == "\"") { f = f "\""; pos += 2 }
			else if (c == "\"") { pos++; break }
			else { f = f c; pos++ }
		}
	} else {
		while (pos <= length(line) && substr(line, pos, 1) != ",")
			f = f substr(line, pos++, 1)
	}
	pos++ # the comma
	return f
}
NR == 1 { next }
{
	line = $0; sub(/\r$/, "", line); pos = 1
	for (i = 1; i <= 7; i++) col[i] = field()
	n = split(col[5], ok, "; ")
	for (i = 1; i <= n; i++) printf "tqa-%03d\t%s\t%s\tTrue\n", NR - 1, col[3], ok[i]
	n = split(col[6], bad, "; ")
	for (i = 1; i <= n; i++) printf "tqa-%03d\t%s\t%s\tFalse\n", NR - 1, col[3], bad[i]
}' "$csv" |
jq -R -c 'split("\t") | {group: .[0], source: "truthfulqa",
	question: ("Question: \(.[1])\nProposed answer: \(.[2])\n\nIs the proposed answer true? Answer True or False."),
	answer: .[3]}' |
jq -s -c 'group_by(.group)[] | to_entries[] | .value + {id: "\(.value.group)-\(.key + 1)"}'
jq -c --argjson seed "$seed" '
	def h: reduce explode[] as $c ($seed; (. * 31 + $c) % 1000003);
	(.prompt_id | h % 2 == 0) as $first |
	(.chosen[-1].content) as $c | (.rejected[-1].content) as $r |
	{id: .prompt_id, group: .prompt_id, source: "ultrafeedback",
	 question: ("Prompt: \(.prompt)\n\nResponse A: \(if $first then $c else $r end)\n\nResponse B: \(if $first then $r else $c end)\n\nIs response A better than response B? True or False"),
	 answer: (if $first then "True" else "False" end)}' "$uf"
