#!/usr/bin/env bats
# The suite's own harness (tests/test_helper/common.bash): bs_teardown stops
# the processes a test started, and only those, even when their PIDs have
# been handed to other processes since (pid_max is 32768 here, and suites
# run side by side).

bats_require_minimum_version 1.5.0
load test_helper/common

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	OTHER=
	OTHER_START=
}
teardown() {
	bs_teardown
	# The process a test started outside the record, if it is still that
	# process.
	if [ -n "$OTHER" ] && [ "$(stat_start "$OTHER")" = "$OTHER_START" ]; then
		kill -TERM "$OTHER" 2>/dev/null || true
	fi
}

# stat_start PID: field 22 of /proc/PID/stat (the start time), read here
# independently of the harness: the fields after the last ')'.
stat_start() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

@test "bs_teardown stops a recorded process that still runs" {
	local pid
	bs_bg sleep 30
	pid=$BS_LAST
	bs_teardown
	bs_pid_gone "$pid" || fail "bs_teardown left PID $pid running"
}

@test "bs_teardown leaves alone a recorded PID that another process has taken since" {
	local old oldstart k alive
	bs_bg sleep 30
	old=$BS_LAST
	oldstart=$(stat_start "$old")
	[ -n "$oldstart" ] || fail "no start time for PID $old"
	kill -TERM "$old"
	wait "$old" || true
	bs_wait_gone "$old" || fail "PID $old never ended"
	# Another process, not started through the harness, whose start time
	# is not the recorded one (start times count 10 ms ticks).
	for ((k = 0; k < 50; k++)); do
		sleep 30 &
		OTHER=$!
		OTHER_START=$(stat_start "$OTHER")
		[ -n "$OTHER_START" ] && [ "$OTHER_START" != "$oldstart" ] && break
		kill -TERM "$OTHER"
		wait "$OTHER" || true
		OTHER=
		sleep 0.02
	done
	[ -n "$OTHER" ] || fail "no process with another start time than $oldstart"
	# The system hands PID $old to it: faked by recording its PID with
	# what was recorded for $old (a real reuse takes pid_max forks).
	BS_PIDS+=("$OTHER")
	BS_START[$OTHER]=${BS_START[$old]}
	bs_teardown
	alive=yes
	bs_pid_gone "$OTHER" && alive=no
	if [ "$alive" = yes ]; then
		kill -TERM "$OTHER"
		wait "$OTHER" || true
		OTHER=
	fi
	[ "$alive" = yes ] || fail "bs_teardown signalled PID $OTHER, which is not the process it recorded"
}

@test "bs_pid_start reads field 22 even when the command name holds ') ' and spaces" {
	local pid want
	# The command name (field 2) is the executable's: "x) 1 2 (y) 3 4".
	ln -s "$(command -v sleep)" "$T/x) 1 2 (y) 3 4"
	bs_bg "$T/x) 1 2 (y) 3 4" 30
	pid=$BS_LAST
	bs_wait_for 250 grep -qF 'x) 1 2 (y) 3 4' "/proc/$pid/comm" ||
		fail "the command name is $(cat "/proc/$pid/comm")"
	want=$(/usr/bin/python3 -c 'import sys
print(open("/proc/%s/stat" % sys.argv[1]).read().rsplit(")", 1)[1].split()[19])' "$pid")
	run -0 bs_pid_start "$pid"
	assert_output "$want"
	assert_equal "${BS_START[$pid]}" "$want"
}
