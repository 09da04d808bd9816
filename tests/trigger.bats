#!/usr/bin/env bats
# trigger-wait and trigger-send: the right key wakes, wrong keys, junk, scans,
# replays and silent peers do not, -t, usage, and Ctrl-C, traps and SIGTERM
# as with bash's read (interactive cases in tmux).

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/tmux

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	tm_stop
	bs_teardown
}

# --- helpers -------------------------------------------------------------

# Python peers, one socket operation at a time, each with a timeout:
#   junk PORT DATA     reads the challenge, sends DATA (escapes: \n \x00),
#                      prints every line the waiter sends, then "EOF"
#   hold PORT N DATA   opens N connections, sends DATA on each, prints
#                      "held N", waits until killed; prints "EOF" when the
#                      waiter closes them all
#   replay PORT FILE   reads the challenge, sends FILE's bytes, prints what
#                      comes back, then "EOF"
#   fake PORT FILE     one connection: replays a recorded waiter (the
#                      challenge line of FILE, then, after the sender's
#                      proof, its answer line)
#   listen PORT        listens and never accepts; prints "listening"
TPEER='
import codecs, socket, sys, time
T = 10
def conn(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=T)
def out(s):
    print(s, flush=True)
def lines(s):
    try:
        for l in s.makefile("rb"):
            out(l.decode(errors="replace").rstrip("\n"))
    except ConnectionResetError:
        pass  # closed with our bytes unread: a reset is an end too
    out("EOF")
cmd, port = sys.argv[1], sys.argv[2]
if cmd == "junk":
    s = conn(port)
    out(s.makefile("rb").readline().decode().rstrip("\n"))
    s.sendall(codecs.escape_decode(sys.argv[3].encode())[0])
    lines(s)
elif cmd == "hold":
    socks = [conn(port) for _ in range(int(sys.argv[3]))]
    data = codecs.escape_decode(sys.argv[4].encode())[0]
    for s in socks:
        if data:
            s.sendall(data)
    out("held %d" % len(socks))
    for s in socks:
        s.settimeout(None)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    out("EOF")
elif cmd == "replay":
    s = conn(port)
    out(s.makefile("rb").readline().decode().rstrip("\n"))
    s.sendall(open(sys.argv[3], "rb").read())
    lines(s)
elif cmd == "fake":
    rec = open(sys.argv[3], "rb").read().split(b"\n")
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", int(port)))
    l.listen(1)
    out("listening")
    l.settimeout(T)
    s, _ = l.accept()
    s.settimeout(T)
    s.sendall(rec[0] + b"\n")
    out("proof " + s.makefile("rb").readline().decode().rstrip("\n"))
    s.sendall(rec[1] + b"\n")
    lines(s)
elif cmd == "listen":
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", int(port)))
    l.listen(8)
    out("listening")
    time.sleep(3600)
'
tpeer() {
	exec python3 -c "$TPEER" "$@"
}

# tw_run ARGS...: trigger-wait ARGS, its status into $T/tw.rc, stderr into
# $T/tw.err. Runs in the background (a subshell of the test's shell).
tw_run() {
	local rc=0
	trigger-wait "$@" 2>"$T/tw.err" || rc=$?
	echo "$rc" >"$T/tw.rc"
}

# tw_start ARGS... PORT: starts a waiter, returns once it listens; its
# process (the subshell that runs the builtin) is TW_PID.
tw_start() {
	rm -f "$T/tw.rc"
	bs_bg tw_run "$@"
	TW_PID=$BS_LAST
	bs_wait_for 250 bs_port_listening "${*: -1}"
}

# True while the waiter still waits.
tw_waiting() {
	[ ! -e "$T/tw.rc" ] && ! bs_pid_gone "$TW_PID"
}

# tw_status: waits (bounded) until the waiter returned, prints its status.
tw_status() {
	bs_wait_for 250 test -s "$T/tw.rc" && cat "$T/tw.rc"
}

# has FILE TEXT: FILE holds a line containing TEXT.
has() {
	grep -qF -- "$2" "$1" 2>/dev/null
}

# established PORT: some connection to local PORT is established.
established() {
	ss -Htn state established "sport = :$1" | grep -q .
}

# cpu PID: user + system clock ticks of PID so far.
cpu() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# switches PID: voluntary + involuntary context switches of PID so far.
switches() {
	awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$1/status"
}

