#!/usr/bin/env bats
# read, socket form: read [-l] [-b COUNT] [-w SECS] [-v VAR] [-c VAR] ID
# Exit statuses, byte-exactness, waiting, signals, and readers in other
# processes (subshells, unrelated scripts, several at once).

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
}
teardown() { bs_teardown; }

# bind PORTVAR ID [OPTIONS...]: binds ID on a free port, stores the port.
bind() {
	local -n port_=$1
	local id=$2
	shift 2
	port_=$(bs_free_port)
	bind-input "$@" -v BS_BIND_PID "$id" "$port_"
}

# send PORT DATA: a Python client sends DATA (printf format) and leaves.
send() {
	# shellcheck disable=SC2059
	printf "$2" | bs_peer send "$1"
}

# bg_reader OUT SCRIPT: runs SCRIPT in an unrelated bash with the builtins
# loaded, its stdout and stderr into OUT; BS_LAST is that bash, and
# OUT.ready appears once the builtins are loaded. SIGINT is reset to its
# default (bash ignores it in background jobs otherwise).
bg_reader() {
	rm -f "$1.ready"
	bs_bg env --default-signal=INT bash --norc -c \
		'. "$1" || exit 99; : >"$3"; eval "$2"' \
		bash "$BS_LOADER" "$2" "$1.ready" >"$1" 2>&1 3>&-
}

# reader_waits OUT PID: waits until the reader PID started by bg_reader OUT
# has loaded the builtins and sleeps in one of the socket read's waits.
reader_waits() {
	bs_wait_for 500 test -e "$1.ready" && bs_wait_for 250 bs_read_waits "$2"
}

# --- statuses and data -------------------------------------------------------

@test "read ID drains everything buffered, byte-exact, with status 0" {
	bind port in1
	send "$port" 'first line\n  second\tline \\ \n'
	bs_wait_buffered in1 28
	read in1 >"$T/got"
	printf 'first line\n  second\tline \\ \n' | cmp - "$T/got"
	run -0 bs_field in1 6
	assert_output 0
}

@test "lines a bash /dev/tcp sender writes one by one arrive in order" {
	local got
	bind port in1
	bash --norc -c 'exec 5>/dev/tcp/127.0.0.1/"$1" || exit 9
		for n in 1 2 3; do echo "dev tcp $n" >&5; done
		printf "no newline" >&5
		exec 5>&-' bash "$port"
	# The unterminated last line arrives ended by a newline (shared binding).
	bs_wait_buffered in1 41
	read -v got in1
	[ "$got" = $'dev tcp 1\ndev tcp 2\ndev tcp 3\nno newline\n' ]
}

@test "read with nothing buffered prints nothing and returns 1" {
	bind port in1
	local rc=0
	read in1 >"$T/got" || rc=$?
	[ "$rc" -eq 1 ]
	[ ! -s "$T/got" ]
}

@test "read -v VAR with nothing buffered sets VAR to empty and returns 1" {
	bind port in1
	local rc=0 v=old
	read -v v in1 || rc=$?
	[ "$rc" -eq 1 ]
	run -0 declare -p v
	assert_output 'declare -- v=""'
	rc=0
	v=old
	read -l -w 0.1 -v v in1 || rc=$?
	[ "$rc" -eq 1 ]
	[ -z "$v" ]
}

@test "read -v VAR assigns what read would print, without a subshell" {
	local v
	bind port in1
	send "$port" 'one\ntwo\n'
	bs_wait_buffered in1 8
	read -v v in1
	[ "$v" = $'one\ntwo\n' ]
	send "$port" 'three\n'
	bs_wait_buffered in1 6
	read -l -v 'arr[3]' in1
	[ "${arr[3]}" = three ]
}

@test "read -l returns one line at a time without its newline" {
	bind port in1
	send "$port" 'alpha\n\nbeta  \n'
	bs_wait_buffered in1 14
	read -l in1 >"$T/1"
	read -l in1 >"$T/2"
	read -l in1 >"$T/3"
	printf 'alpha' | cmp - "$T/1"
	[ ! -s "$T/2" ]
	printf 'beta  ' | cmp - "$T/3"
	run -1 read -l in1
	assert_output ""
}

