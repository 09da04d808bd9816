# tmux.bash: an interactive bash in a tmux pane, driven by keys, for the
# Ctrl-C cases (conversation.bats, trigger.bats, read_override.bats). Load
# it after test_helper/common, and stop the pane's server in teardown()
# before bs_teardown:
#   load test_helper/common
#   load helpers/tmux
#   teardown() { tm_stop; bs_teardown; }
# The pane's shell inherits the test's environment as it is (under make
# check-asan that includes LD_PRELOAD: interactive shells do not read
# BASH_ENV), and its BASHSOCK_NS, so bindings the test makes are its too.
# shellcheck shell=bash

# tm_start: an interactive bash in a tmux pane with the builtins loaded.
# Its server (TM) is the test's own: file and test number in the name.
tm_start() {
	local f=${BATS_TEST_FILENAME##*/}
	TM="bs${f%.bats}${BATS_ROOT_PID:-$$}_${BATS_TEST_NUMBER}"
	tmux -L "$TM" -f /dev/null new-session -d -s main -x 200 -y 50 \
		"env PS1='PROMPT\$ ' BASHSOCK_NS=$BASHSOCK_NS bash --norc --noprofile -i"
	tm_keys "source '$BS_ROOT/loader.sh'; echo loaded=\$?" Enter
	tm_wait loaded=0
}
tm_keys() {
	tmux -L "$TM" send-keys -t main "$@"
}
tm_has() {
	tmux -L "$TM" capture-pane -p -t main -S -200 | grep -qF -- "$1"
}
tm_wait() {
	bs_wait_for 250 tm_has "$1" || {
		tmux -L "$TM" capture-pane -p -t main -S -200
		return 1
	}
}
# tm_sleeping PID: the pane's shell (PID) waits in a futex or a sleep (not
# running).
tm_sleeping() {
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = S ]
}
# tm_stop: kills the test's tmux server, if tm_start made one.
tm_stop() {
	[ -z "${TM:-}" ] || tmux -L "$TM" kill-server 2>/dev/null || true
}
