# tasks.awk - n synthetic arithmetic tasks for tests/bench.sh, one JSON
# line each: {"id","input","answer"}.  Usage: awk -v n=N -f tasks.awk
BEGIN {
	split("Tom Priya Ana Kofi Mei Omar Lena Ravi", who, " ")
	split("apples marbles stamps books coins shells", what, " ")
	for (i = 1; i <= n; i++) {
		a = i % 97 + 3
		b = int(i / 97) % 89 + 2
		w = who[i % 8 + 1]
		t = what[i % 6 + 1]
		printf "{\"id\":\"b-%d\",\"input\":\"%s has %d %s. %s gets %d " \
		    "more %s. How many %s does %s have now?\",\"answer\":\"%d\"}\n",
		    i, w, a, t, w, b, t, t, w, a + b
	}
}
