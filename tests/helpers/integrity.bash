# integrity.bash: the cases of the "nothing lost, nothing stuck" suites
# (integrity.bats, and bigger runs in stress.bats). Load it after
# test_helper/common and helpers/receive; the test sets TMP.
#   load test_helper/common
#   load helpers/receive
#   load helpers/integrity
# shellcheck shell=bash

# The seeded generator, sink and checkers.
INT_GEN="$BS_HELPERS/streamgen.py"
# The bound on one shared-binding case, from its start (seconds).
INT_DEADLINE=${INT_DEADLINE:-30}

int_gen() {
	/usr/bin/python3 "$INT_GEN" "$@"
}

# int_sink PORT OUT [SINK OPTIONS...]: a streamgen sink on 127.0.0.1:PORT
# writing what arrives to OUT; returns once it listens. INT_SINK: its PID.
int_sink() {
	local port=$1 out=$2
	shift 2
	rm -f "$out.ready"
	bs_bg /usr/bin/python3 "$INT_GEN" sink "$port" "$out" --ready "$out.ready" "$@"
	INT_SINK=$BS_LAST
	bs_wait_for 500 test -e "$out.ready" || fail "the sink on port $port never listened"
}

# The output tests' line N: "line N CK", CK a function of N (streamgen.py
# numbered checks it), so a cut or joined line cannot pass. Into INT_LINE
# (no fork: the writes right after a peer's death must be fast).
int_numbered_v() {
	INT_LINE="line $1 $(($1 * 2654435761 % 4294967291))"
}

int_numbered() {
	int_numbered_v "$1"
	echo "$INT_LINE"
}

# int_has_lines FILE N: FILE holds at least N lines.
int_has_lines() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# int_bytes SIZE: SIZE (as bind-input -s takes it: 4k, 1M) in bytes.
int_bytes() {
	case $1 in
	*k) echo $((${1%k} * 1024)) ;;
	*M) echo $((${1%M} * 1048576)) ;;
	*) echo "$1" ;;
	esac
}

# int_size_at_least FILE BYTES
int_size_at_least() {
	[ -f "$1" ] && [ "$(stat -c %s "$1")" -ge "$2" ]
}

# int_close_wait PORT: a socket connected to PORT got its peer's FIN.
int_close_wait() {
	ss -Htn state close-wait "dport = :$1" | grep -q .
}

# int_cpu_ticks PID: the user + system CPU time of PID, in clock ticks.
int_cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# int_clients_at_least ID N: input binding ID has at least N clients.
int_clients_at_least() {
	local c
	c=$(bs_field "$1" 7)
	[[ $c =~ ^[0-9]+$ ]] && [ "$c" -ge "$2" ]
}

# The reader of every input case, run in a plain bash (bats' DEBUG trap
# would slow it down): reads ID with random -b sizes (none, 1-100 B, up
# to 4 KiB, up to 64 KiB; $RANDOM seeded with SEED) at a random pace,
# writing byte-exact to OUT.
#   mode "one": stops at the first status other than 0 (-w 10: 1 means
#     ten seconds without a byte: stuck) and writes it to OUT.status.
#   mode "shared": -w 0.2; once file STOP exists and ID holds no byte and
#     no client, exits 0; any status but 0 and 1 is its exit status.
# $1 loader, $2 mode, $3 ID, $4 SEED, $5 OUT, $6 STOP
# shellcheck disable=SC2016
INT_READER='
. "$1" || exit 99
mode=$2 id=$3 out=$5 stop=$6
RANDOM=$4
exec 8>"$out"
w=10
[ "$mode" = shared ] && w=0.2
while :; do
	case $((RANDOM % 4)) in
	0) opt=() ;;
	1) opt=(-b $((RANDOM % 100 + 1))) ;;
	2) opt=(-b $((RANDOM % 4096 + 1))) ;;
	*) opt=(-b $(((RANDOM * 32768 + RANDOM) % 65536 + 1))) ;;
	esac
	rc=0
	read "${opt[@]}" -w "$w" "$id" >&8 || rc=$?
	if [ "$mode" = one ]; then
		[ $rc -eq 0 ] || { echo "$rc" >"$out.status"; exit 0; }
	elif [ $rc -eq 1 ]; then
		[ -e "$stop" ] &&
			[ "$(bindings | awk -v id="$id" '\''$1 == id { print $6, $7 }'\'')" = "0 0" ] &&
			exit 0
	elif [ $rc -ne 0 ]; then
		exit $rc
	fi
	# A slow reader now and then: 0-90 ms.
	[ $((RANDOM % 32)) -eq 0 ] && sleep "0.0$((RANDOM % 10))"