@test "read -l gives a final unterminated line only once the stream has ended" {
	local pid
	bind port one -1
	pid=$BS_BIND_PID
	bs_bg python3 "$BS_PEER" hold "$port" 'one\ntail' >"$T/hold" 3>&-
	bs_wait_for 250 bs_file_has "$T/hold" connected
	bs_wait_buffered one 8
	run -0 read -l one
	assert_output one
	# The client is still there: no line for -l, the partial one is held.
	run -1 read -l -w 0.2 one
	assert_output ""
	kill -TERM "$BS_LAST"
	bs_wait_for 250 bs_is_field one 7 ended
	read -l one >"$T/tail"
	printf 'tail' | cmp - "$T/tail"
	run -3 read -l one
	assert_output ""
	bs_wait_gone "$pid"
}

@test "on a -1 binding bytes are readable as they come, without a newline" {
	bind port one -1
	bs_bg python3 "$BS_PEER" hold "$port" 'one\npass: ' >"$T/hold" 3>&-
	bs_wait_for 250 bs_file_has "$T/hold" connected
	bs_wait_buffered one 10
	run -0 read -l one
	assert_output one
	# A prompt with no newline (a byte stream) is not held back.
	run -0 read one
	assert_output 'pass: '
}

@test "read -l -w waits for a whole line, not for any data" {
	local line reader long
	long=$(printf 'y%.0s' {1..3000})
	bind port in1 -s 4k
	mkfifo "$T/ctl"
	exec 4<>"$T/ctl"
	# A line longer than half the buffer is published as it comes.
	bs_bg_in "$T/ctl" python3 "$BS_PEER" hold "$port" "$long" >"$T/hold" 3>&- 4>&-
	bs_wait_buffered in1 3000
	run -1 read -l -w 0.2 in1
	assert_output ""
	bg_reader "$T/out" 'read -l -w 30 -v got in1; echo "rc=$? ${#got}"'
	reader=$BS_LAST
	reader_waits "$T/out" "$reader"
	echo 'tail\n' >&4
	bs_wait_gone "$reader"
	exec 4>&-
	run -0 cat "$T/out"
	assert_output "rc=0 3004"
}

@test "read -b COUNT returns at most COUNT bytes" {
	bind port in1
	send "$port" 'abcdefghij\n'
	bs_wait_buffered in1 11
	run -0 read -b 4 in1
	assert_output abcd
	run -0 read -b 4 in1
	assert_output efgh
	read -b 100 in1 >"$T/rest"
	printf 'ij\n' | cmp - "$T/rest"
	run -1 read -b 1 in1
}

@test "read -l -b COUNT cuts a longer line at COUNT bytes" {
	bind port in1
	send "$port" 'abcdef\nxy\n'
	bs_wait_buffered in1 10
	run -0 read -l -b 3 in1
	assert_output abc
	run -0 read -l in1
	assert_output def
	run -0 read -l -b 3 in1
	assert_output xy
}

@test "read writes NUL bytes to stdout byte-exact" {
	bind port in1
	send "$port" 'a\0b\n\0\0c\n'
	bs_wait_buffered in1 8
	read in1 >"$T/got"
	printf 'a\0b\n\0\0c\n' | cmp - "$T/got"
	run -0 od -An -c "$T/got"
	assert_output '   a  \0   b  \n  \0  \0   c  \n'
}

@test "read -v drops NUL bytes, as bash's read does" {
	local v
	bind port in1
	send "$port" 'a\0b\n\0c\n'
	bs_wait_buffered in1 7
	read -v v in1
	[ "$v" = $'ab\nc\n' ]
}

# --- waiting -----------------------------------------------------------------

@test "read -w wakes up when data arrives and returns it with status 0" {
	local reader
	bind port in1
	bg_reader "$T/out" 'read -l -w 30 -v got in1; echo "rc=$? got=$got"'
	reader=$BS_LAST
	reader_waits "$T/out" "$reader"
	printf 'wake up\n' | socat -u - "TCP:127.0.0.1:$port"
	# It returns long before its 30 s are over.
	bs_wait_gone "$reader"
	run -0 cat "$T/out"
	assert_output "rc=0 got=wake up"
}

