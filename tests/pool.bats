#!/usr/bin/env bats
# pool and master: the daemon pool, on loopback and across two hosts
# (network namespaces).
# shellcheck shell=bash disable=SC2030,SC2031,SC2016,SC2162

bats_require_minimum_version 1.5.0

load test_helper/common
load helpers/netns

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	D="$T/ddir"
	mkdir -p "$D"
	LOADER="$BS_ROOT/loader.sh"
	TMUX_SOCK=
}

teardown() {
	[ -n "$TMUX_SOCK" ] && tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	bs_teardown
	bs_netns_teardown
}

# The daemons sleep with bash's loadable sleep when there is one: forks
# are slow on small virtual machines, and the tests are about the pool.
BS_SLEEP_LOADABLE="$(pkg-config --variable=loadablesdir bash 2>/dev/null ||
	echo /usr/lib/bash)/sleep"

# mk_daemon NAME LINES [PAUSE]: a daemon in $D that echoes "NAME i" for i
# from 1 to LINES, PAUSE seconds apart (default 0.05), then ends.
mk_daemon() {
	cat >"$D/$1" <<EOF
#!/bin/bash
enable -f "$BS_SLEEP_LOADABLE" sleep 2>/dev/null
for ((i = 1; i <= $2; i++)); do
	echo "$1 \$i"
	sleep ${3:-0.05}
done
EOF
	chmod +x "$D/$1"
}

# mk_forever NAME: a daemon that writes "PID SID" to $T/NAME.ids, then
# echoes until killed (an external sleep: it has children to kill too),
# or at most 5 minutes should a test fail to kill it.
mk_forever() {
	cat >"$D/$1" <<EOF
#!/bin/bash
echo "\$\$ \$(ps -o sid= -p \$\$)" >"$T/$1.ids"
for ((i = 0; i < 6000; i++)); do
	echo "$1 \$i"
	sleep 0.05
done
EOF
	chmod +x "$D/$1"
}

# expected NAME LINES: what mk_daemon's NAME sends.
expected() {
	local i
	for ((i = 1; i <= $2; i++)); do
		echo "$1 $i"
	done
}

# start_pool ARGS...: a pool in the background (stdout in $T/pool.out,
# stderr in $T/pool.err, PID in POOL_PID); returns once it listens.
start_pool() {
	local port=${*: -1}
	bs_bg pool "$@" >"$T/pool.out" 2>"$T/pool.err" 3>&-
	POOL_PID=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
}

# pool_status N: waits (10 s) for the pool to end with status N.
pool_status() {
	local rc=0
	bs_wait_gone "$POOL_PID" 500 || fail "the pool did not end"
	wait "$POOL_PID" || rc=$?
	[ "$rc" -eq "$1" ] || fail "the pool ended with $rc, not $1"
}

# announced NAME: true once the pool printed NAME's line.
announced() {
	grep -q "^$1 " "$T/pool.out"
}

# read_all ID: prints ID's lines until read reports the end (status 3).
read_all() {
	local line rc
	bs_wait_for 500 announced "$1" || return 98
	while :; do
		rc=0
		read -l -w 10 -v line "$1" || rc=$?
		case $rc in
		0) printf '%s\n' "$line" ;;
		3) return 0 ;;
		*)
			echo "read $1: status $rc" >&2
			return 1
			;;
		esac
	done
}

# no_session SID: true when no live process (zombies aside) is in SID.
no_session() {
	! ps -eo sid=,stat= | awk -v s="$1" '$1 == s && $2 !~ /^Z/' | grep -q .
}

@test "the seed's example: dem1 and dem2 stream to the pool and are read back whole by name" {
	local port rc=0
	port=$(bs_free_port)
	mk_daemon dem1 8
	mk_daemon dem2 5
	start_pool k12 "$port"
	bs_bg master k12 127.0.0.1 "$port" "$D" 2>"$T/master.err" 3>&-
	local mpid=$BS_LAST
	run read_all dem1
	assert_success
	assert_output "$(expected dem1 8)"
	run read_all dem2
	assert_success
	assert_output "$(expected dem2 5)"
	bs_wait_gone "$mpid"
	wait "$mpid" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s "$T/master.err" ]
	pool_status 0
	run cat "$T/pool.out"
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp '^dem1 [0-9]+ [0-9]+$'
	assert_line --index 1 --regexp '^dem2 [0-9]+ [0-9]+$'
	[ ! -s "$T/pool.err" ]
	# Every binding ended with the pool.
	run bindings
	assert_output ''
}

