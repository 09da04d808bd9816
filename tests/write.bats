#!/usr/bin/env bats
# write: the socket form (words, escapes, -n, -E, standard input), its
# statuses, blocking and Ctrl-C, concurrent writers, and the system's write
# for every name that is not a live output binding.

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() {
	bs_setup
	BO_OUT=$BATS_TEST_TMPDIR/got
}
teardown() { bs_teardown; }

# bats' `run -N` assigns a global `i`: loops here use other names.

# bo_open ID [bind-output options]: a socat sink writing to $BO_OUT and an
# output binding ID to it. BO_SINK, BO_PID: their PIDs.
bo_open() {
	local id=$1 port
	shift
	port=$(bs_free_port)
	bs_bg socat -u "TCP-LISTEN:$port,reuseaddr" "OPEN:$BO_OUT,creat,trunc" \
		</dev/null 3>&-
	BO_SINK=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
	bind-output "$@" -v BO_PID "$id" 127.0.0.1 "$port"
}

# Closes the binding and waits until the sink has everything and exited.
bo_finish() {
	kill -TERM "$BO_PID"
	bs_wait_gone "$BO_PID"
	bs_wait_gone "$BO_SINK"
}

bo_field() {
	bindings | awk -v id="$1" -v n="$2" '$1 == id { print $n }'
}

bo_is() {
	[ "$(bo_field "$1" "$2")" = "$3" ]
}

# bo_open_late ID: binding ID (1 KiB buffer) to a sink that reads nothing
# until $BATS_TEST_TMPDIR/go exists.
bo_open_late() {
	local port
	port=$(bs_free_port)
	bs_bg python3 "$BS_ROOT/tests/helpers/tcppeer.py" late "$port" \
		"$BO_OUT" "$BATS_TEST_TMPDIR/go" </dev/null 3>&-
	BO_SINK=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
	bind-output -s 1k -v BO_PID "$1" 127.0.0.1 "$port"
}

# --- the socket form ------------------------------------------------------

@test "write sends the words joined by single spaces, and a newline" {
	bo_open o1
	run -0 write o1 one "two  three" '' four
	assert_output ""
	bo_finish
	printf 'one two  three  four\n' | cmp - "$BO_OUT"
}