# --- the exchange --------------------------------------------------------

@test "the right key wakes the waiter: both exit 0 and the port is released" {
	local port
	port=$(bs_free_port)
	tw_start sesame "$port"
	run -0 --separate-stderr trigger-send sesame 127.0.0.1 "$port"
	assert_output ""
	[ "$stderr" = "" ]
	[ "$(tw_status)" = 0 ]
	[ ! -s "$T/tw.err" ]
	bs_port_free "$port"
}

@test "trigger-send reaches the default listener over IPv6 and by name" {
	local port
	port=$(bs_free_port)
	tw_start k "$port"
	run -0 trigger-send k ::1 "$port"
	[ "$(tw_status)" = 0 ]
	tw_start k "$port"
	run -0 trigger-send k localhost "$port"
	[ "$(tw_status)" = 0 ]
}

@test "-a ADDR listens on that address only" {
	local port
	port=$(bs_free_port)
	tw_start -a 127.0.0.1 k "$port"
	run -0 ss -Htln "sport = :$port"
	assert_output --partial "127.0.0.1:$port"
	refute_output --partial "[::]:$port"
	run -1 trigger-send -t 2 k ::1 "$port"
	tw_waiting
	run -0 trigger-send k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

@test "a wrong key is refused with one line and the waiter keeps waiting" {
	local port
	port=$(bs_free_port)
	tw_start right "$port"
	run -1 --separate-stderr trigger-send wrong 127.0.0.1 "$port"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"127.0.0.1 port $port: key refused" ]]
	tw_waiting
	run -1 trigger-send Right 127.0.0.1 "$port"
	run -1 trigger-send righ 127.0.0.1 "$port"
	tw_waiting
	run -0 trigger-send right 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

