#!/usr/bin/env bats
# bind-output: connecting (IPv4, IPv6, names), the seed's example against
# socat and nc, volume, closing by signal and unbind, a peer that closes,
# -r reconnecting, and every error status the contract names.

bats_require_minimum_version 1.5.0
load test_helper/common

setup() { bs_setup; }
teardown() { bs_teardown; }

# bats' `run -N` assigns a global `i`: loops here use other names.

# bo_sink PORT FILE [socat listen address]: a socat sink that writes the
# one connection it accepts to FILE; waits until it listens. BO_SINK: PID.
bo_sink() {
	bs_bg socat -u "${3:-TCP-LISTEN}:$1,reuseaddr" "OPEN:$2,creat,trunc" \
		</dev/null 3>&-
	BO_SINK=$BS_LAST
	bs_wait_for 250 bs_port_listening "$1"
}

# bo_field ID N: field N of ID's line in `bindings` (3 address, 4 port,
# 5 PID, 6 bytes buffered, 7 connection state).
bo_field() {
	bindings | awk -v id="$1" -v n="$2" '$1 == id { print $n }'
}

bo_is() {
	[ "$(bo_field "$1" "$2")" = "$3" ]
}

# True when the namespace lists no binding.
bo_none() {
	[ -z "$(bindings)" ]
}

bs_file_nonempty() {
	[ -s "$1" ]
}

# bo_wait_state ID STATE [TRIES]: waits until ID's connection is STATE.
bo_wait_state() {
	bs_wait_for "${3:-250}" bo_is "$1" 7 "$2"
}

# bo_close PID: closes a binding by signal (INT unless $2) and waits until
# its helper is gone and the sink has seen the end and exited.
bo_close() {
	kill "-${2:-INT}" "$1"
	bs_wait_gone "$1"
	bs_wait_gone "$BO_SINK"
}

# A listener whose accept queue is full (backlog 0, filled by its own
# connections that it never accepts): SYNs to it are dropped on Linux, so
# connecting times out. Creates $2 once the queue is full.
BO_FULL_PY='
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(0)
fill = []
for _ in range(8):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(c)
time.sleep(0.3)
open(ready, "w").close()
time.sleep(120)
'

# --- connecting ----------------------------------------------------------

@test "bind-output prints the helper's PID and bindings lists it connected" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	run -0 bind-output out1 127.0.0.1 "$port"
	pid=$output
	[[ $pid =~ ^[0-9]+$ ]]
	[ "$(cat "/proc/$pid/comm")" = bashsock-out ]
	run -0 bindings
	assert_output "out1 out 127.0.0.1 $port $pid 0 connected"
}

@test "bind-output -v VAR stores the PID in VAR and prints nothing" {
	local port pid=unset
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bind-output -v pid out1 127.0.0.1 "$port" >"$BATS_TEST_TMPDIR/stdout"
	[ ! -s "$BATS_TEST_TMPDIR/stdout" ]
	[[ $pid =~ ^[0-9]+$ ]]
	bo_is out1 5 "$pid"
}

@test "bind-output inside a command substitution returns at once" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	pid=$(timeout 5 bash --norc -c '. "$1" && p=$(bind-output o1 127.0.0.1 "$2") && echo "$p"' \
		bash "$BS_ROOT/loader.sh" "$port")
	[[ $pid =~ ^[0-9]+$ ]]
	bo_is o1 5 "$pid"
}

@test "bind-output connects to an IPv6 address and to a host name" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/v6" TCP6-LISTEN
	bind-output -v pid o6 ::1 "$port"
	bo_is o6 3 ::1
	write o6 over IPv6
	bo_close "$pid"
	[ "$(cat "$BATS_TEST_TMPDIR/v6")" = "over IPv6" ]

	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/name" TCP6-LISTEN
	bind-output -v pid oname localhost "$port"
	write oname by name
	bo_close "$pid"
	[ "$(cat "$BATS_TEST_TMPDIR/name")" = "by name" ]
}

# --- the seed's example ---------------------------------------------------

# bo_seed PORT: the seed's second example as written there, with the
# address, port and PID file of the test.
bo_seed() {
	cat >"$BATS_TEST_TMPDIR/seed.sh" <<EOF
. "$BS_ROOT/loader.sh" || exit 99
#/bin/bash
# 1. Create the connecting socket + store PID in /tmp
bind-output output1 127.0.0.1 $1 > $BATS_TEST_TMPDIR/get_bg_pid;
# 2. Store PID in a variable
bound_pid="\`cat $BATS_TEST_TMPDIR/get_bg_pid\`";
# 3. Wait for sending first message
sleep 2;
write output1 "some message\nwith\tescapable\e[1mcharaters\e[0m";
# 4. Wait for sending "END" message
sleep 1;
write output1 "END";
# 5. Kill 'bind-output' with signal SIGINT, SIGHUP or SIGTERM
kill -INT \$bound_pid;
EOF
	bash "$BATS_TEST_TMPDIR/seed.sh"
}

