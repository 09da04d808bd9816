#!/usr/bin/env bats
# stress: the fault and load suite (make check-stress; not part of make
# test). Each test stays under about a minute on a 2-core machine; every
# wait is bounded, every peer runs on loopback and is stopped by its PID.

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive
load helpers/integrity

setup() {
	bs_setup
	export LC_ALL=C
	TMP=$BATS_TEST_TMPDIR
	MOUNTED=
}

teardown() {
	bs_teardown
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null
	fi
}

# The namespace directory of this test, as lib/rt.c computes it.
nsdir() {
	echo "$(bs_rt_base)/$BASHSOCK_NS"
}

# What the namespace directory holds besides its lock and generation files.
leftovers() {
	local d
	d=$(nsdir)
	[ -d "$d" ] || return 0
	find "$d" -mindepth 1 ! -name .lock ! -name .gen -printf '%f\n'
}

# True when PID is gone, without forking (a zombie counts as gone).
gone() {
	local st
	# No subshell: one failing there (the process just went) would trip
	# bats' ERR trap.
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ] || [ "${st%% *}" = X ]
}


now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# field ID N: field N of ID's line in `bindings` (6 buffered, 7 clients).
field() {
	bindings | awk -v id="$1" -v n="$2" '$1 == id { print $n }'
}

is_field() {
	[ "$(field "$1" "$2")" = "$3" ]
}

