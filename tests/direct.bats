#!/usr/bin/env bats
# The conversation-speed path (lib/direct.c): a shell that sends and
# receives on its binding's one connection itself. What users depend on:
# answers byte-exact whatever the peer's chunking, the rings still shared
# (another process reads the same binding, with or without the path, and
# nothing is lost or read twice), the end and a loss still seen, no CPU
# while a read waits, and no descriptor left in the shell or its jobs.
# Peers: tests/helpers/convpeer.py (Python's socket module), seeded.

bats_require_minimum_version 1.5.0
load test_helper/common

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	export LC_ALL=C
}

teardown() {
	bs_teardown
}

py() {
	/usr/bin/python3 "$BS_ROOT/tests/helpers/convpeer.py" "$@"
}

# peer_up PORT: waits until a peer listens on PORT.
peer_up() {
	bs_wait_for 500 bs_port_listening "$1"
}

# read_lines ID OUT: appends every line ID delivers to OUT until read says
# the stream ended (3); fails on a 10 s silence. Bounded in rounds.
read_lines() {
	local i rc l
	for ((i = 0; i < 200000; i++)); do
		rc=0
		read -l -w 10 -v l "$1" || rc=$?
		if [ "$rc" = 0 ]; then
			printf '%s\n' "$l" >>"$2"
			continue
		fi
		[ "$rc" = 3 ] && return 0
		echo "read_lines: read $1 exited $rc after $i lines" >&2
		return 1
	done
	return 1
}

# converse ID IN OUT: for each line of IN, writes it to ID (no escapes) and
# appends the line read back to OUT; fails on a 10 s silence.
converse() {
	local line r
	while IFS= read -r line; do
		write -E "$1" "$line"
		read -l -w 10 -v r "$1" || fail "no answer"
		printf '%s\n' "$r" >>"$3"
	done <"$2"
}

# in_order FILE: its numbers strictly increase.
in_order() {
	awk 'NR > 1 && $1 <= p { exit 1 } { p = $1 }' "$1"
}