bo_seed_expected() {
	printf 'some message\nwith\tescapable\033[1mcharaters\033[0m\nEND\n'
}

@test "the seed's second example, as written, against a socat listener" {
	local port
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bo_seed "$port"
	bs_wait_gone "$BO_SINK"
	bo_seed_expected | cmp - "$BATS_TEST_TMPDIR/got"
	run -0 bindings
	assert_output ""
}

@test "the seed's second example, as written, against an nc listener" {
	local port
	port=$(bs_free_port)
	bs_bg nc -l "$port" >"$BATS_TEST_TMPDIR/got" </dev/null 3>&-
	BO_SINK=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
	bo_seed "$port"
	bs_wait_gone "$BO_SINK"
	bo_seed_expected | cmp - "$BATS_TEST_TMPDIR/got"
}

# --- volume ---------------------------------------------------------------

@test "20,000 writes then kill -TERM at once: all 20,000 lines arrive" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bind-output -v pid out1 127.0.0.1 "$port"
	# In a plain bash: bats' DEBUG trap would cost more than the writes.
	bash --norc -c '. "$1" || exit 99
		for ((n = 1; n <= 20000; n++)); do
			write out1 "line $n" || exit
		done' bash "$BS_ROOT/loader.sh"
	bo_close "$pid" TERM
	seq -f 'line %g' 1 20000 | cmp - "$BATS_TEST_TMPDIR/got"
}

@test "64 MiB of random bytes piped into write arrive byte-exact" {
	local port pid
	port=$(bs_free_port)
	head -c 64M /dev/urandom >"$BATS_TEST_TMPDIR/src"
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bind-output -v pid out1 127.0.0.1 "$port"
	cat "$BATS_TEST_TMPDIR/src" | write out1
	bo_close "$pid" TERM
	cmp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/got"
}

# --- closing --------------------------------------------------------------

@test "kill -INT, -HUP and -TERM each send what is queued and close cleanly" {
	local port pid sig
	for sig in INT HUP TERM; do
		port=$(bs_free_port)
		bo_sink "$port" "$BATS_TEST_TMPDIR/$sig"
		bind-output -v pid out1 127.0.0.1 "$port"
		write out1 "closed by $sig"
		bo_close "$pid" "$sig"
		[ "$(cat "$BATS_TEST_TMPDIR/$sig")" = "closed by $sig" ]
		run -0 bindings
		assert_output ""
		[ -z "$(ss -Htn state established "dport = :$port")" ]
	done
}

@test "unbind sends what is queued and returns once the binding is gone" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bind-output -v pid out1 127.0.0.1 "$port"
	head -c 300000 /dev/zero | tr '\0' x | write out1
	run -0 unbind out1
	bs_pid_gone "$pid"
	run -0 bindings
	assert_output ""
	bs_wait_gone "$BO_SINK"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/got")" -eq 300000 ]
}

@test "closing waits for a slow peer to take what is queued" {
	local port pid
	port=$(bs_free_port)
	bs_bg python3 "$BS_ROOT/tests/helpers/tcppeer.py" late "$port" \
		"$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/go" 3>&-
	BO_SINK=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
	bind-output -v pid out1 127.0.0.1 "$port"
	# Fits in the 1M buffer: queued at once, though the peer reads nothing.
	head -c 600000 /dev/urandom >"$BATS_TEST_TMPDIR/src"
	write out1 <"$BATS_TEST_TMPDIR/src"
	kill -TERM "$pid"
	# Closing started: the binding takes no more writes...
	bs_wait_for 250 bo_none
	# ...and the helper is still there, sending, until the peer reads.
	run -1 bs_pid_gone "$pid"
	touch "$BATS_TEST_TMPDIR/go"
	bs_wait_gone "$pid"
	bs_wait_gone "$BO_SINK"
	cmp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/got"
}

@test "a peer that closes leaves the binding listed as down until it is closed" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bind-output -v pid out1 127.0.0.1 "$port"
	write out1 first
	bs_wait_for 250 bs_file_nonempty "$BATS_TEST_TMPDIR/got"
	kill -TERM "$BO_SINK"
	bs_wait_gone "$BO_SINK"
	# Its end of stream may be a half-close: only the reset that answers
	# the next bytes tells that the peer is gone.
	write out1 second || true
	bo_wait_state out1 down
	run -1 --separate-stderr write out1 third
	[[ $stderr == *"out1: connection closed"* ]]
	bo_is out1 5 "$pid"
	kill -HUP "$pid"
	bs_wait_gone "$pid"
	run -0 bindings
	assert_output ""
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = first ]
}

