#!/usr/bin/env bash
# demo.sh: the seed's four examples, end to end on loopback, narrated.
# 1. bind-input + a third-party sender + the seed's read loop up to END.
# 2. bind-output talking to a bind-input of the same shell: the escaped
#    message and END, each side closed by kill -INT.
# 3. trigger-wait in the background, a trigger-send with a wrong key
#    (refused, the wait goes on), then the right one.
# 4. the daemon pool: pool in the background, master pushes dem1 and dem2
#    (each echoes three lines), the shell reads both by name to their end.
# 5. a conversation: a bind-input -1 server in the background answers each
#    line; a bind-output client writes questions and reads the replies.
# Every wait is bounded; the script exits non-zero when a step fails.
# `read ID`, `read -v VAR` and `bind-input -v VAR` are bashsock's: shellcheck
# takes the first for bash's read and cannot see the variables the others set.
# shellcheck disable=SC2034,SC2154,SC2162
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=loader.sh
source ./loader.sh || exit 1
export BASHSOCK_NS="demo$$"
tmp=$(mktemp -d)
bgpids=()
cleanup() {
	local p
	for p in "${bgpids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	unbind -a 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# listening PORT: waits (5 s at most) until something listens on PORT.
listening() {
	local i
	for ((i = 0; i < 250; i++)); do
		ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.02
	done
	echo "demo: nothing listens on port $1" >&2
	return 1
}

port=$(free_port)
say "1. Listen: bind-input input1 $port"
# 1. Create the listening socket + store PID (as the seed does, in a file).
bind-input input1 "$port" >"$tmp/get_bg_pid"
bound_pid=$(cat "$tmp/get_bg_pid")
echo "helper PID $bound_pid; bindings now:"
bindings | sed 's/^/   /'

# A sender nobody here wrote: OpenBSD nc when present, else bash /dev/tcp.
say "a sender connects and sends three lines, one every 0.3 s, then END"
(
	for m in "hello from $(uname -n)" "second message" "third message" END; do
		sleep 0.3
		printf '%s\n' "$m"
	done
) | if command -v nc >/dev/null; then nc -N 127.0.0.1 "$port"; else
	cat >"/dev/tcp/127.0.0.1/$port"; fi &
sender=$!

# 3. The seed's loop, polling every 0.1 s instead of 1 s, bounded.
for ((i = 0; i < 200; i++)); do
	message=$(read input1)
	[[ -z "$message" ]] && sleep 0.1 && continue
	[[ "$message" = "END" ]] && break
	printf 'read input1 -> %q\n' "$message"
done
echo "loop saw END after $i polls"
wait "$sender"

# 4. Close with one of the three signals.
kill -INT "$bound_pid"
for ((i = 0; i < 100; i++)); do
	ss -Htln "sport = :$port" | grep -q . || break
	sleep 0.02
done
echo "kill -INT $bound_pid: port $port free again: $(ss -Htln "sport = :$port" | grep -q . && echo no || echo yes)"

port2=$(free_port)
say "2. Connect: bind-output output1 127.0.0.1 $port2 (to a bind-input here)"
bind-input -v in_pid input2 "$port2"
bind-output output1 127.0.0.1 "$port2" >"$tmp/get_bg_pid"
bound_pid=$(cat "$tmp/get_bg_pid")
bindings | sed 's/^/   /'
write output1 "some message\nwith\tescapable\e[1mcharaters\e[0m"
write output1 "END"
kill -INT "$bound_pid"
say "what input2 received (cat -A shows the interpreted escapes)"
while read -l -w 2 -v line input2; do
	printf '%s\n' "$line" | cat -A | sed 's/^/   /'
	[ "$line" = END ] && break
done
kill -INT "$in_pid"
echo "both sides closed; bindings left: $(bindings | wc -l)"

port3=$(free_port)
say "3. Network trigger: trigger-wait somekey123 $port3 (in the background)"
(
	trigger-wait -t 20 somekey123 "$port3"
	echo "   trigger-wait returned $?: now the script would go on (read input1...)"
) &
waiter=$!
bgpids+=("$waiter")
listening "$port3" || exit 1
echo "trigger-send wrongkey 127.0.0.1 $port3:"
trigger-send -t 5 wrongkey 127.0.0.1 "$port3" 2>&1 | sed 's/^/   /'
echo "   (refused; the waiter is still waiting)"
echo "trigger-send somekey123 127.0.0.1 $port3:"
trigger-send -t 5 somekey123 127.0.0.1 "$port3" || exit 1
echo "   trigger-send returned 0"
wait "$waiter" || exit 1

port4=$(free_port)
say "4. Daemon pool: pool k12 $port4, master k12 127.0.0.1 $port4 DDIR"
ddir=$tmp/daemons
mkdir "$ddir"
for d in dem1 dem2; do
	# The seed's daemons echo forever; these three times, 0.2 s apart.
	# shellcheck disable=SC2016 # $i is the daemon's
	printf '#!/bin/sh
for i in 1 2 3; do echo "%s says $i"; sleep 0.2; done
' \
		"$d" >"$ddir/$d"
	chmod +x "$ddir/$d"
done
echo "daemons in $ddir: $(cd "$ddir" && echo *)"
pool k12 "$port4" >"$tmp/pool.list" &
poolpid=$!
bgpids+=("$poolpid")
listening "$port4" || exit 1
master k12 127.0.0.1 "$port4" "$ddir" &
masterpid=$!
bgpids+=("$masterpid")
# The pool prints "NAME PORT PID" once it has bound each daemon's input.
for ((i = 0; i < 250; i++)); do
	[ "$(grep -c . "$tmp/pool.list")" -ge 2 ] && break
	sleep 0.02
done
sed 's/^/   pool: /' "$tmp/pool.list"
for d in dem1 dem2; do
	# Status 3: the daemon's stream has ended and everything was read.
	for ((i = 0; i < 100; i++)); do
		read -l -w 5 -v line "$d"
		rc=$?
		[ "$rc" -eq 0 ] || break
		printf '   read %s -> %s\n' "$d" "$line"
	done
	echo "   $d ended (read returned $rc)"
	[ "$rc" -eq 3 ] || exit 1
done
wait "$masterpid" || exit 1
echo "master returned 0"
wait "$poolpid" || exit 1
echo "pool returned 0 (every daemon read to its end)"
bgpids=()

port5=$(free_port)
say "5. Conversation: a bind-input -1 server answers, a bind-output client asks"
bind-input -1 ask "$port5" >/dev/null
(
	# The server: every line of its one client gets an answer (plain
	# `write ID` on a -1 binding), until the client ends (status 3).
	for ((i = 0; i < 100; i++)); do
		read -l -w 5 -v q ask
		rc=$?
		[ "$rc" -eq 0 ] || break
		write ask "you said \"$q\" (${#q} characters)"
	done
	echo "   server: read returned $rc (the client ended its side), done"
	[ "$rc" -eq 3 ]
) &
server=$!
bgpids+=("$server")
bind-output talk 127.0.0.1 "$port5" >/dev/null
for q in "hello server" "how are you?"; do
	write talk "$q"
	echo "   client wrote: $q"
	read -l -w 5 -v reply talk || { echo "demo: no reply" >&2; exit 1; }
	echo "   client read:  $reply"
done
write -d talk # half-close: the server's read sees the end
read -w 5 talk
echo "   client: read returned $? (the server closed its side)"
wait "$server" || exit 1
unbind talk
bgpids=()
