#!/usr/bin/env bash
# run.sh: `make bench`. Measures bashsock against the tools a user would pick
# instead, in the same run, interleaved (A B C, then C B A, ...), BENCH_REPS
# rounds, and prints one table: min/median/max of every tool and the ratio
# of bashsock's median to each anchor's. Also writes
#   bench/results/latest.tsv   the table, machine-readable
#   bench/results/samples.tsv  every sample
#   bench/results/bench.svg    the chart (gnuplot)
#   bench/results/table.md     the table in Markdown
# and with BENCH_DOCS=1 copies the chart and table into docs/.
#
# Environment: BENCH_REPS (default 5; 2 with BENCH_QUICK=1), BENCH_QUICK=1
# (smaller sizes, about 2 minutes), BENCH_ONLY="case ..." (a subset),
# BENCH_PORT_BASE (default 40000), BENCH_DOCS=1.
# shellcheck disable=SC2317  # runners are called through interleave

set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RESULTS=$BENCH_DIR/results
PEER=$ROOT/build/bench/peer
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] && REPS=${BENCH_REPS:-2} || REPS=${BENCH_REPS:-5}
ONLY=${BENCH_ONLY:-}
RUN=$$
TOOL_TIMEOUT=180
LOG=$RESULTS/bench.log
SAMPLES=$RESULTS/samples.tsv
META=$RESULTS/meta.tsv
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bashsock-bench.XXXXXX")
BENCH_ACCEPT_SO=${BENCH_ACCEPT_SO:-/usr/lib/bash/accept}
export BENCH_ROOT=$ROOT BENCH_PEER=$PEER BENCH_TMP=$TMP BENCH_ACCEPT_SO

if [ "$QUICK" = 1 ]; then
	BULK_BYTES=$((64 << 20)) LINES=10000 POLL_N=20000 FILE_LINES=5000
	PASSES=3 WRITE_N=20000 RTT_N=200 TRIG_N=1 BC_N=5 POOL_N=20
else
	BULK_BYTES=$((256 << 20)) LINES=200000 POLL_N=100000 FILE_LINES=20000
	PASSES=5 WRITE_N=100000 RTT_N=1000 TRIG_N=3 BC_N=20 POOL_N=100
fi

log() { printf '%s\n' "$*" >&2; }

# --- dependencies and the peer -------------------------------------------

# command-or-path:debian-package
NEEDS=(cc:gcc openssl:openssl socat:socat nc:netcat-openbsd ncat:ncat iperf3:iperf3 zsh:zsh
	gnuplot:gnuplot-nox python3:python3 timeout:coreutils valgrind:valgrind
	/usr/lib/bash/accept:bash-builtins)

