#!/usr/bin/env bats
# integrity: nothing lost, nothing stuck. Seeded random streams (binary
# with NULs, text, no newline at all, lines longer than the buffer) in
# random chunks through -1 and shared input bindings, read at random
# sizes and pace and compared by sha256 or line by line; output bindings
# whose peer is SIGKILLed and restarted, or half-closes; an input helper
# out of descriptors must not spin. Every wait is bounded. The generator,
# sink and checkers are tests/helpers/streamgen.py (bigger runs:
# stress.bats).

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive
load helpers/integrity

setup() {
	bs_setup
	export LC_ALL=C
	TMP=$BATS_TEST_TMPDIR
}

teardown() {
	# A helper that spins and ignores SIGTERM (the bug the descriptor
	# tests catch) must not outlive its test.
	if [ -n "${INT_HELPER:-}" ] && ! bs_pid_gone "$INT_HELPER"; then
		kill -TERM "$INT_HELPER"
		bs_wait_gone "$INT_HELPER" 50 || kill -KILL "$INT_HELPER"
	fi
	bs_teardown
}

# --- -1 bindings: byte-exact, whatever the content -------------------------

@test "-1, 4k buffer: 1 MB of random binary (NULs, newlines) arrives byte-exact" {
	int_one 4k binary 1000000 11
}

@test "-1, 64k buffer: 1 MB of text lines arrives byte-exact" {
	int_one 64k text 1000000 12
}

@test "-1, 64k buffer: 2 MB without a newline arrives byte-exact, never stuck" {
	int_one 64k nonl 2000000 13
}

@test "-1, 4k buffer: 600 KB without a newline arrives byte-exact, never stuck" {
	int_one 4k nonl 600000 14
}

@test "-1, 1M buffer, full before anyone reads: 4 MB of lines longer than the buffer arrive byte-exact" {
	int_one 1M long 4000000 15 full
}

# --- shared bindings: every client's lines whole, none mixed ---------------

@test "shared, 4k buffer: 6 clients' lines cut in random chunks arrive whole, unmixed" {
	int_shared 4k 21 6 1500
}

@test "shared, 64k buffer: a 200 KB line among 4 clients' lines passes through whole, and the others follow" {
	INT_LONG=200000 int_shared 64k 22 4 1500
}

@test "shared, 64k buffer: a client stalled mid-line (50 KB, past the stash) gives the stream up after 2 s" {
	INT_STALL=50000 int_shared 64k 23 4 1500
}

@test "shared, 64k buffer: a long line that pauses 0.5 s mid-way (less than 2 s) while others wait arrives whole" {
	INT_LONG=100000 INT_LONGPAUSE=0.5 int_shared 64k 25 4 500
}

@test "shared, default 1M: a 200 KiB line that does not fit, then 2.3 MB of short lines, and later clients are served" {
	# About 900 KB of short lines, then the long line: the buffer fills
	# in the middle of it while nobody reads.
	INT_LONG=204800 INT_LONGAT=5300 INT_LONGCOUNT=14000 INT_LATE=1040000 \
		int_shared 1M 24 3 1000
}

# --- bind-output: every line not acknowledged is sent again, whole ---------

@test "bind-output -r: 200,000 lines, the sink SIGKILLed mid-stream and restarted: every line arrives, none cut or joined" {
	int_output_kill 200000 31
}

@test "bind-output -r: lines written right after the peer died arrive on the next connection (5 times)" {
	int_output_rounds 5
}

@test "bind-output: after the peer's half-close (SHUT_WR) writes go on and every line arrives" {
	local port sink pid n
	port=$(bs_free_port)
	int_sink "$port" "$TMP/got" --halfclose
	sink=$INT_SINK
	bind-output -v pid o 127.0.0.1 "$port"
	# The peer's FIN has reached the helper's socket.
	bs_wait_for 500 int_close_wait "$port" || fail "no half-close seen"
	# Writes spread over more than a second: the helper looks at its peer
	# every 100 ms, and must not take the half-close for the end.
	: >"$TMP/want"
	for ((n = 1; n <= 150; n++)); do
		write o "$(int_numbered "$n")" || fail "write $n after the half-close: exit $?"
		int_numbered "$n" >>"$TMP/want"
		sleep 0.01
	done
	run -0 unbind o
	bs_pid_gone "$pid"
	bs_wait_gone "$sink" || fail "the peer never saw the end"
	cmp "$TMP/want" "$TMP/got" ||
		fail "$(wc -l <"$TMP/got") of 150 lines arrived"
}

# --- out of descriptors: no busy loop ---------------------------------------

@test "bind-input out of descriptors (ulimit -n 32, 100 clients): the helper does not spin, and serves again after" {
	local port crowd t0 t1 c0 c1 pct
	port=$(bs_free_port)
	int_emfile "$port"
	crowd=$INT_CROWD
	c0=$(int_cpu_ticks "$INT_HELPER")
	t0=$EPOCHREALTIME
	sleep 2 # the measured interval, not a synchronisation
	c1=$(int_cpu_ticks "$INT_HELPER")
	t1=$EPOCHREALTIME
	pct=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%d", 100 * c / hz / (b - a) }')
	echo "# helper CPU: $pct % over $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
	[ "$pct" -lt 20 ] || fail "the helper used $pct % of a core while out of descriptors"
	# The crowd goes; a new client is served.
	kill -TERM "$crowd"
	bs_wait_gone "$crowd"
	bs_wait_for 500 bs_is_field em 7 0 || fail "the crowd's connections never closed"
	printf 'after the crowd\n' | /usr/bin/python3 "$BS_PEER" send "$port"
	run -0 read -l -w 10 em
	assert_output "after the crowd"
}

@test "bind-input out of descriptors (ulimit -n 32, 100 clients): kill -TERM still closes it at once" {
	local port
	port=$(bs_free_port)
	int_emfile "$port"
	kill -TERM "$INT_HELPER"
	bs_wait_gone "$INT_HELPER" || fail "the helper still runs 5 s after SIGTERM, out of descriptors"
	bs_wait_for 250 bs_port_free "$port" || fail "port $port still listened on"
	[ -z "$(bindings)" ]
}
