# bench.gp: the plot of `make bench`: instructions per CR0.WP toggle under
# Bochs, one group of bars per policy, one bar per paging mode and exit path.
# Reads docs/data/bench.csv (`make bench SAVE=1` writes it); `make docs` renders
# it to docs/img/bench.svg with the terminal and output already set.
set terminal svg size 900,480 font 'DejaVu Sans,12'
set datafile separator ','
data = 'docs/data/bench.csv'
stats data skip 1 using 5 nooutput     # column 5: toggles per run
toggles = int(STATS_max)

configs = "ept/c ept/fast shadow-roles/c shadow-roles/fast shadow-flush/c shadow-flush/fast"
colours = "#1a73e8 #8ab4f8 #188038 #81c995 #e37400 #fdc69c"
policy(s) = s eq "intercept" ? 0 : s eq "passthrough" ? 1 : 2
# Bar k (1 to 6) of a policy's group; a row of another configuration gives NaN,
# which gnuplot leaves out.
x(k) = strcol(2)."/".strcol(3) eq word(configs, k) ? policy(strcol(1)) * 7 + k : NaN

set title sprintf("Instructions per CR0.WP toggle under Bochs (1 TSC tick = 1 instruction), %d toggles a run", toggles)
set ylabel 'instructions per toggle (log scale)'
set logscale y
set yrange [1:20000]
set xrange [0:21]
set xtics scale 0 ("intercept" 3.5, "passthrough" 10.5, sprintf("adaptive, threshold=%d", toggles / 10) 17.5)
set grid ytics
set key top center reverse Left samplen 1 font ',10' maxrows 2 title 'paging/exitpath'
set xlabel 'under paging=shadow, passthrough and adaptive run with unsafe=1' font ',10'
set style fill solid 0.9 border -1
set boxwidth 0.9
plot for [k=1:6] data skip 1 using (x(k)):9 with boxes lc rgb word(colours, k) title word(configs, k), \
     for [k=1:6] data skip 1 using (x(k)):9:(sprintf("%.2f", $9)) with labels rotate by 90 \
         left offset 0,0.4 font ',9' notitle
