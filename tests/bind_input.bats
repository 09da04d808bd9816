#!/usr/bin/env bats
# bind-input: listening, many clients, lines never mixed, closing by signal,
# stale bindings, -1, and every bad input the contract names.

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() { bs_setup; }
teardown() { bs_teardown; }

# --- listening ---------------------------------------------------------

@test "bind-input prints the helper's PID and the port listens when it returns" {
	local port pid
	port=$(bs_free_port)
	run -0 bind-input in1 "$port"
	pid=$output
	[[ $pid =~ ^[0-9]+$ ]]
	[ "$(cat "/proc/$pid/comm")" = bashsock-in ]
	bs_port_listening "$port"
	run -0 bindings
	assert_output "in1 in :: $port $pid 0 0"
}

@test "bind-input -v VAR stores the PID in VAR and prints nothing" {
	local port pid=unset
	port=$(bs_free_port)
	run -0 bash --norc -c '. "$1" && bind-input -v pid in1 "$2" &&
		[ -n "$pid" ] && bindings | awk -v p="$pid" "\$5 == p { print \"found\" }"' \
		bash "$BS_LOADER" "$port"
	assert_output found
	bind-input -v pid in2 "$(bs_free_port)" >"$BATS_TEST_TMPDIR/out"
	[ ! -s "$BATS_TEST_TMPDIR/out" ]
	[ "$(bs_field in2 5)" = "$pid" ]
}

@test "bind-input inside a command substitution returns at once" {
	local port pid
	port=$(bs_free_port)
	pid=$(timeout 5 bash --norc -c '. "$1" && p=$(bind-input in1 "$2") && echo "$p"' \
		bash "$BS_LOADER" "$port")
	[[ $pid =~ ^[0-9]+$ ]]
	[ "$(bs_field in1 5)" = "$pid" ]
}