@test "two hosts: the master in one network namespace, the pool in another" {
	bs_netns_setup
	local port=23456
	mk_daemon dem1 8
	mk_daemon dem2 5
	bs_bg ip netns exec "$BS_NS_B" bash -c \
		'source "$1" && pool -a "$2" k12 "$3"' _ "$LOADER" "$BS_IP_B" \
		"$port" >"$T/pool.out" 2>"$T/pool.err" 3>&-
	POOL_PID=$BS_LAST
	bs_wait_for 250 bs_netns_run "$BS_NS_B" bash -c \
		"ss -Htln 'sport = :$port' | grep -q ."
	run --separate-stderr bs_netns_run "$BS_NS_A" bash -c \
		'source "$1" && master k12 "$2" "$3" "$4"' _ "$LOADER" \
		"$BS_IP_B" "$port" "$D"
	assert_success
	[ -z "$stderr" ]
	# The bindings listen on the pool host's address; their rings are
	# shared memory of this user, readable from any network namespace.
	run bindings
	assert_line --regexp "^dem1 in $BS_IP_B [0-9]+ "
	run read_all dem1
	assert_output "$(expected dem1 8)"
	run read_all dem2
	assert_output "$(expected dem2 5)"
	pool_status 0
	[ ! -s "$T/pool.err" ]
}

@test "two hosts: killing the master leaves nothing behind on either host" {
	bs_netns_setup
	local port=23457 pid1 sid1 pid2 sid2
	mk_forever f1
	mk_forever f2
	bs_bg ip netns exec "$BS_NS_B" bash -c \
		'source "$1" && pool k "$2"' _ "$LOADER" "$port" \
		>"$T/pool.out" 2>"$T/pool.err" 3>&-
	POOL_PID=$BS_LAST
	bs_wait_for 250 bs_netns_run "$BS_NS_B" bash -c \
		"ss -Htln 'sport = :$port' | grep -q ."
	bs_bg ip netns exec "$BS_NS_A" bash -c \
		'source "$1" && master k "$2" "$3" "$4"' _ "$LOADER" "$BS_IP_B" \
		"$port" "$D" 2>/dev/null 3>&-
	local mpid=$BS_LAST
	bs_wait_for 250 test -s "$T/f1.ids"
	bs_wait_for 250 test -s "$T/f2.ids"
	read -r pid1 sid1 <"$T/f1.ids"
	read -r pid2 sid2 <"$T/f2.ids"
	[ "$sid1" = "$sid2" ]
	run read -l -w 5 f1
	assert_output 'f1 0'
	kill -TERM "$mpid"
	bs_wait_gone "$mpid"
	bs_wait_for 250 no_session "$sid1"
	bs_pid_gone "$pid1"
	bs_pid_gone "$pid2"
	# The streams ended: read to the end, the pool returns 0.
	read_all f1 >/dev/null
	read_all f2 >/dev/null
	pool_status 0
}

# The reader of the 100-daemon test, run as its own script: every daemon's
# lines, in order, each to its end (status 3). Prints the seconds since $2.
reader100() {
	bash -c 'source "$1" || exit 9
	t0=$2 out=$3
	for ((i = 1; i <= 100; i++)); do
		for ((k = 0; k < 500; k++)); do
			grep -q "^d$i " "$out" && break
			sleep 0.02
		done
		for ((j = 1; j <= 10; j++)); do
			read -l -w 10 -v line "d$i"
			rc=$?
			if [ $rc -ne 0 ] || [ "$line" != "d$i $j" ]; then
				echo "d$i line $j: status $rc, got \"$line\""
				exit 1
			fi
		done
		read -l -w 10 -v line "d$i"
		rc=$?
		[ $rc -eq 3 ] || { echo "d$i after line 10: status $rc"; exit 1; }
	done
	t1=$EPOCHREALTIME
	echo "${t0%.*}.${t0#*.} ${t1%.*}.${t1#*.}" |
		awk "{ printf \"%.2f\", \$2 - \$1 }"' _ "$LOADER" "$1" "$T/pool.out"
}