@test "the waiter sends a fresh challenge; junk gets no answer and no wake-up" {
	local port
	port=$(bs_free_port)
	tw_start k "$port"
	run -0 tpeer junk "$port" 'GET / HTTP/1.0\r\n\r\n'
	assert_line --index 0 --regexp '^BASHSOCK/1 CHALLENGE trigger [0-9a-f]{64}$'
	assert_line --index 1 EOF
	local first=${lines[0]}
	run -0 tpeer junk "$port" 'BASHSOCK/1 PROOF 00 11\n'
	assert_line --index 1 EOF
	[ "${lines[0]}" != "$first" ]
	run -0 tpeer junk "$port" '\x00\x01\xff\n'
	assert_line --index 1 EOF
	run -0 tpeer junk "$port" 'BASHSOCK/1 OK 0000\n'
	assert_line --index 1 EOF
	# Longer than a protocol line, no newline: dropped once past 512 bytes.
	run -0 tpeer junk "$port" "$(printf 'A%.0s' {1..600})"
	assert_line --index 1 EOF
	tw_waiting
	run -0 trigger-send k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

@test "junk from socat and nc, and nc -z port scans, do not wake it" {
	local port
	port=$(bs_free_port)
	tw_start k "$port"
	head -c 4096 /dev/urandom >"$T/noise"
	socat -u "OPEN:$T/noise" "TCP:127.0.0.1:$port"
	printf 'hello\n' | timeout 5 nc -q 1 127.0.0.1 "$port" >/dev/null || true
	for _ in 1 2 3 4 5; do
		nc -z 127.0.0.1 "$port"
	done
	nc -z ::1 "$port"
	tw_waiting
	run -0 trigger-send k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

@test "a recorded exchange holds no key and, replayed, wakes no waiter and fools no sender" {
	local key port proxy port2 port3 hex
	key="s3cret-$RANDOM$RANDOM-key"
	port=$(bs_free_port)
	proxy=$(bs_free_port)
	tw_start "$key" "$port"
	# socat records each direction raw (-r client to waiter, -R back).
	bs_bg socat -r "$T/c2s" -R "$T/s2c" \
		"TCP-LISTEN:$proxy,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$port"
	local socat_pid=$BS_LAST
	bs_wait_for 250 bs_port_listening "$proxy"
	run -0 trigger-send "$key" 127.0.0.1 "$proxy"
	[ "$(tw_status)" = 0 ]
	bs_wait_gone "$socat_pid"
	run -0 cat "$T/c2s"
	assert_output --regexp '^BASHSOCK/1 PROOF [0-9a-f]{64} [0-9a-f]{64}$'
	run -0 cat "$T/s2c"
	assert_line --index 0 --regexp '^BASHSOCK/1 CHALLENGE trigger [0-9a-f]{64}$'
	assert_line --index 1 --regexp '^BASHSOCK/1 OK [0-9a-f]{64}$'
	# The key appears in neither direction, in clear or in hex.
	hex=$(printf %s "$key" | od -An -tx1 | tr -d ' \n')
	run ! grep -aqF -- "$key" "$T/c2s" "$T/s2c"
	run ! grep -aqiF -- "$hex" "$T/c2s" "$T/s2c"
	# The client's bytes, replayed to a new waiter with the same key.
	port2=$(bs_free_port)
	tw_start "$key" "$port2"
	run -0 tpeer replay "$port2" "$T/c2s"
	assert_line --index 1 'BASHSOCK/1 DENIED'
	socat -u "OPEN:$T/c2s" "TCP:127.0.0.1:$port2"
	tw_waiting
	# The waiter's bytes, replayed to a sender with the same key.
	port3=$(bs_free_port)
	bs_bg tpeer fake "$port3" "$T/s2c" >"$T/fake.out"
	bs_wait_for 250 has "$T/fake.out" listening
	run -1 --separate-stderr trigger-send "$key" 127.0.0.1 "$port3"
	[[ $stderr == *"peer does not know the key" ]]
	# The live waiter still takes the real sender.
	run -0 trigger-send "$key" 127.0.0.1 "$port2"
	[ "$(tw_status)" = 0 ]
}

@test "a silent connection held open does not keep a valid sender out" {
	local port
	port=$(bs_free_port)
	tw_start k "$port"
	bs_bg tpeer hold "$port" 1 '' >"$T/hold.out"
	bs_wait_for 250 has "$T/hold.out" "held 1"
	bs_wait_for 250 established "$port"
	# -t 3 is less than the 5 s the silent handshake may last: the sender
	# gets through while the silent peer is still connected and waited on.
	run -0 trigger-send -t 3 k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
	# Only the waiter's end closed the silent connection.
	bs_wait_for 250 has "$T/hold.out" EOF
}

@test "a slow peer with a partial line does not keep a valid sender out" {
	local port
	port=$(bs_free_port)
	tw_start k "$port"
	bs_bg tpeer hold "$port" 3 'BASHSOCK/1 PROOF 0123' >"$T/hold.out"
	bs_wait_for 250 has "$T/hold.out" "held 3"
	run -0 trigger-send -t 3 k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
	bs_wait_for 250 has "$T/hold.out" EOF
}

@test "more silent connections than handshake slots (64) do not keep a valid sender out" {
	local port
	port=$(bs_free_port)
	tw_start k "$port"
	bs_bg tpeer hold "$port" 80 '' >"$T/hold.out"
	bs_wait_for 250 has "$T/hold.out" "held 80"
	run -0 trigger-send -t 3 k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

# --- -t and errors -------------------------------------------------------

@test "-t gives up with status 1, prints nothing and releases the port" {
	local port
	port=$(bs_free_port)
	run -1 --separate-stderr trigger-wait -t 0.3 k "$port"
	assert_output ""
	[ "$stderr" = "" ]
	bs_port_free "$port"
	run -1 trigger-wait -t 0 k "$port"
}

@test "-t does not cut a trigger that arrives in time" {
	local port
	port=$(bs_free_port)
	tw_start -t 20 k "$port"
	run -0 trigger-send k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

@test "trigger-wait on a port in use exits 1 with one line" {
	local port
	port=$(bs_free_port)
	bs_bg tpeer listen "$port" >"$T/l.out"
	bs_wait_for 250 has "$T/l.out" listening
	run -1 --separate-stderr trigger-wait -a 127.0.0.1 k "$port"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"port $port: cannot listen: Address already in use" ]]
}

@test "trigger-send to a closed port, an unknown host or a silent server exits 1 with one line" {
	local port
	port=$(bs_free_port)
	run -1 --separate-stderr trigger-send k 127.0.0.1 "$port"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"127.0.0.1 port $port: connecting: Connection refused" ]]
	run -1 --separate-stderr trigger-send k no-such-host.invalid "$port"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"no-such-host.invalid port $port: unknown host"* ]]
	bs_bg tpeer listen "$port" >"$T/l.out"
	bs_wait_for 250 has "$T/l.out" listening
	run -1 --separate-stderr trigger-send -t 0.3 k 127.0.0.1 "$port"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"127.0.0.1 port $port: timed out waiting for the challenge" ]]
}

