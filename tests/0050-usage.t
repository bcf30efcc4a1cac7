#!/bin/sh
# Options that do not fit: every tool says why in one line and exits 2,
# before reading any input or touching any file.
. "$(dirname "$0")/lib.sh"
plan 32

# usage_is WANT CMD...: stderr is exactly WANT and the status 2.
usage_is() {
	_want=$1
	shift
	run "$@" </dev/null
	is "$RC|$ERR" "2|$_want" "$*"
}

pb-update -s st.json --init "$DATA/arms3.jsonl"
before=$(sum st.json)
printf '%s\n' 'Judge this: {response}' >judge.txt

usage_is "pb-query: --cache and --no-cache go alone" pb-query --cache x --no-cache
usage_is "pb-query: --cache: empty folder name" pb-query --cache ''
usage_is "pb-query: --key-env and --key-file go alone" pb-query --key-env A --key-file B
usage_is "pb-query: --model: empty model name" pb-query --model ''
usage_is "pb-query: --progress and -q go alone" pb-query --progress -q
usage_is "pb-query: --stop: empty stop string" pb-query --stop ''
usage_is "pb-query: the API key in OPENAI_API_KEY has spaces or control characters" \
	env OPENAI_API_KEY='two words' pb-query --base-url http://127.0.0.1:9/v1

usage_is "pb-report: --interval: 'foo' is not anytime, auto or bernstein" pb-report -s st.json --interval foo
usage_is "pb-report: --price: 'x' is not IN,OUT (dollars per million tokens)" pb-report -s st.json --price x
usage_is "pb-report: --require uplift needs --validate FILE" pb-report -s st.json --require uplift
usage_is "pb-report: --require: 'nope' is not verdict or uplift[:ALPHA]" pb-report -s st.json --require nope
usage_is "pb-report: --validate does not go with --replay, --history or --plot" \
	pb-report -s st.json --validate x --replay
usage_is "pb-report: replay: no scored records" env -u PB_STATE pb-report --replay /dev/null

usage_is "pb-sample: --system and --system-template exclude each other" \
	pb-sample -s st.json --system --system-template x "$DATA/tasks5.jsonl"

usage_is "pb-score: --blend: no scorers" pb-score --blend ''
usage_is "pb-score: --no-cache applies only to the judge scorer" pb-score --cache x --no-cache
usage_is "pb-score: --cache: empty folder name" pb-score --cache ''
usage_is "pb-score: --jq: empty program" pb-score --jq ''
usage_is "pb-score: --judge-api: 'foo' is not openai, anthropic or azure" pb-score --judge judge.txt --judge-api foo
usage_is "pb-score: --judge-model: empty model name" pb-score --judge judge.txt --judge-model ''
usage_is "pb-score: --judge-scale: 'foo' is neither a number 1-1000 nor pass-fail" \
	pb-score --judge judge.txt --judge-scale foo
usage_is "pb-score: --reference: empty path" pb-score --reference ''
usage_is "pb-score: --response: empty path" pb-score --response ''
usage_is "pb-score: --tolerance does not apply to --scorer bool" pb-score --scorer bool --tolerance 1
usage_is "pb-score: the judge scorer needs --judge FILE" pb-score --scorer judge
usage_is "pb-score: --judge: /dev/null is empty" pb-score --judge /dev/null
usage_is "pb-score: --judge-key-env: \$PB_TEST_NO_SUCH_KEY is not set" \
	env -u PB_TEST_NO_SUCH_KEY pb-score --judge judge.txt --judge-key-env PB_TEST_NO_SUCH_KEY
usage_is "pb-score: --judge-url: base URL 'ftp://x' is not http:// or https://" \
	pb-score --judge judge.txt --judge-url ftp://x

usage_is "pb-sim: --api-key: the key is empty" pb-sim --api-key '' --tasks "$DATA/tasks5.jsonl"

usage_is "pb-update: --merge: no state files to merge" pb-update -s st.json --merge
usage_is "pb-update: -k and -v only go with applying records" pb-update -s st.json -k --merge x.json

is "$(sum st.json)" "$before" "none of them touched the state"
done_testing
