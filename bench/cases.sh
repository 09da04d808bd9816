# cases.sh: the measured sides of `make bench`. bench/run.sh runs each in a
# fresh bash, so no case sees another's state:
#   bash bench/cases.sh NAME ARGS...
# Each prints its measurement on stdout, one number a line, in the unit
# bench/run.sh declares for the case; anything else goes to stderr and a
# failed run exits non-zero. Timings use $EPOCHREALTIME (microseconds) and
# never include loading the builtins or starting a listener.
# shellcheck shell=bash
# shellcheck disable=SC2034  # loop variables read by nobody, on purpose
# shellcheck disable=SC2162  # read -w/-l/-v ID is bashsock's socket form
# shellcheck disable=SC2016  # bash -c scripts expand their own "$1"

set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${BENCH_ROOT:-$(cd "$BENCH_DIR/.." && pwd)}
PEER=${BENCH_PEER:-$ROOT/build/bench/peer}
ACCEPT_SO=${BENCH_ACCEPT_SO:-/usr/lib/bash/accept}
TMPD=${BENCH_TMP:-${TMPDIR:-/tmp}}
MSG=0123456789abcdef0123456789abcde # 31 bytes: a 32-byte line with its \n

fail() {
	echo "cases.sh: $*" >&2
	exit 1
}

# Microseconds from $1 to $2 (two $EPOCHREALTIME values).
us() {
	echo $((${2/./} - ${1/./}))
}

# awk arithmetic on the command line: calc 'EXPR' (variables by -v).
calc() {
	local e=$1
	shift
	awk "$@" "BEGIN { printf \"%.3f\\n\", $e }"
}

bs_load() {
	# shellcheck source=/dev/null
	source "$ROOT/loader.sh" || fail "cannot load bashsock"
}

waitlisten() {
	"$PEER" waitlisten "$1" "${2:-10000}" || fail "nothing listens on $1"
}

# --- bulk receive: MiB/s -------------------------------------------------

# bulk_bs PORT BYTES: a -1 binding drained by `read -w ID >/dev/null` until
# the stream has ended (status 3).
bulk_bs() {
	local port=$1 bytes=$2 hp t0 t1 rc sp
	bs_load
	bind-input -1 -v hp bulk "$port" || fail "bind-input"
	t0=$EPOCHREALTIME
	"$PEER" send 127.0.0.1 "$port" "$bytes" 1024 &
	sp=$!
	{
		while :; do
			read -w 10 bulk
			rc=$?
			((rc == 0)) || break
		done
	} >/dev/null
	t1=$EPOCHREALTIME
	wait "$sp" || fail "sender failed"
	((rc == 3)) || fail "bulk read ended with status $rc"
	calc 'b / 1048576 / (u / 1e6)' -v b="$bytes" -v u="$(us "$t0" "$t1")"
}

# bulk_tool socat|nc|c PORT BYTES: that listener writing to /dev/null.
bulk_tool() {
	local kind=$1 port=$2 bytes=$3 lp t0 t1
	case $kind in
	socat) socat -u "TCP-LISTEN:$port,reuseaddr" STDOUT >/dev/null & ;;
	nc) nc -l "$port" </dev/null >/dev/null & ;;
	c) "$PEER" recv "$port" >/dev/null & ;;
	*) fail "bulk_tool: $kind?" ;;
	esac
	lp=$!
	waitlisten "$port"
	t0=$EPOCHREALTIME
	"$PEER" send 127.0.0.1 "$port" "$bytes" 1024 || fail "sender failed"
	wait "$lp" || fail "$kind failed"
	t1=$EPOCHREALTIME
	calc 'b / 1048576 / (u / 1e6)' -v b="$bytes" -v u="$(us "$t0" "$t1")"
}

