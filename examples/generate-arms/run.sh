#!/bin/sh
# run.sh - new arms from the model itself, in the manner of prompt-search
# methods (APE, OPRO): every few rounds, show the model the leaders and
# their scores through pb-query with a meta-prompt, add the instructions
# it proposes with pb-update --add-arms, retire the worst.  The shipped
# tools and jq only.  sh run.sh [--quick]
# Environment: OPENAI_BASE_URL, PB_MODEL, OPENAI_API_KEY for a real model
# (else pb-sim, which answers a meta-prompt with variations); GENERATIONS,
# ROUNDS (per generation), NEW (arms per generation); OUTDIR.
. "$(dirname "$0")/../lib/common.sh"
quick=0
[ "${1:-}" = --quick ] && quick=1
out=${OUTDIR:-$PWD/generate-arms.out}
mkdir -p "$out"
if [ "$quick" -eq 1 ]; then gens=${GENERATIONS:-4} per=${ROUNDS:-4}
else gens=${GENERATIONS:-10} per=${ROUNDS:-10}; fi
new=${NEW:-3}
tasks=$work/tasks.jsonl
sh "$here/../gen-tasks.sh" 400 11 >"$tasks"
use_model "$tasks" "$here/world.jsonl"
st=$work/state.json
pb-update -s "$st" --init "$here/seeds.jsonl" --policy thompson --seed 1
say "seeds:  $(jq -r .id "$here/seeds.jsonl" | tr '\n' ' ')"
added=0 retired=0 g=0
while [ "$g" -lt "$gens" ]; do
	g=$((g + 1))
	loop "$st" "$tasks" 48 "$per" pb-score -q --scorer number
	pb-report -s "$st" --json >"$work/rank.json"
	# the leaders, as the meta-prompt shows them
	scores=$(jq -r --slurpfile a "$st" '
		[.arms[] | select(.pulls > 0 and (.retired | not))][:5][] as $r |
		($a[0].arms[] | select(.id == $r.id) | .fields.prefix) as $p |
		"\($r.mean * 100 | round)%  \(if $p == "" then "(no instruction)" else $p end)"' "$work/rank.json")
	prompts=$(jq -r --slurpfile a "$st" '
		[.arms[] | select(.pulls > 0 and (.retired | not))][:3][] as $r |
		$a[0].arms[] | select(.id == $r.id) | .fields.prefix | select(. != "")' "$work/rank.json")
	jq -n -c --rawfile t "$here/meta-prompt.txt" --arg s "$scores" --arg p "$prompts" \
		--arg n "$new" --arg id "meta-$g" '
		{id: $id, messages: [{role: "user", content:
			($t | gsub("\\{scores\\}"; $s) | gsub("\\{prompts\\}"; $p) |
			 gsub("\\{count\\}"; $n))}]}' |
		pb-query $QUERY_OPTS -q --temperature 0.7 >"$work/meta.jsonl"
	# one instruction a line: numbering and quotes trimmed, the known
	# ones and empty lines left out
	jq -r '.response.text // empty' "$work/meta.jsonl" |
		jq -R -c --slurpfile a "$st" --arg g "$g" '
			sub("^\\s*([0-9]+[.)]|[-*])\\s*"; "") | sub("^\"(?<x>.*)\"$"; "\(.x)") |
			select(length > 0) |
			select(. as $p | [$a[0].arms[].fields.prefix] | index($p) | not)' |
		awk '!seen[$0]++' |
		jq -c --arg g "$g" -s 'to_entries[] | {id: "gen\($g)-\(.key + 1)", prefix: .value}' \
			>"$work/new.jsonl"
	n=$(($(wc -l <"$work/new.jsonl")))
	# retire the worst arm that has been tried enough, never plain
	worst=$(jq -r '[.arms[] | select(.pulls >= 20 and .id != "plain" and (.retired | not))] |
		sort_by(.mean) | .[0].id // empty' "$work/rank.json")
	set --
	[ "$n" -gt 0 ] && set -- --add-arms "$work/new.jsonl"
	[ -n "$worst" ] && set -- "$@" --retire "$worst"
	[ $# -gt 0 ] && pb-update -s "$st" "$@"
	added=$((added + n))
	[ -n "$worst" ] && retired=$((retired + 1))
	say "gen $g: leader $(jq -r '.arms[0].id' "$work/rank.json"); added $n: $(jq -r .id "$work/new.jsonl" | tr '\n' ' ')${worst:+; retired $worst}"
done
loop "$st" "$tasks" 48 "$per" pb-score -q --scorer number
cp "$st" "$out/state.json"
say
say "$added arms generated and added, $retired retired"
pb-report -s "$st" | sed 7q
lead=$(pb-report -s "$st" --json | jq -r '.arms[0].id')
say "best:   $lead: \"$(jq -r --arg l "$lead" '.arms[] | select(.id == $l) | .fields.prefix' "$st")\""
