#!/usr/bin/env bats
# security: a second (and third) user, created here, cannot see, read,
# close or replace another user's bindings, cannot make bashsock use a
# directory or link it planted, and names with '/', '..' or control
# characters never reach the file system. Needs root (CI runs as root):
# without it every test skips, saying so.

bats_require_minimum_version 1.5.0
load test_helper/common

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	local so
	# Two users of our own: an attacker, and a victim with no runtime
	# directory yet.
	export BS_ATK="bsatk$$" BS_VIC="bsvic$$"
	useradd -M -N -s /bin/bash "$BS_ATK" || return 1
	useradd -M -N -s /bin/bash "$BS_VIC" || return 1
	BS_VIC_UID=$(id -u "$BS_VIC")
	export BS_VIC_UID
	# The object and its loader where both users can read them (the
	# checkout may sit in root's home). Under make check-asan BASHSOCK_SO
	# names the ASan build: that one goes.
	BS_PUB=$(mktemp -d /tmp/bashsock-sec.XXXXXX)
	chmod 0755 "$BS_PUB"
	so=${BASHSOCK_SO:-$BS_ROOT/bashsock.so}
	cp "$BS_ROOT/loader.sh" "$so" "$BS_PUB/"
	chmod 0644 "$BS_PUB/loader.sh" "$BS_PUB/bashsock.so"
	export BS_PUB
}

teardown_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	local u
	for u in "$BS_ATK" "$BS_VIC"; do
		# Their helpers (these users exist only for this file), by PID.
		for p in $(pgrep -u "$u" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
			bs_wait_gone "$p" 100
		done
		userdel "$u" 2>/dev/null
	done
	rm -rf "/dev/shm/bashsock-$BS_VIC_UID" "$BS_PUB"
	rm -rf "/run/user/$BS_VIC_UID"
	rm -rf /tmp/bashsock-sec-atk.*
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create users (CI runs as root)"
	bs_setup
	export LC_ALL=C
	TMP=$BATS_TEST_TMPDIR
	# Whatever a previous test planted for the victim goes.
	rm -rf "/dev/shm/bashsock-$BS_VIC_UID" "/run/user/$BS_VIC_UID"
}

teardown() {
	[ "$(id -u)" -eq 0 ] || return 0
	bs_teardown
	as "$BS_VIC" 'unbind -a' 2>/dev/null || true
	as "$BS_ATK" 'unbind -a' 2>/dev/null || true
}

# as USER SCRIPT [ARG...]: runs SCRIPT in a bash of USER with the builtins
# loaded (status 9 when they do not load), in this test's namespace, with
# no XDG_RUNTIME_DIR unless the caller sets one in SCRIPT.
as() {
	local user=$1 script=$2
	shift 2
	(cd / && runuser -u "$user" -- env -u XDG_RUNTIME_DIR \
		BASHSOCK_SO="$BS_PUB/bashsock.so" BASHSOCK_NS="$BASHSOCK_NS" \
		BS_PUB="$BS_PUB" PATH="$PATH" LC_ALL=C \
		bash -c 'source "$BS_PUB/loader.sh" || exit 9
'"$script" _ "$@")
}

# The runtime base directory of root here, as lib/rt.c computes it.
root_base() {
	bs_rt_base 0
}

send_line() {
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode() + b"\n"); s.close()' "$1" "$2"
}

@test "the users and the loader work (the other tests rely on it)" {
	run -0 as "$BS_ATK" 'type -t bind-input; id -u'
	assert_line builtin
	assert_line "$(id -u "$BS_ATK")"
}

@test "another user cannot list, read, close or replace a binding" {
	local port port2 pid dir
	port=$(bs_free_port)
	port2=$(bs_free_port)
	bind-input -v pid sec1 "$port"
	send_line "$port" secret
	bs_wait_for 250 eval '[ "$(bindings | awk "{ print \$6 }")" = 7 ]'
	dir=$(root_base)/$BASHSOCK_NS

	# List: nothing, in this namespace or any.
	run -0 as "$BS_ATK" 'bindings; bindings -a'
	assert_output ''
	# Read: no such binding for them (2), and bash's own read gets nothing.
	run -2 as "$BS_ATK" 'read -l -w 1 sec1'
	refute_output --partial secret
	run -0 as "$BS_ATK" 'read sec1 </dev/null; echo "bash read $? [$sec1]"'
	assert_output "bash read 1 []"
	# Close: unbind finds nothing; -a closes nothing; a signal is refused.
	run -1 as "$BS_ATK" 'unbind sec1'
	run -0 as "$BS_ATK" 'unbind -a'
	run -1 as "$BS_ATK" 'kill -TERM "$1"' "$pid"
	# Their own IDs are theirs: the same ID binds in their namespace; the
	# port root listens on does not.
	run -1 as "$BS_ATK" 'bind-input sec1 "$1"' "$port"
	run -0 as "$BS_ATK" 'bind-input sec1 "$1" >/dev/null && unbind sec1' "$port2"
	# Even pointed at root's directory, they get nothing from it.
	run -0 as "$BS_ATK" 'XDG_RUNTIME_DIR=${1%/bashsock} bindings -a' "$(root_base)"
	assert_output ''
	# The files themselves are out of reach.
	run -0 as "$BS_ATK" '! ls "$1" 2>/dev/null && ! cat "$1/sec1" 2>/dev/null' "$dir"

	# Root's binding is untouched: same helper, the data still there.
	run -0 bindings
	assert_output --regexp "^sec1 in .* $port $pid 7 0\$"
	run -0 read -l sec1
	assert_output secret
}