@test "100 daemons at once, every line read back" {
	local port i t0 rc=0
	port=$(bs_free_port)
	for ((i = 1; i <= 100; i++)); do
		mk_daemon "d$i" 10
	done
	# pool, master and reader as three scripts, as users would run them.
	bs_bg bash -c 'source "$1" && pool -m 100 k "$2"' _ "$LOADER" "$port" \
		>"$T/pool.out" 2>"$T/pool.err" 3>&-
	POOL_PID=$BS_LAST
	bs_wait_for 250 bs_port_listening "$port"
	t0=$EPOCHREALTIME
	bs_bg bash -c 'source "$1" && master k 127.0.0.1 "$2" "$3"' _ \
		"$LOADER" "$port" "$D" 2>"$T/master.err" 3>&-
	local mpid=$BS_LAST
	run reader100 "$t0"
	if [ "$status" -ne 0 ]; then
		echo "reader: $output"
		sed 's/^/pool.err: /' "$T/pool.err"
		sed 's/^/master.err: /' "$T/master.err"
		fail "the reader failed"
	fi
	echo "# 100 daemons: $output s from master start to the last line read" >&3
	bs_wait_gone "$mpid"
	wait "$mpid" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s "$T/master.err" ]
	pool_status 0
	[ "$(wc -l <"$T/pool.out")" -eq 100 ]
}

@test "files that are not executable are skipped with a warning" {
	local port
	port=$(bs_free_port)
	mk_daemon run1 3
	echo notes >"$D/notes.txt"
	mkdir "$D/sub"
	start_pool k "$port"
	run -0 --separate-stderr master k 127.0.0.1 "$port" "$D"
	[[ $stderr == *"master: $D/notes.txt: not executable, skipped"* ]]
	[[ $stderr == *"master: $D/sub: not a regular file, skipped"* ]]
	run read_all run1
	assert_output "$(expected run1 3)"
	pool_status 0
	[ "$(wc -l <"$T/pool.out")" -eq 1 ]
}

@test "invalid and taken names are refused while the others stream" {
	local port p2
	port=$(bs_free_port)
	p2=$(bs_free_port)
	mk_daemon good 5
	mk_daemon 1bad 3
	mk_daemon "has space" 3
	mk_daemon dup 3
	mk_daemon "$(printf 'x%.0s' {1..65})" 1
	# A live binding already holds the name dup on the pool side.
	local dpid
	dpid=$(bind-input dup "$p2")
	start_pool k "$port"
	run -1 --separate-stderr master k 127.0.0.1 "$port" "$D"
	[[ $stderr == *"$D/1bad: refused by the pool (invalid)"* ]]
	[[ $stderr == *"$D/has space: refused by the pool (invalid)"* ]]
	[[ $stderr == *"$D/xxxxx"*": refused by the pool (invalid)"* ]]
	[[ $stderr == *"$D/dup: refused by the pool (taken)"* ]]
	run read_all good
	assert_output "$(expected good 5)"
	pool_status 0
	run cat "$T/pool.out"
	assert_output --regexp '^good [0-9]+ [0-9]+$'
	run cat "$T/pool.err"
	assert_output --partial '1bad: not a valid name, refused'
	assert_output --partial 'has space: not a valid name, refused'
	assert_output --partial 'dup: name taken by a live binding, refused'
	# The binding that held the name is untouched.
	run bindings
	assert_line --regexp "^dup in .* $p2 $dpid "
}

@test "daemons beyond MAX are refused" {
	local port
	port=$(bs_free_port)
	mk_daemon a1 2
	mk_daemon a2 2
	mk_daemon a3 2
	start_pool -m 2 k "$port"
	run -1 --separate-stderr master k 127.0.0.1 "$port" "$D"
	[[ $stderr == *"$D/a3: refused by the pool (full)"* ]]
	run read_all a1
	assert_output "$(expected a1 2)"
	run read_all a2
	assert_output "$(expected a2 2)"
	pool_status 0
	grep -q 'a3: more than 2 daemons, refused' "$T/pool.err"
}

@test "a wrong key is refused and the pool goes on listening" {
	local port
	port=$(bs_free_port)
	mk_daemon dem1 3
	start_pool right "$port"
	run -1 --separate-stderr master wrong 127.0.0.1 "$port" "$D"
	[[ $stderr == *"127.0.0.1 port $port: key refused by the pool"* ]]
	bs_port_listening "$port"
	run ! bs_pid_gone "$POOL_PID"
	[ ! -s "$T/pool.out" ]
	grep -q 'wrong key, refused' "$T/pool.err"
	run -0 master right 127.0.0.1 "$port" "$D"
	run read_all dem1
	assert_output "$(expected dem1 3)"
	pool_status 0
}

