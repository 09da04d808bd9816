#!/usr/bin/env bats
# unbind ID... | unbind -a: close bindings and return once they are gone.

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

@test "unbind ID closes the binding and returns once it is gone" {
	local port pid nc_pid
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	bs_bg nc -d 127.0.0.1 "$port" >"$T/nc.out" 3>&-
	nc_pid=$BS_LAST
	bs_wait_clients in1 1
	printf 'unread\n' | bs_peer send "$port"
	bs_wait_buffered in1 7
	run -0 --separate-stderr unbind in1
	assert_output ""
	assert_equal "$stderr" ""
	# Gone when unbind returns: not listed, no file, the port free.
	run -0 bindings
	assert_output ""
	[ ! -e "$(bs_nsdir)/in1" ]
	bs_port_free "$port"
	bs_wait_gone "$pid"
	# Its client saw the end of the stream.
	bs_wait_gone "$nc_pid"
	wait "$nc_pid"
	[ ! -s "$T/nc.out" ]
}

@test "after unbind the same ID and port are bound again at once, without the old data" {
	local port
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	printf 'old\n' | bs_peer send "$port"
	bs_wait_buffered in1 4
	unbind in1
	run -0 bind-input in1 "$port"
	run -1 read in1
	printf 'new\n' | bs_peer send "$port"
	bs_wait_buffered in1 4
	run -0 read -l in1
	assert_output new
}

@test "unbind with several IDs closes them all" {
	local p1 p2 p3
	p1=$(bind-input a "$(bs_free_port)")
	p2=$(bind-input b "$(bs_free_port)")
	p3=$(bind-input c "$(bs_free_port)")
	run -0 unbind a c
	run -0 bindings
	assert_output --regexp "^b in :: [0-9]+ $p2 0 0\$"
	bs_wait_gone "$p1"
	bs_wait_gone "$p3"
}

@test "unbind -a closes every binding of the namespace and no other" {
	local p1 p2 other
	p1=$(bind-input a "$(bs_free_port)")
	p2=$(bind-input -1 b "$(bs_free_port)")
	OTHER_NS="${BASHSOCK_NS}_other"
	other=$(BASHSOCK_NS=$OTHER_NS bind-input a "$(bs_free_port)")
	run -0 unbind -a
	assert_output ""
	run -0 bindings
	assert_output ""
	bs_wait_gone "$p1"
	bs_wait_gone "$p2"
	run -0 eval 'bindings -a | grep "^$BASHSOCK_NS\|^$OTHER_NS"'
	assert_output --regexp "^$OTHER_NS a in :: [0-9]+ $other 0 0\$"
}

@test "unbind -a in an empty namespace succeeds and prints nothing" {
	run -0 --separate-stderr unbind -a
	assert_output ""
	assert_equal "$stderr" ""
}

@test "unbind from an unrelated process of the same namespace closes the binding" {
	local pid
	pid=$(bind-input in1 "$(bs_free_port)")
	run -0 bash --norc -c '. "$1" && unbind in1 && bindings' bash "$BS_LOADER"
	assert_output ""
	bs_wait_gone "$pid"
}

@test "unbind from a subshell closes the binding" {
	local pid
	pid=$(bind-input in1 "$(bs_free_port)")
	(unbind in1)
	run -0 bindings
	assert_output ""
	bs_wait_gone "$pid"
}

@test "unbind of a -1 binding that has ended closes it" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input -1 one "$port")
	printf 'never read\n' | nc -N 127.0.0.1 "$port"
	bs_wait_for 250 bs_is_field one 7 ended
	run -0 unbind one
	run -0 bindings
	assert_output ""
	bs_wait_gone "$pid"
}

@test "unbind of a name that is no binding fails with status 1" {
	bs_bad 1 unbind nosuch
	[[ $stderr == *nosuch* ]]
}

@test "unbind of a live ID and a missing one closes the live one and returns 1" {
	local pid
	pid=$(bind-input in1 "$(bs_free_port)")
	run -1 --separate-stderr unbind in1 nosuch
	[ "${#stderr_lines[@]}" -eq 1 ]
	run -0 bindings
	assert_output ""
	bs_wait_gone "$pid"
}

@test "unbind of a stale binding (helper SIGKILLed) returns 1 at once" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	run -1 --separate-stderr timeout 5 bash --norc -c '. "$1" && unbind in1' \
		bash "$BS_LOADER"
	[ "${#stderr_lines[@]}" -eq 1 ]
	run -0 bind-input in1 "$port"
}

@test "unbind of a stopped helper kills it after 5 s and returns 0 with the binding gone" {
	local port pid t0 t1
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	bs_track "$pid" # teardown's, if the test fails
	kill -STOP "$pid"
	t0=$EPOCHSECONDS
	# timeout: an unbind that never returns fails instead of hanging.
	run --separate-stderr timeout 60 bash --norc -c \
		'. "$1" && unbind in1; echo "rc=$?"' bash "$BS_LOADER"
	t1=$EPOCHSECONDS
	assert_output "rc=0"
	assert_equal "$stderr" ""
	# KILL after 5 s stopped, not after the 15 s a hung helper gets.
	[ $((t1 - t0)) -ge 4 ] && [ $((t1 - t0)) -le 12 ]
	# Gone when unbind returns: the helper, its file, its port.
	bs_pid_gone "$pid"
	[ ! -e "$(bs_nsdir)/in1" ]
	bs_port_free "$port"
	run -0 bindings
	assert_output ""
	run -0 bind-input in1 "$port"
}

