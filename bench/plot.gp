# plot.gp: the bench chart. bench/run.sh calls it with
#   gnuplot -e "datafile='...'; outfile='...'; subtitle='...'" bench/plot.gp
# datafile: LABEL<TAB>ADVANTAGE, where ADVANTAGE is how many times better
# bashsock is than that anchor (above 1: bashsock wins), one bar per line.

set terminal svg size 1200,(120 + 22 * system("wc -l < '" . datafile . "'")) \
    font "sans,11" background "#ffffff"
set output outfile
set datafile separator "\t"
set title "bashsock against the tools users would pick instead\n{/*0.8 " . subtitle . "}"
set xlabel "times better than the anchor, log scale\n(right of 1: bashsock wins)"
set logscale x 10
set xrange [0.005:50]
set format x "%g×"
set ytics nomirror font ",10" noenhanced
set xtics nomirror
set grid xtics
set border 3
unset key
set style fill solid 0.85 noborder
set offsets 0, 0, 0.5, 0.5
set rmargin 4
set arrow from 1, graph 0 to 1, graph 1 nohead lw 1.5 lc rgb "#333333"
plot datafile using (sqrt($2)):0:(($2 < 1) ? $2 : 1):(($2 < 1) ? 1 : $2):($0 - 0.35):($0 + 0.35):(($2 >= 1) ? 0x2e8b57 : 0xcd5c5c):ytic(1) \
        with boxxyerror lc rgb variable, \
     datafile using (($2 >= 1) ? $2 * 1.1 : NaN):0:(sprintf("%.2g×", $2)) \
        with labels font ",9" left, \
     datafile using (($2 < 1) ? $2 / 1.1 : NaN):0:(sprintf("%.2g×", $2)) \
        with labels font ",9" right
