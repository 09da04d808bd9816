#!/usr/bin/env bash
# valgrind-workload.sh: every builtin this build has, through its normal and
# error paths, in one shell; run under valgrind by check-valgrind.sh. Each
# step checks its result; the script exits 1 when any step went wrong.
# Senders are bash's own /dev/tcp (forked subshells, also under valgrind)
# and python3 (exec'd, not traced). Loopback only; every wait is bounded.
# Checks are single-quoted and eval'd; `read ID` is bashsock's, and the
# variables `read -v` and `bind-input -v` set are invisible to shellcheck.
# shellcheck disable=SC2016,SC2034,SC2154,SC2162
set -u
cd "$(dirname "$0")/.." || exit 2
# Debian's python3 and tools, not a version manager's shim found first in
# PATH: valgrind traces every program outside /usr and /bin (as
# tests/test_helper/common.bash does for the suite).
PATH=/usr/bin:/bin:$PATH
# shellcheck source=loader.sh
source ./loader.sh || exit 2
source ./loader.sh || exit 2 # idempotent
export BASHSOCK_NS="vg$$"
fails=0
tmp=$(mktemp -d)
trap 'unbind -a 2>/dev/null; rm -rf "$tmp"' EXIT

# check WHAT CMD...: runs CMD, counts a failure when it fails.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   $what"
	else
		echo "FAIL $what"
		fails=$((fails + 1))
	fi
}

# status N CMD...: true when CMD exits with status N.
status() {
	local want=$1 rc
	shift
	"$@" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq "$want" ] || echo "  (exit $rc, expected $want: $*)"
	[ "$rc" -eq "$want" ]
}

free_port() {
	python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 32767)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", p)); print(p); break
    except OSError: pass
    finally: s.close()'
}

# send PORT DATA: one client sends DATA (printf format) and closes.
send() {
	# shellcheck disable=SC2059 # DATA is a format on purpose
	(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "$2" >&3) 2>/dev/null
}

# hex: standard input as hex digits, for byte-exact comparisons.
hex() {
	od -An -tx1 -v | tr -d ' \n'
}

# buffered ID BYTES: waits up to 10 s until ID holds BYTES bytes.
buffered() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(bindings | awk -v id="$1" '$1 == id { print $6 }')" = "$2" ] &&
			return 0
		sleep 0.02
	done
	return 1
}