@test "the key never crosses the network: a relay records the control bytes" {
	local port rport key
	port=$(bs_free_port)
	rport=$(bs_free_port)
	key="S3cret-$RANDOM-key-$RANDOM"
	mk_daemon dem1 3
	mk_daemon dem2 2
	start_pool "$key" "$port"
	bs_bg socat -r "$T/m2p" -R "$T/p2m" \
		"TCP-LISTEN:$rport,bind=127.0.0.1,reuseaddr" \
		"TCP:127.0.0.1:$port" 3>&-
	bs_wait_for 250 bs_port_listening "$rport"
	run -0 master "$key" 127.0.0.1 "$rport" "$D"
	grep -q "^BASHSOCK/1 CHALLENGE pool [0-9a-f]\{64\}$" "$T/p2m"
	grep -q "^BASHSOCK/1 PROOF [0-9a-f]\{64\} [0-9a-f]\{64\}$" "$T/m2p"
	grep -q "^BASHSOCK/1 OK [0-9a-f]\{64\}$" "$T/p2m"
	grep -qx "POOL/1 DAEMON dem1" "$T/m2p"
	grep -qx "POOL/1 DAEMON dem2" "$T/m2p"
	[ "$(grep -c '^POOL/1 PORT [0-9]*$' "$T/p2m")" -eq 2 ]
	grep -qx "POOL/1 END" "$T/m2p"
	grep -qx "POOL/1 BYE" "$T/p2m"
	run ! grep -qF "$key" "$T/m2p" "$T/p2m"
	run read_all dem1
	assert_output "$(expected dem1 3)"
	run read_all dem2
	assert_output "$(expected dem2 2)"
	pool_status 0
}

@test "a daemon that exits at once, and one without #!, end cleanly" {
	local port
	port=$(bs_free_port)
	printf '#!/bin/sh\nexit 0\n' >"$D/quick"
	printf '#!/bin/sh\necho once\n' >"$D/once"
	printf 'echo "no shebang"\n' >"$D/plain"
	chmod +x "$D/quick" "$D/once" "$D/plain"
	mk_daemon normal 3
	start_pool k "$port"
	run -0 --separate-stderr master k 127.0.0.1 "$port" "$D"
	[ -z "$stderr" ]
	run read_all quick
	assert_success
	assert_output ''
	run read_all once
	assert_output 'once'
	run read_all plain
	assert_output 'no shebang'
	run read_all normal
	assert_output "$(expected normal 3)"
	pool_status 0
}

@test "a daemon that cannot be executed fails the master, the others run" {
	local port
	port=$(bs_free_port)
	printf '#!/nonexistent/interpreter\n' >"$D/broken"
	chmod +x "$D/broken"
	mk_daemon fine 3
	start_pool k "$port"
	run -1 --separate-stderr master k 127.0.0.1 "$port" "$D"
	[[ $stderr == *"$D/broken: cannot execute: No such file or directory"* ]]
	run read_all broken
	assert_success
	assert_output ''
	run read_all fine
	assert_output "$(expected fine 3)"
	pool_status 0
}

@test "a daemon writing 64 MiB is read back byte-exact" {
	local port rc mrc=0
	port=$(bs_free_port)
	head -c 64M /dev/urandom >"$T/big.bin"
	printf '#!/bin/sh\nexec cat "%s"\n' "$T/big.bin" >"$D/big"
	chmod +x "$D/big"
	start_pool k "$port"
	bs_bg master k 127.0.0.1 "$port" "$D" 2>"$T/master.err" 3>&-
	local mpid=$BS_LAST
	bs_wait_for 500 announced big
	: >"$T/out"
	while :; do
		rc=0
		# shellcheck disable=SC2034 # big is a binding, not a variable
		read -w 10 big >>"$T/out" || rc=$?
		[ "$rc" -eq 0 ] && continue
		[ "$rc" -eq 3 ] && break
		fail "read big: status $rc"
	done
	[ "$(sha256sum <"$T/out")" = "$(sha256sum <"$T/big.bin")" ]
	bs_wait_gone "$mpid"
	wait "$mpid" || mrc=$?
	[ "$mrc" -eq 0 ]
	pool_status 0
}