# bulk_iperf3 PORT BYTES: iperf3's own receiver figure (the ceiling).
bulk_iperf3() {
	local port=$1 bytes=$2 lp out
	iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
	lp=$!
	waitlisten "$port"
	out=$(iperf3 -c 127.0.0.1 -p "$port" -n "$bytes" -J) ||
		fail "iperf3 client failed"
	wait "$lp"
	python3 -c '
import json, sys
r = json.loads(sys.stdin.read())["end"]["sum_received"]
print("%.3f" % (r["bytes"] / 1048576 / r["seconds"]))' <<<"$out"
}

# --- TLS: bulk receive (MiB/s) and round trip (us) ------------------------

# tls_cert DIR: a self-signed certificate for localhost and 127.0.0.1 in
# DIR/c.pem (chain and key in one file), made once per run.
tls_cert() {
	[ -s "$1/c.pem" ] && return 0
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$1/c.key" -out "$1/c.crt" -days 2 -subj /CN=localhost \
		-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' 2>/dev/null; then
		fail "openssl req"
	fi
	cat "$1/c.crt" "$1/c.key" >"$1/c.pem"
}

# The same TLS sender for every receiver: BYTES of zeros through socat's
# OPENSSL client (verification off: the receiver's speed is measured).
tls_send() {
	head -c "$2" /dev/zero |
		socat -u -b 65536 - "OPENSSL:127.0.0.1:$1,verify=0" ||
		fail "TLS sender failed"
}

# bulk_tls bashsock|socat|ncat PORT BYTES: that TLS receiver to /dev/null.
bulk_tls() {
	local kind=$1 port=$2 bytes=$3 hp lp t0 t1 rc
	tls_cert "$TMPD"
	case $kind in
	bashsock)
		bs_load
		bind-input -1 -T "$TMPD/c.pem" -v hp bulk "$port" || fail "bind-input -T"
		;;
	socat)
		socat -u "OPENSSL-LISTEN:$port,reuseaddr,cert=$TMPD/c.pem,verify=0" \
			STDOUT >/dev/null &
		lp=$!
		;;
	ncat)
		ncat --recv-only --ssl --ssl-cert "$TMPD/c.crt" --ssl-key "$TMPD/c.key" \
			-l 127.0.0.1 "$port" </dev/null >/dev/null &
		lp=$!
		;;
	*) fail "bulk_tls: $kind?" ;;
	esac
	waitlisten "$port"
	t0=$EPOCHREALTIME
	if [ "$kind" = bashsock ]; then
		tls_send "$port" "$bytes" &
		lp=$!
		while :; do
			read -w 10 bulk
			rc=$?
			((rc == 0)) || break
		done >/dev/null
		((rc == 3)) || fail "bulk read ended with status $rc"
		wait "$lp" || fail "sender failed"
	else
		tls_send "$port" "$bytes"
		wait "$lp" || fail "$kind failed"
	fi
	t1=$EPOCHREALTIME
	calc 'b / 1048576 / (u / 1e6)' -v b="$bytes" -v u="$(us "$t0" "$t1")"
}

# rtt_tls bashsock|socat|ncat PA PE N: this shell sends a line over TLS to
# an echo relay on PE, which sends it back over TLS to PA. bashsock:
# bind-output -T and bind-input -T; the anchors: the same relay driven by
# a socat (or ncat --ssl) client coprocess instead, read with bash's read.
rtt_tls() {
	local kind=$1 pa=$2 pe=$3 n=$4 hp ep i r t0 t1 fd
	tls_cert "$TMPD"
	if [ "$kind" != bashsock ]; then
		socat "OPENSSL-LISTEN:$pe,reuseaddr,cert=$TMPD/c.pem,verify=0" \
			SYSTEM:cat &
		ep=$!
		waitlisten "$pe"
		case $kind in
		socat) coproc TC { socat - "OPENSSL:127.0.0.1:$pe,verify=0"; } ;;
		ncat) coproc TC { ncat --ssl 127.0.0.1 "$pe"; } ;;
		esac
		for ((i = 0; i < n + 20; i++)); do
			((i == 20)) && t0=$EPOCHREALTIME
			printf '%s\n' "$MSG" >&"${TC[1]}"
			read -r -t 10 -u "${TC[0]}" r || fail "no echo"
		done
		t1=$EPOCHREALTIME
		eval "exec ${TC[1]}>&-"
		kill "$ep" 2>/dev/null
	else
		bs_load
		bind-input -T "$TMPD/c.pem" -v hp inA "$pa" || fail "bind-input -T"
		socat "OPENSSL-LISTEN:$pe,reuseaddr,cert=$TMPD/c.pem,verify=0" \
			"OPENSSL:127.0.0.1:$pa,verify=0" &
		ep=$!
		waitlisten "$pe"
		bind-output -T -k -v hp outA 127.0.0.1 "$pe" || fail "bind-output -T"
		for ((i = 0; i < n + 20; i++)); do
			((i == 20)) && t0=$EPOCHREALTIME
			write outA "$MSG"
			read -l -w 10 -v r inA || fail "no echo"
		done
		t1=$EPOCHREALTIME
		unbind outA
		wait "$ep"
		unbind inA
	fi
	[ "$r" = "$MSG" ] || fail "echo mangled: $r"
	calc 'u / n' -v u="$(us "$t0" "$t1")" -v n="$n"
}

