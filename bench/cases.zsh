# cases.zsh: the zsh side of `make bench` (ztcp), run as
#   zsh bench/cases.zsh lines PEER PORT LINES
# Prints klines/s of `read -r -u FD` on a socket ztcp accepted.

zmodload zsh/net/tcp zsh/datetime || exit 1

lines() {
	local peer=$1 port=$2 want=$3 lfd fd t0 t1 n=0 line sp
	ztcp -l $port || exit 1
	lfd=$REPLY
	t0=$EPOCHREALTIME
	$peer send 127.0.0.1 $port $((want * 32)) 32 &
	sp=$!
	ztcp -a $lfd || exit 1
	fd=$REPLY
	ztcp -c $lfd
	while read -r -u $fd line; do
		((n++))
	done
	t1=$EPOCHREALTIME
	ztcp -c $fd
	wait $sp || exit 1
	if ((n != want)); then
		print -u2 "cases.zsh: $n lines of $want"
		exit 1
	fi
	printf '%.3f\n' $((n / (t1 - t0) / 1000.0))
}

"$@"