@test "the binding accepts clients over IPv4 and IPv6 by default" {
	local port
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	printf 'four\n' | bs_peer send "$port" 127.0.0.1
	printf 'six\n' | bs_peer send "$port" ::1
	bs_wait_buffered in1 9
	read -v got in1
	[ "$got" = "four
six
" ] || [ "$got" = "six
four
" ]
}

@test "bind-input -a 127.0.0.1 listens on IPv4 loopback only" {
	local port
	port=$(bs_free_port)
	bind-input -a 127.0.0.1 -v pid in1 "$port"
	run -0 bs_field in1 3
	assert_output 127.0.0.1
	run -0 bs_peer try "$port" ::1
	assert_output refused
	run -0 bs_peer try "$port" 127.0.0.1
	assert_output connected
}

@test "the listener stays open between clients and after a client leaves" {
	local port round
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	for round in 1 2 3; do
		printf 'client %s\n' "$round" | nc -N 127.0.0.1 "$port"
		bs_wait_buffered in1 9
		run -0 read -l in1
		assert_output "client $round"
	done
	bs_port_listening "$port"
}

@test "a client's partial line is held back until its newline" {
	local port
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	bs_bg python3 "$BS_PEER" hold "$port" 'first\nsecond-half' >"$BATS_TEST_TMPDIR/hold" 3>&-
	bs_wait_buffered in1 6
	printf 'other\n' | socat -u - "TCP:127.0.0.1:$port"
	bs_wait_buffered in1 12
	run -0 read in1
	assert_output "first
other"
	# The partial line goes out when its client disconnects, ended by a
	# newline so that it cannot merge with another client's next line.
	kill -TERM "$BS_LAST"
	bs_wait_buffered in1 12
	read -v got in1
	[ "$got" = "second-half"$'\n' ]
}

@test "an unterminated last line of a client that left never merges with the next client's line" {
	local port
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	printf 'tail' | socat -u - "TCP:127.0.0.1:$port"
	bs_wait_buffered in1 5
	printf 'more\n' | socat -u - "TCP:127.0.0.1:$port"
	bs_wait_buffered in1 10
	read -l -v a in1
	read -l -v b in1
	[ "$a" = tail ]
	[ "$b" = more ]
}

@test "a -1 binding passes its client's unterminated last bytes on unchanged" {
	local port
	port=$(bs_free_port)
	bind-input -1 -v pid in1 "$port"
	printf 'no newline' | socat -u - "TCP:127.0.0.1:$port"
	read -w 5 -v got in1
	[ "$got" = "no newline" ]
	run -3 read -w 5 in1
}

# --- the seed's first example -------------------------------------------

# The example of seed.txt section 1, tests/helpers/seed_example1.sh, runs as
# written there. Only three things change in the copy that runs: the port
# (9999 may be taken by someone else), the PID file (/tmp/get_bg_pid is
# shared by everything on the machine) and the sleeps (1 s -> 0.1 s). Its
# xtrace shows every value the loop read into $message.
@test "the seed's first example reads what a socat sender sends, stops at END and closes" {
	local port tmp=$BATS_TEST_TMPDIR seed sender_pid msg want
	port=$(bs_free_port)
	sed -e "s/9999/$port/g" -e "s|/tmp/get_bg_pid|$tmp/get_bg_pid|g" \
		-e 's/sleep 1/sleep 0.1/g' "$BS_HELPERS/seed_example1.sh" >"$tmp/seed.sh"
	# The copy differs from the seed in exactly those places.
	run diff <(sed -e "s/$port/9999/g" -e "s|$tmp/get_bg_pid|/tmp/get_bg_pid|g" \
		-e 's/sleep 0\.1/sleep 1/g' "$tmp/seed.sh") "$BS_HELPERS/seed_example1.sh"
	assert_success
	# Run as a script; BASH_ENV loads the builtins before it starts.
	bs_bg env BASH_ENV="$BS_LOADER" bash -x "$tmp/seed.sh" 2>"$tmp/trace" 3>&-
	seed=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
	# The sender's stdin: a FIFO this shell writes lines into.
	mkfifo "$tmp/fifo"
	exec 4<>"$tmp/fifo"
	bs_bg_in "$tmp/fifo" socat -u STDIN "TCP:127.0.0.1:$port" 3>&- 4>&-
	sender_pid=$BS_LAST
	bs_wait_clients input1 1
	for msg in hello 'two words' END; do
		printf '%s\n' "$msg" >&4
		# The next line goes out once the loop has read this one.
		want="+ message=$msg"
		[[ $msg != *' '* ]] || want="+ message='$msg'"
		bs_wait_for 250 bs_file_has "$tmp/trace" "$want"
	done
	exec 4>&-
	bs_wait_gone "$seed"
	wait "$seed"
	# What the loop saw, empty reads left out: each line once, in order.
	run -0 grep '^+ message=.' "$tmp/trace"
	assert_output "+ message=hello
+ message='two words'
+ message=END"
	# It ran kill -INT on the helper: gone, port free, sender disconnected.
	bs_wait_gone "$(cat "$tmp/get_bg_pid")"
	bs_port_free "$port"
	bs_wait_gone "$sender_pid"
	run -0 bindings
	assert_output ""
}

# --- many clients --------------------------------------------------------

@test "lines of 20 concurrent clients sent in two pieces are neither mixed nor lost" {
	local port n=0 line
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	bs_bg python3 "$BS_PEER" split "$port" 20 10 >"$BATS_TEST_TMPDIR/split" 3>&-
	: >"$BATS_TEST_TMPDIR/got"
	while [ "$n" -lt 200 ] && read -l -w 10 -v line in1; do
		printf '%s\n' "$line" >>"$BATS_TEST_TMPDIR/got"
		n=$((n + 1))
	done
	[ "$n" -eq 200 ]
	bs_wait_gone "$BS_LAST"
	wait "$BS_LAST"
	run -0 cat "$BATS_TEST_TMPDIR/split"
	assert_output done
	# Nothing more arrived, and the lines are exactly those sent.
	run -1 read -w 0.2 in1
	assert_output ""
	bs_peer expect 20 10 | sort >"$BATS_TEST_TMPDIR/want"
	sort "$BATS_TEST_TMPDIR/got" | diff - "$BATS_TEST_TMPDIR/want"
}

@test "twenty background nc clients each get every line through" {
	local port k
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	for k in $(seq 1 20); do
		bs_bg sh -c 'seq -f "nc$1 line %g" 1 50 | nc -N 127.0.0.1 "$2"' \
			sh "$k" "$port" 3>&-
	done
	for k in "${BS_PIDS[@]}"; do
		bs_wait_gone "$k"
	done
	: >"$BATS_TEST_TMPDIR/got"
	# 1,000 lines were sent; a 1,001st would be one too many.
	for ((k = 0; k < 1001; k++)); do
		read -l -w 10 -v line in1 || break
		printf '%s\n' "$line" >>"$BATS_TEST_TMPDIR/got"
	done
	run -1 read -w 0.2 in1
	for k in $(seq 1 20); do
		seq -f "nc$k line %g" 1 50
	done | sort >"$BATS_TEST_TMPDIR/want"
	sort "$BATS_TEST_TMPDIR/got" | diff - "$BATS_TEST_TMPDIR/want"
}

# --- closing by signal -----------------------------------------------------

# kill -SIG closes the binding: the helper goes, the port is free at once
# (and can be bound again), its clients see EOF, the ID is free again.
check_kill_closes() {
	local sig=$1 port pid nc_pid
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	bs_bg nc -d 127.0.0.1 "$port" >"$BATS_TEST_TMPDIR/nc.out" 3>&-
	nc_pid=$BS_LAST
	bs_bg python3 "$BS_PEER" hold "$port" 'unread data\n' >"$BATS_TEST_TMPDIR/hold" 3>&-
	bs_wait_clients in1 2
	bs_wait_buffered in1 12
	kill "-$sig" "$pid"
	bs_wait_gone "$pid"
	bs_port_free "$port"
	# Both clients were disconnected by the helper.
	bs_wait_gone "$nc_pid"
	wait "$nc_pid"
	bs_wait_for 250 bs_file_has "$BATS_TEST_TMPDIR/hold" EOF
	run -0 bindings
	assert_output ""
	# Its file is gone (and the namespace directory with its last one).
	[ ! -e "$(bs_nsdir)/in1" ]
	# ID and port are free: bound again at once, with the unread data gone.
	run -0 bind-input in1 "$port"
	run -1 read in1
	assert_output ""
}

@test "kill -INT closes the binding, frees the port and disconnects clients" {
	check_kill_closes INT
}

@test "kill -HUP closes the binding, frees the port and disconnects clients" {
	check_kill_closes HUP
}

@test "kill -TERM closes the binding, frees the port and disconnects clients" {
	check_kill_closes TERM
}

@test "after SIGKILL the same ID and port can be bound again and the stale binding is not listed" {
	local port pid pid2
	port=$(bs_free_port)
	pid=$(bind-input in1 "$port")
	bs_bg python3 "$BS_PEER" hold "$port" 'x\n' >/dev/null 3>&-
	bs_wait_clients in1 1
	kill -KILL "$pid"
	bs_wait_gone "$pid"
	# The stale file is still there, but nobody lists it.
	run -0 bindings
	assert_output ""
	run -0 bindings -a
	refute_output --partial " $pid "
	run -2 read -l in1
	run bind-input in1 "$port"
	[ "$status" -eq 0 ] || {
		echo "rebind: $output" >&2
		ss -tanp "sport = :$port" >&2
		false
	}
	pid2=$output
	[ "$pid2" != "$pid" ]
	run -0 bindings
	assert_output "in1 in :: $port $pid2 0 0"
	printf 'fresh\n' | bs_peer send "$port"
	bs_wait_buffered in1 6
	run -0 read -l in1
	assert_output fresh
}

# --- one client (-1) -------------------------------------------------------

@test "a -1 binding refuses a second client" {
	local port
	port=$(bs_free_port)
	bind-input -1 -v pid one "$port"
	bs_bg python3 "$BS_PEER" hold "$port" 'mine\n' >/dev/null 3>&-
	bs_wait_clients one 1
	run -0 bs_peer try "$port"
	assert_output refused
	run -1 nc -z 127.0.0.1 "$port"
	bs_wait_buffered one 5
}

@test "a -1 binding ends after its client left, its data was read and read returned 3" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input -1 one "$port")
	printf 'one\ntwo\n' | nc -N 127.0.0.1 "$port"
	bs_wait_for 250 bs_is_field one 7 ended
	# Until the end is reported, it is listed as ended, its data readable.
	run -0 bindings
	assert_output "one in :: $port $pid 8 ended"
	run -0 read -l one
	assert_output one
	run -0 read -l one
	assert_output two
	run -0 bs_field one 7
	assert_output ended
	run -1 bs_pid_gone "$pid"
	run -3 read -l one
	assert_output ""
	bs_wait_gone "$pid"
	run -0 bindings
	assert_output ""
	bs_port_free "$port"
}