# --- lines into a variable: klines/s -------------------------------------

lines_bs() {
	local port=$1 lines=$2 hp t0 t1 rc n=0 line sp
	bs_load
	bind-input -1 -v hp lines "$port" || fail "bind-input"
	t0=$EPOCHREALTIME
	"$PEER" send 127.0.0.1 "$port" $((lines * 32)) 32 &
	sp=$!
	while :; do
		read -l -w 10 -v line lines
		rc=$?
		((rc == 0)) || break
		((n++))
	done
	t1=$EPOCHREALTIME
	wait "$sp" || fail "sender failed"
	((rc == 3 && n == lines)) || fail "lines_bs: $n lines, status $rc"
	calc 'n / (u / 1e6) / 1000' -v n="$n" -v u="$(us "$t0" "$t1")"
}

# bash's read -r -u FD on a socket from bash's loadable accept.
lines_accept() {
	local port=$1 lines=$2 fd t0 t1 n=0 line sp
	enable -f "$ACCEPT_SO" accept || fail "no accept loadable"
	t0=$EPOCHREALTIME
	"$PEER" send 127.0.0.1 "$port" $((lines * 32)) 32 &
	sp=$!
	accept -v fd "$port" || fail "accept"
	while read -r -u "$fd" line; do
		((n++))
	done
	t1=$EPOCHREALTIME
	wait "$sp" || fail "sender failed"
	((n == lines)) || fail "lines_accept: $n lines"
	calc 'n / (u / 1e6) / 1000' -v n="$n" -v u="$(us "$t0" "$t1")"
}

# --- polling an empty buffer: ns per call, loop cost subtracted ----------

# poll_loop N BODY: ns per call of BODY's loop over N calls, less an empty
# loop's cost. Both run in 10 alternating blocks and the fastest block of
# each counts: a block that another process preempted does not.
poll_loop() {
	local n=$(($1 / 10)) body=$2 k i t0 t1 t2 e b me=-1 mb=-1
	for ((k = 0; k < 10; k++)); do
		t0=$EPOCHREALTIME
		for ((i = 0; i < n; i++)); do :; done
		t1=$EPOCHREALTIME
		"$body" "$n"
		t2=$EPOCHREALTIME
		e=$(us "$t0" "$t1")
		b=$(us "$t1" "$t2")
		((me < 0 || e < me)) && me=$e
		((mb < 0 || b < mb)) && mb=$b
	done
	calc '(b - e) * 1000 / n' -v b="$mb" -v e="$me" -v n="$n"
}

poll_bs_body() {
	local i x
	for ((i = 0; i < $1; i++)); do read -v x poll; done
}

poll_bs() {
	local port=$1 n=$2 hp
	bs_load
	bind-input -s 4k -v hp poll "$port" || fail "bind-input"
	poll_loop "$n" poll_bs_body
	unbind poll
}

poll_t0_body() {
	local i
	for ((i = 0; i < $1; i++)); do read -t 0 -u "$fd"; done
}

