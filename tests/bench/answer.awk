# answer.awk - turns pb-sample's pull records into what pb-query would
# write, for tests/bench.sh: each gets a "response" whose text (175-190
# characters) reasons and ends in one of pb-sim's answer styles.  Of ten
# records four end "#### N", three "The answer is N.", one a bold phrase,
# one a wrong number and one no number at all.
{
	match($0, /"answer":"[0-9]+"/)
	ans = substr($0, RSTART + 10, RLENGTH - 11) + 0
	k = NR % 10
	a = 1 + NR % (ans - 1)
	got = k == 7 ? ans + 1 + NR % 5 : ans
	if (k < 4)
		txt = sprintf("We start with %d and add the %d that were gained, " \
		    "so the total is %d + %d = %d. Checking the sum once more gives " \
		    "the same count, so that is the final number we can give for it.\\n\\n#### %d",
		    a, ans - a, a, ans - a, got, got)
	else if (k < 8)
		txt = sprintf("Let me work through it step by step. First there " \
		    "were %d, then %d more arrived, which makes %d altogether. " \
		    "Nothing else was taken away or given away in the story. The answer is %d.",
		    a, ans - a, got, got)
	else if (k == 8)
		txt = sprintf("So, the grand total after counting every single one " \
		    "of them carefully, from the %d at the start to the %d added " \
		    "later on, is **%d items**. Now that is quite a collection to keep!",
		    a, ans - a, got)
	else
		txt = "I am not able to work out how many there are from the " \
		    "information given here, because the question leaves out a " \
		    "detail that the count depends on. Could you tell me a little more about it?"
	sub(/}$/, "")
	printf "%s,\"response\":{\"text\":\"%s\",\"model\":\"pb-sim\"," \
	    "\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":%d," \
	    "\"completion_tokens\":%d,\"total_tokens\":%d}," \
	    "\"latency_ms\":%d.%d}}\n", $0, txt, 40 + k, 50 + k, 90 + 2 * k,
	    50 + k, NR % 10
}