@test "a runtime directory planted by another user is refused, never used" {
	local base=/dev/shm/bashsock-$BS_VIC_UID port mode
	port=$(bs_free_port)
	for mode in 0777 0700 0755; do
		rm -rf "$base"
		as "$BS_ATK" 'mkdir -m "$1" "$2"' "$mode" "$base"
		[ "$(stat -c %U "$base")" = "$BS_ATK" ]
		run -1 --separate-stderr as "$BS_VIC" 'bind-input v1 "$1"' "$port"
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
		bs_port_free "$port"
		# Nothing of the victim's went in.
		[ -z "$(find "$base" -mindepth 1)" ] || fail "files in $base: $(find "$base")"
		# Nothing listed from it either, and no silent success.
		run -1 --separate-stderr as "$BS_VIC" 'bindings'
		assert_output ''
		[[ $stderr == *"$base"* ]] || fail "stderr: $stderr"
	done
	# A regular file or a FIFO in its place: refused too.
	rm -rf "$base"
	as "$BS_ATK" ': >"$1"' "$base"
	run -1 as "$BS_VIC" 'bind-input v1 "$1"' "$port"
	rm -f "$base"
	as "$BS_ATK" 'mkfifo "$1"' "$base"
	run -1 as "$BS_VIC" 'bind-input v1 "$1"' "$port"
	rm -f "$base"
	# Once it is gone, the victim's own directory is made, 0700.
	run -0 as "$BS_VIC" 'bind-input v1 "$1" >/dev/null && bindings' "$port"
	assert_output --partial "v1 in"
	[ "$(stat -c '%U %a' "$base")" = "$BS_VIC 700" ]
	run -0 as "$BS_VIC" 'unbind v1'
}

@test "a link planted by another user is refused, never followed" {
	local base=/dev/shm/bashsock-$BS_VIC_UID port trap vdir
	port=$(bs_free_port)
	# To a directory the attacker owns and can read.
	trap=$(mktemp -d /tmp/bashsock-sec-atk.XXXXXX)
	chown "$BS_ATK" "$trap"
	chmod 0777 "$trap"
	as "$BS_ATK" 'ln -s "$1" "$2"' "$trap" "$base"
	run -1 --separate-stderr as "$BS_VIC" 'bind-input v1 "$1"' "$port"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[ -z "$(find "$trap" -mindepth 1)" ] || fail "files in $trap: $(find "$trap")"
	bs_port_free "$port"
	rm -f "$base"
	# To a directory the victim owns, 0700 (it would pass the owner and
	# mode checks if the link were followed).
	vdir=$(mktemp -d /tmp/bashsock-sec-atk.XXXXXX)
	chown "$BS_VIC" "$vdir"
	chmod 0700 "$vdir"
	as "$BS_ATK" 'ln -s "$1" "$2"' "$vdir" "$base"
	run -1 as "$BS_VIC" 'bind-input v1 "$1"' "$port"
	[ -z "$(find "$vdir" -mindepth 1)" ] || fail "files in $vdir: $(find "$vdir")"
	rm -f "$base"
	# XDG_RUNTIME_DIR naming a link, or a directory of the attacker: not
	# used; the victim's /dev/shm directory is.
	as "$BS_ATK" 'ln -s "$1" "$2"' "$vdir" "$trap/xdg"
	run -0 as "$BS_VIC" 'XDG_RUNTIME_DIR=$2 bind-input v1 "$1" >/dev/null &&
		XDG_RUNTIME_DIR=$3 bindings && unbind v1' "$port" "$trap/xdg" "$trap"
	assert_output --partial "v1 in"
	[ -z "$(find "$vdir" -mindepth 1)" ]
	[ "$(find "$trap" -mindepth 1)" = "$trap/xdg" ]
	[ "$(stat -c '%U %a' "$base")" = "$BS_VIC 700" ]
}

