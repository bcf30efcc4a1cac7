# plot-domains.gp - each persona's running mean reward, one panel per
# domain, from the data run.sh writes (blocks "domain arm" two blank
# lines apart: pulls mean).  gnuplot -e "data='d.dat'; out='x.png'" plot-domains.gp
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
	set terminal pngcairo size 1000,800 noenhanced font 'sans,10'
} else {
	set terminal png size 1000,800 noenhanced
}
set output out
set multiplot layout 2,2 title 'knowledge personas: running mean reward per domain'
set key outside right top
set yrange [0:1]
set grid
set xlabel "the persona's pulls in the domain"
set ylabel 'mean reward'
array dom[4] = ['music', 'tennis', 'physics', 'film']
array arm[4] = ['mozart', 'federer', 'einstein', 'nolan']
array col[4] = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e']
do for [d = 1:4] {
	set title dom[d]
	plot for [a = 1:4] data index ((d - 1) * 4 + a - 1) using 1:2 with lines lw 2 lc rgb col[a] title arm[a]
}
unset multiplot