# read -t 0 -u FD on a connected socket that stays silent.
poll_t0() {
	local port=$1 n=$2 lp fd
	"$PEER" echo "$port" &
	lp=$!
	waitlisten "$port"
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	poll_loop "$n" poll_t0_body
	exec {fd}>&-
	wait "$lp"
}

# scale_read N: as poll_bs, on binding b0 of $BASHSOCK_NS, which a holder
# made with many others.
scale_read() {
	bs_load
	poll_loop "$1" scale_body
}

scale_body() {
	local i x
	for ((i = 0; i < $1; i++)); do read -v x b0; done
}

# --- plain read over a file: ns per line ----------------------------------

# plain_read plain|loaded -r|none FILE PASSES: ns per line of the fastest
# of PASSES passes over FILE.
plain_read() {
	local mode=$1 form=$2 file=$3 passes=$4 k t0 t1 u best=-1 n line
	[ "$mode" = loaded ] && bs_load
	for ((k = 0; k < passes; k++)); do
		if [ "$form" = -r ]; then
			t0=$EPOCHREALTIME
			while read -r line; do :; done <"$file"
			t1=$EPOCHREALTIME
		else
			t0=$EPOCHREALTIME
			while read line; do :; done <"$file"
			t1=$EPOCHREALTIME
		fi
		u=$(us "$t0" "$t1")
		((best < 0 || u < best)) && best=$u
	done
	n=$(wc -l <"$file")
	calc 'u * 1000 / n' -v u="$best" -v n="$n"
}

# --- instruction counts (callgrind): deterministic, load does not move them

# cg_ir ARGS -- CMD...: runs CMD under callgrind with ARGS; prints the
# instructions the main process executed (its forks write other files).
cg_ir() {
	local args=() pid f
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	valgrind --tool=callgrind "${args[@]}" --child-silent-after-fork=yes \
		--callgrind-out-file="$TMPD/cg.%p" "$@" >/dev/null 2>&1 &
	pid=$!
	wait "$pid" || fail "valgrind $*"
	f=$TMPD/cg.$pid
	awk '$1 == "summary:" { print $2 }' "$f"
	rm -f "$TMPD"/cg.*
}

# ir_plain plain|loaded -r|none FILE: instructions per line of the loop,
# from the difference between two passes over FILE and one.
ir_plain() {
	local mode=$1 form=$2 file=$3 one two n pre
	local loop='while read -r line; do :; done <"$2"'
	[ "$form" = -r ] || loop='while read line; do :; done <"$2"'
	# Both sides run the loop as the second command of a list: inside a
	# list bash saves its fifo list under an unwind frame for every
	# command (~200 Ir a line), which a lone loop does not.
	loop=': "$3" || exit 1; '$loop
	# The loader is sourced once, before the passes: sourced in each
	# pass, the second pass's sourcing (parsing loader.sh and defining its
	# functions again, ~3.2M Ir) was divided by the file's lines and
	# counted as ~650 Ir a line, a cost no line of the loop has.
	pre=': "$3" || exit 1'
	[ "$mode" = loaded ] && pre='source "$3/loader.sh" || exit 1'
	one=$(cg_ir -- bash -c "$pre; for ((k = 0; k < \$1; k++)); do $loop; done" \
		_ 1 "$file" "$ROOT") || exit 1
	two=$(cg_ir -- bash -c "$pre; for ((k = 0; k < \$1; k++)); do $loop; done" \
		_ 2 "$file" "$ROOT") || exit 1
	n=$(wc -l <"$file")
	calc '(t - o) / n' -v t="$two" -v o="$one" -v n="$n"
}

