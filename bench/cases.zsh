# cases.zsh: the zsh side of `make bench` (ztcp), run as
#   zsh bench/cases.zsh lines PEER PORT LINES
# Prints klines/s of `read -r -u FD` on a socket ztcp accepted.
#   zsh bench/cases.zsh conv PEER PORT N
# Prints microseconds a round trip (print, then read -r -u) to the C echo.

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

# conv PEER PORT N: microseconds a round trip of one 32-byte line to the
# C echo peer through ztcp, `print` then `read -r -u FD`.
conv() {
	local peer=$1 port=$2 n=$3 fd i r t0 t1 ep
	$peer echo $port &
	ep=$!
	$peer waitlisten $port 10000 || exit 1
	ztcp 127.0.0.1 $port || exit 1
	fd=$REPLY
	for ((i = 0; i < 20 + n; i++)); do
		((i == 20)) && t0=$EPOCHREALTIME
		print -r -u $fd -- 0123456789abcdef0123456789abcde
		read -r -u $fd r || exit 1
	done
	t1=$EPOCHREALTIME
	ztcp -c $fd
	wait $ep
	[[ $r == 0123456789abcdef0123456789abcde ]] || exit 1
	printf '%.3f\n' $(((t1 - t0) * 1e6 / n))
}

"$@"
