# netns.bash: two "hosts" for a test, as two network namespaces joined by
# a veth pair. Load it after test_helper/common:
#   load test_helper/common
#   load helpers/netns
# Call bs_netns_setup in the test (it skips when not root) and
# bs_netns_teardown in teardown() after the test's processes are stopped.
# Addresses exist only inside the namespaces created here.
# shellcheck shell=bash

BS_NETNS=()

# bs_netns_setup: creates namespaces $BS_NS_A (address $BS_IP_A) and
# $BS_NS_B ($BS_IP_B), both with loopback up, joined by a veth pair.
# Not root: the test says so and is skipped. Root: failures fail the test.
bs_netns_setup() {
	local tag="$$${BATS_TEST_NUMBER:-0}" va vb net
	if [ "$(id -u)" -ne 0 ]; then
		skip "network namespaces need root (CI runs as root)"
	fi
	command -v ip >/dev/null || skip "no ip command (iproute2)"
	tag=${tag: -7}
	BS_NS_A="bsA$tag"
	BS_NS_B="bsB$tag"
	va="bsva$tag"
	vb="bsvb$tag"
	net="10.213.$((RANDOM % 250 + 1))"
	BS_IP_A="$net.1"
	BS_IP_B="$net.2"
	ip netns add "$BS_NS_A" || return 1
	BS_NETNS+=("$BS_NS_A")
	ip netns add "$BS_NS_B" || return 1
	BS_NETNS+=("$BS_NS_B")
	ip link add "$va" netns "$BS_NS_A" type veth peer name "$vb" \
		netns "$BS_NS_B" || return 1
	ip -n "$BS_NS_A" addr add "$BS_IP_A/24" dev "$va" &&
		ip -n "$BS_NS_B" addr add "$BS_IP_B/24" dev "$vb" &&
		ip -n "$BS_NS_A" link set lo up &&
		ip -n "$BS_NS_B" link set lo up &&
		ip -n "$BS_NS_A" link set "$va" up &&
		ip -n "$BS_NS_B" link set "$vb" up || return 1
	# The link is up once B answers from A (a refusal is an answer).
	bs_wait_for 250 bs_netns_reachable "$BS_NS_A" "$BS_IP_B"
}

# bs_netns_reachable NS ADDR: true when ADDR answers a TCP SYN from NS.
bs_netns_reachable() {
	ip netns exec "$1" timeout 2 bash -c \
		"exec 3<>/dev/tcp/$2/1" 2>&1 | grep -q 'refused'
}

# bs_netns_run NS CMD...: runs CMD in namespace NS.
bs_netns_run() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# bs_netns_teardown: deletes the namespaces (the veth pair goes with them).
bs_netns_teardown() {
	local ns
	for ns in "${BS_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	BS_NETNS=()
}
