#!/usr/bin/env bash
# demo.sh: the seed's two examples, end to end on loopback, narrated.
# 1. bind-input + a third-party sender + the seed's read loop up to END.
# 2. bind-output talking to a bind-input of the same shell: the escaped
#    message and END, each side closed by kill -INT.
# `read ID`, `read -v VAR` and `bind-input -v VAR` are bashsock's: shellcheck
# takes the first for bash's read and cannot see the variables the others set.
# shellcheck disable=SC2034,SC2154,SC2162
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=loader.sh
source ./loader.sh || exit 1
export BASHSOCK_NS="demo$$"
tmp=$(mktemp -d)
trap 'unbind -a 2>/dev/null; rm -rf "$tmp"' EXIT

free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

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

if [ "$(type -t bind-output)" != builtin ]; then
	echo "(bind-output is not built yet: part 2 skipped)"
	exit 0
fi

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