# ir_scale N: instructions per `read -v x b0` inside bashsock's read, in
# the steady state: runs of N and 2N calls, difference over N (the first
# call's one-time directory scan of the namespace cancels out).
ir_scale() {
	local n=$1 one two
	local loop='source "$2/loader.sh" || exit 1
		for ((i = 0; i < $1; i++)); do read -v x b0; done; exit 0'
	one=$(cg_ir --toggle-collect=bs_read_builtin -- bash -c "$loop" _ "$n" \
		"$ROOT") || exit 1
	two=$(cg_ir --toggle-collect=bs_read_builtin -- bash -c "$loop" _ \
		$((2 * n)) "$ROOT") || exit 1
	calc '(t - o) / n' -v t="$two" -v o="$one" -v n="$n"
}

# holder NS COUNT PORTSFILE READYFILE: makes COUNT idle bindings b0.. in
# NS, touches READYFILE, then holds them (and reaps their helpers) until
# its standard input ends.
holder() {
	local ns=$1 count=$2 ports=$3 ready=$4 i=0 p hp
	export BASHSOCK_NS=$ns
	bs_load
	trap 'unbind -a; exit 1' TERM INT
	while ((i < count)) && read -r p; do
		bind-input -s 4k -v hp "b$i" "$p" >/dev/null || fail "bind b$i"
		((i++))
	done <"$ports"
	((i == count)) || fail "holder: only $i ports"
	: >"$ready"
	while read -r _; do :; done
	unbind -a
}

# --- write rate: klines/s of 32-byte lines ---------------------------------

write_bs() {
	local port=$1 n=$2 rp hp t0 t1 i got f=$TMPD/wr.$$
	"$PEER" recv "$port" >"$f" &
	rp=$!
	waitlisten "$port"
	bs_load
	bind-output -v hp wr 127.0.0.1 "$port" || fail "bind-output"
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do write wr "$MSG"; done
	unbind wr
	wait "$rp"
	t1=$EPOCHREALTIME
	got=$(<"$f")
	rm -f "$f"
	((got == n * 32)) || fail "write_bs: $got bytes arrived"
	calc 'n / (u / 1e6) / 1000' -v n="$n" -v u="$(us "$t0" "$t1")"
}

write_devtcp() {
	local port=$1 n=$2 rp fd t0 t1 i got f=$TMPD/wr.$$
	"$PEER" recv "$port" >"$f" &
	rp=$!
	waitlisten "$port"
	exec {fd}>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do printf '%s\n' "$MSG" >&"$fd"; done
	exec {fd}>&-
	wait "$rp"
	t1=$EPOCHREALTIME
	got=$(<"$f")
	rm -f "$f"
	((got == n * 32)) || fail "write_devtcp: $got bytes arrived"
	calc 'n / (u / 1e6) / 1000' -v n="$n" -v u="$(us "$t0" "$t1")"
}

# --- round trip of one short line: microseconds ---------------------------

# The far shell of rtt_bs2: a -1 input binding answers each line on the
# same connection (contract v2's conversations) until END.
rtt_bs_echo() {
	local pb=$1 hp l
	bs_load
	bind-input -1 -v hp inB "$pb" || fail "bind-input inB"
	while read -l -w 30 -v l inB; do
		[ "$l" = END ] && break
		write inB "$l"
	done
	unbind inB
}

# rtt_bs_loop N OUT IN: N times write OUT, wait for the line on IN.
rtt_bs_loop() {
	local n=$1 out=$2 in=$3 i r t0 t1
	for ((i = 0; i < 20; i++)); do
		write "$out" "$MSG"
		read -l -w 10 -v r "$in" || fail "no echo"
	done
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do
		write "$out" "$MSG"
		read -l -w 10 -v r "$in" || fail "no echo"
	done
	t1=$EPOCHREALTIME
	[ "$r" = "$MSG" ] || fail "echo mangled: $r"
	calc 'u / n' -v u="$(us "$t0" "$t1")" -v n="$n"
}

# Two shells, both on bashsock, one connection as with /dev/tcp: an output
# binding here writes and reads the far shell's answers.
rtt_bs2() {
	local pb=$1 n=$2 hp ep
	bs_load
	bash "${BASH_SOURCE[0]}" rtt_bs_echo "$pb" &
	ep=$!
	waitlisten "$pb"
	bind-output -v hp outA 127.0.0.1 "$pb" || fail "bind-output outA"
	rtt_bs_loop "$n" outA outA
	write outA END
	wait "$ep"
	unbind outA
}