@test "write interprets backslash escapes as echo -e does" {
	local m
	local msgs=('tab\there' 'nl\nx' 'bell\a bs\b ff\f cr\r vt\v'
		'esc\e[1m\E[0m' 'back\\slash' 'oct\0101\060\0' 'oct\01234'
		'hex\x41\x4a\x7e\x4' 'hex without digits\x' 'unknown\q\1\z'
		'trailing\' 'stop\cthe rest' 'after stop')
	bo_open o1
	for m in "${msgs[@]}"; do
		write o1 "$m"
	done
	write o1 two 'words\t'
	bo_finish
	{
		for m in "${msgs[@]}"; do
			echo -e "$m"
		done
		echo -e two 'words\t'
	} | cmp - "$BO_OUT"
}

@test "-n leaves out the newline, -E the escapes" {
	bo_open o1
	write -n o1 'no newline\t'
	write -E o1 'raw\t\n'
	write -nE o1 'both\n'
	write -n -E o1 -- 'dashes'
	write -- o1 -n
	bo_finish
	printf 'no newline\traw\\t\\n\nboth\\n-- dashes-n\n' |
		cmp - "$BO_OUT" || {
		od -c "$BO_OUT" >&3
		false
	}
}

@test "with no MESSAGE, write copies standard input byte-exact, NULs included" {
	bo_open o1
	printf 'a\0b\nc\\t\0' | write o1
	printf '\377\0' | write -n -E o1
	write o1 </dev/null
	bo_finish
	printf 'a\0b\nc\\t\0\377\0' | cmp - "$BO_OUT"
}

# --- statuses -------------------------------------------------------------

@test "write fails with exit 1 and a message once the peer has closed; the shell goes on" {
	local rc=0
	bo_open o1
	write o1 first
	bs_wait_for 250 test -s "$BO_OUT"
	kill -TERM "$BO_SINK"
	bs_wait_gone "$BO_SINK"
	# The peer's end of stream may be a half-close: the reset that answers
	# the next bytes says it is gone.
	write o1 lost || true
	bs_wait_for 250 bo_is o1 7 down
	run -1 --separate-stderr write o1 second
	[[ $stderr == *"write: o1: connection closed" ]]
	printf 'x' | write o1 || rc=$?
	[ "$rc" -eq 1 ]
	bo_is o1 7 down
	[ "$(cat "$BO_OUT")" = first ]
}

@test "a full buffer blocks write, and SIGINT ends a script blocked in it" {
	local st=0
	bo_open_late o1
	# A non-interactive script started with & ignores SIGINT: restore it.
	bs_bg env --default-signal=INT bash --norc -c '. "$1" || exit 99
		write o1 </dev/zero
		echo "after $?" >"$2"' bash "$BS_ROOT/loader.sh" \
		"$BATS_TEST_TMPDIR/after" 3>&-
	# Blocked: the buffer is full and stays so.
	bs_wait_for 250 bo_is o1 6 1024
	run -1 bs_pid_gone "$BS_LAST"
	kill -INT "$BS_LAST"
	wait "$BS_LAST" || st=$?
	[ "$st" -eq 130 ]
	[ ! -e "$BATS_TEST_TMPDIR/after" ]
	# The dead writer's lock is taken over: the next write goes through.
	touch "$BATS_TEST_TMPDIR/go"
	write o1 next
	bo_finish
	[ "$(tail -c 5 "$BO_OUT")" = "next" ]
}

@test "Ctrl-C in an interactive shell interrupts write; the next write works" {
	bo_open_late o1
	cat >"$BATS_TEST_TMPDIR/cmds" <<EOF
. "$BS_ROOT/loader.sh"
write o1 </dev/zero; echo "first \$?"
echo "status \$?"
write o1 next; echo "second \$?"
EOF
	# Not through bs_bg: an & command's stdin is /dev/null unless the
	# command itself redirects it.
	bash --norc -i <"$BATS_TEST_TMPDIR/cmds" >"$BATS_TEST_TMPDIR/shell" \
		2>&1 3>&- &
	BS_LAST=$!
	bs_track "$BS_LAST"
	bs_wait_for 250 bo_is o1 6 1024
	kill -INT "$BS_LAST"
	touch "$BATS_TEST_TMPDIR/go"
	bs_wait_gone "$BS_LAST"
	grep -qx 'status 130' "$BATS_TEST_TMPDIR/shell"
	grep -qx 'second 0' "$BATS_TEST_TMPDIR/shell"
	run -1 grep -q '^first' "$BATS_TEST_TMPDIR/shell"
	bo_finish
	[ "$(tail -c 5 "$BO_OUT")" = "next" ]
}

@test "write to a binding whose header another process overwrote says so and returns 1 at once" {
	bo_open out1 -s 4k
	# The helper stays still, so only the writer meets the bad header
	# (teardown kills it if the test fails).
	bs_track "$BO_PID"
	kill -STOP "$BO_PID"
	bs_ring_corrupt "$(bs_nsdir)/out1"
	local v
	for v in 'write out1 hello' 'printf abc | write out1'; do
		run --separate-stderr timeout 10 bash --norc -c \
			'. "$1" && '"$v"' ; echo "rc=$?"' bash "$BS_LOADER"
		assert_output "rc=1"
		assert_equal "${#stderr_lines[@]}" 1
		assert_regex "$stderr" 'write: out1: binding corrupt$'
	done
	kill -KILL "$BO_PID"
	bs_wait_gone "$BO_PID"
}

@test "messages of concurrent writers never interleave" {
	local w pids=()
	bo_open o1 -s 4k
	for w in 1 2 3 4; do
		bash --norc -c '. "$1" || exit 99
			pad=$(printf "%03000d" 0)
			for ((n = 1; n <= 200; n++)); do
				write o1 "w$2 $n $pad" || exit
			done' bash "$BS_ROOT/loader.sh" "$w" 3>&- &
		pids+=($!)
	done
	# And one copying a 100-line block from standard input at once.
	seq -f 'stdin %g' 1 100 >"$BATS_TEST_TMPDIR/block"
	write o1 <"$BATS_TEST_TMPDIR/block"
	for w in "${pids[@]}"; do
		wait "$w"
	done
	bo_finish
	run -0 awk '
		NF == 3 && $1 ~ /^w[1-4]$/ && length($3) == 3000 && $3 ~ /^0+$/ {
			seen[$1]++
			next
		}
		/^stdin [0-9]+$/ { s++; next }
		{ bad++ }
		END { print seen["w1"], seen["w2"], seen["w3"], seen["w4"], s, bad + 0 }' \
		"$BO_OUT"
	assert_output "200 200 200 200 100 0"
	grep '^stdin ' "$BO_OUT" | cmp - "$BATS_TEST_TMPDIR/block"
	# The block stayed in one piece.
	run -0 awk '/^stdin / { if (last && NR != last + 1) bad = 1; last = NR }
		END { print bad + 0 }' "$BO_OUT"
	assert_output 0
}

# --- the system's write ---------------------------------------------------

# A fake write first in PATH that records its arguments, its standard
# input and FOO, then exits 7.
bo_fake_write() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/write" <<'EOF'
#!/bin/sh
{
	printf 'argc %s\n' "$#"
	for a in "$@"; do printf '[%s]\n' "$a"; done
	printf 'FOO=%s\n' "${FOO-unset}"
	cat
} >"$REC"
exit 7
EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/write"
	export REC=$BATS_TEST_TMPDIR/rec
}

# bo_with_fake ARGS...: write ARGS with the fake first in PATH and FOO set
# for that command only.
bo_with_fake() (
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	FOO=bar write "$@" <<<"from stdin"
)