@test "killing the master mid-stream (TERM, INT, HUP) leaves no process behind" {
	local sig port mpid pid1 sid1 pid2 sid2
	mk_forever f1
	mk_forever f2
	for sig in TERM INT HUP; do
		port=$(bs_free_port)
		rm -f "$T/f1.ids" "$T/f2.ids"
		start_pool k "$port"
		# A script, as a user would run it (SIGINT not ignored).
		bs_bg env --default-signal=INT bash -c \
			'source "$1" && master k 127.0.0.1 "$2" "$3"' _ \
			"$LOADER" "$port" "$D" 2>/dev/null 3>&-
		mpid=$BS_LAST
		bs_wait_for 250 test -s "$T/f1.ids"
		bs_wait_for 250 test -s "$T/f2.ids"
		read -r pid1 sid1 <"$T/f1.ids"
		read -r pid2 sid2 <"$T/f2.ids"
		# Both daemons are in the master helper's session.
		[ "$sid1" = "$sid2" ]
		run read -l -w 5 f2
		assert_output 'f2 0'
		kill -"$sig" "$mpid"
		bs_wait_gone "$mpid"
		# Nothing of the master is left: helper, daemons, their sleeps.
		bs_wait_for 250 no_session "$sid1"
		bs_pid_gone "$pid1"
		bs_pid_gone "$pid2"
		read_all f1 >/dev/null
		read_all f2 >/dev/null
		pool_status 0
	done
}

@test "killing the pool (TERM, INT, HUP) closes all its bindings" {
	local sig port ppid helper bport bpid
	local -a bpids bports
	mk_forever f1
	mk_forever f2
	for sig in TERM INT HUP; do
		port=$(bs_free_port)
		bs_bg env --default-signal=INT bash -c \
			'source "$1" && pool k "$2"' _ "$LOADER" "$port" \
			>"$T/pool.out" 2>"$T/pool.err" 3>&-
		ppid=$BS_LAST
		bs_wait_for 250 bs_port_listening "$port"
		helper=$(pgrep -P "$ppid" -x bashsock-pool)
		[ -n "$helper" ]
		bs_bg master k 127.0.0.1 "$port" "$D" 2>/dev/null 3>&-
		local mpid=$BS_LAST
		bs_wait_for 250 announced f1
		bs_wait_for 250 announced f2
		bpids=()
		bports=()
		while read -r _ bport bpid; do
			bpids+=("$bpid")
			bports+=("$bport")
		done <"$T/pool.out"
		[ "${#bpids[@]}" -eq 2 ]
		run read -l -w 5 f1
		assert_output 'f1 0'
		kill -"$sig" "$ppid"
		bs_wait_gone "$ppid"
		bs_wait_gone "$helper"
		for bpid in "${bpids[@]}"; do
			bs_wait_gone "$bpid"
		done
		for bport in "${bports[@]}"; do
			bs_port_free "$bport"
		done
		bs_port_free "$port"
		run bindings
		assert_output ''
		# The daemons lose their pool and end; so does the master.
		bs_wait_gone "$mpid"
	done
}

@test "a silent connection and junk do not hold the pool" {
	local port silent junk proof
	port=$(bs_free_port)
	mk_daemon dem1 3
	start_pool k "$port"
	exec {silent}<>"/dev/tcp/127.0.0.1/$port"
	# One write a connection: the pool drops a connection at its first
	# bad line, and a second write to it could meet the reset.
	exec {junk}<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET / HTTP/1.0\r\n\r\n' >&"$junk"
	exec {proof}<>"/dev/tcp/127.0.0.1/$port"
	printf 'BASHSOCK/1 PROOF nothex nothex\n' >&"$proof"
	run -0 master k 127.0.0.1 "$port" "$D"
	run read_all dem1
	assert_output "$(expected dem1 3)"
	# END closed the handshakes still pending: the pool is done.
	pool_status 0
	exec {silent}>&- {junk}>&- {proof}>&-
	[ "$(wc -l <"$T/pool.out")" -eq 1 ]
}