# bashsock client, C echo server answering on a connection back to inA.
rtt_bs_c() {
	local pa=$1 pe=$2 n=$3 hp ep
	bs_load
	bind-input -v hp inA "$pa" || fail "bind-input inA"
	"$PEER" echo "$pe" "$pa" &
	ep=$!
	waitlisten "$pe"
	bind-output -v hp outA 127.0.0.1 "$pe" || fail "bind-output outA"
	rtt_bs_loop "$n" outA inA
	unbind outA
	wait "$ep"
	unbind inA
}

rtt_devtcp_loop() {
	local n=$1 i r t0 t1
	for ((i = 0; i < 20; i++)); do
		printf '%s\n' "$MSG" >&"$fd"
		read -r -u "$fd" r || fail "no echo"
	done
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do
		printf '%s\n' "$MSG" >&"$fd"
		read -r -u "$fd" r || fail "no echo"
	done
	t1=$EPOCHREALTIME
	[ "$r" = "$MSG" ] || fail "echo mangled: $r"
	calc 'u / n' -v u="$(us "$t0" "$t1")" -v n="$n"
}

# The far shell of rtt_devtcp2: bash's accept, echoing line by line.
rtt_accept_echo() {
	local port=$1 fd l
	enable -f "$ACCEPT_SO" accept || fail "no accept loadable"
	accept -v fd "$port" || fail "accept"
	while read -r -u "$fd" l; do printf '%s\n' "$l" >&"$fd"; done
}

# rtt_devtcp c|bash PORT N: bash /dev/tcp client against the C echo server
# or against a second bash running accept.
rtt_devtcp() {
	local kind=$1 port=$2 n=$3 ep fd
	if [ "$kind" = c ]; then
		"$PEER" echo "$port" &
	else
		bash "${BASH_SOURCE[0]}" rtt_accept_echo "$port" &
	fi
	ep=$!
	waitlisten "$port"
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	rtt_devtcp_loop "$n"
	exec {fd}>&-
	wait "$ep"
}

rtt_c() {
	local port=$1 n=$2 ep s
	"$PEER" echo "$port" &
	ep=$!
	waitlisten "$port"
	s=$("$PEER" rtt 127.0.0.1 "$port" "$n") || fail "rtt"
	wait "$ep"
	calc 's * 1e6 / n' -v s="$s" -v n="$n"
}

# --- request/response on one connection: microseconds a round trip -------

# conv_bs PORT N: one output binding to the C echo peer; N times
# `write ID line` then `read -l -w 10 -v reply ID` on the same binding (rtt_bs_loop).
conv_bs() {
	local port=$1 n=$2 ep hp
	bs_load
	"$PEER" echo "$port" &
	ep=$!
	waitlisten "$port"
	bind-output -v hp conv 127.0.0.1 "$port" || fail "bind-output"
	rtt_bs_loop "$n" conv conv
	unbind conv
	wait "$ep"
}

# conv_coproc socat|ncat PORT N: the same through a coprocess that holds
# the connection: printf to its stdin, read -u from its stdout.
conv_coproc() {
	local tool=$1 port=$2 n=$3 ep i r t0 t1 w
	"$PEER" echo "$port" &
	ep=$!
	waitlisten "$port"
	if [ "$tool" = socat ]; then
		coproc CP { exec socat - "TCP:127.0.0.1:$port"; }
	else
		coproc CP { exec ncat 127.0.0.1 "$port"; }
	fi
	for ((i = 0; i < 20; i++)); do
		printf '%s\n' "$MSG" >&"${CP[1]}"
		read -r -u "${CP[0]}" r || fail "no echo"
	done
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do
		printf '%s\n' "$MSG" >&"${CP[1]}"
		read -r -u "${CP[0]}" r || fail "no echo"
	done
	t1=$EPOCHREALTIME
	[ "$r" = "$MSG" ] || fail "echo mangled: $r"
	w=${CP[1]}
	exec {w}>&-
	wait "$ep"
	calc 'u / n' -v u="$(us "$t0" "$t1")" -v n="$n"
}