# cpu_ticks PID: user plus system time of PID in clock ticks.
cpu_ticks() {
	local st
	st=$(<"/proc/$1/stat")
	st=${st##*) }
	set -- $st
	echo $((${12} + ${13}))
}

@test "request/response: 300 lines of random bytes (1 B to 64 KiB) against an echo answering in random pieces, each answer byte-exact" {
	local port
	port=$(bs_free_port)
	py gen 11 300 65536 >"$T/in"
	bs_bg py echo "$port" 12 "$T/eof"
	peer_up "$port"
	bind-output conv 127.0.0.1 "$port"
	converse conv "$T/in" "$T/out"
	cmp "$T/in" "$T/out"
	unbind conv
	# The peer sees the end at unbind: no copy of the socket is left open.
	bs_wait_for 500 test -s "$T/eof" || fail "the peer never saw the end"
}

@test "the same conversation with the path off (BASHSOCK_DIRECT=0), through the helper: byte-exact" {
	local port
	port=$(bs_free_port)
	py gen 13 200 16384 >"$T/in"
	bs_bg py echo "$port" 14 "$T/eof"
	peer_up "$port"
	BASHSOCK_DIRECT=0 bash -c '
		source "$1/loader.sh" || exit 9
		bind-output conv 127.0.0.1 "$2" >/dev/null || exit 8
		while IFS= read -r line; do
			write -E conv "$line" || exit 7
			read -l -w 10 -v r conv || exit 6
			printf "%s\n" "$r"
		done <"$3"
		unbind conv' _ "$BS_ROOT" "$port" "$T/in" >"$T/out"
	cmp "$T/in" "$T/out"
}

@test "two processes read one output binding at once, with and without the path: every line once, each reader's in order" {
	local mode port
	for mode in 0 1; do
		port=$(bs_free_port)
		rm -f "$T/go" "$T/a" "$T/b" "$T/b.rc"
		bs_bg py lines "$port" 3000 2$mode "$T/go"
		peer_up "$port"
		bind-output src$mode 127.0.0.1 "$port"
		bs_bg env BASHSOCK_DIRECT=$mode bash -c '
			source "$1/loader.sh" || exit 9
			'"$(declare -f read_lines)"'
			read_lines "$2" "$3"; echo $? >"$4"' _ \
			"$BS_ROOT" src$mode "$T/b" "$T/b.rc"
		touch "$T/go"
		read_lines src$mode "$T/a"
		bs_wait_for 1000 test -s "$T/b.rc"
		[ "$(cat "$T/b.rc")" = 0 ]
		touch "$T/a" "$T/b"
		in_order "$T/a"
		in_order "$T/b"
		diff <(seq 1 3000) <(sort -n "$T/a" "$T/b")
		unbind src$mode
	done
}

@test "a reader without the path gets every line after a direct reader took one and stopped (the helper receives again)" {
	local port first
	port=$(bs_free_port)
	bs_bg py lines "$port" 500 31 "$T/go" "$T/hold"
	peer_up "$port"
	bind-output src 127.0.0.1 "$port"
	touch "$T/go"
	read -l -w 10 -v first src
	[ "$first" = 1 ]
	# The peer keeps the connection open: only the helper's receiving can
	# bring the rest to a reader that waits on the ring.
	BASHSOCK_DIRECT=0 bash -c '
		source "$1/loader.sh" || exit 9
		for ((i = 2; i <= 500; i++)); do
			read -l -w 10 -v l src || exit 8
			printf "%s\n" "$l"
		done' _ "$BS_ROOT" >"$T/b"
	diff <(seq 2 500) "$T/b"
	touch "$T/hold"
}

@test "a read -w waiting on the path uses no CPU, nor does its helper" {
	local port me hp s0 h0 s1 h1 rc l
	port=$(bs_free_port)
	bs_bg py lines "$port" 1 41 "$T/go" "$T/hold"
	peer_up "$port"
	bind-output idle 127.0.0.1 "$port"
	me=$BASHPID
	hp=$(bs_binding_pids)
	s0=$(cpu_ticks "$me")
	h0=$(cpu_ticks "$hp")
	rc=0
	read -l -w 3 -v l idle || rc=$?
	s1=$(cpu_ticks "$me")
	h1=$(cpu_ticks "$hp")
	[ "$rc" = 1 ] # nothing came: the wait's status
	# 3 s of waiting: a spinning reader would take ~300 ticks.
	[ $((s1 - s0)) -le 10 ] || fail "the shell used $((s1 - s0)) ticks"
	[ $((h1 - h0)) -le 10 ] || fail "the helper used $((h1 - h0)) ticks"
	touch "$T/go"
	read -l -w 10 -v l idle
	[ "$l" = 1 ]
	touch "$T/hold"
}

@test "the shell keeps no copy of the socket: the same descriptors after 200 exchanges, and a job a trap forks during read -w holds none" {
	local port me i r n0 n1 ppoll job
	ppoll=$(printf '#include <sys/syscall.h>\nSYS_ppoll\n' | cpp -P | tail -1)
	port=$(bs_free_port)
	bs_bg py echo "$port" 52 "$T/eof"
	peer_up "$port"
	bind-output conv 127.0.0.1 "$port"
	me=$BASHPID
	n0=$(ls "/proc/$me/fd" | wc -l)
	for ((i = 0; i < 200; i++)); do
		write conv "ping $i"
		read -l -w 10 -v r conv
		[ "$r" = "ping $i" ]
	done
	n1=$(ls "/proc/$me/fd" | wc -l)
	[ "$n0" = "$n1" ]
	port=$(bs_free_port)
	bs_bg py lines "$port" 1 51 "$T/go" "$T/hold"
	peer_up "$port"
	bind-output late 127.0.0.1 "$port"
	# While read waits in ppoll on the socket, USR1's trap forks a job
	# (a subshell that stays a shell: no exec to close anything) and lets
	# the peer send.
	trap '{ sleep 30; :; } & echo $! >"$T/job"; touch "$T/go"' USR1
	bs_bg bash -c '
		for ((i = 0; i < 500; i++)); do
			read -r nr rest <"/proc/$1/syscall" 2>/dev/null
			[ "$nr" = "$2" ] && exec kill -USR1 "$1"
			sleep 0.02
		done' _ "$me" "$ppoll"
	read -l -w 20 -v r late
	trap - USR1
	[ "$r" = 1 ]
	job=$(cat "$T/job")
	bs_track "$job"
	if ls -l "/proc/$job/fd" | grep -q 'socket:'; then
		ls -l "/proc/$job/fd"
		fail "the trap's job holds a socket"
	fi
	kill "$job"
	touch "$T/hold"
}

@test "a -1 input binding answers a Python client's 300 random lines in random pieces, each answer byte-exact" {
	local port i rc l
	port=$(bs_free_port)
	bind-input -1 srv "$port"
	bs_bg py client "$port" 61 300 8192 "$T/res"
	for ((i = 0; i < 1000; i++)); do
		rc=0
		read -l -w 10 -v l srv || rc=$?
		[ "$rc" = 3 ] && break
		[ "$rc" = 0 ] || fail "read exited $rc"
		write -E srv "$l"
	done
	[ "$(cat "$T/res")" = "ok 300" ]
}

@test "bashsock on both ends (bind-output to bind-input -1 in another shell): 200 random lines there and back, byte-exact" {
	local port
	port=$(bs_free_port)
	py gen 71 200 16384 >"$T/in"
	bs_bg bash -c '
		source "$1/loader.sh" || exit 9
		bind-input -1 far "$2" || exit 8
		while read -l -w 20 -v l far; do write -E far "$l"; done' \
		_ "$BS_ROOT" "$port"
	peer_up "$port"
	bind-output near 127.0.0.1 "$port"
	converse near "$T/in" "$T/out"
	cmp "$T/in" "$T/out"
	unbind near
	bs_wait_gone "$BS_LAST" 500
}

@test "the peer closes, or resets, while read -w waits on the path: read gets its last line (after a close), then status 3, long before -w" {
	local how port rc l i
	for how in fin rst; do
		port=$(bs_free_port)
		rm -f "$T/got"
		bs_bg py bye "$port" "$how" "$T/got"
		peer_up "$port"
		bind-output b$how 127.0.0.1 "$port"
		write b$how hello
		: >"$T/lines"
		for ((i = 0; i < 3; i++)); do
			rc=0
			read -l -w 30 -v l b$how || rc=$?
			[ "$rc" = 0 ] || break
			echo "$l" >>"$T/lines"
		done
		[ -s "$T/got" ]
		[ "$rc" = 3 ] || fail "$how: read exited $rc"
		# A reset may overtake the line it follows; a close may not.
		[ "$how" = rst ] || [ "$(cat "$T/lines")" = bye ]
		unbind b$how || true
	done
}
