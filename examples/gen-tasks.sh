#!/bin/sh
# gen-tasks.sh - writes the demo's arithmetic word problems (GSM8K-like)
# as JSON lines: sh examples/gen-tasks.sh [N [SEED]] > examples/tasks.jsonl
# Its own random numbers (Park-Miller), so every awk gives the same file.
# Difficulty grows with the number of steps, plus normal noise (sd ~1.5
# overall), for pb-sim(1) to turn into the chance of a right answer.
exec awk -v n="${1:-120}" -v seed="${2:-2024}" '
function rnd() { x = (x * 16807) % 2147483647; return x / 2147483647 }
function between(lo, hi) { return lo + int(rnd() * (hi - lo + 1)) }
function normal(   u, v) { u = rnd(); v = rnd(); return sqrt(-2 * log(u)) * cos(6.283185307179586 * v) }
function name() { return names[between(1, nnames)] }
BEGIN {
	x = seed
	nnames = split("Tom Ana Priya Lucas Mei Omar Sofia Ken Zoe Ravi Nadia Felix", names, " ")
	for (i = 1; i <= n; i++) {
		do {
			k = (i - 1) % 10
			p = name()
			if (k == 0) {
				a = between(3, 40); b = between(2, 30); steps = 1; ans = a + b
				q = sprintf("%s has %d apples. %s buys %d more apples. How many apples does %s have now?", p, a, p, b, p)
			} else if (k == 1) {
				a = between(12, 60); b = between(3, 14); steps = 1; ans = a * b
				q = sprintf("A baker makes %d loaves of bread each day. How many loaves does the baker make in %d days?", a, b)
			} else if (k == 2) {
				b = between(5, 30); c = between(4, 25); a = b + c + between(1, 60); steps = 2; ans = a - b - c
				q = sprintf("%s had $%d. %s spent $%d on a book and $%d on lunch. How much money does %s have left?", p, a, p, b, c, p)
			} else if (k == 3) {
				b = between(2, 8); a = b * between(3, 12); steps = 1; ans = a / b
				q = sprintf("There are %d students in a class. The teacher splits them into groups of %d. How many groups are there?", a, b)
			} else if (k == 4) {
				a = between(3, 15); b = between(2, 9); c = between(2, 6); steps = 2; ans = a * b * c
				q = sprintf("A frog eats %d bugs every hour. %d frogs eat for %d hours. How many bugs do the frogs eat in total?", a, b, c)
			} else if (k == 5) {
				a = 20 * between(2, 15); split("10 20 25 50", off, " "); o = off[between(1, 4)]
				steps = 2; ans = a * (100 - o) / 100
				q = sprintf("A jacket costs $%d. It is on sale for %d%% off. What is the new price in dollars?", a, o)
			} else if (k == 6) {
				a = between(8, 40); b = between(1, a); steps = 3; ans = a + 2 * a + (2 * a - b)
				q = sprintf("%s reads %d pages on Monday and twice as many on Tuesday. On Wednesday %s reads %d pages fewer than on Tuesday. How many pages does %s read in the three days?", p, a, p, b, p)
			} else if (k == 7) {
				a = between(2, 30); b = between(2, 40); steps = 2; ans = 4 * a + 2 * b
				q = sprintf("A farm has %d cows and %d chickens. How many legs do the animals have altogether?", a, b)
			} else if (k == 8) {
				a = between(5, 40); c = a * between(3, 20); steps = 1; ans = c / a
				q = sprintf("%s saves $%d every week. How many weeks will it take %s to save $%d?", p, a, p, c)
			} else {
				a = between(30, 80); b = between(2, 6); c = between(20, 70); d = between(1, 5); steps = 3; ans = a * b + c * d
				q = sprintf("A train travels at %d miles per hour for %d hours, then at %d miles per hour for %d hours. How many miles does it travel in total?", a, b, c, d)
			}
		} while (q in seen)
		seen[q] = 1
		diff = 0.5 * (steps - 2) + 1.4 * normal()
		printf "{\"id\":\"gsm-%03d\",\"input\":\"%s\",\"answer\":\"%d\",\"difficulty\":%.2f}\n", i, q, ans, diff
	}
}'
