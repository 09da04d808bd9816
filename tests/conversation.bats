#!/usr/bin/env bats
# Conversations (contract v2): every binding carries bytes both ways, tested
# against peers nobody here wrote: redis-server, Python's http.server,
# socat, curl, ncat and bash's /dev/tcp. Also the README's two examples,
# run exactly as printed, backpressure both ways, read -c's boundaries and
# Ctrl-C in an interactive shell (tmux).

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/tmux

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	tm_stop
	bs_teardown
}

# --- helpers -------------------------------------------------------------

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
}

# readme_example NAME: the code block between `<!-- example: NAME -->` and
# `<!-- /example -->` in README.md, without its fence lines.
readme_example() {
	awk -v n="$1" '$0 == "<!-- example: " n " -->" { on = 1; next }
		on && $0 == "<!-- /example -->" { exit }
		on && !/^```/ { print }' "$BS_ROOT/README.md"
}

# redis_start: a redis-server of our own on a free loopback port, no
# persistence; sets RPORT. Stopped by PID in teardown.
redis_start() {
	need redis-server
	RPORT=$(bs_free_port)
	bs_bg redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
		--appendonly no --daemonize no --dir "$T" >"$T/redis.log" 2>&1
	bs_wait_for 250 bs_port_listening "$RPORT" || {
		cat "$T/redis.log"
		return 1
	}
}

# read_all ID FILE: appends everything ID delivers to FILE until read says
# the stream has ended (3); fails on a 5 s silence. Bounded in rounds.
read_all() {
	local i rc
	for ((i = 0; i < 100000; i++)); do
		rc=0
		read -w 5 "$1" >>"$2" || rc=$?
		[ "$rc" = 0 ] && continue
		[ "$rc" = 3 ] && return 0
		echo "read_all: read $1 exited $rc after $(stat -c %s "$2") bytes" >&2
		return 1
	done
	return 1
}

# Python peers (Debian's python3), each bounded in time:
#   sender PORT BYTES SEED PROGRESS SHA   listens, takes one client, sends
#       BYTES of seeded random data in 64 KiB pieces, writing the count
#       sent so far to PROGRESS after each, then the data's sha256 to SHA
#   slow PORT NAME GO COUNT               connects with a 4 KiB receive
#       buffer, sends NAME and a newline, reads nothing until the file GO
#       exists, then reads to end of file and writes the count to COUNT
bs_py() {
	/usr/bin/python3 - "$@" <<'PY'
import hashlib, os, random, socket, sys, time
mode = sys.argv[1]
if mode == 'sender':
    port, n, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    prog, shaf = sys.argv[5], sys.argv[6]
    data = random.Random(seed).randbytes(n)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', port)); ls.listen(1); ls.settimeout(30)
    c, _ = ls.accept(); c.settimeout(60)
    sent = 0
    while sent < n:
        c.sendall(data[sent:sent + 65536]); sent = min(n, sent + 65536)
        with open(prog + '.tmp', 'w') as f: f.write(str(sent))
        os.replace(prog + '.tmp', prog)
    c.close()
    with open(shaf, 'w') as f: f.write(hashlib.sha256(data).hexdigest())
elif mode == 'slow':
    port, name, go, countf = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(('127.0.0.1', port))
    s.sendall(name.encode() + b'\n')
    t = time.time() + 120
    while not os.path.exists(go) and time.time() < t:
        time.sleep(0.02)
    s.settimeout(30)
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b: break
        n += len(b)
    with open(countf, 'w') as f: f.write(str(n))
PY
}

# n_clients ID N: input binding ID has N clients now.
n_clients() {
	[ "$(bindings "$1" | wc -l)" = "$2" ]
}

# buffered N: the namespace's one binding holds N unread bytes.
buffered() {
	[ "$(bindings | awk '{print $6}')" = "$1" ]
}

# no_bindings: the namespace has none left.
no_bindings() {
	[ -z "$(bindings)" ]
}

# stalled FILE: FILE's content (a counter) did not change over 0.3 s.
stalled() {
	local a b
	a=$(cat "$1" 2>/dev/null) || return 1
	sleep 0.3
	b=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$a" ] && [ "$a" = "$b" ]
}

# --- redis-server -----------------------------------------------------------

@test "redis: PING answers +PONG, SET then GET returns the value" {
	redis_start
	run -0 bind-output r 127.0.0.1 "$RPORT"
	write r 'PING\r'
	run -0 read -l -w 5 r
	assert_output $'+PONG\r'
	write -E r 'SET key some-value'$'\r'
	run -0 read -l -w 5 r
	assert_output $'+OK\r'
	write -E r 'GET key'$'\r'
	read -l -w 5 -v len r
	read -l -w 5 -v val r
	assert_equal "$len" $'$10\r'
	assert_equal "$val" $'some-value\r'
	# Nothing else came: no stray bytes.
	run -1 read r
	assert_output ""
}

@test "redis: 200 pipelined INCRs, all written first, then 200 replies in order" {
	local i reply want=""
	redis_start
	bind-output r 127.0.0.1 "$RPORT" >/dev/null
	for ((i = 1; i <= 200; i++)); do
		write r 'INCR counter\r' || fail "write $i"
	done
	for ((i = 1; i <= 200; i++)); do
		read -l -w 5 -v reply r || fail "reply $i missing (read $?)"
		[ "$reply" = ":$i"$'\r' ] || fail "reply $i: '$reply'"
	done
	run -1 read r
	# The server agrees.
	run -0 redis-cli -p "$RPORT" GET counter
	assert_output 200
}

@test "redis: after QUIT, read returns +OK, then status 3 (the server closed)" {
	redis_start
	bind-output r 127.0.0.1 "$RPORT" >/dev/null
	write r 'QUIT\r'
	run -0 read -l -w 5 r
	assert_output $'+OK\r'
	run -3 read -l -w 5 r
	assert_output ""
	# The end stays reported.
	run -3 read -w 1 r
}

@test "README: the Redis client runs as printed" {
	local code
	redis_start
	code=$(readme_example redis)
	[ -n "$code" ] || fail "no redis example in README.md"
	run --separate-stderr env REDIS_PORT="$RPORT" bash -c \
		'source "$1/loader.sh" || exit 9; eval "$2"' _ "$BS_ROOT" "$code"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	assert_output $'+PONG\n+OK\nhello\n:1'
	run -0 redis-cli -p "$RPORT" GET greeting
	assert_output hello
	# It closed its binding.
	run -0 bindings
	assert_output ""
}

# --- Python's http.server ----------------------------------------------------

@test "http.server: a GET with Connection: close is read to status 3, the body byte-exact" {
	local port sum want len
	port=$(bs_free_port)
	mkdir "$T/www"
	head -c 400000 /dev/urandom >"$T/www/blob.bin"
	want=$(sha256sum <"$T/www/blob.bin" | cut -d' ' -f1)
	bs_bg /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 \
		--directory "$T/www" >"$T/http.log" 2>&1
	bs_wait_for 500 bs_port_listening "$port"
	bind-output h 127.0.0.1 "$port" >/dev/null
	write -n h 'GET /blob.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'
	read_all h "$T/resp"
	# Status line, Content-Length, and the body after the blank line.
	run -0 head -1 "$T/resp"
	assert_output --regexp $'^HTTP/1\\.[01] 200 OK\r$'
	len=$(/usr/bin/python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
h, b = d.split(b"\r\n\r\n", 1)
sys.stdout.write(str(len(b)))' "$T/resp")
	assert_equal "$len" 400000
	grep -aq $'^Content-Length: 400000\r$' "$T/resp"
	sum=$(/usr/bin/python3 -c 'import hashlib, sys
d = open(sys.argv[1], "rb").read()
print(hashlib.sha256(d.split(b"\r\n\r\n", 1)[1]).hexdigest())' "$T/resp")
	assert_equal "$sum" "$want"
}

# --- socat: an answer that needs our half-close ------------------------------

@test "socat wc -c: write -d half-closes, the count comes back, a later write exits 1" {
	local port n
	need socat
	port=$(bs_free_port)
	bs_bg socat "TCP-LISTEN:$port,reuseaddr,bind=127.0.0.1" SYSTEM:'wc -c'
	bs_wait_for 250 bs_port_listening "$port"
	bind-output s 127.0.0.1 "$port" >/dev/null
	write -n s 'hello '
	write s 'wide world' # 17 bytes in all, the newline included
	# wc answers only at end of input: nothing yet.
	run -1 read -l -w 0.5 s
	run -0 write -d s
	read -l -w 5 -v n s
	assert_equal "$n" 17
	run -3 read -w 5 s
	# Our side is shut (and by now the peer's too): refused, one line.
	run -1 write s 'too late'
	assert_output --regexp 's: (sending side|connection) closed'
	assert_equal "${#lines[@]}" 1
}

@test "write -d MESSAGE sends the message, then half-closes" {
	local port n
	need socat
	port=$(bs_free_port)
	bs_bg socat "TCP-LISTEN:$port,reuseaddr,bind=127.0.0.1" SYSTEM:'wc -c'
	bs_wait_for 250 bs_port_listening "$port"
	bind-output s 127.0.0.1 "$port" >/dev/null
	run -0 write -d s 'last words'
	read -l -w 5 -v n s
	assert_equal "$n" 11
	run -3 read -w 5 s
}

# cpu_ticks PID: user + system clock ticks PID has used.
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

@test "after write -d and the peer's close, the helper idles and unbind returns at once" {
	local port hp n c0 c1 t0 t1
	need socat
	port=$(bs_free_port)
	bs_bg socat "TCP-LISTEN:$port,reuseaddr,bind=127.0.0.1" SYSTEM:'wc -c'
	bs_wait_for 250 bs_port_listening "$port"
	bind-output -v hp s 127.0.0.1 "$port"
	write -d s 'last words'
	read -l -w 5 -v n s
	assert_equal "$n" 11
	run -3 read -w 5 s
	# Nothing left to do: no CPU burnt over a second (at most 0.1 s).
	c0=$(cpu_ticks "$hp")
	sleep 1
	c1=$(cpu_ticks "$hp")
	(((c1 - c0) * 1000 / $(getconf CLK_TCK) <= 100)) ||
		fail "the helper used $((c1 - c0)) ticks in 1 s doing nothing"
	# Nothing queued: unbind has nothing to wait for.
	t0=$EPOCHREALTIME
	run -0 unbind s
	t1=$EPOCHREALTIME
	(((${t1/./} - ${t0/./}) < 2000000)) ||
		fail "unbind took $(((${t1/./} - ${t0/./}) / 1000)) ms"
	bs_pid_gone "$hp"
}

# --- curl against a bash HTTP server (the README's) --------------------------

@test "README: the HTTP server runs as printed and answers 20 concurrent curls, each its own path" {
	local port code i pids=() srv
	need curl
	port=$(bs_free_port)
	code=$(readme_example http)
	[ -n "$code" ] || fail "no http example in README.md"
	grep -qF 'read -l -c cl -w 5 -v line' <<<"$code"
	grep -qF 'unbind -c' <<<"$code"
	PORT=$port bash -c 'source "$1/loader.sh" || exit 9; eval "$2"' \
		_ "$BS_ROOT" "$code" >"$T/srv.out" 2>"$T/srv.err" &
	srv=$!
	bs_track "$srv"
	bs_wait_for 250 bs_port_listening "$port"
	for ((i = 1; i <= 20; i++)); do
		curl -sS --max-time 20 -o "$T/c$i" "http://127.0.0.1:$port/path/$i?q=$i" \
			2>"$T/c$i.err" &
		pids+=($!)
	done
	for ((i = 1; i <= 20; i++)); do
		wait "${pids[i - 1]}" || fail "curl $i: $(cat "$T/c$i.err")"
	done
	for ((i = 1; i <= 20; i++)); do
		assert_equal "$(cat "$T/c$i")" "you asked for /path/$i?q=$i"
	done
	# Every client was closed by unbind -c: none is left.
	bs_wait_for 250 n_clients web 0
	# The server ends by itself after 5 s without a request.
	bs_wait_for 500 bs_pid_gone "$srv"
	wait "$srv" || fail "server exited $?: $(cat "$T/srv.err")"
	assert_equal "$(cat "$T/srv.out")" ""
	run -0 bindings
	assert_output ""
}

# --- -1 bindings answered with plain write ID ---------------------------------

@test "ncat as the client of a -1 binding: plain write ID answers it" {
	local port line r
	need ncat
	port=$(bs_free_port)
	bind-input -1 one "$port" >/dev/null
	coproc NC { ncat 127.0.0.1 "$port"; }
	bs_track "$NC_PID"
	printf 'question 1\n' >&"${NC[1]}"
	read -l -w 5 -v line one
	assert_equal "$line" "question 1"
	run -0 write one "answer to $line"
	read -r -t 5 -u "${NC[0]}" r || fail "ncat got no answer"
	assert_equal "$r" "answer to question 1"
	# A second exchange on the same connection.
	printf 'question 2\n' >&"${NC[1]}"
	read -l -w 5 -v line one
	write one "answer to $line"
	read -r -t 5 -u "${NC[0]}" r
	assert_equal "$r" "answer to question 2"
}

@test "bash /dev/tcp as the client of a -1 binding: answered, then its close ends the stream" {
	local port fd line r
	port=$(bs_free_port)
	bind-input -1 one "$port" >/dev/null
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	printf 'ping\n' >&"$fd"
	read -l -w 5 -v line one
	assert_equal "$line" ping
	write one 'pong\tbytes'
	read -r -t 5 -u "$fd" r || fail "no answer"
	assert_equal "$r" $'pong\tbytes'
	exec {fd}>&-
	run -3 read -w 5 one
	# Its client gone and the end reported, the binding ends by itself.
	bs_wait_for 250 no_bindings
}

# --- backpressure both ways ---------------------------------------------------

@test "backpressure in: a peer that sends 32 MiB to a 64k output binding nobody reads is held back, nothing lost" {
	local port sent
	port=$(bs_free_port)
	bs_bg bs_py sender "$port" $((32 << 20)) 7 "$T/progress" "$T/sha"
	bs_wait_for 500 bs_port_listening "$port"
	bind-output -s 64k b 127.0.0.1 "$port" >/dev/null
	# The sender gets some way, then stops: TCP holds it back.
	bs_wait_for 250 test -s "$T/progress"
	bs_wait_for 60 stalled "$T/progress" || fail "the sender never stalled"
	sent=$(cat "$T/progress")
	((sent < 32 << 20)) || fail "all $sent bytes sent without a reader"
	[ ! -e "$T/sha" ]
	# Now read everything: byte-exact.
	read_all b "$T/got"
	assert_equal "$(stat -c %s "$T/got")" $((32 << 20))
	bs_wait_for 250 test -s "$T/sha"
	assert_equal "$(sha256sum <"$T/got" | cut -d' ' -f1)" "$(cat "$T/sha")"
}

@test "backpressure out: a client that does not read holds back only its own queue, not another's replies" {
	local port slow fast fd line i chunk t0 t1 wp n=0 got cl
	port=$(bs_free_port)
	bind-input srv "$port" >/dev/null
	bs_bg bs_py slow "$port" slowpoke "$T/go" "$T/count"
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	printf 'speedy\n' >&"$fd"
	for ((i = 0; i < 2; i++)); do
		read -l -c cl -w 5 -v line srv || fail "hello $i missing"
		case $line in
		slowpoke) slow=$cl ;;
		speedy) fast=$cl ;;
		esac
	done
	[ -n "$slow" ] && [ -n "$fast" ]
	# A writer fills the slow client's queue, in the background, until
	# it blocks.
	printf -v chunk '%08192d' 0
	(
		for ((i = 1; i <= 4096; i++)); do
			write -n -c "$slow" srv "$chunk" || exit 1
			echo "$i" >"$T/wrote"
		done
	) &
	wp=$!
	bs_track "$wp"
	bs_wait_for 250 test -s "$T/wrote"
	bs_wait_for 100 stalled "$T/wrote" || fail "the writer to the slow client never blocked"
	n=$(cat "$T/wrote")
	((n < 4096)) || fail "the slow client took all of it"
	# Meanwhile the fast client gets its replies at once.
	t0=$EPOCHREALTIME
	for ((i = 1; i <= 20; i++)); do
		timeout 5 bash -c 'source "$1/loader.sh"; write -c "$2" srv "reply $3"' \
			_ "$BS_ROOT" "$fast" "$i" || fail "write to the fast client: $?"
		read -r -t 5 -u "$fd" line || fail "reply $i did not arrive"
		assert_equal "$line" "reply $i"
	done
	t1=$EPOCHREALTIME
	# The slow one's writer was blocked all along.
	assert_equal "$(cat "$T/wrote")" "$n"
	! bs_pid_gone "$wp"
	echo "20 replies to the fast client in $(((${t1/./} - ${t0/./}) / 1000)) ms" >&3
	# Once it reads, it gets everything.
	touch "$T/go"
	bs_wait_for 1500 bs_pid_gone "$wp"
	wait "$wp"
	unbind -c "$slow" srv
	bs_wait_for 500 test -s "$T/count"
	assert_equal "$(cat "$T/count")" $((4096 * 8192))
	exec {fd}>&-
}

# --- read -c boundaries, bindings ID, write -c / unbind -c ---------------------

@test "read -c: two clients' lines never come in one result; VAR is (N ADDR PORT)" {
	local port a b cl data i seen_a=0 seen_b=0 na nb
	port=$(bs_free_port)
	bind-input srv "$port" >/dev/null
	exec {a}<>"/dev/tcp/127.0.0.1/$port"
	exec {b}<>"/dev/tcp/127.0.0.1/$port"
	for ((i = 0; i < 50; i++)); do
		printf 'A%d\n' "$i" >&"$a"
		printf 'B%d\n' "$i" >&"$b"
	done
	bs_wait_for 250 buffered 380
	for ((i = 0; i < 200; i++)); do
		read -c cl -w 1 -v data srv || break
		# One client's bytes only: all A lines or all B lines.
		if [[ $data == A* ]]; then
			[[ $data != *B* ]] || fail "A and B in one read -c: $data"
			na=$cl
			seen_a=$((seen_a + $(grep -c . <<<"$data")))
		else
			[[ $data != *A* ]] || fail "B and A in one read -c: $data"
			nb=$cl
			seen_b=$((seen_b + $(grep -c . <<<"$data")))
		fi
		assert_equal "${#cl[@]}" 3
		assert_equal "${cl[1]}" "::ffff:127.0.0.1"
		[[ ${cl[2]} =~ ^[0-9]+$ ]]
	done
	assert_equal "$seen_a" 50
	assert_equal "$seen_b" 50
	[ "$na" != "$nb" ]
	# bindings ID lists both, by N, with the same numbers read -c gave.
	run -0 bindings srv
	assert_equal "${#lines[@]}" 2
	assert_equal "$(cut -d' ' -f1 <<<"$output" | tr '\n' ' ')" "$(printf '%s\n' "$na" "$nb" | sort -n | tr '\n' ' ')"
	assert_line --regexp "^$na ::ffff:127\\.0\\.0\\.1 [0-9]+\$"
	assert_line --regexp "^$nb ::ffff:127\\.0\\.0\\.1 [0-9]+\$"
	exec {a}>&- {b}>&-
}

@test "write -c N to a departed client exits 1 with a message; the others go on" {
	local port a b cl na nb line
	port=$(bs_free_port)
	bind-input srv "$port" >/dev/null
	exec {a}<>"/dev/tcp/127.0.0.1/$port"
	printf 'a\n' >&"$a"
	read -l -c cl -w 5 -v line srv
	na=$cl
	exec {b}<>"/dev/tcp/127.0.0.1/$port"
	printf 'b\n' >&"$b"
	read -l -c cl -w 5 -v line srv
	nb=$cl
	exec {a}>&-
	bs_wait_for 250 n_clients srv 1
	run -1 write -c "$na" srv 'anyone there?'
	assert_output --partial "client $na is gone"
	run -0 write -c "$nb" srv 'still here'
	read -r -t 5 -u "$b" line
	assert_equal "$line" 'still here'
	exec {b}>&-
}

@test "unbind -c N returns once N is closed, after its queue; the others go on" {
	local port a b cl na nb line
	port=$(bs_free_port)
	bind-input srv "$port" >/dev/null
	exec {a}<>"/dev/tcp/127.0.0.1/$port"
	printf 'a\n' >&"$a"
	read -l -c cl -w 5 -v line srv
	na=$cl
	exec {b}<>"/dev/tcp/127.0.0.1/$port"
	printf 'b\n' >&"$b"
	read -l -c cl -w 5 -v line srv
	nb=$cl
	write -c "$na" srv 'goodbye'
	run -0 unbind -c "$na" srv
	# Closed when unbind returns: gone from the list, and A reads its
	# last line, then the end of the stream.
	run -0 bindings srv
	assert_output --regexp "^$nb "
	assert_equal "${#lines[@]}" 1
	read -r -t 5 -u "$a" line
	assert_equal "$line" goodbye
	run -1 read -r -t 5 -u "$a" line
	assert_output ""
	# B goes on both ways.
	printf 'more\n' >&"$b"
	read -l -c cl -w 5 -v line srv
	assert_equal "$cl" "$nb"
	assert_equal "$line" more
	write -c "$nb" srv 'ok'
	read -r -t 5 -u "$b" line
	assert_equal "$line" ok
	# A client closed already is closed: exit 0, nothing said; one the
	# binding never had: exit 1 and a message.
	run -0 --separate-stderr unbind -c "$na" srv
	assert_equal "$stderr" ""
	run -1 unbind -c 999 srv
	assert_output --partial "client 999"
	exec {a}>&- {b}>&-
}

# --- Ctrl-C in an interactive shell (tmux) -------------------------------------

@test "interactive: Ctrl-C interrupts read -w 30 on an output binding; the shell goes on" {
	local port pid
	need socat
	port=$(bs_free_port)
	bs_bg socat "TCP-LISTEN:$port,reuseaddr,bind=127.0.0.1" SYSTEM:'cat'
	bs_wait_for 250 bs_port_listening "$port"
	# Made here, read there: the pane's shell is of the same namespace
	# (and under make check-asan it keeps LD_PRELOAD, interactive shells
	# not reading BASH_ENV, which a helper it started would choke on).
	bind-output o 127.0.0.1 "$port" >/dev/null
	need tmux
	tm_start
	tm_keys "echo p''id=\$\$" Enter
	tm_wait pid=
	pid=$(tmux -L "$TM" capture-pane -p -t main | sed -n 's/^pid=\([0-9]*\)$/\1/p')
	tm_keys "read -w 30 -v x o; echo af''ter=\$?" Enter
	# In read's wait, not at its prompt (a slow shell may still sit
	# there when the keys of the command have already been sent).
	bs_wait_for 250 bs_read_waits "$pid"
	tm_keys C-c
	tm_keys 'echo st=$?' Enter
	tm_wait st=130
	run ! tm_has after=
	# The shell and the binding go on: an echo through cat comes back.
	tm_keys "write o 'echo me'; read -l -w 5 -v x o; echo \"[\$x]\"" Enter
	tm_wait '[echo me]'
}

@test "interactive: Ctrl-C interrupts write -c blocked on a full client queue; the shell goes on" {
	local port pid fd line
	port=$(bs_free_port)
	bind-input srv "$port" >/dev/null
	bs_bg bs_py slow "$port" slowpoke "$T/go" "$T/count"
	bs_wait_for 250 n_clients srv 1
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	bs_wait_for 250 n_clients srv 2
	need tmux
	tm_start
	tm_keys "echo p''id=\$\$; printf -v chunk '%08192d' 0" Enter
	tm_wait pid=
	pid=$(tmux -L "$TM" capture-pane -p -t main | sed -n 's/^pid=\([0-9]*\)$/\1/p')
	# Client 1 is the slow one (it connected first).
	tm_keys "for ((i = 0; i < 4096; i++)); do write -n -c 1 srv \"\$chunk\" || break; echo \$i >'$T/wrote'; done; echo af''ter=\$?" Enter
	bs_wait_for 250 test -s "$T/wrote"
	bs_wait_for 100 stalled "$T/wrote" || fail "the write never blocked"
	# Blocked: asleep (one sample could meet its 100 ms tick running).
	bs_wait_for 50 tm_sleeping "$pid" || fail "the blocked shell never slept"
	tm_keys C-c
	tm_keys 'echo st=$?' Enter
	tm_wait st=130
	run ! tm_has after=
	# The shell goes on, and the binding's writer lock was let go: the
	# other client is answered from the same shell.
	tm_keys "write -c 2 srv 'still serving'; echo w=\$?" Enter
	tm_wait w=0
	read -r -t 5 -u "$fd" line
	assert_equal "$line" 'still serving'
	exec {fd}>&-
}