@test "read -w with nothing arriving returns 1 after the wait" {
	local start
	bind port in1
	start=$EPOCHREALTIME
	run -1 read -w 0.3 in1
	assert_output ""
	# Not before the 0.3 s.
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a >= 0.29) }'
}

@test "read -w returns 3 when the binding is closed while it waits" {
	local r1 r2
	bind port in1
	bg_reader "$T/out1" 'read -w 30 in1; echo "rc=$?"'
	r1=$BS_LAST
	bg_reader "$T/out2" 'read -l -w 30 -v v in1; echo "rc=$? v=$v"'
	r2=$BS_LAST
	reader_waits "$T/out1" "$r1"
	reader_waits "$T/out2" "$r2"
	unbind in1
	bs_wait_gone "$r1"
	bs_wait_gone "$r2"
	run -0 cat "$T/out1"
	assert_output "rc=3"
	run -0 cat "$T/out2"
	assert_output "rc=3 v="
}

@test "read -w on a -1 binding returns 3 when its client leaves while it waits" {
	local reader pid client
	bind port one -1
	pid=$BS_BIND_PID
	bs_bg python3 "$BS_PEER" hold "$port" '' >"$T/hold" 3>&-
	client=$BS_LAST
	bs_wait_for 250 bs_file_has "$T/hold" connected
	bg_reader "$T/out" 'read -l -w 30 one; echo "rc=$?"'
	reader=$BS_LAST
	reader_waits "$T/out" "$reader"
	kill -TERM "$client"
	bs_wait_gone "$reader"
	run -0 cat "$T/out"
	assert_output "rc=3"
	bs_wait_gone "$pid"
}

# --- signals -------------------------------------------------------------------

# check_signal_like_bash SIG STATUS: a non-interactive bash waiting in the
# socket read dies of SIG with STATUS and runs nothing more, as it does
# waiting in bash's own read (here on a FIFO).
check_signal_like_bash() {
	local sig=$1 want=$2 reader rc form
	bind port in1
	mkfifo "$T/fifo"
	for form in 'read -t 30 -u 5 v 5<>"$F"' 'read -l -w 30 in1'; do
		rm -f "$T/ready"
		bs_bg env --default-signal=INT F="$T/fifo" R="$T/ready" bash --norc -c \
			'. "$1" || exit 99; : >"$R"; '"$form"'; echo "after rc=$?"' \
			bash "$BS_LOADER" >"$T/out" 2>&1 3>&-
		reader=$BS_LAST
		bs_wait_for 250 test -e "$T/ready"
		bs_wait_for 250 bs_blocked "$reader"
		kill "-$sig" "$reader"
		bs_wait_gone "$reader"
		rc=0
		wait "$reader" || rc=$?
		[ "$rc" -eq "$want" ] || {
			echo "$form: status $rc, expected $want" >&2
			return 1
		}
		[ ! -s "$T/out" ]
	done
}

# True once PID sleeps in the kernel (in a read(2) or a futex wait).
bs_blocked() {
	local w
	w=$(cat "/proc/$1/wchan" 2>/dev/null) || return 0
	[ -n "$w" ] && [ "$w" != 0 ]
}

@test "SIGINT ends a script waiting in read -w with status 130, as in bash's read" {
	check_signal_like_bash INT 130
}

@test "SIGTERM ends a script waiting in read -w with status 143, as in bash's read" {
	check_signal_like_bash TERM 143
}

@test "a trap runs while read -w waits, and the wait goes on" {
	local reader
	bind port in1
	bg_reader "$T/out" 'trap "echo trapped" USR1 INT
		read -l -w 30 -v got in1; echo "rc=$? got=$got"'
	reader=$BS_LAST
	reader_waits "$T/out" "$reader"
	kill -USR1 "$reader"
	bs_wait_for 250 bs_file_has "$T/out" trapped
	kill -INT "$reader"
	bs_wait_for 250 eval '[ "$(grep -c trapped "$T/out")" -eq 2 ]'
	reader_waits "$T/out" "$reader"
	send "$port" 'after traps\n'
	bs_wait_gone "$reader"
	run -0 cat "$T/out"
	assert_output "trapped
trapped
rc=0 got=after traps"
}