@test "Ctrl-C in an interactive shell stops pool and master, and the shell goes on" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	local port pid1 sid1
	TMUX_SOCK="bs$$_$BATS_TEST_NUMBER"
	port=$(bs_free_port)
	tmux -L "$TMUX_SOCK" new-session -d -x 200 -y 50 \
		"env BASHSOCK_NS=$BASHSOCK_NS bash --norc --noprofile -i"
	tmux -L "$TMUX_SOCK" send-keys "source '$LOADER'" Enter
	# pool in the foreground, interrupted.
	tmux -L "$TMUX_SOCK" send-keys "pool k $port" Enter
	bs_wait_for 250 bs_port_listening "$port"
	tmux -L "$TMUX_SOCK" send-keys C-c
	bs_wait_for 250 bs_port_free "$port"
	tmux -L "$TMUX_SOCK" send-keys 'echo "pool-status=$?"' Enter
	bs_wait_for 250 eval \
		'tmux -L "$TMUX_SOCK" capture-pane -p | grep -q "^pool-status=130"'
	# master in the foreground, interrupted mid-stream.
	mk_forever f1
	start_pool k "$port"
	tmux -L "$TMUX_SOCK" send-keys "master k 127.0.0.1 $port '$D'" Enter
	bs_wait_for 250 test -s "$T/f1.ids"
	read -r pid1 sid1 <"$T/f1.ids"
	tmux -L "$TMUX_SOCK" send-keys C-c
	bs_wait_for 250 no_session "$sid1"
	bs_pid_gone "$pid1"
	tmux -L "$TMUX_SOCK" send-keys 'echo "master-status=$?"' Enter
	bs_wait_for 250 eval \
		'tmux -L "$TMUX_SOCK" capture-pane -p | grep -q "^master-status=130"'
	read_all f1 >/dev/null
	pool_status 0
}

@test "usage and setup errors" {
	local port
	port=$(bs_free_port)
	run -2 pool
	run -2 pool k
	run -2 pool k 80
	run -2 pool k 20000 extra
	run -2 pool -m 0 k 20000
	run -2 pool -m 5000 k 20000
	run -2 pool -x k 20000
	run -2 pool '' 20000
	run -2 master k 127.0.0.1 "0$port" "$D"
	run -2 master k 127.0.0.1 80 "$D"
	run -2 master k 127.0.0.1 20000
	run -2 master '' 127.0.0.1 20000 "$D"
	run -1 --separate-stderr master k 127.0.0.1 "$port" "$T/none"
	[[ $stderr == *"$T/none: No such file or directory"* ]]
	mk_daemon dem1 1
	run -1 --separate-stderr master k 127.0.0.1 "$port" "$D"
	[[ $stderr == *"127.0.0.1 port $port: Connection refused"* ]]
	start_pool k "$port"
	run -1 --separate-stderr pool k "$port"
	# Old builds took 0PORT as PORT: "already in use" (1), not usage (2).
	run -2 pool k "0$port"
	[[ $stderr == *"port $port: Address already in use"* ]]
	run -0 master k 127.0.0.1 "$port" "$D"
	read_all dem1 >/dev/null
	pool_status 0
	run help pool
	assert_output --partial 'pool [-a ADDR] [-m MAX] KEY PORT'
	run help master
	assert_output --partial 'master KEY HOST PORT DDIR'
}

# --- data connections prove the session (contract v2, Security) ---------

PEER="$BS_ROOT/tests/helpers/poolpeer.py"
TCPPEER="$BS_ROOT/tests/helpers/tcppeer.py"

@test "a data connection gets in by its request's proof only; the bytes after the proof are the daemon's" {
	local port
	port=$(bs_free_port)
	start_pool kp "$port"
	# A master of the test's own (poolpeer.py computes the proofs as the
	# protocol says), so that the right proof is known to work and the
	# wrong ones fail for being wrong. Each wrong one is sent alone and
	# must be dropped; then each port gets its right proof and, in the
	# same segment, lines of data.
	run -0 /usr/bin/python3 "$PEER" master kp "$port" d0 d1 -- \
		proof d0 1 d1 proof d0 1 d0 proof d0 0 d1 proof d1 0 d0 \
		send d0 0 d0 'line one\nline two\n' \
		send d1 1 d1 'from d1\n'
	assert_line --index 0 --regexp '^chal [0-9a-f]{64}$'
	[ "$(grep -c '^dropped$' <<<"$output")" -eq 4 ] || fail "$output"
	run read_all d0
	assert_output $'line one\nline two'
	run read_all d1
	assert_output 'from d1'
	pool_status 0
}

