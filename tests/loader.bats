#!/usr/bin/env bats
# loader.sh: enables the builtins, idempotent, changes no shell option,
# fails with one line and status 1 without exiting the shell.

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
}
teardown() { bs_teardown; }

# Every builtin the contract names.
BUILTINS='bind-input bind-output read write unbind bindings trigger-wait trigger-send pool master'

# What a shell's state looks like: options, shopt, $-, traps, functions and
# variable names (less the ones that change by themselves), less the one
# function the loader adds on purpose (its completion, tested below).
STATE='{ set -o; shopt; echo "flags=$-"; trap -p;
	declare -F | grep -vx "declare -f _bashsock_complete";
	compgen -v | grep -vxE "PIPESTATUS|BASH_COMMAND|BASH_LINENO|_|before|after"; }'

@test "sourcing loader.sh enables every builtin of the contract" {
	run -0 bash --norc -c '. "$1" || exit 9; for b in $2; do
		printf "%s %s\n" "$b" "$(type -t "$b")"; done' bash "$BS_LOADER" "$BUILTINS"
	assert_output "bind-input builtin
bind-output builtin
read builtin
write builtin
unbind builtin
bindings builtin
trigger-wait builtin
trigger-send builtin
pool builtin
master builtin"
	# read is the override: its help has the socket form.
	run -0 bash --norc -c '. "$1" && help read' bash "$BS_LOADER"
	assert_line --partial 'read [-l] [-b COUNT] [-w SECS] [-v VAR] [-c VAR] ID'
}

@test "sourcing loader.sh prints nothing and returns 0" {
	run -0 --separate-stderr bash --norc -c '. "$1"' bash "$BS_LOADER"
	assert_output ""
	assert_equal "$stderr" ""
}

@test "sourcing loader.sh twice is fine and the builtins still work" {
	local port
	port=$(bs_free_port)
	run -0 --separate-stderr bash --norc -c '
		. "$1"; r1=$?
		. "$1"; r2=$?
		bind-input -v pid twice "$2" || exit 7
		printf "x\n" >/dev/tcp/127.0.0.1/"$2"
		read -l -w 5 -v got twice; r3=$?
		unbind twice
		echo "$r1 $r2 $r3 $got"' bash "$BS_LOADER" "$port"
	assert_output "0 0 0 x"
	assert_equal "$stderr" ""
}

@test "sourcing loader.sh changes no shell option, trap, function or variable" {
	run -0 bash --norc -c 'before=$(eval "$2"); . "$1" || exit 9
		after=$(eval "$2"); diff <(echo "$before") <(echo "$after") && echo same' \
		bash "$BS_LOADER" "$STATE"
	assert_output same
}

@test "loader.sh works under set -euo pipefail, failglob and nounset and keeps them" {
	run -0 bash --norc -c 'set -euo pipefail -o posix; shopt -s failglob nullglob extglob
		before=$(eval "$2"); . "$1"
		after=$(eval "$2"); diff <(echo "$before") <(echo "$after") && echo same
		type -t bind-input' bash "$BS_LOADER" "$STATE"
	assert_output "same
builtin"
}

@test "the loader adds one function, the builtins' completion, and registers it for each" {
	run -0 bash --norc -c 'before=$(declare -F); . "$1" || exit 9
		diff <(echo "$before") <(declare -F) | grep "^[<>]"; complete -p | sort' bash "$BS_LOADER"
	assert_output "> declare -f _bashsock_complete
complete -F _bashsock_complete bind-input
complete -F _bashsock_complete bind-output
complete -F _bashsock_complete bindings
complete -F _bashsock_complete master
complete -F _bashsock_complete pool
complete -F _bashsock_complete read
complete -F _bashsock_complete trigger-send
complete -F _bashsock_complete trigger-wait
complete -F _bashsock_complete unbind
complete -F _bashsock_complete write"
}

