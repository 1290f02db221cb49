# gnuplot -e "dir='docs/quantizer-estimators'" docs/quantizer-estimators/plot.gp
set terminal pngcairo size 1400,420 font ",10"
set output dir.'/derivatives.png'
set multiplot layout 1,3 title "Quantizer estimators, 2-bit signed quantizer (codes -2..1, window [-2.5, 1.5]), code units"
set xlabel "v = w / s + Z"
set title "Q̂'(v)"
set key top left
plot dir.'/curves.dat' u 1:2 w l t 'ste', '' u 1:3 w l t 'pwl', '' u 1:4 w l t 'htge t=2', '' u 1:5 w l t 'htge t=5.5', '' u 1:6 w l t 'mad'
set title "Q̂(v)"
plot dir.'/curves.dat' u 1:7 w l t 'ste', '' u 1:8 w l t 'pwl', '' u 1:9 w l t 'htge t=2', '' u 1:10 w l t 'htge t=5.5', '' u 1:11 w l t 'mad', '' u 1:(floor($1+0.5)<-2?-2:(floor($1+0.5)>1?1:floor($1+0.5))) w l dt 2 lc black t 'Q (round, clamp)'
set title "EDE (binary): Q̂' and Q̂ at progress 0, 0.5, 1"
set xrange [-2:2]
plot dir.'/curves.dat' u 1:12 w l t "Q̂' p=0", '' u 1:13 w l t "Q̂' p=0.5", '' u 1:14 w l t "Q̂' p=1", '' u 1:15 w l dt 2 t 'Q̂ p=0', '' u 1:16 w l dt 2 t 'Q̂ p=0.5', '' u 1:17 w l dt 2 t 'Q̂ p=1'
unset multiplot
set terminal pngcairo size 600,450 font ",10"
set output dir.'/remap.png'
set title "M(v) (Eq. 4) of htge, code units"
set xrange [-2.5:1.5]
set key top left
plot dir.'/remap.dat' u 1:2 w l t 'htge t=2 (α=0.711)', '' u 1:3 w l t 'htge t=5.5 (α=0.237)', x w l dt 2 lc black t 'identity (ste, pwl)'