@test "1,000 live bindings at once, then all closed: nothing left behind" {
	local i t port pid pids=() ports=() listening
	for ((i = 0; i < 1000; i++)); do
		pid=
		# Random ports below the ephemeral range; a taken one is retried.
		for ((t = 0; t < 20; t++)); do
			port=$((20000 + RANDOM % 12768))
			bind-input -s 4k -v pid "b$i" "$port" 2>/dev/null && break
		done
		[ -n "$pid" ] || fail "binding $i: no free port in 20 tries"
		pids+=("$pid")
		ports+=("$port")
	done
	[ "$(bindings | wc -l)" -eq 1000 ]
	[ "$(bindings | awk '$7 == 0' | wc -l)" -eq 1000 ]
	for pid in "${pids[@]}"; do
		gone "$pid" && fail "helper $pid died early"
	done

	run -0 unbind -a
	for pid in "${pids[@]}"; do
		bs_wait_for 250 gone "$pid" || fail "helper $pid still runs"
	done
	[ -z "$(bindings)" ]
	[ -z "$(leftovers)" ]
	# None of their ports is still listened on.
	listening=$(ss -Htln | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
	[ -z "$(comm -12 <(echo "$listening") <(printf '%s\n' "${ports[@]}" | sort -u))" ]
}

# Python: CLIENTS threads connect to PORT and each sends LINES lines,
# "cNNN SEQ payload", the payload a letter of the client repeated a
# varying number of times, in chunks of random size that split lines. It
# writes the total byte count to TOTAL first.
PY_MANY='
import random, socket, sys, threading
port, clients, lines, total_file = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def line(c, i):
    return b"c%03d %05d %s\n" % (c, i, bytes([65 + c % 26]) * ((c * 7 + i * 13) % 50))
total = sum(len(line(c, i)) for c in range(clients) for i in range(lines))
open(total_file, "w").write(str(total))
errors = []
def client(c):
    try:
        data = b"".join(line(c, i) for i in range(lines))
        rnd = random.Random(c)
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        off = 0
        while off < len(data):
            n = rnd.randint(1, 3000)
            s.sendall(data[off:off + n])
            off += n
        s.close()
    except Exception as e:
        errors.append("client %d: %r" % (c, e))
ts = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    print("\n".join(errors), file=sys.stderr); sys.exit(1)
'

# Python: checks FILE holds exactly what PY_MANY sends, lines unmixed.
PY_CHECK_MANY='
import re, sys
path, clients, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = [0] * clients
pat = re.compile(rb"c(\d{3}) (\d{5}) ([A-Z]*)")
bad = 0
with open(path, "rb") as f:
    for raw in f:
        m = pat.fullmatch(raw.rstrip(b"\n"))
        if not m or not raw.endswith(b"\n"):
            bad += 1
            if bad < 5: print("mixed or broken line: %r" % raw[:120])
            continue
        c, i = int(m.group(1)), int(m.group(2))
        if c >= clients or i != want[c] or m.group(3) != bytes([65 + c % 26]) * ((c * 7 + i * 13) % 50):
            bad += 1
            if bad < 5: print("client %d: line %d out of turn: %r" % (c, i, raw[:120]))
            continue
        want[c] += 1
short = [c for c in range(clients) if want[c] != lines]
if short: print("clients with lines missing: %s" % short[:10])
sys.exit(1 if bad or short else 0)
'

@test "100 clients x 10,000 lines into one binding: every line, none mixed" {
	local port py rc total deadline=$((SECONDS + 50))
	port=$(bs_free_port)
	bind-input -s 256k -v pid many "$port"
	python3 -c "$PY_MANY" "$port" 100 10000 "$TMP/total" &
	py=$!
	bs_track "$py"
	# (fd 3 is bats' own.)
	exec 8>"$TMP/out"
	# Drain until the senders are done, every client has gone and the
	# buffer is empty; at most 50 s.
	while [ $SECONDS -lt $deadline ]; do
		rc=0
		read -w 0.2 many >&8 || rc=$?
		[ $rc -eq 0 ] && continue
		[ $rc -eq 1 ] || fail "read: exit $rc"
		gone "$py" && is_field many 7 0 && is_field many 6 0 && break
	done
	exec 8>&-
	wait "$py" || fail "the senders failed"
	total=$(cat "$TMP/total")
	[ "$(stat -c %s "$TMP/out")" -eq "$total" ] ||
		fail "received $(stat -c %s "$TMP/out") of $total bytes"
	run -0 python3 -c "$PY_CHECK_MANY" "$TMP/out" 100 10000
}

# Python: sends SIZE bytes to PORT (rotations of a random MiB: cheap, and
# a chunk out of place changes the sum), then writes their sha256 to SUM.
PY_BIG='
import hashlib, os, socket, sys
port, size, sum_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
block = os.urandom(1 << 20)
h = hashlib.sha256()
s = socket.create_connection(("127.0.0.1", port), timeout=60)
sent, i = 0, 0
while sent < size:
    k = (i * 7919) % len(block)
    chunk = (block[k:] + block[:k])[: size - sent]
    h.update(chunk)
    s.sendall(chunk)
    sent += len(chunk)
    i += 1
s.close()
open(sum_file, "w").write(h.hexdigest())
'

@test "1 GiB through a 64 KiB buffer to a slower reader arrives byte-exact" {
	local port py got want
	port=$(bs_free_port)
	bind-input -1 -s 64k -v pid big "$port"
	python3 -c "$PY_BIG" "$port" $((1 << 30)) "$TMP/sum" &
	py=$!
	bs_track "$py"
	# The reader takes at most 16 KiB a call, so the helper keeps finding
	# the buffer full and TCP holds the sender back. -1: exit 3 at the end.
	got=$( (
		st=0
		while [ $st -eq 0 ]; do
			read -b 16384 -w 20 big || st=$?
		done
		echo "$st" >"$TMP/status"
	) | sha256sum | cut -d' ' -f1)
	wait "$py" || fail "the sender failed"
	[ "$(cat "$TMP/status")" = 3 ] || fail "reader: exit $(cat "$TMP/status")"
	want=$(cat "$TMP/sum")
	[ "$got" = "$want" ] || fail "sha256 $got, sent $want"
	bs_wait_gone "$pid"
}

@test "a full tmpfs: a clean error, no SIGBUS, the shell alive, nothing left" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
	local mnt=$TMP/mnt port
	mkdir -p "$mnt"
	mount -t tmpfs -o size=2m,mode=0755 tmpfs "$mnt" ||
		skip "cannot mount a tmpfs here"
	MOUNTED=$mnt
	mkdir -m 0700 "$mnt/xdg"
	export XDG_RUNTIME_DIR=$mnt/xdg
	port=$(bs_free_port)
	# Bigger than the whole file system, in a shell that must survive.
	run -1 --separate-stderr bash -c 'source "$1" || exit 9
		bind-input -s 4M big "$2"; s=$?; echo alive; exit $s' \
		_ "$BS_ROOT/loader.sh" "$port"
	assert_output alive
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[[ $stderr == *"No space left on device"* ]] || fail "stderr: $stderr"
	bs_port_free "$port"
	[ -z "$(leftovers)" ]
	# Fill what is left, then ask for a small one: the same clean error.
	dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null || true
	run -1 --separate-stderr bind-input -s 64k small "$port"
	[[ $stderr == *"No space left on device"* ]] || fail "stderr: $stderr"
	bs_port_free "$port"
	[ -z "$(leftovers)" ]
	# Room again: it works, and closes cleanly.
	rm -f "$mnt/filler"
	run -0 bind-input -s 64k small "$port"
	run -0 unbind small
	[ -z "$(leftovers)" ]
}

