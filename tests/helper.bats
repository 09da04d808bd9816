#!/usr/bin/env bats
# The helper program: input and output helpers (of bind-input, bind-output
# and the pool) execute bashsock-helper, found next to the shared object;
# without it they run in the forked copy of the shell, as they used to.
# shellcheck shell=bash disable=SC2016,SC2154

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	SO=$(realpath "${BASHSOCK_SO:-$BS_ROOT/bashsock.so}")
	PROG=${SO%/*}/bashsock-helper
}
teardown() { bs_teardown; }

exe() { readlink "/proc/$1/exe"; }
comm() { cat "/proc/$1/comm"; }
# The command line of PID, its arguments joined by spaces.
cmdline() {
	local -a a
	mapfile -d '' -t a <"/proc/$1/cmdline"
	echo "${a[*]}"
}

# in_shell SO PORT: a fresh shell loads SO, makes an input binding in1 on
# PORT and an output binding out1 to it, writes a line, and prints its own
# executable and the two helpers' PIDs.
in_shell() {
	run -0 bash --norc -c '
		export BASHSOCK_SO=$1
		source "$2" || exit 99
		bind-input -v ip in1 "$3" || exit 98
		bind-output -v op out1 127.0.0.1 "$3" || exit 97
		write out1 "through $1" || exit 96
		echo "$(readlink /proc/$$/exe) $ip $op"' _ "$1" "$BS_LOADER" "$2"
	read -r SHEXE IPID OPID <<<"$output"
}

# forked SO: the helpers in_shell made are copies of its shell, named as
# before, and the line went through.
forked() {
	[ "$(exe "$IPID")" = "$SHEXE" ]
	[ "$(exe "$OPID")" = "$SHEXE" ]
	[ "$(comm "$IPID")" = bashsock-in ]
	[ "$(comm "$OPID")" = bashsock-out ]
	run -0 read -l -w 5 in1
	assert_output "through $1"
}

# report ARGS...: runs the helper program with ARGS and a pipe on fd 3;
# its status is the program's, its output the printable part of the report.
report() {
	bash -c 'set -o pipefail
		"$@" 3>&1 >/dev/null 2>&1 | tr -c "[:print:]" " "' _ "$PROG" "$@"
}

# --- the program --------------------------------------------------------

@test "an input binding's helper is the helper program next to the shared object" {
	local port pid
	[ -x "$PROG" ]
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	[ "$(exe "$pid")" = "$(realpath "$PROG")" ]
	[ "$(comm "$pid")" = bashsock-in ]
	[ "$(cmdline "$pid")" = "bashsock-in in $BASHSOCK_NS in1 $port 1048576 0 1024 any" ]
	printf 'hello\n' | bs_peer send "$port" 127.0.0.1
	run -0 read -l -w 5 in1
	assert_output hello
}

@test "an output binding's helper is the helper program next to the shared object" {
	local port ipid opid
	port=$(bs_free_port)
	bind-input -v ipid in1 "$port"
	bind-output -v opid out1 localhost "$port"
	[ "$(exe "$opid")" = "$(realpath "$PROG")" ]
	[ "$(comm "$opid")" = bashsock-out ]
	[ "$(cmdline "$opid")" = "bashsock-out out $BASHSOCK_NS out1 localhost $port 1048576 10000000000 0" ]
	write out1 'over the program'
	run -0 read -l -w 5 in1
	assert_output 'over the program'
}

@test "every option reaches the helper program" {
	local port ipid opid
	port=$(bs_free_port)
	bind-input -1 -a 127.0.0.1 -s 4k -m 3 -A 127.0.0.0/8 -A ::1 -v ipid in1 "$port"
	[ "$(cmdline "$ipid")" = "bashsock-in in $BASHSOCK_NS in1 $port 4096 1 3 127.0.0.0/8,::1/128 127.0.0.1" ]
	run -0 bindings
	assert_output "in1 in 127.0.0.1 $port $ipid 0 0"
	bind-output -r -t 2.5 -s 8k -v opid out1 127.0.0.1 "$port"
	[ "$(cmdline "$opid")" = "bashsock-out out $BASHSOCK_NS out1 127.0.0.1 $port 8192 2500000000 1" ]
	write out1 'with options'
	run -0 read -l -w 5 in1
	assert_output 'with options'
}

@test "bind-input -a with an address it cannot listen on fails as before" {
	run -1 --separate-stderr bind-input -a 192.0.2.1 in1 "$(bs_free_port)"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"bind-input: 192.0.2.1 port "*": Cannot assign requested address" ]]
	run -0 bindings
	assert_output ''
}

@test "the helper program has /dev/null on 0-2 and no other descriptor of the shell, even when the shell closed 0-2" {
	local port pid
	port=$(bs_free_port)
	bash --norc -c '
		source "$1" || exit 99
		exec 7>"$3/held" 0<&- 1>&- 2>&-
		bind-input -v p in1 "$2" && echo "$p" >"$3/pid"' _ "$BS_LOADER" "$port" "$T"
	pid=$(<"$T/pid")
	[ "$(exe "$pid")" = "$(realpath "$PROG")" ]
	for fd in 0 1 2; do
		[ "$(readlink "/proc/$pid/fd/$fd")" = /dev/null ]
	done
	run -0 ls -l "/proc/$pid/fd"
	refute_output --partial held
	refute_output --partial pipe:
	printf 'fds\n' | bs_peer send "$port" 127.0.0.1
	run -0 read -l -w 5 in1
	assert_output fds
}

@test "the helper program has its own session and no signal ignored but PIPE, even from a shell that ignores them" {
	local port pid ign
	port=$(bs_free_port)
	pid=$(bash --norc -c '
		trap "" INT HUP TERM QUIT USR1
		source "$1" || exit 99
		bind-input -v p in1 "$2" && echo "$p"' _ "$BS_LOADER" "$port")
	[ "$(exe "$pid")" = "$(realpath "$PROG")" ]
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
	# Of the standard signals (1-31) only PIPE; 32 and 33 are glibc's own.
	ign=$(awk '$1 == "SigIgn:" { print $2 }' "/proc/$pid/status")
	[ $((0x$ign & 0x7fffffff)) -eq $((1 << (13 - 1))) ]
	kill -TERM "$pid"
	bs_wait_gone "$pid"
	bs_wait_for 250 bs_port_free "$port"
}

@test "the helper program gets the shell's exported environment, not the one it started with" {
	local port pid
	port=$(bs_free_port)
	pid=$(BS_T_GONE=1 bash --norc -c '
		source "$1" || exit 99
		unset BS_T_GONE
		export BS_T_NEW=here
		BS_T_LOCAL=1
		bind-input -v p in1 "$2" && echo "$p"' _ "$BS_LOADER" "$port")
	[ "$(exe "$pid")" = "$(realpath "$PROG")" ]
	run -0 bash -c 'tr "\0" "\n" <"/proc/$1/environ"' _ "$pid"
	assert_line BS_T_NEW=here
	refute_line --regexp '^BS_T_GONE='
	refute_line --regexp '^BS_T_LOCAL='
}

@test "a pool's bindings are served by the helper program" {
	local port pid
	port=$(bs_free_port)
	mkdir "$T/d"
	printf '#!/bin/sh\necho one\nexec sleep 10\n' >"$T/d/dem1"
	chmod +x "$T/d/dem1"
	bs_bg pool k1 "$port" >"$T/pool.out" 2>&1 3>&-
	bs_wait_for 250 bs_port_listening "$port"
	bs_bg master k1 127.0.0.1 "$port" "$T/d" >/dev/null 2>&1 3>&-
	bs_wait_for 250 bs_is_field dem1 2 in
	pid=$(bs_field dem1 5)
	[ "$(exe "$pid")" = "$(realpath "$PROG")" ]
	[ "$(comm "$pid")" = bashsock-in ]
	run -0 read -l -w 5 dem1
	assert_output one
}

@test "a shared object loaded by a relative path finds its helper program after cd" {
	local port
	port=$(bs_free_port)
	run -0 bash --norc -c '
		cd "${1%/*}" && enable -f ./bashsock.so bind-input && cd / &&
		bind-input -v p in1 "$2" && readlink "/proc/$p/exe"' _ "$SO" "$port"
	assert_output "$(realpath "$PROG")"
}

# --- without it ---------------------------------------------------------

@test "with no helper program next to the shared object, the forked shell serves bindings" {
	mkdir "$T/alone"
	cp "$SO" "$T/alone/bashsock.so"
	in_shell "$T/alone/bashsock.so" "$(bs_free_port)"
	forked "$T/alone/bashsock.so"
}

@test "a helper program that is not executable is passed over" {
	mkdir "$T/noexec"
	cp "$SO" "$T/noexec/bashsock.so"
	cp "$PROG" "$T/noexec/bashsock-helper"
	chmod 0644 "$T/noexec/bashsock-helper"
	in_shell "$T/noexec/bashsock.so" "$(bs_free_port)"
	forked "$T/noexec/bashsock.so"
}

@test "when the helper program cannot be executed, the forked shell serves the binding" {
	mkdir "$T/broken"
	cp "$SO" "$T/broken/bashsock.so"
	printf 'no program\n' >"$T/broken/bashsock-helper"
	chmod 0755 "$T/broken/bashsock-helper"
	in_shell "$T/broken/bashsock.so" "$(bs_free_port)"
	forked "$T/broken/bashsock.so"
}

# --- its command line ---------------------------------------------------

@test "the helper program run by hand says what it is for and exits 2" {
	run -2 --separate-stderr "$PROG" in "$BASHSOCK_NS" in1 20001 1024 0 3>&-
	assert_equal "$stderr" "bashsock-helper: run by bashsock.so only (its report pipe on fd 3)"
	run -0 bindings
	assert_output ''
}

@test "the helper program refuses every malformed command line" {
	local ns=$BASHSOCK_NS args bad=0
	local -a cases=(
		''
		'in'
		'in NS'
		'in NS x 20001 1024'
		'in NS x 20001 1024 0 127.0.0.1 extra'
		'in NS 1x 20001 1024 0'
		'in bad/ns x 20001 1024 0'
		'in NS x 1023 1024 0'
		'in NS x 49152 1024 0'
		'in NS x 020001 1024 0'
		'in NS x +20001 1024 0'
		'in NS x 00 1024 0'
		'in NS x 20001 1023 0'
		'in NS x 20001 1073741825 0'
		'in NS x 20001 01024 0'
		'in NS x 20001 1k 0'
		'in NS x 20001 1024 2'
		'in NS x 20001 1024 yes'
		'in NS x 20001 99999999999999999999999 0'
		'out NS x'
		'out NS x host 20001 1024 1000 0 extra'
		'out NS x host 0 1024 1000 0'
		'out NS x host 20001 1024 0 0'
		'out NS x host 20001 1024 31536000000000001 0'
		'out NS x host 20001 1024 1000 2'
		'out NS -x host 20001 1024 1000 0'
		'bogus NS x 20001 1024 0'
		'IN NS x 20001 1024 0'
	)
	for args in "${cases[@]}"; do
		# shellcheck disable=SC2086 # the words of a case
		run report ${args//NS/$ns}
		if [ "$status" -ne 2 ] || [[ $output != *"bashsock-helper: invalid arguments"* ]]; then
			echo "[$args]: status $status, report [$output]" >&2
			bad=$((bad + 1))
		fi
	done
	run report out "$ns" x '' 20001 1024 1000 0
	[ "$status" -eq 2 ] || bad=$((bad + 1))
	[ "$bad" -eq 0 ]
	run -0 bindings
	assert_output ''
}