@test "a -1 binding whose client sends nothing ends on the next read after it left" {
	local port pid
	port=$(bs_free_port)
	pid=$(bind-input -1 one "$port")
	nc -z 127.0.0.1 "$port"
	bs_wait_for 250 bs_is_field one 7 ended
	run -3 read -v v one
	[ -z "$v" ]
	bs_wait_gone "$pid"
	run -0 bindings
	assert_output ""
}

# --- buffer size and backpressure --------------------------------------------

@test "bind-input -s 1k holds the sender back instead of dropping bytes" {
	local port want got=0 k chunk
	port=$(bs_free_port)
	bind-input -s 1k -v pid small "$port"
	head -c 300000 /dev/urandom | base64 -w 63 >"$BATS_TEST_TMPDIR/src"
	bs_bg_in "$BATS_TEST_TMPDIR/src" nc -N 127.0.0.1 "$port" 3>&-
	# 64-byte lines: a full buffer holds exactly 16 of them.
	bs_wait_buffered small 1024
	: >"$BATS_TEST_TMPDIR/dst"
	# Drained until every byte is here, each wait bounded.
	want=$(stat -c %s "$BATS_TEST_TMPDIR/src")
	for ((k = 0; k < 5000 && got < want; k++)); do
		read -w 10 -v chunk small || break
		printf '%s' "$chunk" >>"$BATS_TEST_TMPDIR/dst"
		got=$((got + ${#chunk}))
	done
	cmp "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/dst"
}

# check_capacity SIZE_OPTION BYTES: a binding made with SIZE_OPTION (empty:
# the default) buffers exactly BYTES of an unread stream of 64-byte lines.
check_capacity() {
	local port
	port=$(bs_free_port)
	# shellcheck disable=SC2086
	bind-input $1 -v pid cap "$port"
	head -c $(($2 * 2)) /dev/zero | base64 -w 63 >"$BATS_TEST_TMPDIR/src"
	bs_bg_in "$BATS_TEST_TMPDIR/src" nc -N 127.0.0.1 "$port" 3>&-
	bs_wait_buffered cap "$2"
	run -0 read -b 64 cap
	[ "${#output}" -eq 63 ]
	bs_wait_buffered cap "$2"
}

@test "the default buffer holds 1M and a sender is held back beyond it" {
	check_capacity '' 1048576
}

@test "bind-input -s 64k buffers 64 KiB" { check_capacity '-s 64k' 65536; }
@test "bind-input -s 2M buffers 2 MiB" { check_capacity '-s 2M' 2097152; }
@test "bind-input -s 4096 takes a plain byte count" { check_capacity '-s 4096' 4096; }

# --- bad input ---------------------------------------------------------------

@test "bind-input rejects an empty ID with status 2" { bs_bad 2 bind-input '' 20001; }
@test "bind-input rejects an ID starting with a digit" { bs_bad 2 bind-input 1abc 20001; }
@test "bind-input rejects an ID with a slash" { bs_bad 2 bind-input a/b 20001; }
@test "bind-input rejects the ID .." { bs_bad 2 bind-input .. 20001; }
@test "bind-input rejects an ID with a space" { bs_bad 2 bind-input 'a b' 20001; }
@test "bind-input rejects an ID of 65 characters" {
	bs_bad 2 bind-input "a$(printf '%064d' 0)" 20001
}

@test "bind-input accepts an ID of 64 characters and every allowed character" {
	local id
	id="_Az09.-$(printf 'x%.0s' {1..57})"
	[ "${#id}" -eq 64 ]
	run -0 bind-input "$id" "$(bs_free_port)"
	run -0 bs_field "$id" 1
	assert_output "$id"
}

@test "bind-input rejects port 0" { bs_bad 2 bind-input in1 0; }
@test "bind-input rejects port 1023" { bs_bad 2 bind-input in1 1023; }
@test "bind-input rejects port 49152" { bs_bad 2 bind-input in1 49152; }
@test "bind-input rejects a port that is not a number" { bs_bad 2 bind-input in1 abc; }
@test "bind-input rejects a port of 11 digits" { bs_bad 2 bind-input in1 99999999999; }
@test "bind-input rejects a negative port" { bs_bad 2 bind-input in1 -5; }
@test "bind-input rejects an empty port" { bs_bad 2 bind-input in1 ''; }
@test "bind-input rejects a port with a leading zero" {
	bs_bad 2 bind-input in1 "0$(bs_free_port)"
}

@test "bind-input accepts ports 1024 and 49151 when they are free" {
	local p
	for p in 1024 49151; do
		bs_port_free "$p" || skip "port $p is in use on this machine"
	done
	run -0 bind-input lo 1024
	run -0 bind-input hi 49151
	run -0 bindings
	assert_line --regexp '^hi in :: 49151 [0-9]+ 0 0$'
	assert_line --regexp '^lo in :: 1024 [0-9]+ 0 0$'
}

@test "bind-input rejects size 0" { bs_bad 2 bind-input -s 0 in1 20001; }
@test "bind-input rejects size 1x" { bs_bad 2 bind-input -s 1x in1 20001; }
@test "bind-input rejects size -5" { bs_bad 2 bind-input -s -5 in1 20001; }
@test "bind-input rejects size 2G" { bs_bad 2 bind-input -s 2G in1 20001; }
@test "bind-input rejects an empty size" { bs_bad 2 bind-input -s '' in1 20001; }
@test "bind-input rejects an unknown option" { bs_bad 2 bind-input -z in1 20001; }
@test "bind-input rejects a missing PORT" { bs_bad 2 bind-input in1; }
@test "bind-input rejects no operand at all" { bs_bad 2 bind-input; }
@test "bind-input rejects a third operand" { bs_bad 2 bind-input in1 20001 extra; }
@test "bind-input rejects -s without its argument" { bs_bad 2 bind-input -s; }
@test "bind-input rejects -v with an invalid variable name" { bs_bad 2 bind-input -v 1x in1 20001; }

@test "bind-input rejects an invalid BASHSOCK_NS with status 2" {
	BASHSOCK_NS='../x' bs_bad 2 bind-input in1 "$(bs_free_port)"
}

@test "bind-input of an ID held by a live binding fails with status 1 and leaves it alone" {
	local pid port2
	bind-input -v pid in1 "$(bs_free_port)"
	port2=$(bs_free_port)
	bs_bad 1 bind-input in1 "$port2"
	[[ $stderr == *in1* ]]
	bs_port_free "$port2"
	[ "$(bs_field in1 5)" = "$pid" ]
}

@test "bind-input on a port held by another listener fails with status 1" {
	local port
	port=$(bs_free_port)
	bs_bg python3 "$BS_PEER" listen "$port" >"$BATS_TEST_TMPDIR/listen" 3>&-
	bs_wait_for 250 bs_file_has "$BATS_TEST_TMPDIR/listen" listening
	bs_bad 1 bind-input in1 "$port"
	# The line names the port, and no "*" stands for "every address".
	[[ $stderr == *"bind-input: port $port: Address already in use" ]]
	bs_bad 1 bind-input -a 127.0.0.1 in1 "$port"
	[[ $stderr == *"bind-input: 127.0.0.1 port $port: Address already in use" ]]
}

@test "bind-input on a port held by another binding fails with status 1" {
	local port
	port=$(bs_free_port)
	bind-input -v pid in1 "$port"
	bs_bad 1 bind-input in2 "$port"
	run -0 bindings
	assert_output "in1 in :: $port $pid 0 0"
}

@test "bind-input -a with an address that is not local fails with status 1" {
	bs_bad 1 bind-input -a 192.0.2.1 in1 "$(bs_free_port)"
}

@test "bind-input -a with a name that does not resolve fails with status 1" {
	bs_bad 1 bind-input -a no.such.host.invalid in1 "$(bs_free_port)"
}

# bash's own builtins answer --help with status 2 (EX_USAGE): so does this.
@test "bind-input --help prints its usage and help bind-input its documentation" {
	run -2 --separate-stderr bind-input --help
	assert_equal "$stderr" ""
	assert_line --partial 'bind-input [-1] [-A PREFIX] [-a ADDR] [-K KEY] [-m MAX] [-s SIZE] [-T CERT] [-v VAR] ID PORT'
	run -0 help bind-input
	assert_line --partial 'Listen on a TCP port'
}