# Python: connects to PORT, sends 1,000 lines and half of the next, then
# holds the connection until it breaks or 60 s have passed.
PY_HALF='
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"".join(b"line %d\n" % i for i in range(1000)) + b"line 10")
s.settimeout(60)
try:
    s.recv(1)
except OSError:
    pass
'

@test "the helper killed with SIGKILL mid-transfer: a waiting read returns 3 at once" {
	local port py reader t0 t1 st n
	port=$(bs_free_port)
	bind-input -v pid victim "$port"
	python3 -c "$PY_HALF" "$port" &
	py=$!
	bs_track "$py"
	# A reader that reads line after line, waiting up to 10 s for each;
	# it says when it has had the 1,000 whole lines.
	(
		n=0 st=0
		while [ $st -eq 0 ]; do
			read -l -w 10 -v l victim || st=$?
			[ $st -eq 0 ] && n=$((n + 1))
			[ $n -eq 1000 ] && : >"$TMP/caught-up"
		done
		echo "$st $n" >"$TMP/reader"
	) &
	reader=$!
	bs_track "$reader"
	# Mid-transfer: the client is connected with half a line sent, and the
	# reader has taken every whole line and waits for the rest.
	bs_wait_for 250 is_field victim 7 1 || fail "the client never connected"
	bs_wait_for 250 test -e "$TMP/caught-up" || fail "the lines were not all read"
	bs_wait_for 250 bs_read_waits "$reader" || fail "the reader never waited"
	t0=$(now_ms)
	kill -KILL "$pid"
	bs_wait_for 250 gone "$reader" || fail "read still waits 5 s after the kill (-w 10)"
	t1=$(now_ms)
	wait "$reader"
	read -r st n <"$TMP/reader"
	[ "$st" -eq 3 ] || fail "read exit $st after $n lines"
	[ "$n" -eq 1000 ] || fail "$n lines read before the kill"
	[ $((t1 - t0)) -lt 1500 ] || fail "read returned $((t1 - t0)) ms after the kill"
	# The dead binding is not listed, and its ID and port can be bound again.
	[ -z "$(bindings)" ]
	run -0 bind-input victim "$port"
}

# Python: sends COUNT numbered lines to PORT (one client, then closes).
PY_NUMBERS='
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=60)
data = b"".join(b"%07d\n" % i for i in range(count))
for off in range(0, len(data), 4096):
    s.sendall(data[off:off + 4096])
s.close()
'