@test "names with '/', '..' or control characters never reach the file system" {
	local port box before after name names
	port=$(bs_free_port)
	# A runtime directory and a working directory of this test alone, so
	# that anything created shows.
	box=$TMP/box
	mkdir -p -m 0700 "$box/xdg" "$box/cwd/deep"
	export XDG_RUNTIME_DIR=$box/xdg
	# The base and namespace directories and the generation file exist now.
	bindings >/dev/null
	read -l nosuch 2>/dev/null || true
	# (The builtins honour the exported variable: the directory is here.)
	[ -d "$box/xdg/bashsock/$BASHSOCK_NS" ]
	before=$(find "$box" | sort)
	names=('a/b' '../x' '..' '.' "/tmp/bashsock-evil$$" 'x/../../evil'
		$'a\nb' $'a\tb' $'\e[1mx' $'x\x7f' $'x\x01' 'x y' 'a*'
		"x;touch /tmp/bashsock-evil$$" "$(printf 'a%.0s' {1..65})" '')
	cd "$box/cwd/deep"
	for name in "${names[@]}"; do
		run -2 bind-input "$name" "$port"
		bs_port_free "$port"
		run -2 read -l "$name"
		run -2 unbind "$name"
		if [ "$(type -t bind-output)" = builtin ]; then
			run -2 bind-output "$name" 127.0.0.1 "$port"
		fi
		# As a namespace (empty means "default"): refused before any
		# directory is made.
		[ -n "$name" ] || continue
		BASHSOCK_NS=$name run -2 bind-input ok "$port"
		BASHSOCK_NS=$name run -2 bindings
		BASHSOCK_NS=$name run -2 unbind -a
		BASHSOCK_NS=$name run -2 read -l ok
	done
	bs_port_free "$port"
	after=$(find "$box" | sort)
	[ "$before" = "$after" ] ||
		fail "new files: $(comm -13 <(echo "$before") <(echo "$after"))"
	[ ! -e "/tmp/bashsock-evil$$" ]
}

# Python: the master's side of the pool protocol by hand (docs/protocol-
# auth.md, lib/pool.h): authenticates with KEY on PORT, asks for each NAME
# given (as Python escapes), prints each answer line ("<closed>" when the
# pool hung up), then, unless the first name is "-", sends END and prints
# the answer to that.
PY_MASTER='
import hashlib, hmac, os, socket, sys
port, key, names = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
def line():
    return f.readline().rstrip(b"\n") or b"<closed>"
chal = line().split(b" ")
assert chal[:3] == [b"BASHSOCK/1", b"CHALLENGE", b"pool"], chal
nonce = os.urandom(32).hex().encode()
msg = b"bashsock/1 client pool " + chal[3] + b" " + nonce
proof = hmac.new(key, msg, hashlib.sha256).hexdigest().encode()
s.sendall(b"BASHSOCK/1 PROOF " + proof + b" " + nonce + b"\n")
ok = line()
assert ok.startswith(b"BASHSOCK/1 OK "), ok
end = names[0] != "-"
for n in names[0 if end else 1:]:
    name = n.encode().decode("unicode_escape").encode("latin-1")
    s.sendall(b"POOL/1 DAEMON " + name + b"\n")
    print(line().decode("latin-1"))
if end:
    s.sendall(b"POOL/1 END\n")
    print(line().decode("latin-1"))
'

@test "daemon names with '/', '..' or control characters from the network never reach the file system" {
	[ "$(type -t pool)" = builtin ] || skip "this build has no pool"
	local port box before after pool_pid rc=0
	port=$(bs_free_port)
	box=$TMP/box
	mkdir -p -m 0700 "$box/xdg"
	export XDG_RUNTIME_DIR=$box/xdg
	bindings >/dev/null
	read -l nosuch 2>/dev/null || true
	[ -d "$box/xdg/bashsock/$BASHSOCK_NS" ]
	before=$(find "$box" | sort)
	pool k3y "$port" >"$TMP/pool.out" 2>"$TMP/pool.err" 3>&- &
	pool_pid=$!
	bs_track "$pool_pid"
	bs_wait_for 250 bs_port_listening "$port"
	# A NUL byte breaks the line: refused, or the connection dropped; the
	# pool goes on either way.
	run -0 python3 -c "$PY_MASTER" "$port" k3y - 'x\x00y'
	[ "$output" = "POOL/1 REFUSED invalid" ] || [ "$output" = "<closed>" ] ||
		fail "answer: $output"
	run -0 python3 -c "$PY_MASTER" "$port" k3y '../x' 'a/b' '..' '.' \
		'/tmp/bashsock-evil' 'x\x1b[1m' 'x\x01' 'x\x7f' 'a b' '-x' \
		"$(printf 'a%.0s' {1..65})"
	# Every one refused as invalid; END answered.
	[ "${#lines[@]}" -eq 12 ] || fail "answers: $output"
	[ "$(printf '%s\n' "${lines[@]:0:11}" | sort -u)" = "POOL/1 REFUSED invalid" ] ||
		fail "answers: $output"
	[ "${lines[11]}" = "POOL/1 BYE" ]
	bs_wait_gone "$pool_pid" 500 || fail "the pool did not end"
	wait "$pool_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "pool exit $rc: $(cat "$TMP/pool.err")"
	[ ! -s "$TMP/pool.out" ]
	after=$(find "$box" | sort)
	[ "$before" = "$after" ] ||
		fail "new files: $(comm -13 <(echo "$before") <(echo "$after"))"
	[ ! -e /tmp/bashsock-evil ]
	# What the pool says about them is printable.
	! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$TMP/pool.err"
}