have() {
	case $1 in
	/*) [ -e "$1" ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

deps() {
	local n missing=()
	for n in "${NEEDS[@]}"; do
		have "${n%%:*}" || missing+=("${n#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "bench: missing (install as root): ${missing[*]}; their cases are skipped"
		return 0
	fi
	log "bench: installing ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
		! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null; then
		log "bench: apt-get failed; the cases that need them are skipped"
	fi
}

build_peer() {
	mkdir -p "${PEER%/*}"
	[ "$PEER" -nt "$BENCH_DIR/peer.c" ] && return 0
	cc -O2 -g -std=gnu11 -Wall -Wextra -o "$PEER" "$BENCH_DIR/peer.c"
}

# --- bookkeeping -----------------------------------------------------------

# defcase ID TITLE UNIT higher|lower SHORT (SHORT: its name in the chart)
defcase() { printf 'C\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$META"; }
# deftool ID TOOL B|A|R: B is bashsock, A an anchor, R the anchor every B
# row is divided by when a case has several of each.
deftool() { printf 'T\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$META"; }
# goal ID TOOL ratio|abs OP VALUE: checked on TOOL's row.
goal() { printf 'G\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$META"; }
# status ID TOOL TEXT: a row that has no numbers (not built, failed...).
status() { printf 'S\t%s\t%s\t%s\n' "$1" "$2" "$3" >>"$META"; }
sample() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$SAMPLES"; }

# take ID TOOL CMD...: runs CMD, every line it prints is a sample.
take() {
	local id=$1 tool=$2 out v
	shift 2
	if out=$("$@" 2>>"$LOG") && [ -n "$out" ]; then
		for v in $out; do sample "$id" "$tool" "$v"; done
		printf '%s ' "$(printf '%s' "$out" | head -1)" >&2
	else
		status "$id" "$tool" failed
		printf 'FAILED ' >&2
		log "bench: $id/$tool failed (see $LOG)"
	fi
}

# cases NAME ARGS...: one measured side, in a fresh bash and namespace
# (on the round's CPU, for the cases interleave pins).
cases() {
	BASHSOCK_NS=bench-$RUN-$BASHPID-$RANDOM "${PIN[@]}" timeout -k 5 \
		"$TOOL_TIMEOUT" bash "$BENCH_DIR/cases.sh" "$@"
}

# The two vCPUs of this kind of machine do not run at the same speed: the
# same `while read -r line` loop took 12.6-13.2 us a line on one and
# 9.2-9.9 us on the other, for seconds at a time, so a single-process loop
# timed by the wall clock measured the CPU it landed on. interleave runs
# every tool of these cases on one CPU per round, the next CPU the next
# round: each round compares like with like, and the rounds cover both.
PINNED_CASES=" poll plain plain1 scale "
NCPU=$(nproc 2>/dev/null || echo 1)
PIN=()
pin_round() {
	PIN=()
	[[ $PINNED_CASES == *" $1 "* ]] && ((NCPU > 1)) && have taskset &&
		PIN=(taskset -c $((($2 - 1) % NCPU)))
	return 0
}

# newport VAR: a port nothing is bound to, never the same one twice in a row.
newport() {
	local _next _p
	_next=$(cat "$RESULTS/.port" 2>/dev/null || echo "${BENCH_PORT_BASE:-40000}")
	((_next > 48000)) && _next=${BENCH_PORT_BASE:-40000}
	_p=$("$PEER" freeports "$_next" 1) || _p=$("$PEER" freeports 20000 1)
	echo $((_p + 1)) >"$RESULTS/.port"
	printf -v "$1" '%s' "$_p"
}

# interleave ID "TOOL|RUNNER ARGS" ...: REPS rounds, every tool once a
# round, the order reversed every other round. A runner records samples.
interleave() {
	local id=$1 r spec i t0=$EPOCHREALTIME
	local -a specs order
	shift
	specs=("$@")
	for ((r = 1; r <= REPS; r++)); do
		order=()
		for ((i = 0; i < ${#specs[@]}; i++)); do
			if ((r % 2)); then
				order+=("${specs[i]}")
			else
				order=("${specs[i]}" "${order[@]}")
			fi
		done
		pin_round "$id" "$r"
		printf '  %-10s round %d/%d%s: ' "$id" "$r" "$REPS" \
			"${PIN[*]:+ (${PIN[*]})}" >&2
		for spec in "${order[@]}"; do
			# shellcheck disable=SC2086  # runner and its words
			${spec#*|} "$id" "${spec%%|*}"
		done
		printf '\n' >&2
	done
	PIN=()
	printf '  %-10s %s s\n' "$id" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >&2
}

# needs ID TOOL CMD...: 0 when every CMD is installed, else a status row.
needs() {
	local id=$1 tool=$2 c
	shift 2
	for c in "$@"; do
		have "$c" && continue
		status "$id" "$tool" "not installed ($c)"
		printf -- '- ' >&2
		return 1
	done
}

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# built NAME...: every NAME is a builtin once loader.sh is sourced.
built() {
	local n
	for n in "$@"; do
		[[ " $BUILT " == *" $n "* ]] || return 1
	done
}

# notbuilt ID WHAT: the case's bashsock side does not exist yet.
notbuilt() {
	status "$1" bashsock "not built ($2)"
	log "  $1: not built ($2)"
}

# --- the cases ---------------------------------------------------------------

r_bulk() {
	local id=$1 tool=$2 p
	case $tool in
	socat | nc) needs "$id" "$tool" "$tool" || return ;;
	iperf3) needs "$id" "$tool" iperf3 python3 || return ;;
	esac
	newport p
	case $tool in
	bashsock) take "$id" "$tool" cases bulk_bs "$p" "$BULK_BYTES" ;;
	iperf3) take "$id" "$tool" cases bulk_iperf3 "$p" "$BULK_BYTES" ;;
	socat | nc) take "$id" "$tool" cases bulk_tool "$tool" "$p" "$BULK_BYTES" ;;
	"C receiver") take "$id" "$tool" cases bulk_tool c "$p" "$BULK_BYTES" ;;
	esac
}

case_bulk() {
	local id=bulk t
	defcase $id "bulk receive, $((BULK_BYTES >> 20)) MiB" MiB/s higher "bulk receive"
	for t in bashsock socat nc "C receiver" iperf3; do deftool $id "$t" "$([ "$t" = bashsock ] && echo B || echo A)"; done
	goal $id socat ratio '>=' 1.0
	interleave $id "bashsock|r_bulk" "socat|r_bulk" "nc|r_bulk" \
		"C receiver|r_bulk" "iperf3|r_bulk"
}

r_lines() {
	local id=$1 tool=$2 p
	case $tool in
	bash*) needs "$id" "$tool" "$BENCH_ACCEPT_SO" || return ;;
	zsh*) needs "$id" "$tool" zsh || return ;;
	esac
	newport p
	case $tool in
	"bashsock read -l -v") take "$id" "$tool" cases lines_bs "$p" "$LINES" ;;
	"bash accept + read -u") take "$id" "$tool" cases lines_accept "$p" "$LINES" ;;
	"zsh ztcp + read -u")
		take "$id" "$tool" timeout -k 5 "$TOOL_TIMEOUT" \
			zsh "$BENCH_DIR/cases.zsh" lines "$PEER" "$p" "$LINES"
		;;
	esac
}

case_lines() {
	local id=lines
	defcase $id "lines into a variable, $((LINES / 1000))k x 32 B" klines/s higher "lines into a variable"
	deftool $id "bashsock read -l -v" B
	deftool $id "bash accept + read -u" A
	deftool $id "zsh ztcp + read -u" A
	goal $id "bash accept + read -u" ratio '>=' 4
	interleave $id "bashsock read -l -v|r_lines" \
		"bash accept + read -u|r_lines" "zsh ztcp + read -u|r_lines"
}

r_poll() {
	local id=$1 tool=$2 p
	newport p
	case $tool in
	"bashsock read -v x ID") take "$id" "$tool" cases poll_bs "$p" "$POLL_N" ;;
	"bash read -t 0 -u FD") take "$id" "$tool" cases poll_t0 "$p" "$POLL_N" ;;
	esac
}

case_poll() {
	local id=poll
	defcase $id "poll an empty buffer, per call (best block)" ns lower "empty poll"
	deftool $id "bashsock read -v x ID" B
	deftool $id "bash read -t 0 -u FD" A
	goal $id "bash read -t 0 -u FD" ratio '<=' 0.6
	interleave $id "bashsock read -v x ID|r_poll" "bash read -t 0 -u FD|r_poll"
}

# Holders keep 1, 100 and 1000 idle bindings for the plain and scale cases.
HOLDERS=()
holders_start() {
	local n ns pid fd
	for n in 1 100 1000; do
		ns=bench-$RUN-s$n
		"$PEER" freeports 30000 "$n" >"$TMP/ports.$n" || return 1
		mkfifo "$TMP/hold.$n"
		bash "$BENCH_DIR/cases.sh" holder "$ns" "$n" "$TMP/ports.$n" \
			"$TMP/ready.$n" <"$TMP/hold.$n" 2>>"$LOG" &
		pid=$!
		exec {fd}>"$TMP/hold.$n"
		HOLDERS+=("$pid:$fd")
		# Up to 60 s for 1000 helpers.
		for ((i = 0; i < 600; i++)); do
			[ -e "$TMP/ready.$n" ] && break
			kill -0 "$pid" 2>/dev/null || return 1
			sleep 0.1
		done
		[ -e "$TMP/ready.$n" ] || return 1
	done
}

holders_stop() {
	local h fd
	for h in "${HOLDERS[@]}"; do
		fd=${h#*:}
		exec {fd}>&- 2>/dev/null
	done
	for h in "${HOLDERS[@]}"; do
		wait "${h%%:*}" 2>/dev/null
	done
	HOLDERS=()
}

r_plain() {
	local id=$1 tool=$2 form
	[ "$id" = plain ] && form=-r || form=none
	case $tool in
	"bash alone") take "$id" "$tool" cases plain_read plain $form "$TMP/file" "$PASSES" ;;
	"builtins, 0 bindings")
		take "$id" "$tool" cases plain_read loaded $form "$TMP/file" "$PASSES"
		;;
	"builtins, 1000 bindings")
		take "$id" "$tool" env BASHSOCK_NS=bench-$RUN-s1000 "${PIN[@]}" \
			timeout -k 5 "$TOOL_TIMEOUT" bash "$BENCH_DIR/cases.sh" \
			plain_read loaded $form "$TMP/file" "$PASSES"
		;;
	esac
}

case_plain() {
	local id=$1 what=$2
	defcase "$id" "plain \`while $what\`, best of $PASSES passes" ns/line lower "while $what"
	deftool "$id" "bash alone" A
	deftool "$id" "builtins, 0 bindings" B
	deftool "$id" "builtins, 1000 bindings" B
	# The goal is on `read -r line` (issue 6); `read line`, the form that
	# looks its word up as a binding, is shown alongside.
	if [ "$id" = plain ]; then
		goal "$id" "builtins, 0 bindings" ratio '<=' 1.03
		goal "$id" "builtins, 1000 bindings" ratio '<=' 1.03
	fi
	interleave "$id" "bash alone|r_plain" "builtins, 0 bindings|r_plain" \
		"builtins, 1000 bindings|r_plain"
}

r_scale() {
	local id=$1 tool=$2 n=${2%% *}
	take "$id" "$tool" env "BASHSOCK_NS=bench-$RUN-s$n" "${PIN[@]}" \
		timeout -k 5 "$TOOL_TIMEOUT" bash "$BENCH_DIR/cases.sh" \
		scale_read "$POLL_N"
}

case_scale() {
	local id=scale
	defcase $id "read -v x ID per call, by live bindings" ns lower "read cost"
	deftool $id "1 binding" A
	deftool $id "100 bindings" B
	deftool $id "1000 bindings" B
	goal $id "1000 bindings" ratio '<=' 1.1
	interleave $id "1 binding|r_scale" "100 bindings|r_scale" \
		"1000 bindings|r_scale"
}

# Instruction counts: the same on every run, so one round is enough.
r_ir() {
	local id=$1 tool=$2 n=${2%% *} mode=loaded form=-r ns=bench-$RUN-s1000
	needs "$id" "$tool" valgrind || return
	if [ "$id" = scale_ir ]; then
		take "$id" "$tool" env "BASHSOCK_NS=bench-$RUN-s$n" timeout -k 5 \
			"$TOOL_TIMEOUT" bash "$BENCH_DIR/cases.sh" ir_scale 2000
		return
	fi
	[ "$tool" = "bash alone" ] && mode=plain
	[ "$tool" = "builtins, 0 bindings" ] && ns=bench-$RUN-none
	take "$id" "$tool" env "BASHSOCK_NS=$ns" timeout -k 5 "$TOOL_TIMEOUT" \
		bash "$BENCH_DIR/cases.sh" ir_plain "$mode" $form "$TMP/file.ir"
}

case_ir() {
	local REPS=1
	defcase plain_ir "\`while read -r line\`, Ir per line" Ir lower "while read -r line (Ir)"
	deftool plain_ir "bash alone" A
	deftool plain_ir "builtins, 0 bindings" B
	deftool plain_ir "builtins, 1000 bindings" B
	goal plain_ir "builtins, 0 bindings" ratio '<=' 1.03
	goal plain_ir "builtins, 1000 bindings" ratio '<=' 1.03
	head -5000 "$TMP/file" >"$TMP/file.ir"
	interleave plain_ir "bash alone|r_ir" "builtins, 0 bindings|r_ir" \
		"builtins, 1000 bindings|r_ir"
	defcase scale_ir "read -v x ID, Ir per call in bashsock's read" Ir lower "read cost (Ir)"
	deftool scale_ir "1 binding" A
	deftool scale_ir "100 bindings" B
	deftool scale_ir "1000 bindings" B
	goal scale_ir "1000 bindings" ratio '<=' 1.1
	interleave scale_ir "1 binding|r_ir" "100 bindings|r_ir" "1000 bindings|r_ir"
}

r_write() {
	local id=$1 tool=$2 p
	newport p
	case $tool in
	"bashsock write ID") take "$id" "$tool" cases write_bs "$p" "$WRITE_N" ;;
	"printf >&FD, /dev/tcp") take "$id" "$tool" cases write_devtcp "$p" "$WRITE_N" ;;
	esac
}

case_write() {
	local id=write
	defcase $id "write rate, $((WRITE_N / 1000))k x 32 B" klines/s higher "write rate"
	deftool $id "bashsock write ID" B
	deftool $id "printf >&FD, /dev/tcp" A
	if ! built write bind-output; then
		notbuilt $id "write, bind-output"
		return
	fi
	interleave $id "bashsock write ID|r_write" "printf >&FD, /dev/tcp|r_write"
}

r_rtt() {
	local id=$1 tool=$2 p q
	[[ $tool == *accept* ]] && { needs "$id" "$tool" "$BENCH_ACCEPT_SO" || return; }
	newport p
	newport q
	case $tool in
	"bashsock, two shells") take "$id" "$tool" cases rtt_bs2 "$p" "$RTT_N" ;;
	"bashsock client, C echo") take "$id" "$tool" cases rtt_bs_c "$p" "$q" "$RTT_N" ;;
	"/dev/tcp, two shells (accept)") take "$id" "$tool" cases rtt_devtcp bash "$p" "$RTT_N" ;;
	"/dev/tcp client, C echo") take "$id" "$tool" cases rtt_devtcp c "$p" "$RTT_N" ;;
	"C client, C echo") take "$id" "$tool" cases rtt_c "$p" "$RTT_N" ;;
	esac
}

r_tls() {
	local id=$1 tool=$2 p q
	needs "$id" "$tool" socat openssl || return
	[ "$tool" = ncat ] && { needs "$id" "$tool" ncat || return; }
	newport p
	newport q
	case $id in
	bulk_tls) take "$id" "$tool" cases bulk_tls "$tool" "$p" "$BULK_BYTES" ;;
	rtt_tls) take "$id" "$tool" cases rtt_tls "$tool" "$p" "$q" "$RTT_N" ;;
	esac
}

# TLS: bind-input -T against socat OPENSSL-LISTEN and ncat --ssl (the same
# socat OPENSSL sender for all three); the round trip through a socat TLS
# echo relay, driven by bashsock's -T bindings or by a TLS client
# coprocess.
case_tls() {
	local id t
	defcase bulk_tls "bulk receive over TLS, $((BULK_BYTES >> 20)) MiB" MiB/s higher "TLS bulk receive"
	defcase rtt_tls "round trip of one 32 B line over TLS" us lower "TLS round trip"
	for id in bulk_tls rtt_tls; do
		for t in bashsock socat ncat; do
			deftool $id "$t" "$([ "$t" = bashsock ] && echo B || echo A)"
		done
		if [ ! -x "$ROOT/bashsock-helper-tls" ]; then
			notbuilt $id "bashsock-helper-tls"
			continue
		fi
		interleave $id "bashsock|r_tls" "socat|r_tls" "ncat|r_tls"
	done
}

case_rtt() {
	local id=rtt
	defcase $id "round trip of one 32 B line" us lower "round trip"
	deftool $id "bashsock, two shells" B
	deftool $id "/dev/tcp, two shells (accept)" A
	deftool $id "/dev/tcp client, C echo" A
	deftool $id "C client, C echo" A
	if ! built write bind-output; then
		notbuilt $id "write, bind-output"
		return
	fi
	goal $id "/dev/tcp, two shells (accept)" ratio '<=' 1.0
	interleave $id "bashsock, two shells|r_rtt" \
		"/dev/tcp, two shells (accept)|r_rtt" "/dev/tcp client, C echo|r_rtt" \
		"C client, C echo|r_rtt"
}

r_conv() {
	local id=$1 tool=$2 p
	case $tool in
	zsh*) needs "$id" "$tool" zsh || return ;;
	socat*) needs "$id" "$tool" socat || return ;;
	ncat*) needs "$id" "$tool" ncat || return ;;
	esac
	newport p
	case $tool in
	"bashsock write + read -l") take "$id" "$tool" cases conv_bs "$p" "$RTT_N" ;;
	"/dev/tcp + read -u") take "$id" "$tool" cases rtt_devtcp c "$p" "$RTT_N" ;;
	"zsh ztcp + read -u")
		take "$id" "$tool" timeout -k 5 "$TOOL_TIMEOUT" \
			zsh "$BENCH_DIR/cases.zsh" conv "$PEER" "$p" "$RTT_N"
		;;
	"socat coproc") take "$id" "$tool" cases conv_coproc socat "$p" "$RTT_N" ;;
	"ncat coproc") take "$id" "$tool" cases conv_coproc ncat "$p" "$RTT_N" ;;
	esac
}

# Request/response on one connection: an output binding that reads its
# peer's answers (contract v2's conversations) against the shell's other
# ways to hold a two-way connection. The peer is the C echo.
case_conv() {
	local id=conv
	defcase $id "request/response, one connection, 32 B line" us lower "request/response"
	deftool $id "bashsock write + read -l" B
	deftool $id "/dev/tcp + read -u" A
	deftool $id "zsh ztcp + read -u" A
	deftool $id "socat coproc" A
	deftool $id "ncat coproc" A
	if ! built write read bind-output; then
		notbuilt $id "write, read, bind-output"
		return
	fi
	goal $id "/dev/tcp + read -u" ratio '<=' 1.0
	goal $id "zsh ztcp + read -u" ratio '<=' 1.0
	interleave $id "bashsock write + read -l|r_conv" "/dev/tcp + read -u|r_conv" \
		"zsh ztcp + read -u|r_conv" "socat coproc|r_conv" "ncat coproc|r_conv"
}

r_trig() {
	local id=$1 tool=$2 kind ports=() p i
	case $tool in
	"bashsock trigger") kind=bs ;;
	"bashsock trigger, first send of a shell") kind=bs-cold ;;
	"bash accept trigger") kind=accept && { needs "$id" "$tool" "$BENCH_ACCEPT_SO" || return; } ;;
	"seed: nc + 0.5 s poll") kind=seed && { needs "$id" "$tool" nc || return; } ;;
	esac
	for ((i = 0; i < TRIG_N; i++)); do
		newport p
		ports+=("$p")
	done
	take "$id" "$tool" cases trig "$kind" "${ports[@]}"
}

case_trig() {
	local id=trigger
	defcase $id "trigger latency, send to wake" ms lower "trigger wake"
	deftool $id "bashsock trigger" B
	deftool $id "bashsock trigger, first send of a shell" B
	deftool $id "bash accept trigger" R
	deftool $id "seed: nc + 0.5 s poll" A
	goal $id "bashsock trigger" ratio '<=' 1.0
	if ! built trigger-wait trigger-send; then
		notbuilt $id "trigger-wait, trigger-send"
		return
	fi
	interleave $id "bashsock trigger|r_trig" \
		"bashsock trigger, first send of a shell|r_trig" \
		"bash accept trigger|r_trig" \
		"seed: nc + 0.5 s poll|r_trig"
}

r_bindclose() {
	local id=$1 tool=$2 p
	[ "$tool" != "bind-input + unbind" ] && { needs "$id" "$tool" "${tool%% *}" || return; }
	newport p
	case $tool in
	"bind-input + unbind") take "$id" "$tool" cases bindclose_bs "$p" "$BC_N" ;;
	"socat listener") take "$id" "$tool" cases bindclose_tool socat "$p" "$BC_N" ;;
	"ncat listener") take "$id" "$tool" cases bindclose_tool ncat "$p" "$BC_N" ;;
	esac
}

case_bindclose() {
	local id=bindclose
	defcase $id "listener start + close, per cycle" ms lower "listen + close"
	deftool $id "bind-input + unbind" B
	deftool $id "socat listener" A
	deftool $id "ncat listener" A
	interleave $id "bind-input + unbind|r_bindclose" \
		"socat listener|r_bindclose" "ncat listener|r_bindclose"
}

# One idle listener per call; the samples go to four cases at once (the
# anchors are exec'd programs: their figures do not depend on their parent).
r_mem() {
	local id=$1 tool=$2 p out hp path pd pss gpd gpss i
	newport p
	if [ "$tool" != bashsock ]; then
		needs mem_priv "$tool" "$tool" || return
		if out=$(cases mem_tool "$tool" "$p" 2>>"$LOG"); then
			read -r pd pss <<<"$out"
			sample mem_priv "$tool" "$pd"
			sample mem_priv_gone "$tool" "$pd"
			sample mem_pss "$tool" "$pss"
			sample mem_pss_gone "$tool" "$pss"
			printf '%s ' "$pd/$pss" >&2
		else
			status mem_priv "$tool" failed
		fi
		return
	fi
	if ! out=$(cases mem_bs "$p" 2>>"$LOG"); then
		status mem_priv "$tool" failed
		return
	fi
	read -r hp path pd pss <<<"$out"
	sleep 0.3 # the shell that made it has exited
	read -r gpd gpss <<<"$(bash "$BENCH_DIR/cases.sh" mem_of "$hp" "$path")"
	sample mem_priv "$tool" "$pd"
	sample mem_pss "$tool" "$pss"
	sample mem_priv_gone "$tool" "$gpd"
	sample mem_pss_gone "$tool" "$gpss"
	printf '%s ' "$pd/$pss $gpd/$gpss" >&2
	kill -TERM "$hp"
	for ((i = 0; i < 100; i++)); do
		if [ ! -e "/proc/$hp" ] || grep -q '^State:.*Z' "/proc/$hp/status" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
}

case_mem() {
	local id t
	defcase mem_priv "idle Private_Dirty, shell alive" KiB lower "private, shell alive"
	defcase mem_priv_gone "idle Private_Dirty, shell exited" KiB lower "private, shell exited"
	defcase mem_pss "idle Pss, shell alive" KiB lower "Pss, shell alive"
	defcase mem_pss_gone "idle Pss, shell exited" KiB lower "Pss, shell exited"
	for id in mem_priv mem_priv_gone mem_pss mem_pss_gone; do
		for t in bashsock socat ncat; do
			deftool $id $t "$([ $t = bashsock ] && echo B || echo A)"
		done
	done
	goal mem_priv bashsock abs '<=' 1024
	goal mem_priv_gone bashsock abs '<=' 1024
	interleave mem "bashsock|r_mem" "socat|r_mem" "ncat|r_mem"
}

r_pool() {
	local id=$1 tool=$2 p
	newport p
	take "$id" "$tool" cases pool_run "$p" "$POOL_N" "$TMP/daemons"
}

case_pool() {
	local id=pool i
	defcase $id "pool of $POOL_N daemons, start to last line" s lower "pool"
	deftool $id bashsock B
	if ! built pool master; then
		notbuilt $id "pool, master"
		return
	fi
	mkdir -p "$TMP/daemons"
	for ((i = 0; i < POOL_N; i++)); do
		printf '#!/bin/sh\necho "daemon %03d says hello"\n' "$i" \
			>"$TMP/daemons/d$(printf %03d "$i")"
		chmod +x "$TMP/daemons/d$(printf %03d "$i")"
	done
	interleave $id "bashsock|r_pool"
}

# --- report ----------------------------------------------------------------

# Stats, ratios and goals: latest.tsv from meta.tsv and samples.tsv.
summarise() {
	awk -F'\t' -v OFS='\t' '
	function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	function sortn(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	FNR == 1 { file++ }
	file == 1 && $1 == "C" { nc++; cid[nc] = $2; title[$2] = $3; unit[$2] = $4; better[$2] = $5; short[$2] = $6; next }
	file == 1 && $1 == "T" { k = $2; nt[k]++; tool[k, nt[k]] = $3
		if ($4 == "R") { refto[k] = $3; $4 = "A" }
		role[k, $3] = $4
		if ($4 == "B") nb[k]++; else na[k]++; next }
	file == 1 && $1 == "G" { gkind[$2, $3] = $4; gop[$2, $3] = $5; gval[$2, $3] = $6; next }
	file == 1 && $1 == "S" { st[$2, $3] = $4; next }
	file == 2 { k = $1 SUBSEP $2; cnt[k]++; v[k, cnt[k]] = $3 + 0; next }
	END {
		print "case", "title", "tool", "role", "unit", "better", "n", "min",
		    "median", "max", "ratio", "goal", "met", "status", "short"
		for (c = 1; c <= nc; c++) {
			id = cid[c]
			for (t = 1; t <= nt[id]; t++) {
				tl = tool[id, t]; k = id SUBSEP tl; n = cnt[k]
				if (n > 0) {
					delete a
					for (i = 1; i <= n; i++) a[i] = v[k, i]
					sortn(a, n)
					mn[k] = a[1]; md[k] = med(a, n); mx[k] = a[n]
				}
			}
			# the anchor (one A) or the subject (one B) of the ratios
			ref = ""; subj = ""
			for (t = 1; t <= nt[id]; t++) {
				tl = tool[id, t]
				if (role[id, tl] == "A" && (na[id] == 1 || refto[id] == tl)) ref = tl
				if (role[id, tl] == "B" && nb[id] == 1 && !(id in refto)) subj = tl
			}
			for (t = 1; t <= nt[id]; t++) {
				tl = tool[id, t]; k = id SUBSEP tl; n = cnt[k] + 0
				r = ""
				if (subj != "") {
					if (role[id, tl] == "A" && n && cnt[id, subj] && md[k] > 0)
						r = md[id, subj] / md[k]
				} else if (ref != "" && role[id, tl] == "B" && n && md[id, ref] > 0)
					r = md[k] / md[id, ref]
				g = ""; met = ""
				if ((id, tl) in gop) {
					g = (gkind[id, tl] == "abs" ? "median " : "ratio ") gop[id, tl] " " gval[id, tl]
					x = gkind[id, tl] == "abs" ? (n ? md[k] : "") : r
					if (x == "") met = "-"
					else if (gop[id, tl] == ">=") met = (x + 0 >= gval[id, tl] + 0) ? "yes" : "NO"
					else met = (x + 0 <= gval[id, tl] + 0) ? "yes" : "NO"
				}
				s = ((id, tl) in st) ? st[id, tl] : (n ? "ok" : "no data")
				# role R: the anchor the ratios are taken against
				# where a case has several
				rl = refto[id] == tl ? "R" : role[id, tl]
				if (n) print id, title[id], tl, rl, unit[id], better[id], n,
				    mn[k], md[k], mx[k], (r == "" ? "" : sprintf("%.3f", r)), g, met, s, short[id]
				else print id, title[id], tl, rl, unit[id], better[id], 0,
				    "", "", "", "", g, met, s, short[id]
			}
		}
	}' "$META" "$SAMPLES" >"$RESULTS/latest.tsv"
}

fmt() { [ -z "$1" ] && printf -- - || printf '%.4g' "$1"; }

# The table, as text (stdout) and as Markdown (table.md).
report() {
	local c title tool unit n mn md mx r g met st last='' ratio
	{
		printf '| case | tool | n | min | median | max | unit | bashsock ÷ anchor | goal |\n'
		printf '|---|---|--:|--:|--:|--:|---|--:|---|\n'
	} >"$RESULTS/table.md"
	printf '\n%-44s %-30s %3s %9s %9s %9s %-9s %8s  %s\n' case tool n min median max unit ratio goal
	# (tabs are IFS whitespace: empty fields would merge; use \037)
	while IFS=$'\037' read -r c title tool _ unit _ n mn md mx r g met st _; do
		[ "$c" = case ] && continue
		ratio=${r:+$(printf '%.3g×' "$r")}
		if [ "$st" != ok ] && [ "$n" = 0 ]; then
			printf '%-44s %-30s %3s %s\n' "$([ "$c" != "$last" ] && printf '%s' "${title:0:44}")" \
				"${tool:0:30}" - "$st"
			printf '| %s | %s | | | %s | | | | |\n' "$([ "$c" != "$last" ] && printf '%s' "$title")" \
				"$tool" "$st" >>"$RESULTS/table.md"
		else
			printf '%-44s %-30s %3s %9s %9s %9s %-9s %8s  %s\n' \
				"$([ "$c" != "$last" ] && printf '%s' "${title:0:44}")" "${tool:0:30}" "$n" \
				"$(fmt "$mn")" "$(fmt "$md")" "$(fmt "$mx")" "$unit" "${ratio:--}" \
				"${g:+$g: $met}"
			printf '| %s | %s | %s | %s | **%s** | %s | %s | %s | %s |\n' \
				"$([ "$c" != "$last" ] && printf '%s' "$title")" "$tool" "$n" \
				"$(fmt "$mn")" "$(fmt "$md")" "$(fmt "$mx")" "$unit" "${ratio}" \
				"${g:+${g//>=/≥}: $met}" | sed 's/<=/≤/' >>"$RESULTS/table.md"
		fi
		last=$c
	done < <(tr '\t' '\037' <"$RESULTS/latest.tsv")
	printf '\nunit per case: %s\n' "higher is better for MiB/s and klines/s; lower for the rest"
	printf 'ratio: bashsock median ÷ anchor median, on the row that is not bashsock (one bashsock row)\n'
	printf '       or on the bashsock row (one anchor); goal rows name the ratio or median checked\n'
}

# The chart: how many times better bashsock is than each anchor (log scale).
chart() {
	command -v gnuplot >/dev/null || {
		log "bench: no gnuplot, no chart"
		return 0
	}
	awk -F'\t' -v OFS='\t' '
	NR == FNR { if ($4 == "R") anchor[$1] = $3
		else if ($4 == "A" && !($1 in anchor)) anchor[$1] = $3; next }
	FNR > 1 && $11 != "" {
		adv = $6 == "higher" ? $11 : 1 / $11
		if ($4 == "A" || $4 == "R") label = $15 ": vs " $3
		else label = $15 ": " $3 " vs " anchor[$1]
		print label, adv
	}' "$RESULTS/latest.tsv" "$RESULTS/latest.tsv" | tac >"$RESULTS/chart.dat"
	[ -s "$RESULTS/chart.dat" ] || return 0
	gnuplot -e "datafile='$RESULTS/chart.dat'; outfile='$RESULTS/bench.svg'; subtitle='$MACHINE'" \
		"$BENCH_DIR/plot.gp" 2>>"$LOG" || log "bench: gnuplot failed (see $LOG)"
}

# Copies the results into docs/ (BENCH_DOCS=1).
to_docs() {
	local md=$ROOT/docs/bench.md
	[ -e "$RESULTS/bench.svg" ] && cp "$RESULTS/bench.svg" "$ROOT/docs/bench.svg"
	[ -e "$md" ] || return 0
	# The goals, one line each, from latest.tsv.
	awk -F'\t' 'NR > 1 && $12 != "" {
		v = ($12 ~ /^median/) ? $9 : $11
		printf "- %s, %s: %s %s (goal %s): **%s**\n", $2, $3,
		    ($12 ~ /^median/) ? "median" : "ratio", (v == "" ? "-" : sprintf("%.3g", v)),
		    $12, $13 == "yes" ? "met" : ($13 == "NO" ? "missed" : "no data")
	}' "$RESULTS/latest.tsv" | sed 's/>=/≥/; s/<=/≤/' >"$RESULTS/goals.md"
	awk -v tbl="$RESULTS/goals.md" '
		/<!-- bench:goals:begin -->/ { print; while ((getline l < tbl) > 0) print l; skip = 1; next }
		/<!-- bench:goals:end -->/ { skip = 0 }
		!skip' "$md" >"$md.new" && mv "$md.new" "$md"
	awk -v tbl="$RESULTS/table.md" -v machine="$MACHINE" '
		/<!-- bench:table:begin -->/ { print; print ""; print "Machine: " machine; print ""
			while ((getline l < tbl) > 0) print l; print ""; skip = 1; next }
		/<!-- bench:table:end -->/ { skip = 0 }
		!skip' "$md" >"$md.new" && mv "$md.new" "$md"
}

cleanup() {
	local ns
	holders_stop
	# Whatever a killed case left behind in this run's namespaces.
	for ns in $(bash -c 'source "$1/loader.sh" && bindings -a' _ "$ROOT" 2>/dev/null |
		awk -v p="bench-$RUN-" 'index($1, p) == 1 { print $1 }' | sort -u); do
		BASHSOCK_NS=$ns bash -c 'source "$1/loader.sh" && unbind -a' _ "$ROOT" 2>/dev/null
	done
	for d in "${XDG_RUNTIME_DIR:-/nonexistent}/bashsock" "/dev/shm/bashsock-$(id -u)"; do
		[ -d "$d" ] && rm -rf "$d"/bench-"$RUN"-*
	done
	rm -rf "$TMP"
}

machine() {
	MACHINE="$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(uname -r), bash $BASH_VERSION"
}

# --report: the table and chart again from the last run's files.
report_only() {
	machine
	summarise
	report | tee "$RESULTS/table.txt"
	chart
	[ "${BENCH_DOCS:-0}" = 1 ] && to_docs
	rm -rf "$TMP"
}

main() {
	local started=$EPOCHREALTIME
	if [ "${1:-}" = --report ]; then
		report_only
		return
	fi
	mkdir -p "$RESULTS"
	: >"$LOG"
	: >"$SAMPLES"
	: >"$META"
	deps
	build_peer || {
		log "bench: cannot build the peer"
		exit 1
	}
	trap 'cleanup; exit 130' INT TERM
	BUILT=$(bash -c 'source "$1/loader.sh" >/dev/null 2>&1 || exit 1
		for n in bind-input bind-output write read trigger-wait trigger-send pool master unbind; do
			[ "$(type -t "$n")" = builtin ] && printf "%s " "$n"
		done' _ "$ROOT") || {
		log "bench: cannot load bashsock (make first)"
		exit 1
	}
	machine
	log "bench: $MACHINE; $REPS rounds$([ "$QUICK" = 1 ] && echo ', quick'); built: $BUILT"
	awk -v n="$FILE_LINES" 'BEGIN { for (i = 0; i < n; i++) printf "line %07d of a file read by plain bash\n", i }' >"$TMP/file"

	want bulk && case_bulk
	want lines && case_lines
	want poll && case_poll
	if want plain || want scale || want ir; then
		log "  setting up 1, 100 and 1000 idle bindings"
		if holders_start; then
			want plain && case_plain plain 'read -r line'
			want plain && case_plain plain1 'read line'
			want scale && case_scale
			want ir && case_ir
		else
			log "bench: could not set up the idle bindings (see $LOG)"
			status plain "builtins, 1000 bindings" "failed (setup)"
			status scale "1000 bindings" "failed (setup)"
		fi
		holders_stop
	fi
	want write && case_write
	want rtt && case_rtt
	want tls && case_tls
	want conv && case_conv
	want trigger && case_trig
	want bindclose && case_bindclose
	want mem && case_mem
	want pool && case_pool

	summarise
	report | tee "$RESULTS/table.txt"
	chart
	[ "${BENCH_DOCS:-0}" = 1 ] && to_docs
	cleanup
	printf '\n%s; %d rounds; %s s. Files: %s/{latest.tsv,samples.tsv,bench.svg,table.md}\n' \
		"$MACHINE" "$REPS" "$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')" \
		"${RESULTS#"$ROOT"/}"
}

main "$@"