@test "a reader killed with SIGKILL mid-read: the others lose and duplicate nothing" {
	local port k pids=() count=60000 dup missing total ended=0
	port=$(bs_free_port)
	bind-input -1 -s 16k -v pid shared "$port"
	for k in 1 2 3; do
		bash -c 'source "$1" || exit 9
			st=0
			while [ $st -eq 0 ]; do
				read -l -w 10 -v l shared && printf "%s\n" "$l"
				st=$?
			done
			echo "$st" >"$2.status"' _ "$BS_ROOT/loader.sh" "$TMP/out$k" \
			>"$TMP/out$k" &
		pids+=($!)
		bs_track $!
	done
	python3 -c "$PY_NUMBERS" "$port" "$count" &
	bs_track $!
	# Kill reader 1 once it is in the middle of things.
	bs_wait_for 500 test -s "$TMP/out1" || fail "reader 1 read nothing"
	kill -KILL "${pids[0]}"
	for k in 1 2; do
		bs_wait_for 2000 gone "${pids[$k]}" || fail "reader $((k + 1)) hangs"
	done
	# Each reader's lines are in order; together no line twice, and at
	# most the one line reader 1 had taken when it died is missing.
	for k in 1 2 3; do
		sort -c "$TMP/out$k" || fail "reader $k out of order"
	done
	total=$(cat "$TMP/out1" "$TMP/out2" "$TMP/out3" | wc -l)
	dup=$(sort "$TMP/out1" "$TMP/out2" "$TMP/out3" | uniq -d | wc -l)
	missing=$((count - $(sort -u "$TMP/out1" "$TMP/out2" "$TMP/out3" | wc -l)))
	[ "$dup" -eq 0 ] || fail "$dup lines read twice"
	[ "$missing" -le 1 ] || fail "$missing lines lost"
	[ "$total" -le "$count" ]
	# The survivors stopped because the stream ended: one saw exit 3; the
	# other may have come after the binding was gone (2).
	for k in 2 3; do
		case $(cat "$TMP/out$k.status") in
		3) ended=$((ended + 1)) ;;
		2) ;;
		*) fail "reader $k: exit $(cat "$TMP/out$k.status")" ;;
		esac
	done
	[ "$ended" -ge 1 ]
	bs_wait_gone "$pid"
}

@test "the shell that made a binding exits: the binding lives on, unbind from another shell closes it" {
	local port pid
	port=$(bs_free_port)
	pid=$(bash -c 'source "$1" && bind-input orphan "$2"' _ "$BS_ROOT/loader.sh" "$port")
	[[ $pid =~ ^[0-9]+$ ]]
	# The shell has gone; its helper has not.
	! gone "$pid"
	bs_port_listening "$port"
	run -0 bindings
	assert_output --regexp "^orphan in .* $port $pid 0 0\$"
	printf 'still here\n' | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read()); s.close()' "$port"
	run -0 read -l -w 5 orphan
	assert_output "still here"
	run -0 bash -c 'source "$1" && unbind orphan' _ "$BS_ROOT/loader.sh"
	bs_wait_gone "$pid"
	bs_port_free "$port"
	[ -z "$(bindings)" ]
	[ -z "$(leftovers)" ]
}

# Python: client A sends 3,000 bytes of one line (more than the stash of a
# 4k binding holds, so they are published as they come), touches DIR/a1,
# waits for DIR/go, ends its line and touches DIR/a2; then client B sends a
# line of its own and touches DIR/b. A stays connected until killed.
PY_LONG='
import os, socket, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
def wait_for(name):
    end = time.monotonic() + 30
    while not os.path.exists(os.path.join(d, name)):
        if time.monotonic() > end: sys.exit(1)
        time.sleep(0.01)
a = socket.create_connection(("127.0.0.1", port), timeout=30)
a.sendall(b"a" * 3000)
open(os.path.join(d, "a1"), "w").close()
wait_for("go")
a.sendall(b"z\n")
open(os.path.join(d, "a2"), "w").close()
b = socket.create_connection(("127.0.0.1", port), timeout=30)
b.sendall(b"b line\n")
b.close()
open(os.path.join(d, "b"), "w").close()
time.sleep(60)
'