# one_line_naming DIR: the last run's stderr is one line that names DIR and
# says what to do.
one_line_naming() {
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[[ $stderr == *"$1"* ]] || fail "does not name $1: $stderr"
	[[ $stderr == *XDG_RUNTIME_DIR* ]] || fail "no way out: $stderr"
}

@test "a /dev/shm place squatted by another user: every builtin says which directory and what to do" {
	local base=/dev/shm/bashsock-$BS_VIC_UID port oport pport kind lpid
	local ddir=$BS_PUB/ddir$$
	port=$(bs_free_port)
	oport=$(bs_free_port)
	pport=$(bs_free_port)
	bs_bg /usr/bin/python3 "$BS_ROOT/tests/helpers/tcppeer.py" listen "$oport" \
		>"$TMP/listen.out" 3>&-
	lpid=$BS_LAST
	bs_wait_for 250 bs_port_listening "$oport"
	mkdir -m 0755 "$ddir"
	printf '#!/bin/sh\necho d0\n' >"$ddir/d0"
	chmod 0755 "$ddir/d0"
	# Where XDG_RUNTIME_DIR is unset (as here: cron, su) and there is no
	# /run/user/UID, /dev/shm/bashsock-UID is the place: taken first by
	# another user, as a 0777 directory or as a link.
	for kind in dir link; do
		rm -rf "$base"
		if [ "$kind" = dir ]; then
			as "$BS_ATK" 'mkdir -m 0777 "$1"' "$base"
		else
			as "$BS_ATK" 'ln -s /tmp "$1"' "$base"
		fi
		run -1 --separate-stderr as "$BS_VIC" 'bind-input v1 "$1"' "$port"
		one_line_naming "$base"
		bs_port_free "$port"
		run -1 --separate-stderr as "$BS_VIC" \
			'bind-output o1 127.0.0.1 "$1"' "$oport"
		one_line_naming "$base"
		run -1 --separate-stderr as "$BS_VIC" 'bindings'
		one_line_naming "$base"
		run -1 --separate-stderr as "$BS_VIC" 'bindings -a'
		one_line_naming "$base"
		run -2 --separate-stderr as "$BS_VIC" 'read -l -w 0 v1'
		one_line_naming "$base"
		run -1 --separate-stderr as "$BS_VIC" 'unbind v1'
		one_line_naming "$base"
		run -1 --separate-stderr as "$BS_VIC" 'unbind -a'
		one_line_naming "$base"
		# The pool: its daemon's binding is refused, saying why.
		run -0 --separate-stderr as "$BS_VIC" '
			pool k "$1" >/dev/null & p=$!
			for ((i = 0; i < 250; i++)); do
				ss -Htln "sport = :$1" | grep -q . && break
				sleep 0.02
			done
			master k 127.0.0.1 "$1" "$2" 2>/dev/null; m=$?
			wait "$p"; echo "pool $? master $m"' "$pport" "$ddir"
		assert_output "pool 0 master 1"
		[[ $stderr == *"d0: runtime directory $base "*XDG_RUNTIME_DIR* ]] ||
			fail "pool: $stderr"
		# Nothing of the victim's went in.
		[ "$kind" = link ] || [ -z "$(find "$base" -mindepth 1)" ] ||
			fail "files in $base: $(find "$base")"
	done
	# With /run/user/UID (a login session's, made 0700 by systemd) the
	# squatted place is not needed: bashsock works there.
	mkdir -m 0700 "/run/user/$BS_VIC_UID"
	chown "$BS_VIC" "/run/user/$BS_VIC_UID"
	run -0 as "$BS_VIC" 'bind-input v1 "$1" >/dev/null && bindings &&
		unbind v1' "$port"
	assert_output --partial "v1 in"
	[ "$(stat -c '%U %a' "/run/user/$BS_VIC_UID/bashsock")" = "$BS_VIC 700" ]
	rm -rf "/run/user/$BS_VIC_UID" "$base" "$ddir"
	kill "$lpid"
}