@test "whoever reaches an announced port first without the session's proof never becomes the daemon" {
	local port port1 rport dport chal chal1 line silent zeros rc=0 mpid bpid mac
	local kh="h5-key-$RANDOM$RANDOM"
	port1=$(bs_free_port)
	port=$(bs_free_port)
	rport=$(bs_free_port)
	# Session 1, to have a real proof of another session to replay: d0's
	# proof line there (seq 0), what a master sent on its data connection.
	start_pool "$kh" "$port1"
	run -0 /usr/bin/python3 "$PEER" master "$kh" "$port1" d0 -- \
		send d0 0 d0 'first session\n'
	chal1=$(sed -n 's/^chal //p' <<<"$output")
	run read_all d0
	assert_output 'first session'
	pool_status 0

	# Session 2: the real master, its control link through a relay that
	# holds the pool's PORT answer back (latency on the master's link), so
	# that an attacker on the host reaches the announced port first.
	mk_daemon d0 3
	: >"$T/pool.out"
	start_pool "$kh" "$port"
	bs_bg /usr/bin/python3 "$PEER" relay "$rport" "$port" "$T/chal" "$T/go" \
		>"$T/relay.out" 3>&-
	bs_wait_for 250 bs_port_listening "$rport"
	bs_bg master "$kh" 127.0.0.1 "$rport" "$D" 2>"$T/master.err" 3>&-
	mpid=$BS_LAST
	bs_wait_for 500 announced d0 || fail "d0 not announced"
	bs_wait_for 250 test -s "$T/chal" || fail "no challenge seen"
	dport=$(awk '$1 == "d0" { print $2 }' "$T/pool.out")
	chal=$(<"$T/chal")
	[ "$chal" != "$chal1" ]
	# A silent connection, held the whole time.
	bs_bg /usr/bin/python3 "$TCPPEER" hold "$dport" '' >"$T/silent.out" 3>&-
	silent=$BS_LAST
	bs_wait_for 250 grep -q connected "$T/silent.out"
	zeros=$(printf '0%.0s' {1..64})
	for line in \
		'INJECTED by attacker' \
		'\x00\xff\x01junk' \
		"$(printf 'x%.0s' {1..300})" \
		"BASHSOCK/1 ATTACH $zeros" \
		"BASHSOCK/1 ATTACH $(/usr/bin/python3 "$PEER" mac "$kh" "$chal1" 0 d0)" \
		"BASHSOCK/1 ATTACH $(/usr/bin/python3 "$PEER" mac "$kh" "$chal" 1 d0)" \
		"BASHSOCK/1 ATTACH $(/usr/bin/python3 "$PEER" mac "$kh" "$chal" 0 d1)" \
		"BASHSOCK/1 ATTACH $(/usr/bin/python3 "$PEER" mac wrongkey "$chal" 0 d0)"; do
		run -0 /usr/bin/python3 "$PEER" attack "$dport" "$line" \
			'INJECTED by attacker'
		[ "$output" = dropped ] || fail "$output: $line"
	done
	# The binding's helper holds neither the key nor, once started, its
	# expected proof: not in its command line (every user reads it), not
	# in its environment (wiped).
	bpid=$(awk '$1 == "d0" { print $3 }' "$T/pool.out")
	mac=$(/usr/bin/python3 "$PEER" mac "$kh" "$chal" 0 d0)
	run ! grep -aqF -e "$kh" -e "$mac" "/proc/$bpid/cmdline" "/proc/$bpid/environ"
	run ! grep -aq 'BASHSOCK_POOL_PROOF=[0-9a-f]' "/proc/$bpid/environ"
	# The pool's answer goes on to the master now.
	touch "$T/go"
	run read_all d0
	assert_output "$(expected d0 3)"
	# The daemon's connection got in; the silent one was dropped then.
	bs_wait_for 250 grep -q EOF "$T/silent.out" || fail "silent one kept"
	wait "$mpid" || rc=$?
	[ "$rc" -eq 0 ] || fail "master: $rc: $(cat "$T/master.err")"
	[ ! -s "$T/master.err" ] || fail "master: $(cat "$T/master.err")"
	pool_status 0
	wait "$silent" || true
}