@test "a line longer than the stash: read -l waits for all of it, and the others get the stream back at its newline" {
	local port
	port=$(bs_free_port)
	bind-input -s 4k -v pid long "$port"
	python3 -c "$PY_LONG" "$port" "$TMP" &
	bs_track $!
	bs_wait_for 500 test -e "$TMP/a1"
	bs_wait_for 250 is_field long 6 3000
	# 3,000 bytes buffered, no newline yet, the client still there: no line.
	run -1 read -l -w 0.2 long
	: >"$TMP/go"
	bs_wait_for 500 test -e "$TMP/b"
	read -l -w 5 -v line long
	[ "${#line}" -eq 3001 ]
	[ "${line: -1}" = z ]
	# B's line comes while A is still connected.
	run -0 read -l -w 5 long
	assert_output "b line"
	is_field long 7 1
}

# --- nothing lost, nothing stuck (issue 11): bigger runs of integrity.bats
# (tests/helpers/integrity.bash; streamgen.py generates, sinks and checks).
# About two minutes in all.

# int_stress_one SIZE BYTES SEED: every kind of stream through a -1
# binding of SIZE, twice (seeds SEED, SEED+1, ...), BYTES each; then the
# kinds without newlines once more, read only once the buffer is full.
int_stress_one() {
	local size=$1 bytes=$2 seed=$3 kind round
	for round in 1 2; do
		for kind in binary text nonl long; do
			echo "# -1 -s $size: $bytes bytes of $kind, seed $seed"
			int_one "$size" "$kind" "$bytes" "$seed"
			seed=$((seed + 1))
		done
	done
	for kind in nonl long; do
		echo "# -1 -s $size: $bytes bytes of $kind, seed $seed, buffer full first"
		int_one "$size" "$kind" "$bytes" "$seed" full
		seed=$((seed + 1))
	done
}

@test "integrity: -1, 4k buffer, 10 seeded streams: 3 MB of every kind arrives byte-exact" {
	int_stress_one 4k 3000000 101
}

@test "integrity: -1, 64k buffer, 10 seeded streams: 6 MB of every kind arrives byte-exact" {
	int_stress_one 64k 6000000 111
}

@test "integrity: -1, 1M buffer, 10 seeded streams: 12 MB of every kind arrives byte-exact" {
	int_stress_one 1M 12000000 121
}

@test "integrity: shared 64k, 2 seeds, 20 clients, a 300 KB line and a client stalled mid-line: every line whole, unmixed" {
	local seed base=$TMP
	for seed in 131 132; do
		echo "# seed $seed"
		TMP=$base/$seed
		mkdir -p "$TMP"
		INT_DEADLINE=90 INT_STALL=40000 INT_LONG=300000 int_shared 64k "$seed" 20 2000
	done
}

@test "integrity: shared 4k, 3 seeds, 10 clients and a line 100 times the buffer" {
	local seed base=$TMP
	for seed in 136 137 138; do
		echo "# seed $seed"
		TMP=$base/$seed
		mkdir -p "$TMP"
		INT_DEADLINE=90 INT_LONG=409600 INT_LONGAT=$((seed * 7 % 500)) \
			int_shared 4k "$seed" 10 1000
	done
}

@test "integrity: shared 1M, 3 seeds: a long line that does not fit while nobody reads, then later clients" {
	local seed base=$TMP
	for seed in 141 142 143; do
		echo "# seed $seed"
		TMP=$base/$seed
		mkdir -p "$TMP"
		INT_LONG=$((200000 + seed * 1000)) INT_LONGAT=5300 INT_LONGCOUNT=14000 \
			INT_LATE=1040000 int_shared 1M "$seed" 5 2000
	done
}

@test "integrity: bind-output -r, 3 seeds: 200,000 lines, the sink SIGKILLed mid-stream and restarted" {
	local seed base=$TMP
	for seed in 151 152 153; do
		echo "# seed $seed"
		TMP=$base/$seed
		mkdir -p "$TMP"
		int_output_kill 200000 "$seed"
	done
}

@test "integrity: bind-output -r: lines written right after the peer died, 20 times" {
	int_output_rounds 20
}