# gone PID: waits up to 10 s until PID has exited.
gone() {
	local i
	for ((i = 0; i < 500; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.02
	done
	return 1
}

# listening PORT: waits up to 10 s until something listens on PORT.
listening() {
	local i
	for ((i = 0; i < 500; i++)); do
		ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.02
	done
	return 1
}

# closed PORT: waits up to 10 s until nothing listens on PORT.
closed() {
	local i
	for ((i = 0; i < 500; i++)); do
		ss -Htln "sport = :$1" | grep -q . || return 0
		sleep 0.02
	done
	return 1
}

p1=$(free_port)
p2=$(free_port)

# --- usage errors: exit 2, nothing started ------------------------------
check "bind-input bad ID" status 2 bind-input 'a/b' "$p1"
check "bind-input bad port" status 2 bind-input in1 80
check "bind-input bad size" status 2 bind-input -s 12Q in1 "$p1"
check "bind-input bad var" status 2 bind-input -v '1x' in1 "$p1"
check "bind-input missing port" status 2 bind-input in1
check "read -w bad secs" status 2 read -w x in1
check "read -b bad count" status 2 read -b 0 in1
check "read on no binding" status 2 read -l nosuch
check "unbind bad ID" status 2 unbind '..'
check "unbind nothing" status 1 unbind nosuch
check "bindings bad option" status 2 bindings -z
check "help read" status 0 help read
check "bind-input --help" status 2 bind-input --help
BASHSOCK_NS='../x' check "bad namespace" status 2 bindings

# --- a binding: lines, partial lines, NUL bytes, every read form ---------
check "bind-input" bind-input -v pid in1 "$p1"
check "port in use" status 1 bind-input in9 "$p1"
check "ID in use" status 1 bind-input in1 "$p2"
send "$p1" 'one\ntwo\nthree\n'
send "$p1" 'nul\0byte\npartial'
# (A client's unterminated last line gets a newline when it leaves.)
check "buffered" buffered in1 31
check "bindings lists it" eval '[[ $(bindings) == "in1 in :: $p1 $pid 31 0" ]]'
check "bindings -a" eval '[[ $(bindings -a) == *"$BASHSOCK_NS in1 in"* ]]'
check "read -l" eval '[ "$(read -l in1)" = one ]'
check "read -l -v" eval 'read -l -v line in1 && [ "$line" = two ]'
check "read -b 3" eval '[ "$(read -b 3 in1)" = thr ]'
check "read ID (bare)" eval '[ "$(read in1 | hex)" = "$(printf "ee\nnul\0byte\npartial\n" | hex)" ]'
check "read: nothing now" status 1 read in1
check "read -w waits" eval 'read -w 0.05 -v x in1; [ $? -eq 1 ] && [ -z "$x" ]'
(sleep 0.2 && send "$p1" 'late\n') &
check "read -l -w wakes" eval 'read -l -w 10 -v x in1 && [ "$x" = late ]'
wait
check "read in a subshell" eval 'send "$p1" "sub\n"; buffered in1 4 && x=$(read in1) && [ "$x" = sub ]'
# bash's own read, untouched
check "plain read" eval 'read -r a b <<<"x y" && [ "$a$b" = xy ]'
check "plain read -t" eval 'read -r -t 1 a < <(echo z) && [ "$a" = z ]'
check "read -u" eval 'exec 4< <(echo fd4); read -r -u 4 a; exec 4<&-; [ "$a" = fd4 ]'

# --- more namespaces than the per-process cache holds ---------------------
for i in 1 2 3 4 5 6 7 8 9 10; do
	BASHSOCK_NS="vg$$n$i" read -l in1 >/dev/null 2>&1
done
check "namespace cache recycled" eval '[ "$(read -l -w 0 in1; echo $?)" = 1 ]'

# --- closing --------------------------------------------------------------
check "kill -INT closes" eval 'kill -INT "$pid" && gone "$pid"'
check "read after close" status 2 read -l in1
check "rebind same ID and port" bind-input -v pid in1 "$p1"
check "unbind" unbind in1
check "unbind: helper gone" gone "$pid"

# --- stale binding after SIGKILL, reclaimed ---------------------------------
bind-input -v pid in2 "$p2" >/dev/null
kill -KILL "$pid"
check "stale: helper gone" gone "$pid"
check "stale: not listed" eval '[ -z "$(bindings)" ]'
check "stale: reclaimed" bind-input -v pid in2 "$p2"
check "unbind -a" unbind -a

# --- -1: one client, then the end -------------------------------------------
check "bind-input -1" bind-input -1 -v pid one "$p1"
send "$p1" 'only\nlast'
check "-1: line" eval '[ "$(read -l -w 10 one)" = only ]'
check "-1: last partial" eval 'read -l -w 10 -v x one; [ "$x" = last ]'
check "-1: end is 3" status 3 read -l -w 10 one
check "-1: helper ends" gone "$pid"

# --- output side, when this build has it --------------------------------------
if [ "$(type -t bind-output)" = builtin ]; then
	bind-input -v ipid back "$p2" >/dev/null
	check "bind-output" bind-output -v opid out1 127.0.0.1 "$p2"
	check "bind-output refused" status 1 bind-output -t 2 out2 127.0.0.1 "$p1"
	check "bind-output usage" status 2 bind-output out3 127.0.0.1 99999
	check "write escapes" write out1 'a\tb\x41\0101'
	check "write -n -E" write -n -E out1 'raw\n'
	check "write stdin" eval 'printf "in\0put\n" | write out1'
	check "write: all arrived" buffered back 18
	check "write: bytes" eval '[ "$(read back | hex)" = "$(printf "a\tbAA\nraw\\\\nin\0put\n" | hex)" ]'
	check "write to no binding" eval '! write nosuchbinding hi 2>/dev/null'
	check "unbind output" unbind out1
	check "output helper gone" gone "$opid"
	unbind back
fi

# --- triggers, when this build has them ----------------------------------------
if [ "$(type -t trigger-wait)" = builtin ]; then
	check "trigger-wait usage" status 2 trigger-wait '' "$p1"
	trigger-wait -t 20 k3y "$p1" &
	tw=$!
	listening "$p1"
	check "trigger-send wrong key" status 1 trigger-send -t 5 wrong 127.0.0.1 "$p1"
	check "trigger-send" trigger-send -t 10 k3y 127.0.0.1 "$p1"
	check "trigger-wait returns 0" wait "$tw"
fi

# --- the daemon pool, when this build has it -----------------------------------
# The pool's and the master's helpers are forks of this shell, the pool's
# bindings run the helper program: all traced. So are the daemons (scripts
# under $tmp run by /bin/sh): they print two lines, or a partial one.
if [ "$(type -t pool)" = builtin ] && [ "$(type -t master)" = builtin ]; then
	mkdir "$tmp/d"
	printf '#!/bin/sh\necho "dem1 1"\necho "dem1 2"\n' >"$tmp/d/dem1"
	printf '#!/bin/sh\nprintf "dem2 x"\n' >"$tmp/d/dem2"
	chmod +x "$tmp/d/dem1" "$tmp/d/dem2"
	echo notes >"$tmp/d/notes.txt"
	check "pool usage" status 2 pool k12 80
	check "master usage" status 2 master k12 127.0.0.1 "$p1"
	pool k12 "$p1" >"$tmp/pool.out" 2>"$tmp/pool.err" &
	pp=$!
	check "pool listens" listening "$p1"
	check "master wrong key" status 1 master wrong 127.0.0.1 "$p1" "$tmp/d"
	check "master" eval 'master k12 127.0.0.1 "$p1" "$tmp/d" 2>"$tmp/master.err"'
	check "master: skipped notes" grep -q 'notes.txt: not executable, skipped' "$tmp/master.err"
	check "pool: dem1 lines" eval 'read -l -w 10 -v x dem1 && [ "$x" = "dem1 1" ] &&
		read -l -w 10 -v x dem1 && [ "$x" = "dem1 2" ]'
	check "pool: dem1 ended" status 3 read -l -w 10 dem1
	check "pool: dem2 partial" eval 'read -l -w 10 -v x dem2 && [ "$x" = "dem2 x" ]'
	check "pool: dem2 ended" status 3 read -l -w 10 dem2
	check "pool returns 0" wait "$pp"
	check "pool: wrong key reported" grep -q 'wrong key, refused' "$tmp/pool.err"
	check "pool announced both" eval '[ "$(cut -d" " -f1 "$tmp/pool.out" | sort | tr "\n" " ")" = "dem1 dem2 " ]'
	# The shell running a pool is killed: the pool's helper sees its
	# pipe close and stops.
	pool k12 "$p2" >/dev/null 2>&1 &
	pp=$!
	check "pool listens" listening "$p2"
	check "pool stopped by TERM" eval 'kill -TERM "$pp"; wait "$pp"; [ $? -eq 143 ]'
	check "pool: port closed" closed "$p2"
fi

# No `enable -d` here: unloading unmaps the object's static data, so every
# cache it points to (namespace views, the read buffer) would show as lost
# with no symbol to tell whose it is.
trap 'rm -rf "$tmp"' EXIT
unbind -a

echo "workload: $fails failed step(s)"
[ "$fails" -eq 0 ]