done
'

# int_one SIZE KIND BYTES SEED [FULL]: a -1 binding of SIZE; the
# generator sends BYTES of KIND (streamgen.py send) in random chunks; the
# reader must end with status 3 (the end) with exactly what was sent.
# FULL=full: the reader starts only once the buffer is full (SIZE bytes
# buffered), whatever the line the client is in the middle of.
int_one() {
	local size=$1 kind=$2 bytes=$3 seed=$4 full=${5:-} port pid st got want len gen
	rm -f "$TMP/sent" "$TMP/out" "$TMP/out.status"
	port=$(bs_free_port)
	bind-input -1 -a 127.0.0.1 -s "$size" -v pid one "$port"
	bs_bg /usr/bin/python3 "$INT_GEN" send "$port" "$seed" "$bytes" "$kind" "$TMP/sent"
	gen=$BS_LAST
	if [ "$full" = full ]; then
		bs_wait_for 1000 bs_is_field one 6 "$(int_bytes "$size")" ||
			fail "the buffer never filled: $(bindings)"
	fi
	timeout 120 bash --norc -c "$INT_READER" bash "$BS_LOADER" one one "$seed" \
		"$TMP/out" "" || fail "reader: exit $? (timeout 124)"
	got=$(stat -c %s "$TMP/out")
	st=$(cat "$TMP/out.status")
	[ "$st" = 3 ] ||
		fail "read: exit $st after $got of $bytes bytes (1: nothing for 10 s, stuck)"
	bs_wait_for 500 test -e "$TMP/sent" || fail "the generator never finished"
	bs_wait_gone "$gen" || fail "the generator never exited"
	read -r want len <"$TMP/sent"
	[ "$len" -eq "$bytes" ]
	[ "$got" -eq "$len" ] || fail "read $got bytes, sent $len"
	[ "$(sha256sum <"$TMP/out" | cut -d' ' -f1)" = "$want" ] ||
		fail "sha256 differs from what was sent"
	bs_wait_gone "$pid" || fail "the ended binding's helper lives on"
}

