#!/bin/sh
# pb-report --plot's script and data, caught by a stand-in gnuplot: the
# top panel is the share of recent pulls (shares add up to 1), with more
# than 8 arms only 6 named and coloured and the rest grey under one
# legend entry, and --context draws that context's history.
. "$(dirname "$0")/lib.sh"
plan 10
mkdir fake
cat >fake/gnuplot <<'G'
#!/bin/sh
# keeps the script and its data, and writes the picture's file
d=$(dirname "$1")
rm -rf "$CATCH"; mkdir -p "$CATCH"; cp "$d"/* "$CATCH"/
out=$(sed -n 's/^set output "\(.*\)"$/\1/p' "$1")
echo picture >"$out"
G
chmod +x fake/gnuplot
CATCH=$TMP/caught
export CATCH

# 25 arms, rewards made up: arm k right on tasks with k mod 5 in it
awk 'BEGIN { for (k = 1; k <= 25; k++) printf "{\"id\":\"a%02d\",\"prefix\":\"p%d\"}\n", k, k }' >a25.jsonl
sum_tasks 40
pb-update -s s25.json --init a25.jsonl --policy ucb1
for r in 1 2 3 4 5 6; do
	pb-sample -s s25.json -n 50 tasks.jsonl |
		jq -c '. + {reward: (if ((.arm[1:] | tonumber) % 5) >= ((.task.id[1:] | tonumber) % 5) then 1 else 0 end)}' |
		pb-update -s s25.json
done
PATH=$TMP/fake:$PATH run pb-report -s s25.json --plot p25.png
is "$RC/$(cat p25.png)" "0/picture" "--plot runs gnuplot and keeps its picture"
gp=$CATCH/plot.gp
like "$(grep -c 'using 1:7 with lines' "$gp")" '^2[0-9]$' "the top panel plots the share column, once an arm" 
is "$(grep -o "lw 2 lc rgb '#[0-9a-f]*' title \"[^\"]*\"" "$gp" | sort -u | wc -l)/$(grep -o "lw 2 lc rgb '#[0-9a-f]*' title \"[^\"]*\"" "$gp" | sed 's/.*title //' | sort -u | wc -l)" \
   "6/6" "25 arms: 6 named in the legend, each in a colour of its own"
is "$(grep -c "title 'the other 19 arms'" "$gp")" 2 "... the other 19 under one entry, in each arm panel"
is "$(grep -o "lc rgb '#c0c0c0'" "$gp" | wc -l)" "$((19 * 2))" "... drawn grey"
ok "$(grep -q 'set key outside' "$gp"; echo $?)" "the legend stands outside the data"
# at every point the shares of the arms add up to 1
bad=$(awk 'NF >= 7 && $1 !~ /^#/ && $7 != "?" { s[$1] += $7 }
	END { for (u in s) if (s[u] < 0.999 || s[u] > 1.001) n++; print n + 0 }' "$CATCH/history.dat")
is "$bad" 0 "the shares of recent pulls add up to 1 at every point"
# UCB1's own probability is 0 or 1; the share is not
is "$(awk 'NF >= 7 && $1 !~ /^#/ && $7 != "?" && $7 > 0.001 && $7 < 0.999 { n++ } END { print (n > 0) }' "$CATCH/history.dat")" 1 \
   "... and lies between 0 and 1, where UCB1's probability is 0 or 1"

# a few arms: each its own colour, no grey
pb-update -s s3.json --init "$DATA/arms3.jsonl" --policy uniform
pb-sample -s s3.json tasks.jsonl | jq -c '. + {reward: 1}' | pb-update -s s3.json
PATH=$TMP/fake:$PATH run pb-report -s s3.json --plot p3.svg
is "$(grep -c "lc rgb '#c0c0c0'" "$CATCH/plot.gp")/$(grep -c 'other' "$CATCH/plot.gp")" "0/0" \
   "3 arms: all named, none grey"

# --context: the title and the data are the context's
kt=$TOP/examples/knowledge-personas/tasks.jsonl
pb-update -s c.json --init "$TOP/examples/knowledge-personas/arms.jsonl" --policy uniform --context domain
pb-sample -s c.json -k all "$kt" | jq -c '. + {reward: 1}' | pb-update -s c.json
PATH=$TMP/fake:$PATH run pb-report -s c.json --context film --plot film.png
like "$(grep 'multiplot' "$CATCH/plot.gp")" "context film, 60 updates" "--context film --plot: the context's run"
done_testing
