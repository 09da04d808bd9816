#!/usr/bin/env bats
# bind-input -A (only clients from given prefixes get in) and -m (at most
# MAX clients at once): from a second loopback address (127.0.0.2), over
# IPv6 loopback, and from another host (a network namespace joined by a
# veth pair); and every bad option value the contract names.
# shellcheck shell=bash disable=SC2016,SC2162,SC2034,SC2154

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive
load helpers/netns

setup() {
	bs_setup
	ACLPEER="$BS_HELPERS/aclpeer.py"
}

teardown() {
	bs_teardown
	bs_netns_teardown
}

# probe HOST PORT SRC DATA: one client from SRC that sends DATA; prints
# "closed" when the binding ended its connection within 10 s, else "open".
probe() {
	/usr/bin/python3 "$ACLPEER" probe "$@"
}

# send_from SRC HOST PORT: sends stdin from address SRC, then closes.
send_from() {
	timeout 20 socat -u - "TCP:$2:$3,bind=$1"
}

# accept_queue PORT: how many connections wait in PORT's listen backlog
# (accepted by the kernel, not yet by the helper).
accept_queue() {
	ss -Htln "sport = :$1" | awk '{ n += $2 } END { print n + 0 }'
}

is_accept_queue() {
	[ "$(accept_queue "$1")" = "$2" ]
}

# --- -A ----------------------------------------------------------------