# --- other readers ----------------------------------------------------------------

@test "a subshell reads the binding with \$(read ID) and the data is gone for the parent" {
	local got
	bind port in1
	send "$port" 'from the wire\n'
	bs_wait_buffered in1 14
	got=$(read in1)
	[ "$got" = "from the wire" ]
	run -1 read in1
	send "$port" 'piped\n'
	bs_wait_buffered in1 6
	got=$(read in1 | tr a-z A-Z)
	[ "$got" = PIPED ]
	send "$port" 'in the background\n'
	bs_wait_buffered in1 18
	(read -l -v v in1 && printf '%s' "$v" >"$T/bg") &
	wait $!
	[ "$(cat "$T/bg")" = "in the background" ]
}

@test "an unrelated bash process with the same BASHSOCK_NS reads the binding" {
	bind port in1
	send "$port" 'shared\n'
	bs_wait_buffered in1 7
	run -0 bash --norc -c '. "$1"; read -v x -w 2 in1; rc=$?; printf "%s|%s|" "$rc" "$x"' \
		bash "$BS_LOADER"
	assert_output "0|shared
|"
	run -0 bs_field in1 6
	assert_output 0
}

@test "a process in another namespace does not see the binding" {
	bind port in1
	send "$port" 'mine\n'
	bs_wait_buffered in1 5
	run -2 --separate-stderr env BASHSOCK_NS="${BASHSOCK_NS}x" \
		bash --norc -c '. "$1"; read -l -w 1 in1' bash "$BS_LOADER"
	[ "${#stderr_lines[@]}" -eq 1 ]
	# There, `read in1' is bash's read, from stdin.
	run -0 env BASHSOCK_NS="${BASHSOCK_NS}x" \
		bash --norc -c '. "$1"; read in1 <<<"stdin line"; echo "[$in1]"' \
		bash "$BS_LOADER"
	assert_output "[stdin line]"
	run -0 bs_field in1 6
	assert_output 5
}

@test "a reader started before the binding existed sees it, and sees it made again" {
	local reader port2
	mkfifo "$T/go"
	exec 4<>"$T/go"
	bg_reader "$T/out" 'read -l in1 2>/dev/null; echo "before rc=$?"
		exec 5<"'"$T/go"'"
		read -r go <&5
		read -l -w 5 -v got in1; echo "rc=$? got=$got"
		read -r go <&5
		read -l -w 5 -v got in1; echo "rc=$? got=$got"' 4>&-
	reader=$BS_LAST
	bs_wait_for 250 bs_file_has "$T/out" "before rc=2"
	bind port in1
	send "$port" 'first binding\n'
	bs_wait_buffered in1 14
	echo go >&4
	bs_wait_for 250 bs_file_has "$T/out" "rc=0 got=first binding"
	unbind in1
	bind port2 in1
	send "$port2" 'second binding\n'
	bs_wait_buffered in1 15
	echo go >&4
	bs_wait_gone "$reader"
	exec 4>&-
	run -0 cat "$T/out"
	assert_output "before rc=2
rc=0 got=first binding
rc=0 got=second binding"
}

@test "four concurrent readers get every line exactly once" {
	local k rc ended=0
	bind port many -1
	for k in 1 2 3 4; do
		bg_reader "$T/err.$k" 'while :; do
				read -l -w 10 -v l many; rc=$?
				[ "$rc" -eq 0 ] || break
				printf "%s\n" "$l"
			done >"'"$T/out.$k"'"; echo "$rc" >"'"$T/rc.$k"'"'
	done
	seq -f 'line-%06g' 1 20000 >"$T/want"
	timeout 60 nc -N 127.0.0.1 "$port" <"$T/want"
	for k in 1 2 3 4; do
		bs_wait_for 1500 test -s "$T/rc.$k"
	done
	cat "$T/out".* | sort >"$T/got"
	run -0 uniq -d "$T/got"
	assert_output ""
	run -0 wc -l <"$T/got"
	assert_output 20000
	diff "$T/got" "$T/want"
	# Each ends on the end (3), or finds the binding gone already (2).
	for k in 1 2 3 4; do
		rc=$(cat "$T/rc.$k")
		[ "$rc" -eq 3 ] || [ "$rc" -eq 2 ]
		[ "$rc" -eq 2 ] || ended=$((ended + 1))
	done
	[ "$ended" -ge 1 ]
}