@test "loader.sh loads with PATH empty: no program is needed" {
	run -0 --separate-stderr bash --norc -c 'PATH= . "$1" || exit 9
		for b in $2; do printf "%s " "$(type -t "$b")"; done' bash "$BS_LOADER" "$BUILTINS"
	assert_output "builtin builtin builtin builtin builtin builtin builtin builtin builtin builtin "
	assert_equal "$stderr" ""
	# And a failure with PATH empty is still one line.
	unset BASHSOCK_SO # make check-asan sets it; this copy must use its own
	mkdir "$T/nobuild"
	cp "$BS_LOADER" "$T/nobuild/loader.sh"
	run -0 --separate-stderr bash --norc -c 'PATH=; . "$1"; echo "rc=$?"' bash "$T/nobuild/loader.sh"
	assert_output "rc=1"
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "the loader's list of builtins is the build's, written in by make" {
	# Every builtin the object exports, and nothing else.
	local want
	want=$(nm -D --defined-only "${BASHSOCK_SO:-$BS_ROOT/bashsock.so}" |
		sed -n 's/^[0-9a-f]* [A-Za-z] \([a-z][a-z-]*\)_struct$/\1/p' | sort | tr '\n' ' ')
	run -0 grep -c "avail='${want% }'" "$BS_LOADER"
	# The template is not a loader: sourcing it says so, in one line.
	run -0 --separate-stderr bash --norc -c '. "$1"; echo "rc=$?"' bash "$BS_ROOT/loader.sh.in"
	assert_output "rc=1"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"template"* ]]
}

@test "sourcing loader.sh after enable -f of some builtins loads the rest" {
	run -0 --separate-stderr bash --norc -c 'enable -f "$2" bind-input bindings || exit 8
		. "$1" || exit 9
		for b in $3; do printf "%s " "$(type -t "$b")"; done
		help -s read' bash "$BS_LOADER" "${BASHSOCK_SO:-$BS_ROOT/bashsock.so}" "$BUILTINS"
	assert_line --index 0 "builtin builtin builtin builtin builtin builtin builtin builtin builtin builtin read: read [-ers] [-a array] [-d delim] [-i text] [-n nchars] [-N nchars] [-p prompt] [-t timeout] [-u fd] [name ...] | read [-l] [-b COUNT] [-w SECS] [-v VAR] [-c VAR] ID"
	assert_equal "$stderr" ""
}

# complete WORD...: the completions of the last WORD of the command line
# WORD..., one a line, sorted, from a shell that sourced the loader and
# holds the bindings cin (input) and cout (output) of this test's namespace.
complete_words() {
	bash --norc -c '. "$1" || exit 9
		shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_bashsock_complete "$1" "${!#}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 7
		printf "%s\n" "${COMPREPLY[@]}" | sort' bash "$BS_LOADER" "$@"
}

@test "completion: binding IDs for read, write, unbind; options from the usage line" {
	local port
	port=$(bs_free_port)
	bind-input -v pid cin "$port" >/dev/null
	bind-output -v opid cout 127.0.0.1 "$port" >/dev/null
	run -0 complete_words read -l ''
	assert_output "cin
cout"
	run -0 complete_words unbind c
	assert_output "cin
cout"
	run -0 complete_words write -n co
	assert_output "cout"
	run -0 complete_words read -w 1 -l c
	assert_output "cin
cout"
	# Options: those of the builtin's usage line.
	run -0 complete_words read -
	assert_output "-b
-c
-l
-v
-w"
	run -0 complete_words bind-input -
	assert_output "-1
-A
-K
-T
-a
-m
-s
-v"
	# After the ID, read takes nothing more.
	run -0 complete_words read -l cin ''
	assert_output ""
}

@test "completion: a plain read completes variable names, a plain write user names" {
	local port
	port=$(bs_free_port)
	bind-input -v pid cin "$port" >/dev/null
	# bash's own read options: variable names only, never an ID.
	run -0 complete_words read -r BASHSOCK_N
	assert_output "BASHSOCK_NS"
	run -0 complete_words read -r c
	refute_line cin
	# No option yet: either form, so IDs and variable names.
	run -0 complete_words read ''
	assert_line cin
	assert_line BASHSOCK_NS
	# -v VAR takes a variable name.
	run -0 complete_words read -v BASHSOCK_N
	assert_output "BASHSOCK_NS"
	# write: IDs and the users write(1) would take.
	run -0 complete_words write ro
	assert_line root
}

@test "completion: host names for bind-output, trigger-send and -a; directories for master" {
	run -0 complete_words bind-output -t 5 out1 localh
	assert_line localhost
	run -0 complete_words trigger-send key localh
	assert_line localhost
	run -0 complete_words bind-input -a localh
	assert_line localhost
	run -0 complete_words pool -a localh
	assert_line localhost
	mkdir "$T/ddir"
	run -0 complete_words master k localhost 9999 "$T/dd"
	assert_output "$T/ddir"
	# The port of bind-output completes to nothing.
	run -0 complete_words bind-output out1 localhost ''
	assert_output ""
}

