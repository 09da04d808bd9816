#!/usr/bin/env bats
# bindings [-a] [-H]: one line a live binding:
#   ID in ADDR PORT PID BUFFERED CLIENTS|ended

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	OTHER_NS=
}

teardown() {
	if [ -n "$OTHER_NS" ]; then
		BASHSOCK_NS=$OTHER_NS unbind -a 2>/dev/null || true
	fi
	bs_teardown
}

@test "bindings prints nothing in a namespace without bindings" {
	run -0 --separate-stderr bindings
	assert_output ""
	assert_equal "$stderr" ""
}

@test "bindings shows ID, direction, address, port, PID, bytes buffered and clients" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	run -0 bindings
	assert_output "in1 in :: $port $pid 0 0"
	bs_bg nc -d 127.0.0.1 "$port" >/dev/null 3>&-
	bs_bg python3 "$BS_PEER" hold "$port" 'twelve bytes' >/dev/null 3>&-
	bs_bg python3 "$BS_PEER" hold "$port" 'ten bytes\n' >/dev/null 3>&-
	bs_wait_clients in1 3
	bs_wait_buffered in1 10
	run -0 bindings
	assert_output "in1 in :: $port $pid 10 3"
	# A partial line is not buffered yet; it is once its client leaves,
	# ended by a newline (12 + 1 bytes).
	kill -TERM "${BS_PIDS[1]}"
	bs_wait_clients in1 2
	run -0 bindings
	assert_output "in1 in :: $port $pid 23 2"
	read in1 >/dev/null
	run -0 bindings
	assert_output "in1 in :: $port $pid 0 2"
}

@test "bindings shows the listen address given with -a" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input -a 127.0.0.1 lo "$port")
	run -0 bindings
	assert_output "lo in 127.0.0.1 $port $pid 0 0"
}

@test "bindings shows a -1 binding whose client left as ended until the end is read" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input -1 one "$port")
	bs_bg python3 "$BS_PEER" hold "$port" 'bye\n' >/dev/null 3>&-
	bs_wait_clients one 1
	run -0 bindings
	assert_output "one in :: $port $pid 4 1"
	kill -TERM "$BS_LAST"
	bs_wait_for 250 bs_is_field one 7 ended
	run -0 bindings
	assert_output "one in :: $port $pid 4 ended"
	read -l one >/dev/null
	run -0 bindings
	assert_output "one in :: $port $pid 0 ended"
	run -3 read one
	bs_wait_gone "$pid"
	run -0 bindings
	assert_output ""
}

@test "bindings lists the bindings sorted by ID" {
	local id
	for id in zeta alpha Mid _u beta; do
		bind-input -v pid "$id" "$(bs_free_port)"
	done
	run -0 eval 'bindings | cut -d" " -f1'
	assert_output "Mid
_u
alpha
beta
zeta"
}

@test "bindings does not list a binding whose helper was SIGKILLed" {
	local pid keep
	pid=$(bind-input gone "$(bs_free_port)")
	keep=$(bind-input kept "$(bs_free_port)")
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	run -0 eval 'bindings | cut -d" " -f1,5'
	assert_output "kept $keep"
	run -0 bindings -a
	refute_output --partial " $pid "
}

@test "bindings lists only its namespace; bindings -a every namespace, prefixed" {
	local mine other
	mine=$(bind-input b1 "$(bs_free_port)")
	OTHER_NS="${BASHSOCK_NS}_other"
	other=$(BASHSOCK_NS=$OTHER_NS bind-input b2 "$(bs_free_port)")
	run -0 eval 'bindings | cut -d" " -f1,5'
	assert_output "b1 $mine"
	run -0 eval 'bindings -a | grep "^$BASHSOCK_NS"'
	assert_line --regexp "^$BASHSOCK_NS b1 in :: [0-9]+ $mine 0 0\$"
	assert_line --regexp "^$OTHER_NS b2 in :: [0-9]+ $other 0 0\$"
	run -0 env BASHSOCK_NS="$OTHER_NS" bash --norc -c '. "$1" && bindings' bash "$BS_LOADER"
	assert_output --regexp "^b2 in :: [0-9]+ $other 0 0\$"
}

@test "BASHSOCK_NS unset or empty means the namespace default" {
	local d1 d2
	d1=$(env -u BASHSOCK_NS bash --norc -c '. "$1" && bindings >/dev/null && echo ok' bash "$BS_LOADER")
	d2=$(BASHSOCK_NS= bash --norc -c '. "$1" && bindings >/dev/null && echo ok' bash "$BS_LOADER")
	[ "$d1" = ok ] && [ "$d2" = ok ]
}

@test "bindings in a pipeline and in an unrelated process show the same lines" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	run -0 eval 'bindings | cat'
	assert_output "in1 in :: $port $pid 0 0"
	run -0 bash --norc -c '. "$1" && bindings' bash "$BS_LOADER"
	assert_output "in1 in :: $port $pid 0 0"
}

@test "bindings -H prints the column names first, then the same lines" {
	local port pid
	run -0 --separate-stderr bindings -H
	assert_output "ID DIR ADDR PORT PID BUFFERED STATE"
	assert_equal "$stderr" ""
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	run -0 bindings -H
	assert_output "ID DIR ADDR PORT PID BUFFERED STATE
in1 in :: $port $pid 0 0"
	run -0 eval 'bindings -a -H | sed -n 1p'
	assert_output "NS ID DIR ADDR PORT PID BUFFERED STATE"
	run -0 eval 'bindings -aH | grep -c "^$BASHSOCK_NS in1 in :: $port $pid 0 0\$"'
	assert_output 1
}

@test "bindings with two operands fails with status 2" { bs_bad 2 bindings a b; }
@test "bindings ID of no live binding fails with status 1" { bs_bad 1 bindings extra; }
@test "bindings with an unknown option fails with status 2" { bs_bad 2 bindings -z; }

@test "bindings with an invalid BASHSOCK_NS fails with status 2" {
	BASHSOCK_NS='a/b' bs_bad 2 bindings
}

@test "bindings --help prints its usage and help bindings its documentation" {
	run -2 --separate-stderr bindings --help
	assert_line --partial 'bindings [-a] [-H]'
	assert_equal "$stderr" ""
	run -0 help bindings
	assert_line --partial 'List live bashsock bindings'
}