@test "unbind -a of a stopped helper returns with every binding gone" {
	local pid other
	pid=$(bind-input in1 "$(bs_free_port)")
	other=$(bind-input in2 "$(bs_free_port)")
	bs_track "$pid"
	kill -STOP "$pid"
	run --separate-stderr timeout 60 bash --norc -c \
		'. "$1" && unbind -a; echo "rc=$?"' bash "$BS_LOADER"
	assert_output "rc=0"
	bs_pid_gone "$pid"
	bs_wait_gone "$other"
	[ ! -e "$(bs_nsdir)" ]
}

# Needs the output helper to report what it could not deliver at close
# (ring_hdr.undelivered, lib/output.c).
@test "unbind of an output whose peer takes nothing says how many bytes were not delivered and exits 1" {
	local port pid used
	port=$(bs_free_port)
	bs_bg python3 "$BS_PEER" late "$port" "$T/got" "$T/never" </dev/null 3>&-
	bs_wait_for 250 bs_port_listening "$port"
	pid=$(bind-output -s 8M out1 127.0.0.1 "$port")
	# More than the buffer and the socket buffers hold: the writer
	# blocks with the buffer full.
	bs_bg bash --norc -c '. "$1" && head -c 16000000 /dev/zero | write out1' \
		bash "$BS_LOADER"
	bs_wait_for 500 bs_is_field out1 6 8388608
	run --separate-stderr timeout 60 bash --norc -c \
		'. "$1" && unbind out1; echo "rc=$?"' bash "$BS_LOADER"
	assert_output "rc=1"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" 'unbind: out1: [0-9]+ bytes not delivered$'
	# Not delivered: what the peer never acknowledged. What its kernel
	# took into its socket buffer (unread by the peer) was acknowledged,
	# so the count is the buffer's 8 MiB less at most that.
	used=$(grep -Eo '[0-9]+ bytes' <<<"$stderr" | cut -d' ' -f1)
	[ "$used" -gt 0 ] && [ "$used" -le 8388608 ]
	bs_pid_gone "$pid"
	[ ! -e "$(bs_nsdir)/out1" ]
}

# --- stale bindings are freed, empty namespaces removed ----------------

# bs_kb PATH: kilobytes PATH occupies (du), 0 when it does not exist.
bs_kb() {
	if [ -e "$1" ]; then du -sk "$1" | cut -f1; else echo 0; fi
}

@test "bindings frees a SIGKILLed binding's 64 MiB buffer and removes the empty namespace" {
	local pid d
	d=$(bs_nsdir)
	pid=$(bind-input -s 64M big "$(bs_free_port)")
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	# Stale: its whole buffer still held on tmpfs.
	[ "$(bs_kb "$d")" -ge 65536 ]
	run -0 bindings
	assert_output ""
	[ ! -e "$d/big" ]
	[ ! -e "$d" ]
}

@test "unbind -a and a new binding free stale buffers of the namespace" {
	local pid keep d
	d=$(bs_nsdir)
	keep=$(bind-input keep "$(bs_free_port)")
	pid=$(bind-input -s 16M s1 "$(bs_free_port)")
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	[ -e "$d/s1" ]
	# Any new binding of the namespace sweeps.
	bind-input other "$(bs_free_port)" >/dev/null
	[ ! -e "$d/s1" ]
	pid=$(bind-input -s 16M s2 "$(bs_free_port)")
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	[ -e "$d/s2" ]
	run -0 unbind -a
	[ ! -e "$d/s2" ]
	[ ! -e "$d" ]
	bs_wait_gone "$keep"
}

@test "after the last unbind the namespace directory is gone, and the same shell reads a new binding at once" {
	local port d got
	d=$(bs_nsdir)
	port=$(bs_free_port)
	bind-input in1 "$port" >/dev/null
	printf 'first\n' | bs_peer send "$port"
	# This shell's own lookups (its cached view of the namespace).
	read -l -w 5 -v got in1
	[ "$got" = first ]
	unbind in1
	[ ! -e "$d" ]
	port=$(bs_free_port)
	bind-input in2 "$port" >/dev/null
	printf 'second\n' | bs_peer send "$port"
	got=
	read -l -w 5 -v got in2
	[ "$got" = second ]
	unbind in2
	[ ! -e "$d" ]
}

@test "unbind without an ID fails with status 2" { bs_bad 2 unbind; }
@test "unbind -a with an ID fails with status 2" { bs_bad 2 unbind -a in1; }
@test "unbind of an empty ID fails with status 2" { bs_bad 2 unbind ''; }
@test "unbind of an ID starting with a digit fails with status 2" { bs_bad 2 unbind 1abc; }
@test "unbind of an ID with a slash fails with status 2" { bs_bad 2 unbind a/b; }
@test "unbind of the ID .. fails with status 2" { bs_bad 2 unbind ..; }
@test "unbind of an ID of 65 characters fails with status 2" {
	bs_bad 2 unbind "a$(printf '%064d' 0)"
}
@test "unbind with an unknown option fails with status 2" { bs_bad 2 unbind -z; }

@test "unbind with a bad ID among good ones closes none of them" {
	local pid
	pid=$(bind-input in1 "$(bs_free_port)")
	bs_bad 2 unbind in1 'a b'
	run -0 bs_field in1 5
	assert_output "$pid"
}

@test "unbind --help prints its usage and help unbind its documentation" {
	run -2 --separate-stderr unbind --help
	assert_line --partial 'unbind [-a] [-c N] [ID ...]'
	assert_equal "$stderr" ""
	run -0 help unbind
	assert_line --partial 'Close bashsock bindings'
}