# bo_logged_in USER SCRIPT: runs bash SCRIPT (the builtins loaded, the
# fake write first in PATH) in a private mount namespace where USER is
# logged in: /run is a fresh tmpfs there whose utmp holds one
# USER_PROCESS record for USER (glibc's struct utmp on Linux, 384 bytes).
# Nothing outside the namespace changes.
bo_logged_in() {
	local ns_opts=(-m --propagation private)
	bo_mkutmp
	[ "$(id -u)" = 0 ] || ns_opts=(-r "${ns_opts[@]}")
	unshare "${ns_opts[@]}" bash --norc -c '
		mount -t tmpfs none /run || exit 90
		/usr/bin/python3 "$3/mkutmp.py" "$1" || exit 91
		. "$2" || exit 92
		export PATH="$3/bin:$PATH"
		eval "$4"
	' bash "$1" "$BS_LOADER" "$BATS_TEST_TMPDIR" "$2"
}

# Writes /run/utmp with argv[1] logged in (used inside bo_logged_in).
bo_mkutmp() {
	cat >"$BATS_TEST_TMPDIR/mkutmp.py" <<'PY'
import struct, sys, time
rec = struct.pack("<hxxi32s4s32s256shhiii4i20s", 7, 4242, b"pts/42", b"bs42",
                  sys.argv[1].encode(), b"", 0, 0, 0, int(time.time()), 0,
                  0, 0, 0, 0, b"")
assert len(rec) == 384
with open("/run/utmp", "wb") as f:
    f.write(rec)
PY
}

@test "write to a logged-in user that is no binding runs the system's write with the same arguments" {
	bo_fake_write
	run -7 bo_logged_in alice 'FOO=bar write -n alice "tty 1" "" -x "\t" <<<"from stdin"'
	assert_output ""
	run -0 cat "$REC"
	assert_output "argc 6
[-n]
[alice]
[tty 1]
[]
[-x]
[\\t]
FOO=bar
from stdin"
}

@test "the system's write runs with the signals bash gives a command: ignored ones stay ignored" {
	bo_fake_write
	cat >"$BATS_TEST_TMPDIR/bin/write" <<'SH'
#!/bin/sh
grep '^SigIgn' /proc/$$/status >"$REC"
SH
	run -0 bo_logged_in alice "trap '' USR1; trap 'echo trapped' USR2; write alice"
	# USR1 (10) stays ignored, as `trap ''` makes it for commands; the
	# USR2 trap is the shell's own: the command gets the default.
	local ign
	ign=$(awk '{print $2}' "$REC")
	[ $((0x$ign >> 9 & 1)) = 1 ]
	[ $((0x$ign >> 11 & 1)) = 0 ]
}

# bo_fails WANT ARGS...: write ARGS exits 1 with exactly one line on
# stderr, ending "write: WANT", nothing on stdout, and the system's write
# (the fake, first in PATH) never runs.
bo_fails() {
	local want=$1
	shift
	rm -f "$REC"
	run -1 --separate-stderr bo_with_fake "$@"
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == *"write: $want" ]]
	[ ! -e "$REC" ]
}

@test "write to an input binding without -c is a usage error; to an output killed, closed or never made, exits 1 with one line" {
	local k
	bo_fake_write
	bind-input in1 "$(bs_free_port)" >/dev/null
	# Contract v2: an input binding answers its clients (write -c N).
	rm -f "$REC"
	run -2 --separate-stderr bo_with_fake in1 hello
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == *"write: in1: an input binding takes -c N" ]]
	[ ! -e "$REC" ]
	# Killed: a stale binding, never the system's write.
	bo_open o1
	kill -KILL "$BO_PID"
	bs_wait_gone "$BO_PID"
	bo_fails "o1: binding closed" o1 gone
	bo_fails "o1: binding closed" -n o1 gone
	# One line per call, however many calls.
	for k in 1 2 3 4 5; do bo_fails "o1: binding closed" o1 "$k"; done
	# Closed: the binding is gone, and no user of that name is logged in.
	bo_open o2
	bo_finish
	bo_fails "o2: no live output binding" o2 gone
	bo_fails "nosuch: no live output binding" nosuch hi
}

bo_no_write() (
	export PATH=$BATS_TEST_TMPDIR/empty
	write "$@"
)

@test "with no write command in PATH, write to a non-binding exits 1 with a message" {
	mkdir -p "$BATS_TEST_TMPDIR/empty"
	run -1 --separate-stderr bo_no_write nobody hi
	assert_output ""
	[[ $stderr == *"write: nobody: no live output binding" ]]
	run -1 --separate-stderr bo_logged_in alice \
		'PATH=$3/empty; write alice hi'
	[[ $stderr == *"write: alice: no live output binding" ]]
}

@test "write --help and help write show the socket form" {
	run -2 write --help
	[[ $output == *"write [-n] [-E] [-d] [-c N] ID [MESSAGE ...]"* ]]
	run -0 help write
	[[ $output == *"system's write command"* ]]
	run -0 type -t write
	assert_output builtin
}