@test "usage errors exit 2 with one line on stderr" {
	local port
	port=$(bs_free_port)
	local -a bad=(
		"trigger-wait"
		"trigger-wait k"
		"trigger-wait '' $port"
		"trigger-wait k 80"
		"trigger-wait k 49152"
		"trigger-wait k 12ab"
		"trigger-wait -t 0.5 k 0$port"
		"trigger-wait k $port extra"
		"trigger-wait -t -1 k $port"
		"trigger-wait -t soon k $port"
		"trigger-wait -x k $port"
		"trigger-wait $(printf 'k%.0s' {1..4097}) $port"
		"trigger-send"
		"trigger-send k 127.0.0.1"
		"trigger-send '' 127.0.0.1 $port"
		"trigger-send k '' $port"
		"trigger-send k 127.0.0.1 0"
		"trigger-send k 127.0.0.1 65536"
		"trigger-send k 127.0.0.1 0$port"
		"trigger-send -t x k 127.0.0.1 $port"
		"trigger-send k 127.0.0.1 $port extra"
	)
	local c
	for c in "${bad[@]}"; do
		run -2 --separate-stderr eval "$c"
		[ "${#stderr_lines[@]}" -eq 1 ] || {
			echo "$c: ${#stderr_lines[@]} lines: $stderr"
			return 1
		}
		[ "$output" = "" ]
	done
	bs_port_free "$port"
}

@test "help shows the synopses" {
	run -0 help -s trigger-wait
	assert_output "trigger-wait: trigger-wait [-a ADDR] [-t SECS] KEY PORT"
	run -0 help -s trigger-send
	assert_output "trigger-send: trigger-send [-t SECS] KEY HOST PORT"
	run -0 help trigger-wait
	assert_output --partial "Exit Status:"
}

# --- cost ----------------------------------------------------------------

@test "a waiting trigger-wait uses no CPU and is never woken up" {
	local port pid t0 t1 s0 s1
	port=$(bs_free_port)
	tw_start k "$port"
	pid=$TW_PID
	t0=$(cpu "$pid")
	s0=$(switches "$pid")
	sleep 1 # a measurement window, not a synchronisation
	t1=$(cpu "$pid")
	s1=$(switches "$pid")
	echo "ticks $t0 -> $t1, context switches $s0 -> $s1"
	[ $((t1 - t0)) -le 1 ]
	[ $((s1 - s0)) -le 2 ]
	run -0 trigger-send k 127.0.0.1 "$port"
	[ "$(tw_status)" = 0 ]
}

# --- signals, non-interactive ---------------------------------------------

@test "SIGTERM ends a script waiting in trigger-wait, and a TERM trap runs while the wait goes on" {
	local port pid
	port=$(bs_free_port)
	bash --norc -c '. "$1" && trigger-wait k "$2"; echo "after=$?"' \
		bash "$BS_ROOT/loader.sh" "$port" >"$T/a.out" 2>&1 &
	pid=$!
	bs_track "$pid"
	bs_wait_for 250 bs_port_listening "$port"
	kill -TERM "$pid"
	bs_wait_gone "$pid"
	run -143 wait "$pid"
	run ! has "$T/a.out" after=
	bs_port_free "$port"

	bash --norc -c '. "$1"; trap "echo TERM-trap" TERM
		trigger-wait k "$2"; echo "after=$?"' \
		bash "$BS_ROOT/loader.sh" "$port" >"$T/b.out" 2>&1 &
	pid=$!
	bs_track "$pid"
	bs_wait_for 250 bs_port_listening "$port"
	kill -TERM "$pid"
	bs_wait_for 250 has "$T/b.out" TERM-trap
	kill -TERM "$pid"
	bs_wait_for 250 test "$(grep -c TERM-trap "$T/b.out")" = 2
	run ! has "$T/b.out" after=
	bs_port_listening "$port"
	run -0 trigger-send k 127.0.0.1 "$port"
	bs_wait_for 250 has "$T/b.out" after=0
}