# int_shared SIZE SEED N COUNT: a shared binding of SIZE and N clients
# sending COUNT tagged lines each (streamgen.py lines), started together.
# Every client's lines must arrive whole, in order, unmixed, and all of it
# within INT_DEADLINE (30) s. Set for the call:
#   INT_LONG=BYTES: first, one more client whose line INT_LONGAT (0) has a
#     payload of BYTES; INT_LONGCOUNT (COUNT) lines in all.
#   INT_LONGPAUSE=SECS: half of the long line goes at once, the rest after
#     SECS (less than 2: it must not be cut); the N clients start once
#     that half has come through, and wait.
#   INT_STALL=BYTES: first of all, a client that sends BYTES of a line and
#     then holds the connection, silent, until the others are done: it
#     must give the stream up after 2 s (10 s allowed here; its line is
#     then ended by a newline it did not send, and the others follow).
#   INT_LATE=BYTES: the reader starts only once the binding holds BYTES
#     (the long client filled it), and the N clients after that.
int_shared() {
	local size=$1 seed=$2 n=$3 count=$4 long=${INT_LONG:-0}
	local stall=${INT_STALL:-0} late=${INT_LATE:-0} port pid k
	local gens=() reports=() deadline p st total staller=
	port=$(bs_free_port)
	bind-input -a 127.0.0.1 -s "$size" -v pid sh "$port"
	deadline=$((SECONDS + INT_DEADLINE))
	[ "$late" -gt 0 ] || int_shared_reader "$seed"
	if [ "$stall" -gt 0 ]; then
		bs_bg /usr/bin/python3 "$INT_GEN" lines "$port" "$seed" stall 1 \
			--stall "$stall" --hold "$TMP/release" --report "$TMP/r.stall"
		staller=$BS_LAST
		reports+=("$TMP/r.stall")
		# Past the stash, its bytes are passed on as they come.
		bs_wait_for 500 int_size_at_least "$TMP/out" "$stall" ||
			fail "the stalled client's $stall bytes never came through: $(bindings)"
	fi
	if [ "$long" -gt 0 ]; then
		bs_bg /usr/bin/python3 "$INT_GEN" lines "$port" "$seed" long \
			"${INT_LONGCOUNT:-$count}" --long "$long" \
			--long-at "${INT_LONGAT:-0}" --pause "${INT_LONGPAUSE:-0}" \
			--report "$TMP/r.long"
		gens+=("$BS_LAST")
		reports+=("$TMP/r.long")
		if [ -n "${INT_LONGPAUSE:-}" ]; then
			# Its first half holds the stream while it pauses.
			bs_wait_for 500 int_size_at_least "$TMP/out" $((long / 2)) ||
				fail "the first half of the long line never came through: $(bindings)"
		fi
	fi
	if [ "$late" -gt 0 ]; then
		bs_wait_for 1000 int_buffered_at_least sh "$late" ||
			fail "the buffer never held $late bytes: $(bindings)"
		int_shared_reader "$seed"
	fi
	for ((k = 1; k <= n; k++)); do
		bs_bg /usr/bin/python3 "$INT_GEN" lines "$port" $((seed * 100 + k)) \
			"c$k" "$count" --report "$TMP/r.c$k"
		gens+=("$BS_LAST")
		reports+=("$TMP/r.c$k")
	done
	if [ "$stall" -gt 0 ]; then
		# The 2 s rule, with room for a loaded machine: within 10 s the
		# stalled line is ended and the others' lines follow it.
		bs_wait_for 500 int_size_at_least "$TMP/out" \
			$(($(cut -d' ' -f3 "$TMP/r.stall") + 1)) ||
			fail "the stalled client still holds the stream 10 s after the others came: $(bindings)"
	fi
	for p in "${gens[@]}"; do
		while ! bs_pid_gone "$p"; do
			[ $SECONDS -lt $deadline ] ||
				fail "a client still sending after $INT_DEADLINE s: $(stat -c %s "$TMP/out") bytes read; $(bindings)"
			sleep 0.05
		done
	done
	# Every client but the stalled one has been served: all its bytes
	# read, its connection gone and the buffer empty, while the stalled
	# one still holds its line.
	total=0
	for p in "${reports[@]}"; do
		[ -s "$p" ] || fail "no report from client ${p##*/r.}: it failed"
		total=$((total + $(cut -d' ' -f3 "$p")))
	done
	while ! int_size_at_least "$TMP/out" "$total" ||
		! int_fields sh "0 $((stall > 0 ? 1 : 0))"; do
		[ $SECONDS -lt $deadline ] ||
			fail "not every client served within $INT_DEADLINE s: $(stat -c %s "$TMP/out") bytes read; $(bindings)"
		sleep 0.05
	done
	: >"$TMP/release"
	: >"$TMP/stop"
	while ! bs_pid_gone "$INT_READER_PID"; do
		[ $SECONDS -lt $deadline ] ||
			fail "the reader did not end within $INT_DEADLINE s: $(stat -c %s "$TMP/out") bytes read; $(bindings)"
		sleep 0.05
	done
	st=0
	wait "$INT_READER_PID" || st=$?
	[ "$st" -eq 0 ] || fail "reader: exit $st"
	if [ -n "$staller" ]; then
		bs_wait_gone "$staller" || fail "the stalled client never closed"
	fi
	unbind sh
	/usr/bin/python3 "$INT_GEN" check "$TMP/out" "${reports[@]}"
}

# int_shared_reader SEED: the reader of int_shared, in the background.
int_shared_reader() {
	timeout 120 bash --norc -c "$INT_READER" bash "$BS_LOADER" shared sh \
		"$1" "$TMP/out" "$TMP/stop" &
	INT_READER_PID=$!
	bs_track "$INT_READER_PID"
}

# int_fields ID "BUFFERED CLIENTS": ID holds BUFFERED bytes, CLIENTS clients.
int_fields() {
	[ "$(bindings | awk -v id="$1" '$1 == id { print $6, $7 }')" = "$2" ]
}

# int_buffered_at_least ID BYTES
int_buffered_at_least() {
	local b
	b=$(bs_field "$1" 6)
	[[ $b =~ ^[0-9]+$ ]] && [ "$b" -ge "$2" ]
}