@test "loader.sh loads from any working directory and through a relative path" {
	run -0 bash --norc -c 'cd / && . "$1" && type -t bind-input' bash "$BS_LOADER"
	assert_output builtin
	run -0 bash --norc -c 'cd "$1/tests" && . ../loader.sh && type -t unbind' bash "$BS_ROOT"
	assert_output builtin
}

@test "subshells and command substitutions have the builtins too" {
	run -0 bash --norc -c '. "$1"; ( type -t bindings ); echo "$(type -t read) $(type -t bind-input)"' \
		bash "$BS_LOADER"
	assert_output "builtin
builtin builtin"
}

@test "a missing bashsock.so gives one line, status 1, and the shell goes on" {
	unset BASHSOCK_SO # make check-asan sets it; this copy must use its own
	mkdir "$T/nobuild"
	cp "$BS_LOADER" "$T/nobuild/loader.sh"
	run -0 --separate-stderr bash --norc -c '. "$1"; echo "rc=$? alive $(type -t bind-input)"' \
		bash "$T/nobuild/loader.sh"
	assert_output "rc=1 alive "
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *bashsock.so* ]]
	# Under set -e the caller can still test it.
	run -0 --separate-stderr bash --norc -c 'set -e; . "$1" || echo "failed, handled"; echo alive' \
		bash "$T/nobuild/loader.sh"
	assert_output "failed, handled
alive"
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "a bashsock.so that cannot be loaded gives one line, status 1, and the shell goes on" {
	unset BASHSOCK_SO # make check-asan sets it; this copy must use its own
	mkdir "$T/broken"
	cp "$BS_LOADER" "$T/broken/loader.sh"
	printf 'not an ELF file bind-input_struct read_struct\n' >"$T/broken/bashsock.so"
	run -0 --separate-stderr bash --norc -c '. "$1"; echo "rc=$? alive $(type -t bind-input)"' \
		bash "$T/broken/loader.sh"
	assert_output "rc=1 alive "
	[ "${#stderr_lines[@]}" -eq 1 ]
	# bash's own read is still there and works.
	run -0 bash --norc -c '. "$1" 2>/dev/null; read -r x <<<"still bash"; echo "$x"' \
		bash "$T/broken/loader.sh"
	assert_output "still bash"
}

@test "a failed load in an interactive shell does not exit it" {
	unset BASHSOCK_SO # make check-asan sets it; this copy must use its own
	mkdir "$T/nobuild"
	cp "$BS_LOADER" "$T/nobuild/loader.sh"
	run -0 --separate-stderr bash --norc -i -c '. "$1"; echo "rc=$? alive"' \
		bash "$T/nobuild/loader.sh"
	assert_output "rc=1 alive"
}

@test "help NAME documents each receive-path builtin and NAME --help shows its usage" {
	local b
	for b in bind-input read unbind bindings; do
		run -0 bash --norc -c '. "$1" && help "$2"' bash "$BS_LOADER" "$b"
		[ "${#lines[@]}" -ge 3 ]
		run -2 --separate-stderr bash --norc -c '. "$1" && "$2" --help' bash "$BS_LOADER" "$b"
		assert_line --index 0 --partial "$b: $b "
		assert_equal "$stderr" ""
	done
	run -0 bash --norc -c '. "$1" && help -s bind-input' bash "$BS_LOADER"
	assert_output "bind-input: bind-input [-1] [-A PREFIX] [-a ADDR] [-K KEY] [-m MAX] [-s SIZE] [-T CERT] [-v VAR] ID PORT"
}

@test "help read keeps bash's own documentation after the socket form" {
	run -0 bash --norc -c 'help read' bash
	local own=$output
	run -0 bash --norc -c '. "$1" && help read' bash "$BS_LOADER"
	assert_output --partial "Socket form"
	# Every line of bash's own text (its synopsis line aside) is still there.
	diff <(printf '%s\n' "$own" | tail -n +2) <(printf '%s\n' "$output" | tail -n "$(($(printf '%s\n' "$own" | wc -l) - 1))")
}