# --- volume ----------------------------------------------------------------------------

@test "32 MiB of random bytes pass through a 64 KiB buffer to a slow reader byte-exact" {
	local rc=0 pid
	bind port big -1 -s 64k
	pid=$BS_BIND_PID
	head -c 32M /dev/urandom >"$T/src"
	bs_bg_in "$T/src" nc -N 127.0.0.1 "$port" 3>&-
	: >"$T/dst"
	while :; do
		rc=0
		read -w 10 big >>"$T/dst" || rc=$?
		[ "$rc" -eq 0 ] || break
	done
	[ "$rc" -eq 3 ]
	cmp "$T/src" "$T/dst"
	bs_wait_gone "$pid"
}

# --- usage errors -----------------------------------------------------------------------

@test "read of a binding whose header another process overwrote says so and returns 1 at once" {
	local pid
	pid=$(bind-input -s 4k in1 "$(bs_free_port)")
	# The helper stays still, so only the reader meets the bad header
	# (teardown kills it if the test fails).
	bs_track "$pid"
	kill -STOP "$pid"
	bs_ring_corrupt "$(bs_nsdir)/in1"
	local v
	for v in 'read in1' 'read -l -w 5 in1' 'read -v got -b 3 in1'; do
		# A reader that spins (deaf to Ctrl-C) is stopped by timeout (124).
		run --separate-stderr timeout 10 bash --norc -c \
			'. "$1" && '"$v"' ; rc=$?; echo "rc=$rc got=[${got-}]"' \
			bash "$BS_LOADER"
		assert_output "rc=1 got=[]"
		assert_equal "${#stderr_lines[@]}" 1
		assert_regex "$stderr" 'read: in1: binding corrupt$'
	done
	kill -KILL "$pid"
	bs_wait_gone "$pid"
}

@test "read -l on a name that is no binding fails with status 2" { bs_bad 2 read -l nosuch; }
@test "read -w on a name that is no binding fails with status 2" { bs_bad 2 read -w 1 nosuch; }
@test "read -b on a name that is no binding fails with status 2" { bs_bad 2 read -b 5 nosuch; }
@test "read -v on a name that is no binding fails with status 2" { bs_bad 2 read -v v nosuch; }
@test "read -l on an invalid ID fails with status 2" { bs_bad 2 read -l a/b; }
@test "read -l without an ID fails with status 2" { bs_bad 2 read -l; }

@test "read -l with two IDs fails with status 2" {
	bind port in1
	bs_bad 2 read -l in1 in1
}

@test "read -w with a bad number of seconds fails with status 2" {
	bind port in1
	bs_bad 2 read -w abc in1
	bs_bad 2 read -w -1 in1
	bs_bad 2 read -w '' in1
	bs_bad 2 read -w 1x in1
}

@test "read -w without its argument fails with status 2" {
	bind port in1
	bs_bad 2 read -w
	bs_bad 2 read -l -w
}

@test "read -b with a bad count fails with status 2" {
	bind port in1
	bs_bad 2 read -b 0 in1
	bs_bad 2 read -b x in1
	bs_bad 2 read -b -3 in1
}

@test "read -v with an invalid variable name fails with status 2" {
	bind port in1
	bs_bad 2 read -v 1bad in1
}

@test "read -l with an unknown option fails with status 2" {
	bind port in1
	bs_bad 2 read -l -z in1
}

@test "a failed socket read leaves the buffered data alone" {
	bind port in1
	send "$port" 'kept\n'
	bs_wait_buffered in1 5
	run -2 read -b 0 in1
	run -2 read -w abc in1
	run -0 read in1
	assert_output kept
}