@test "-r reconnects after the listener restarts and sends what was written meanwhile" {
	local port pid n
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/a"
	bind-output -r -v pid out1 127.0.0.1 "$port"
	write out1 before
	bs_wait_for 250 bs_file_nonempty "$BATS_TEST_TMPDIR/a"
	kill -TERM "$BO_SINK"
	bs_wait_gone "$BO_SINK"
	# The first of these meets the reset that says the peer is gone; none
	# is lost, since nothing leaves the buffer unacknowledged.
	for ((n = 1; n <= 3; n++)); do
		write out1 "meanwhile $n"
	done
	bo_wait_state out1 down
	bo_is out1 6 36
	# No wait for the listener here: the helper may connect and socat
	# close its listener before anyone sees it listen.
	bs_bg socat -u "TCP-LISTEN:$port,reuseaddr" \
		"OPEN:$BATS_TEST_TMPDIR/b,creat,trunc" </dev/null 3>&-
	BO_SINK=$BS_LAST
	# Backoff is at most 5 s between attempts.
	bo_wait_state out1 connected 500
	bs_wait_for 250 bo_is out1 6 0
	write out1 after
	bo_close "$pid" TERM
	[ "$(cat "$BATS_TEST_TMPDIR/a")" = before ]
	{ printf 'meanwhile %s\n' 1 2 3; echo after; } | cmp - "$BATS_TEST_TMPDIR/b"
}

# --- errors ---------------------------------------------------------------

@test "a refused connection: exit 1, one line, nothing left behind" {
	local port
	port=$(bs_free_port)
	run -1 --separate-stderr bind-output out1 127.0.0.1 "$port"
	assert_output ""
	[[ $stderr == *"out1: connect to 127.0.0.1 port $port: Connection refused" ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run -0 bindings
	assert_output ""
}

@test "an unknown host: exit 1 with a message" {
	run -1 --separate-stderr bind-output out1 no-such-host.invalid 20000
	[[ $stderr == *"out1: connect to no-such-host.invalid port 20000: "* ]]
	run -0 bindings
	assert_output ""
}

@test "a listener that never answers the handshake: exit 1 after -t" {
	local port t0 t1
	port=$(bs_free_port)
	bs_bg python3 -c "$BO_FULL_PY" "$port" "$BATS_TEST_TMPDIR/ready" 3>&-
	bs_wait_for 250 test -e "$BATS_TEST_TMPDIR/ready"
	t0=$EPOCHREALTIME
	run -1 --separate-stderr bind-output -t 0.5 out1 127.0.0.1 "$port"
	t1=$EPOCHREALTIME
	[[ $stderr == *"out1: connect to 127.0.0.1 port $port: connection timed out" ]]
	# 0.5 s, not the 10 s default nor the kernel's minutes.
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 0.45 && b - a < 3) }'
	run -0 bindings
	assert_output ""
}

@test "usage errors exit 2" {
	run -2 bind-output
	run -2 bind-output out1 127.0.0.1
	run -2 bind-output out1 127.0.0.1 9999 extra
	run -2 bind-output 'bad id' 127.0.0.1 9999
	run -2 bind-output -x out1 127.0.0.1 9999
	run -2 bind-output out1 127.0.0.1 http
	run -2 bind-output out1 127.0.0.1 80
	run -2 bind-output out1 127.0.0.1 49152
	run -2 bind-output out1 127.0.0.1 "0$(bs_free_port)"
	run -2 bind-output out1 '' 9999
	run -2 bind-output -s 12 out1 127.0.0.1 9999
	run -2 bind-output -t soon out1 127.0.0.1 9999
	run -2 bind-output -t 0 out1 127.0.0.1 9999
	run -2 bind-output -v 'not a var' out1 127.0.0.1 9999
	run -2 --separate-stderr bind-output --help
	[[ $output == *"bind-output [-k] [-r] [-C CAFILE] [-s SIZE] [-t SECS] [-T] [-v VAR] ID HOST PORT"* ]]
	[ -z "$stderr" ]
}

@test "an ID held by a live binding: exit 1, and the first one goes on" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/got"
	bind-output -v pid out1 127.0.0.1 "$port"
	run -1 --separate-stderr bind-output out1 127.0.0.1 "$port"
	[[ $stderr == *"out1: in use by a live binding" ]]
	bind-input in1 "$(bs_free_port)" >/dev/null
	run -1 --separate-stderr bind-output in1 127.0.0.1 "$port"
	[[ $stderr == *"in1: in use by a live binding" ]]
	write out1 still here
	bo_close "$pid"
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "still here" ]
}

@test "a binding whose helper was SIGKILLed is reclaimed by the next bind-output" {
	local port pid
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/a"
	bind-output -v pid out1 127.0.0.1 "$port"
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	run -0 bindings
	assert_output ""
	port=$(bs_free_port)
	bo_sink "$port" "$BATS_TEST_TMPDIR/b"
	bind-output -v pid out1 127.0.0.1 "$port"
	write out1 again
	bo_close "$pid"
	[ "$(cat "$BATS_TEST_TMPDIR/b")" = again ]
}
