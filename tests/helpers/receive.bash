# receive.bash: helpers of the receive-path suites (bind-input, read,
# unbind, bindings, loader). Load it after test_helper/common:
#   load test_helper/common
#   load helpers/receive
# shellcheck shell=bash

BS_HELPERS="$BS_ROOT/tests/helpers"
BS_LOADER="$BS_ROOT/loader.sh"

# bs_peer ARGS...: the Python peer (tests/helpers/tcppeer.py). In the
# background, run it as `bs_bg python3 "$BS_PEER" ARGS...` so that the PID
# recorded is Python's own.
BS_PEER="$BS_HELPERS/tcppeer.py"
bs_peer() {
	python3 "$BS_PEER" "$@"
}
# Note for test authors: bats 1.8's `run -N` assigns a global `i` (its
# version check), so a test's own loop variable must not be called i.

# bs_bg_in FILE CMD...: bs_bg with CMD's stdin read from FILE (a
# redirection on bs_bg itself does not reach CMD: bash gives an
# asynchronous command /dev/null as stdin).
bs_bg_in() {
	local in=$1
	shift
	"$@" <"$in" &
	BS_LAST=$!
	bs_track "$BS_LAST"
}

# The namespace directory of $BASHSOCK_NS, as lib/rt.c computes it.
bs_nsdir() {
	echo "$(bs_rt_base)/${BASHSOCK_NS:-default}"
}

# bs_field ID N: field N of ID's line in `bindings` (4 port, 5 pid,
# 6 bytes buffered, 7 clients or "ended").
bs_field() {
	bindings | awk -v id="$1" -v n="$2" '$1 == id { print $n }'
}

# bs_is_field ID N VALUE: true when field N of ID's line is VALUE.
bs_is_field() {
	[ "$(bs_field "$1" "$2")" = "$3" ]
}

# bs_wait_buffered ID BYTES: waits (5 s) until ID holds BYTES bytes.
bs_wait_buffered() {
	bs_wait_for 250 bs_is_field "$1" 6 "$2"
}

# bs_wait_clients ID N: waits (5 s) until ID has N clients connected.
bs_wait_clients() {
	bs_wait_for 250 bs_is_field "$1" 7 "$2"
}

# bs_file_has FILE LINE: FILE holds LINE as a whole line.
bs_file_has() {
	[ -f "$1" ] && grep -qxF -- "$2" "$1"
}


# The state a failed command must leave as it found: the namespace's
# binding files (not its .lock and .gen) and its live bindings (other
# namespaces belong to other tests running at the same time).
bs_leftovers() {
	local d
	d=$(bs_nsdir)
	[ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1 ! -name .lock \
		! -name .gen -printf '%f\n' | sort
	bindings -a | awk -v ns="${BASHSOCK_NS:-default}" '$1 == ns'
}

# bs_bad STATUS CMD ARGS...: runs CMD in a fresh `bash --norc` with the
# builtins loaded and asserts the contract for bad input: exit STATUS,
# nothing on stdout, exactly one line on stderr, no helper process left
# (no bashsock-in child of that shell), no binding file and no binding
# left in the namespace, and the shell still alive afterwards.
bs_bad() {
	local want=$1
	shift
	# shellcheck disable=SC2016
	run --separate-stderr bash --norc -c "$(declare -f bs_rt_base bs_nsdir bs_leftovers)"'
		. "$1" || exit 99
		shift
		before=$(bs_leftovers)
		"$@"
		rc=$?
		after=$(bs_leftovers)
		kids=$(pgrep -P $$ -x bashsock-in | tr "\n" " ")
		[ "$before" = "$after" ] || echo "left behind: [$before] -> [$after]"
		[ -z "$kids" ] || echo "helpers left: $kids"
		echo "alive rc=$rc"
	' bash "$BS_LOADER" "$@"
	assert_output "alive rc=$want"
	# shellcheck disable=SC2154 # stderr(_lines): set by run --separate-stderr
	if [ "${#stderr_lines[@]}" -ne 1 ]; then
		printf 'expected exactly one line on stderr, got %d:\n%s\n' \
			"${#stderr_lines[@]}" "$stderr" >&2
		return 1
	fi
}
