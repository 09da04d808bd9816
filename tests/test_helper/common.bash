# common.bash: shared setup for the bashsock bats suite.
# Load it with `load test_helper/common` and call `bs_setup` in setup() and
# `bs_teardown` in teardown() (builtins enabled in setup_file are not
# visible in tests).
# shellcheck shell=bash

BS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Debian's python3 (python3-minimal), not a version-manager shim found first
# in PATH: a pyenv shim costs seconds per start, and peers start often.
# make check-asan's bash wrapper (BS_ASAN_BIN) stays first.
PATH=${BS_ASAN_BIN:+$BS_ASAN_BIN:}/usr/bin:/bin:$PATH
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# Every test gets its own namespace, so tests never see each other.
bs_setup() {
	export BASHSOCK_NS="t${BATS_ROOT_PID:-$$}_${BATS_TEST_NUMBER}_$RANDOM"
	BS_PIDS=()
	BS_START=()
	# shellcheck source=/dev/null
	source "$BS_ROOT/loader.sh" || return 1
}

# Closes every binding of the test's namespace and stops the processes the
# test started (by PID, recorded with bs_bg or bs_track), each only while
# it is still the process that was recorded (bs_pid_ours): the PID of one
# that ended may belong to another process by now, another suite's even.
bs_teardown() {
	local p
	unbind -a 2>/dev/null || true
	for p in "${BS_PIDS[@]}"; do
		if bs_pid_ours "$p"; then
			kill -TERM "$p" 2>/dev/null || true
		fi
	done
	for p in "${BS_PIDS[@]}"; do
		if bs_pid_ours "$p" && ! bs_wait_gone "$p" 50 && bs_pid_ours "$p"; then
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
}

# bs_bg CMD...: runs CMD in the background and records its PID (bs_track);
# BS_LAST is the PID.
bs_bg() {
	"$@" &
	BS_LAST=$!
	bs_track "$BS_LAST"
}

# bs_track PID...: records processes the test started, for bs_teardown to
# stop: each PID in BS_PIDS, and its start time in BS_START[PID] (empty
# when it has ended already: nothing to stop). Record every PID this way,
# not with BS_PIDS+=: a PID without a start time cannot be checked, and
# bs_teardown signals it whatever process has it then.
bs_track() {
	local p
	for p; do
		BS_PIDS+=("$p")
		BS_START[p]=$(bs_pid_start "$p") || BS_START[p]=
	done
}

# bs_read_waits PID: PID sleeps in one of read's two waits: futex(2) on the
# ring, or ppoll(2) on the socket itself (lib/direct.c); not at a prompt,
# not running. The syscall numbers of x86_64, or of aarch64.
bs_read_waits() {
	local nr rest
	{ read -r nr rest <"/proc/$1/syscall"; } 2>/dev/null || return 1
	case $HOSTTYPE in
	aarch64) [ "$nr" = 98 ] || [ "$nr" = 73 ] ;;
	*) [ "$nr" = 202 ] || [ "$nr" = 271 ] ;;
	esac
}

# bs_pid_start PID: the start time of process PID (field 22 of
# /proc/PID/stat, clock ticks since boot); fails when there is no such
# process. Field 2, the command name in parentheses, may itself hold
# spaces and parentheses: the fields are counted after the last ')'.
bs_pid_start() {
	local s f
	IFS= read -r -d '' s 2>/dev/null <"/proc/$1/stat"
	[ -n "$s" ] || return 1
	read -r -a f <<<"${s##*) }"
	[ -n "${f[19]:-}" ] || return 1
	echo "${f[19]}"
}

# bs_pid_ours PID: PID is still the process bs_track recorded: it runs (or
# is a zombie) and has the recorded start time. A PID recorded without a
# start time (BS_PIDS+=) counts as ours.
bs_pid_ours() {
	local now
	[ -n "${BS_START[$1]+set}" ] || return 0
	[ -n "${BS_START[$1]}" ] || return 1
	now=$(bs_pid_start "$1") && [ "$now" = "${BS_START[$1]}" ]
}

# A port in 20000-32767 that nothing listens on now (bash only: no python
# start per port).
bs_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		if ! ss -Htan "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# bs_wait_for TRIES CMD...: retries CMD every 20 ms, at most TRIES times.
bs_wait_for() {
	local tries=$1 i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}

# True when nothing listens on TCP port $1.
bs_port_free() {
	! ss -Htln "sport = :$1" | grep -q .
}

bs_port_listening() {
	ss -Htln "sport = :$1" | grep -q .
}

# True when PID $1 is gone (a zombie counts as gone: PID 1 here may not
# reap orphans).
bs_pid_gone() {
	local st
	[ -r "/proc/$1/stat" ] || return 0
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# bs_wait_gone PID [TRIES]: waits (20 ms steps) until PID is gone.
bs_wait_gone() {
	bs_wait_for "${2:-250}" bs_pid_gone "$1"
}

# The helper PIDs of the current namespace's bindings, one a line.
bs_binding_pids() {
	bindings | awk '{print $5}'
}

# bs_rt_base [UID]: the runtime base directory of user UID (default: us),
# by lib/rt.c's rule: $XDG_RUNTIME_DIR/bashsock when XDG_RUNTIME_DIR is a
# 0700 directory of the user's, else /run/user/UID/bashsock when that is
# one, else /dev/shm/bashsock-UID.
bs_rt_base() {
	local u=${1:-$(id -u)} x=${XDG_RUNTIME_DIR:-} r
	r=/run/user/$u
	if [ -n "$x" ] && [ -d "$x" ] && [ ! -L "$x" ] &&
		[ "$(stat -c '%u %a' "$x")" = "$u 700" ]; then
		echo "$x/bashsock"
	elif [ -d "$r" ] && [ ! -L "$r" ] &&
		[ "$(stat -c '%u %a' "$r")" = "$u 700" ]; then
		echo "$r/bashsock"
	else
		echo "/dev/shm/bashsock-$u"
	fi
}

# bs_ring_corrupt FILE: writes the binding file's header as another process
# of the same user could: head = tail + 3 * cap in both directions (beyond
# the invariant tail <= head <= tail + cap). Offsets of lib/ring.h's struct
# ring_hdr, layout version 4: cap at 16; rx head, tail at 192, 256; tx
# head, tail at 320, 384.
bs_ring_corrupt() {
	/usr/bin/python3 - "$1" <<'PY'
import mmap, struct, sys
with open(sys.argv[1], 'r+b') as f:
    m = mmap.mmap(f.fileno(), 4096)
    assert struct.unpack_from('<I', m, 8)[0] == 4, 'ring layout version'
    cap, = struct.unpack_from('<Q', m, 16)
    for head_at, tail_at in ((192, 256), (320, 384)):
        tail, = struct.unpack_from('<Q', m, tail_at)
        struct.pack_into('<Q', m, head_at, tail + 3 * cap)
    m.close()
PY
}