# --- trigger latency: ms from the send to the waiter's wake ---------------

# The waiters: each writes $EPOCHREALTIME to FILE when it wakes.
trig_wait_bs() {
	bs_load
	trigger-wait -t 30 "$1" "$2" || fail "trigger-wait: $?"
	echo "$EPOCHREALTIME" >"$3"
}

trig_wait_accept() {
	local key=$1 port=$2 fd k
	enable -f "$ACCEPT_SO" accept || fail "no accept loadable"
	while accept -v fd "$port"; do
		read -r -u "$fd" k
		exec {fd}<&-
		[ "$k" = "$key" ] && break
	done
	echo "$EPOCHREALTIME" >"$3"
}

# The seed's way: nc listens into a file, the loop looks every 0.5 s.
trig_wait_seed() {
	local key=$1 port=$2 k np
	nc -l "$port" </dev/null >"$3.in" &
	np=$!
	while :; do
		if [ -s "$3.in" ]; then
			read -r k <"$3.in"
			[ "$k" = "$key" ] && break
		fi
		sleep 0.5
	done
	echo "$EPOCHREALTIME" >"$3"
	kill "$np" 2>/dev/null
	wait "$np"
	rm -f "$3.in"
}

# The sender of a "bs-cold" sample: a fresh shell, loaded, that sends once;
# prints $EPOCHREALTIME taken just before the send.
trig_send_cold() {
	local t0
	bs_load
	t0=$EPOCHREALTIME
	trigger-send "$1" 127.0.0.1 "$2" || fail "trigger-send"
	echo "$t0"
}

# trig KIND PORT...: one sample per port. The send comes at a random point
# (0-0.5 s) after the waiter listens, as a real trigger would. KIND bs sends
# from a shell that has sent before (libcrypto initialised, as in a script
# that sends more than once); bs-cold from a fresh shell, paying libcrypto's
# first use; accept and seed from bash's /dev/tcp.
trig() {
	local kind=$1 key=k3y-$$ port wp t0 t1 fd f=$TMPD/trig.$$ wkind
	shift
	wkind=${kind%-cold}
	if [ "$kind" = bs ]; then
		bs_load
		# A send to a port nothing listens on: refused, libcrypto warm.
		trigger-send -t 1 "$key" 127.0.0.1 "$("$PEER" freeports 20000 1)" \
			2>/dev/null
	fi
	for port in "$@"; do
		bash "${BASH_SOURCE[0]}" "trig_wait_$wkind" "$key" "$port" "$f" &
		wp=$!
		waitlisten "$port"
		sleep "0.$(printf '%03d' $((RANDOM % 500)))"
		case $kind in
		bs)
			t0=$EPOCHREALTIME
			trigger-send "$key" 127.0.0.1 "$port" || fail "trigger-send"
			;;
		bs-cold)
			t0=$(bash "${BASH_SOURCE[0]}" trig_send_cold "$key" "$port") ||
				fail "trigger-send"
			;;
		*)
			t0=$EPOCHREALTIME
			exec {fd}>"/dev/tcp/127.0.0.1/$port" || fail "connect"
			printf '%s\n' "$key" >&"$fd"
			exec {fd}>&-
			;;
		esac
		wait "$wp" || fail "waiter failed"
		t1=$(<"$f")
		rm -f "$f"
		calc 'u / 1000' -v u="$(us "$t0" "$t1")"
	done
}

# --- bind-input + close: ms per cycle -------------------------------------

bindclose_bs() {
	local port=$1 n=$2 hp i t0 t1
	bs_load
	bind-input -v hp bc "$port" || fail "bind-input"
	unbind bc || fail "unbind"
	t0=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do
		bind-input -v hp bc "$port" || fail "bind-input"
		unbind bc || fail "unbind"
	done
	t1=$EPOCHREALTIME
	calc 'u / n / 1000' -v u="$(us "$t0" "$t1")" -v n="$n"
}