# int_output_kill COUNT SEED: bind-output -r, a writer of COUNT numbered
# lines; the first sink stops reading at a seeded point between 500 KB
# and 1.5 MB and, once the helper is held back by its closed window,
# records what its kernel acknowledged and dies of SIGKILL. A second sink
# on the same port takes the rest. Every line must arrive at least once,
# none cut (but the first sink's last) or joined.
int_output_kill() {
	local count=$1 seed=$2 port die pid writer sink_a sink_b st acked recorded
	RANDOM=$seed
	die=$((500000 + (RANDOM * 32768 + RANDOM) % 1000000))
	port=$(bs_free_port)
	int_sink "$port" "$TMP/a" --rcvbuf 16384 --die-after "$die"
	sink_a=$INT_SINK
	bind-output -r -v pid o 127.0.0.1 "$port"
	# shellcheck disable=SC2016
	bs_bg timeout 120 bash --norc -c '. "$1" || exit 99
		for ((n = 1; n <= $2; n++)); do
			write o "line $n $((n * 2654435761 % 4294967291))" || exit 1
		done' bash "$BS_LOADER" "$count"
	writer=$BS_LAST
	bs_wait_for 1500 bs_pid_gone "$sink_a" || fail "the first sink never died"
	# The premise: the first sink got everything that was acknowledged
	# (maybe more: bytes read whose ACK had not gone out yet, which the
	# helper sends again, and which may arrive twice).
	read -r acked recorded <"$TMP/a.acked"
	[ "$acked" -ge 0 ] || fail "test premise: no bytes_acked from ss for the helper's socket"
	[ "$acked" -le "$recorded" ] ||
		fail "test premise: the sink recorded $recorded bytes, the helper's kernel had $acked acknowledged"
	int_sink "$port" "$TMP/b"
	sink_b=$INT_SINK
	bs_wait_for 3000 bs_pid_gone "$writer" ||
		fail "the writer still writes after 60 s: $(wc -l <"$TMP/b") lines at the second sink; $(bindings)"
	st=0
	wait "$writer" || st=$?
	[ "$st" -eq 0 ] || fail "writer: exit $st"
	run -0 unbind o
	bs_wait_for 1000 bs_pid_gone "$sink_b" || fail "the second sink never saw the end"
	/usr/bin/python3 "$INT_GEN" numbered "$count" "$TMP/a:cut" "$TMP/b"
}

# int_write_range FIRST LAST: writes the numbered lines FIRST..LAST to
# binding o; INT_LINE is the last.
int_write_range() {
	local n
	for ((n = $1; n <= $2; n++)); do
		int_numbered_v "$n"
		write o "$INT_LINE" || fail "write $n: exit $?"
	done
}

# int_output_rounds ROUNDS: bind-output -r to a sink; each round writes 10
# lines, waits until the sink has read them all (so its death acknowledges
# nothing more), SIGKILLs it, writes 100 lines at once (the helper has not
# noticed yet: they go to a dead peer, and are not acknowledged), and
# starts the next sink on the same port. Every line must arrive, whole.
int_output_rounds() {
	local rounds=$1 port pid k n=0 files=() sink
	port=$(bs_free_port)
	int_sink "$port" "$TMP/s0"
	sink=$INT_SINK
	files+=("$TMP/s0")
	bind-output -r -v pid o 127.0.0.1 "$port"
	for ((k = 1; k <= rounds; k++)); do
		int_write_range $((n + 1)) $((n + 10))
		n=$((n + 10))
		bs_wait_for 750 bs_file_has "${files[-1]}" "$INT_LINE" ||
			fail "round $k: the sink never got line $n"
		kill -KILL "$sink"
		bs_wait_gone "$sink"
		int_write_range $((n + 1)) $((n + 100))
		n=$((n + 100))
		int_sink "$port" "$TMP/s$k"
		sink=$INT_SINK
		files+=("$TMP/s$k")
	done
	# Reconnect backoff is at most 5 s between attempts.
	bs_wait_for 750 bs_file_has "${files[-1]}" "$INT_LINE" ||
		echo "# the last sink has no line $n after 15 s"
	run -0 unbind o
	bs_wait_gone "$sink" || fail "the last sink never saw the end"
	/usr/bin/python3 "$INT_GEN" numbered "$n" "${files[@]}"
}

# int_emfile PORT: an input binding "em" started by a shell with
# `ulimit -Sn 32` (INT_HELPER: its PID), and 100 clients connected that
# send nothing (INT_CROWD: their process); returns once the helper has
# taken what its descriptors allow.
int_emfile() {
	local port=$1
	# shellcheck disable=SC2016
	INT_HELPER=$(bash --norc -c 'ulimit -Sn 32 || exit 98; . "$1" || exit 99
		bind-input -a 127.0.0.1 -v p em "$2" && echo "$p"' \
		bash "$BS_LOADER" "$port")
	[[ $INT_HELPER =~ ^[0-9]+$ ]] || fail "bind-input failed: $INT_HELPER"
	[ "$(awk '/^Max open files/ { print $4 }' "/proc/$INT_HELPER/limits")" = 32 ] ||
		fail "the helper did not inherit the limit"
	bs_bg /usr/bin/python3 "$BS_PEER" crowd "$port" 100 >"$TMP/crowd"
	# shellcheck disable=SC2034 # for the test
	INT_CROWD=$BS_LAST
	bs_wait_for 500 grep -qx "connected 100" "$TMP/crowd" ||
		fail "the crowd never connected"
	bs_wait_for 250 int_clients_at_least em 10 || fail "no client accepted"
}