@test "-A 127.0.0.2: a client from 127.0.0.1 is closed at once and none of its bytes reach the buffer; one from 127.0.0.2 gets in" {
	local port
	port=$(bs_free_port)
	bind-input -A 127.0.0.2 -v pid in1 "$port"
	run -0 probe 127.0.0.1 "$port" 127.0.0.1 'secret line\npartial'
	assert_output closed
	run -0 probe 127.0.0.1 "$port" 127.0.0.3 'also secret\n'
	assert_output closed
	# Nothing of theirs was taken, and they never counted as clients.
	[ "$(bs_field in1 6)" = 0 ]
	[ "$(bs_field in1 7)" = 0 ]
	run -1 read -w 0.2 -v got in1
	# The binding goes on serving the client it lets in.
	printf 'allowed\n' | send_from 127.0.0.2 127.0.0.1 "$port"
	bs_wait_buffered in1 8
	read -v got in1
	[ "$got" = "allowed
" ]
	# An allowed client stays connected as long as it likes.
	WAIT=1 run -0 probe 127.0.0.1 "$port" 127.0.0.2 'held\n'
	assert_output open
}

@test "-A with a CIDR prefix and several -A: every prefix lets its clients in, others are refused" {
	local port
	port=$(bs_free_port)
	bind-input -A 10.0.0.0/8 -A 127.0.0.4/31 -A fd00::/8 -v pid in1 "$port"
	printf 'four\n' | send_from 127.0.0.4 127.0.0.1 "$port"
	bs_wait_buffered in1 5
	printf 'five\n' | send_from 127.0.0.5 127.0.0.1 "$port"
	bs_wait_buffered in1 10
	run -0 probe 127.0.0.1 "$port" 127.0.0.6 'six\n'
	assert_output closed
	run -0 probe 127.0.0.1 "$port" 127.0.0.3 'three\n'
	assert_output closed
	run -0 probe ::1 "$port" - 'ipv6\n'
	assert_output closed
	[ "$(bs_field in1 6)" = 10 ]
	read -v got in1
	[ "$got" = "four
five
" ]
}

@test "-A over IPv6: ::1 gets in by -A ::1 and is refused by an IPv4 prefix that holds every loopback address" {
	local p1 p2
	p1=$(bs_free_port)
	bind-input -A ::1 -v pid in1 "$p1"
	run -0 probe 127.0.0.1 "$p1" - 'four\n'
	assert_output closed
	printf 'six\n' | timeout 20 socat -u - "TCP6:[::1]:$p1"
	bs_wait_buffered in1 4
	read -v got in1
	[ "$got" = "six
" ]

	p2=$(bs_free_port)
	bind-input -A 127.0.0.0/8 -v pid in2 "$p2"
	run -0 probe ::1 "$p2" - 'six\n'
	assert_output closed
	[ "$(bs_field in2 6)" = 0 ]
	printf 'four\n' | send_from 127.0.0.9 127.0.0.1 "$p2"
	bs_wait_buffered in2 5
	read -v got in2
	[ "$got" = "four
" ]
}

@test "-A on a listener bound to an IPv4 address (-a 127.0.0.1) checks IPv4 peers the same way" {
	local port
	port=$(bs_free_port)
	bind-input -a 127.0.0.1 -A 127.0.0.2 -v pid in1 "$port"
	run -0 probe 127.0.0.1 "$port" 127.0.0.1 'no\n'
	assert_output closed
	printf 'yes\n' | send_from 127.0.0.2 127.0.0.1 "$port"
	bs_wait_buffered in1 4
	read -v got in1
	[ "$got" = "yes
" ]
}

@test "-1 -A: a refused client is not the one client; the binding waits for an allowed one" {
	local port
	port=$(bs_free_port)
	bind-input -1 -A 127.0.0.2 -v pid in1 "$port"
	run -0 probe 127.0.0.1 "$port" 127.0.0.1 'intruder\n'
	assert_output closed
	[ "$(bs_field in1 7)" = 0 ]
	bs_port_listening "$port"
	printf 'the one\n' | send_from 127.0.0.2 127.0.0.1 "$port"
	run -0 read -l -w 10 in1
	assert_output 'the one'
	run -3 read -w 10 in1
}

@test "-A between two hosts (network namespaces): the client's host is let in by its prefix and refused by another" {
	local p1 p2 net
	bs_netns_setup
	net=${BS_IP_B%.*}
	p1=$(bs_free_port)
	p2=$(bs_free_port)
	# The bindings live on host A; their buffers are this user's shared
	# memory, readable here.
	run -0 bs_netns_run "$BS_NS_A" bash --norc -c \
		'. "$1" && bind-input -A "$2" in1 "$3" >/dev/null &&
		bind-input -A "$4" in2 "$5" >/dev/null' _ "$BS_LOADER" \
		"$net.0/24" "$p1" "$BS_IP_A/32" "$p2"
	printf 'from B\n' | bs_netns_run "$BS_NS_B" \
		timeout 20 socat -u - "TCP:$BS_IP_A:$p1"
	bs_wait_buffered in1 7
	read -v got in1
	[ "$got" = "from B
" ]
	run -0 bs_netns_run "$BS_NS_B" /usr/bin/python3 "$ACLPEER" probe \
		"$BS_IP_A" "$p2" - 'from B\n'
	assert_output closed
	[ "$(bs_field in2 6)" = 0 ]
	[ "$(bs_field in2 7)" = 0 ]
	# in2 still serves the host it lets in (A itself, over the veth
	# address).
	printf 'from A\n' | bs_netns_run "$BS_NS_A" \
		timeout 20 socat -u - "TCP:$BS_IP_A:$p2"
	bs_wait_buffered in2 7
	read -v got in2
	[ "$got" = "from A
" ]
}

@test "-A takes 64 prefixes; a 65th, or a bad prefix, is a usage error (2, one line, nothing left behind)" {
	local port args=() k
	port=$(bs_free_port)
	for ((k = 1; k <= 64; k++)); do
		args+=(-A "10.0.$k.0/24")
	done
	bind-input "${args[@]}" -v pid in1 "$port"
	bs_port_listening "$port"
	grep -q '10.0.64.0/24' "/proc/$pid/cmdline"
	bs_bad 2 bind-input "${args[@]}" -A 10.0.65.0/24 in2 "$(bs_free_port)"
	[[ $stderr == *'more than 64 prefixes'* ]]
	local bad
	for bad in 1.2.3 10.0.0.0/33 10.0.0.0/08 ::1/129 fe80::1%lo localhost \
		'' / 1.2.3.4/ '10.0.0.0/8,::1' ' 127.0.0.1'; do
		bs_bad 2 bind-input -A "$bad" in2 "$(bs_free_port)"
		[[ $stderr == *'invalid address or prefix'* ]]
	done
}

# --- -m ----------------------------------------------------------------

@test "-m 2: a third client waits in the backlog until one of the first two leaves; its data then arrives whole" {
	local port a data want
	port=$(bs_free_port)
	bind-input -m 2 -v pid in1 "$port"
	bs_bg_in /dev/null /usr/bin/python3 "$BS_PEER" hold "$port" 'a1\n'
	a=$BS_LAST
	bs_bg_in /dev/null /usr/bin/python3 "$BS_PEER" hold "$port" 'b1\n'
	bs_wait_clients in1 2
	bs_wait_buffered in1 6
	data=$(seq -f 'c-line-%05g' 1 2000)
	printf '%s\n' "$data" | timeout 20 /usr/bin/python3 "$BS_PEER" send "$port"
	# The third is connected (the kernel took it) but not taken.
	bs_wait_for 250 is_accept_queue "$port" 1
	[ "$(bs_field in1 7)" = 2 ]
	[ "$(bs_field in1 6)" = 6 ]
	kill -TERM "$a"
	bs_wait_gone "$a"
	bs_wait_buffered in1 $((6 + ${#data} + 1))
	[ "$(accept_queue "$port")" = 0 ]
	read -v got in1
	want="$data"$'\n'
	[ "${got#a1$'\n'b1$'\n'}" = "$want" ] || [ "${got#b1$'\n'a1$'\n'}" = "$want" ]
	[ "${#got}" = $((6 + ${#data} + 1)) ]
}

@test "-m 1024 is the default and the most; -m 1 to 1024 taken, anything else is a usage error" {
	local bad
	bind-input -m 1 -v pid in1 "$(bs_free_port)"
	grep -qz '^1$' "/proc/$pid/cmdline"
	bind-input -m 1024 -v pid in2 "$(bs_free_port)"
	bind-input -v pid in3 "$(bs_free_port)"
	grep -qz '^1024$' "/proc/$pid/cmdline"
	for bad in 0 1025 -1 01x abc '' 1k 99999999999999999999; do
		bs_bad 2 bind-input -m "$bad" in4 "$(bs_free_port)"
		[[ $stderr == *'invalid count (1 to 1024)'* ]]
	done
}

@test "help bind-input documents -A and -m" {
	run -0 help bind-input
	assert_output --partial '[-A PREFIX]'
	assert_output --partial '[-m MAX]'
	assert_output --regexp '-A PREFIX +only clients from PREFIX get in'
	assert_output --partial 'at most 64'
	assert_output --regexp '-m MAX +at most MAX clients at once, 1 to 1024'
}