# A listener started, connected to once (so it exits), waited for.
bindclose_tool() {
	local kind=$1 port=$2 n=$3 s
	case $kind in
	socat) set -- socat -u "TCP-LISTEN:$port,reuseaddr" STDOUT ;;
	ncat) set -- ncat -l "$port" ;;
	*) fail "bindclose_tool: $kind?" ;;
	esac
	s=$("$PEER" cycle "$port" "$n" "$@") || fail "cycle $kind"
	calc 's * 1000' -v s="$s"
}

# --- idle memory: KiB ------------------------------------------------------

# mem_of PID [EXCLUDE]: "Private_Dirty Pss" of PID from smaps_rollup, less
# the mapping of file EXCLUDE (a binding's buffer).
mem_of() {
	local pid=$1 ex=${2:-}
	awk -v ex="$ex" '
		FILENAME ~ /rollup$/ {
			if ($1 == "Private_Dirty:") pd += $2
			if ($1 == "Pss:") pss += $2
			next
		}
		/^[0-9a-f]+-[0-9a-f]+ / { cur = ($6 == ex && ex != "") }
		cur && $1 == "Private_Dirty:" { pd -= $2 }
		cur && $1 == "Pss:" { pss -= $2 }
		END { print pd, pss }' "/proc/$pid/smaps_rollup" "/proc/$pid/smaps"
}

# mem_bs PORT: an idle binding made by this (short-lived) shell. Prints
# "PID BUFFERPATH PRIVATE PSS", the last two measured while this shell
# still lives; bench/run.sh measures again once it has exited.
mem_bs() {
	local port=$1 hp path
	bs_load
	bind-input -v hp idle "$port" || fail "bind-input"
	path=$(awk '$6 ~ "/" ENVIRON["BASHSOCK_NS"] "/idle$" { print $6; exit }' \
		"/proc/$hp/maps")
	[ -n "$path" ] || fail "no buffer mapping in /proc/$hp/maps"
	sleep 0.2
	echo "$hp $path $(mem_of "$hp" "$path")"
}

# mem_tool socat|ncat PORT: "PRIVATE PSS" of an idle listener.
mem_tool() {
	local kind=$1 port=$2 lp
	case $kind in
	socat) socat "TCP-LISTEN:$port,reuseaddr,fork" STDOUT >/dev/null & ;;
	ncat) ncat -lk "$port" >/dev/null & ;;
	*) fail "mem_tool: $kind?" ;;
	esac
	lp=$!
	waitlisten "$port"
	sleep 0.2
	mem_of "$lp"
	kill "$lp"
	wait "$lp" 2>/dev/null
	return 0
}

# --- pool: seconds from master start to the last line read ----------------

# pool_run PORT COUNT DDIR: a pool here, master with COUNT one-line daemons;
# each daemon's binding is read to its end.
pool_run() {
	local port=$1 count=$2 ddir=$3 key=pk$$ pf mp t0 t1 name dport dpid l
	local n=0 rc
	bs_load
	exec {pf}< <(pool -m $((count + 10)) "$key" "$port")
	waitlisten "$port"
	t0=$EPOCHREALTIME
	master "$key" 127.0.0.1 "$port" "$ddir" >/dev/null &
	mp=$!
	while ((n < count)) && read -r -u "$pf" name dport dpid; do
		read -l -w 30 -v l "$name" || fail "pool: no line from $name"
		((n++))
		while :; do
			read -w 30 "$name" >/dev/null
			rc=$?
			((rc == 0)) || break
		done
		((rc == 3)) || fail "pool: $name ended with $rc"
	done
	t1=$EPOCHREALTIME
	((n == count)) || fail "pool: $n of $count lines"
	wait "$mp" || fail "master failed"
	exec {pf}<&-
	calc 'u / 1e6' -v u="$(us "$t0" "$t1")"
}

[ $# -ge 1 ] || fail "usage: cases.sh NAME ARGS..."
"$@"