@test "a trap that returns from its function ends the wait and closes the listener" {
	local port pid
	port=$(bs_free_port)
	bash --norc -c '. "$1"
		f() { trap "trap - USR1; return 7" USR1; trigger-wait k "$1"; echo not-here; }
		f "$2"; echo "f=$?"
		ls -l /proc/$$/fd | grep -c socket' \
		bash "$BS_ROOT/loader.sh" "$port" >"$T/f.out" 2>&1 &
	pid=$!
	bs_track "$pid"
	bs_wait_for 250 bs_port_listening "$port"
	kill -USR1 "$pid"
	bs_wait_gone "$pid"
	run -0 cat "$T/f.out"
	assert_output "f=7
0"
	bs_port_free "$port"
}

# --- signals, interactive (tmux) -----------------------------------------

@test "interactive: Ctrl-C returns to the prompt with status 130 and closes the listener" {
	local port
	port=$(bs_free_port)
	tm_start
	tm_keys "trigger-wait k $port; echo af''ter=\$?" Enter
	bs_wait_for 250 bs_port_listening "$port"
	tm_keys C-c
	tm_keys 'echo st=$?' Enter
	tm_wait st=130
	run ! tm_has after=
	bs_port_free "$port"
	# And the next trigger-wait on the same port works.
	tm_keys "trigger-wait k $port; echo af''ter=\$?" Enter
	bs_wait_for 250 bs_port_listening "$port"
	run -0 trigger-send k 127.0.0.1 "$port"
	tm_wait after=0
}

@test "interactive: Ctrl-C breaks while :; do trigger-wait ...; done" {
	local port
	port=$(bs_free_port)
	tm_start
	tm_keys "while :; do trigger-wait k $port; done; echo loop\$((1+1))done" Enter
	bs_wait_for 250 bs_port_listening "$port"
	run -0 trigger-send k 127.0.0.1 "$port" # one round, then it waits again
	bs_wait_for 250 bs_port_listening "$port"
	tm_keys C-c
	tm_keys 'echo st=$?' Enter
	tm_wait st=130
	run ! tm_has loop2done
	bs_port_free "$port"
}

@test "interactive: a trap on INT runs and the wait goes on, as with read" {
	local port
	port=$(bs_free_port)
	tm_start
	tm_keys "trap 'echo IN\$((6*7))T' INT; trigger-wait k $port; echo af''ter=\$?" Enter
	bs_wait_for 250 bs_port_listening "$port"
	tm_keys C-c
	tm_wait IN42T
	tm_keys C-c
	bs_wait_for 250 test "$(tmux -L "$TM" capture-pane -p -t main | grep -c IN42T)" = 2
	run ! tm_has after=
	bs_port_listening "$port"
	run -0 trigger-send k 127.0.0.1 "$port"
	tm_wait after=0
}

@test "interactive: SIGTERM is ignored by the shell and the wait goes on, as with read" {
	local port pid
	port=$(bs_free_port)
	tm_start
	tm_keys "echo p''id=\$\$" Enter
	tm_wait pid=
	pid=$(tmux -L "$TM" capture-pane -p -t main | sed -n 's/^pid=\([0-9]*\)$/\1/p')
	tm_keys "trigger-wait k $port; echo af''ter=\$?" Enter
	bs_wait_for 250 bs_port_listening "$port"
	kill -TERM "$pid"
	bs_port_listening "$port"
	run ! tm_has after=
	run -0 trigger-send k 127.0.0.1 "$port"
	tm_wait after=0
}

@test "interactive: Ctrl-C interrupts trigger-send and closes its connection" {
	local port
	port=$(bs_free_port)
	bs_bg tpeer listen "$port" >"$T/l.out"
	bs_wait_for 250 has "$T/l.out" listening
	tm_start
	tm_keys "trigger-send -t 60 k 127.0.0.1 $port; echo af''ter=\$?" Enter
	bs_wait_for 250 established "$port"
	tm_keys C-c
	tm_keys 'echo st=$?' Enter
	tm_wait st=130
	run ! tm_has after=
	# The shell's end of the connection is closed (no longer established).
	bs_wait_for 250 eval "! ss -Htn state established 'dport = :$port' | grep -q ."
}
