#!/usr/bin/env bats
# The read override as a builtin of bash: its help, its table entry
# (flags, documentation, enable -d), BASHSOCK_BARE_READ=0, and the one
# documented difference from bash's own read (`x=pre builtin read x`).
# Each case runs in its own `bash --norc` so that the table it changes is
# that shell's.

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive
load helpers/tmux

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	SO=${BASHSOCK_SO:-$BS_ROOT/bashsock.so}
}
teardown() {
	tm_stop
	bs_teardown
}

# ov SCRIPT [ARG...]: runs SCRIPT in a fresh bash with the builtins loaded ($SO is
# the object, $L the loader).
ov() {
	local script=$1
	shift
	env L="$BS_LOADER" SO="$SO" timeout 20 bash --norc -c '. "$L" || exit 99; '"$script" bash "$@"
}

# plain SCRIPT: the same without the builtins.
plain() {
	timeout 20 bash --norc -c "$1" bash
}

# bind_line ID: a live input binding ID holding "SOCKET DATA\n".
bind_line() {
	local port
	port=$(bs_free_port)
	bind-input -v BS_OV_PID "$1" "$port"
	printf 'SOCKET DATA\n' | bs_peer send "$port"
	bs_wait_buffered "$1" 12
}

# --- --help -------------------------------------------------------------------

# bash's read prints its help for --help where an option may stand, after
# other options too (`read -r --help'), and returns 2; so does the override,
# with its own synopsis and documentation (both forms).
@test "read --help and read -r --help print the help of both forms, status 2" {
	local form
	for form in '--help' '-r --help' '-rn1 --help' '-t 1 --help' '-l --help'; do
		run -2 --separate-stderr ov "read $form"
		assert_equal "$stderr" ""
		assert_line --index 0 "read: read [-ers] [-a array] [-d delim] [-i text] [-n nchars] [-N nchars] [-p prompt] [-t timeout] [-u fd] [name ...] | read [-l] [-b COUNT] [-w SECS] [-v VAR] [-c VAR] ID"
		assert_line --index 1 "    Read from a bashsock binding, or from a file descriptor."
		assert_line "    Read a line from the standard input and split it into fields."
	done
}

# --- documentation --------------------------------------------------------------

@test "help -d read and help -d write end with a newline" {
	run -0 ov 'help -d read; help -d write; help -d read write'
	assert_output "read - Read from a bashsock binding, or from a file descriptor.
write - Send a message through a bashsock binding.
read - Read from a bashsock binding, or from a file descriptor.
write - Send a message through a bashsock binding."
}

@test "help read indents every line as bash's own help does" {
	run -0 ov 'help read'
	local line n=0
	for line in "${lines[@]:1}"; do
		[[ $line == "    "* ]] || {
			echo "not indented: [$line]" >&2
			return 1
		}
		n=$((n + 1))
	done
	[ "$n" -gt 30 ]
	assert_line "    Every other call is bash's own read:"
	assert_line "    Exit Status:"
}

# --- the table entry: flags -------------------------------------------------------

# bash marks read ARRAYREF_BUILTIN: with assoc_expand_once an unquoted
# A[$k] is expanded once, so k=']' names the key "]" (bash's assoc18.sub).
@test "read A[\$k] with assoc_expand_once takes a key of ] or [" {
	local script='declare -A A; shopt -s assoc_expand_once; k="]"; read A[$k] <<<rb; k="["; read A[$k] <<<lb; echo "rc=$?"; declare -p A'
	run -0 --separate-stderr plain "$script"
	local want=$output
	assert_output --partial '["]"]="rb"'
	run -0 --separate-stderr ov "$script"
	assert_equal "$stderr" ""
	assert_output "$want"
}

# --- enable -d read ------------------------------------------------------------------

@test "enable -d read puts bash's own read back, with its help and flags" {
	run -0 --separate-stderr ov 'read -t 0 </dev/null
		enable -d read; echo "rc=$?"
		type -t read; help -d read
		declare -A A; shopt -s assoc_expand_once; k="]"; read A[$k] <<<v; declare -p A
		x=old; x=pre read x <<<new; echo "[$x]"
		enable -d read; echo "again rc=$?"
		bind-input -v p in1 "$1" && unbind in1 && echo "others still loaded"' \
		"$(bs_free_port)"
	assert_output "rc=0
builtin
read - Read a line from the standard input and split it into fields.
declare -A A=([\"]\"]=\"v\" )
[old]
again rc=1
others still loaded"
	# As in plain bash: the restored read is bash's static one.
	assert_equal "$stderr" "bash: line 6: enable: read: not dynamically loaded"
}

@test "after enable -d read, a binding named like the variable no longer matters" {
	bind_line line
	run -0 --separate-stderr ov 'read -t 0 </dev/null; enable -d read
		read line <<<"from stdin"; echo "rc=$? [$line]"'
	assert_output "rc=0 [from stdin]"
	assert_equal "$stderr" ""
	run -0 bs_field line 6
	assert_output 12
}

@test "enable -f brings the override back after enable -d read" {
	bind_line in1
	run -0 --separate-stderr ov 'read -t 0 </dev/null; enable -d read
		enable -f "$SO" read || exit 9
		help -d read; read -l -v got in1; echo "rc=$? [$got]"'
	assert_output "read - Read from a bashsock binding, or from a file descriptor.
rc=0 [SOCKET DATA]"
	assert_equal "$stderr" ""
}

# With read the only builtin of the object, enable -d also unloads the
# object (dlclose): what is left must not point into it.
@test "enable -d read when read is the only builtin loaded from the object" {
	run -0 --separate-stderr env SO="$SO" bash --norc -c '
		enable -f "$SO" read || exit 9
		read -r a <<<"one"; enable -d read; echo "rc=$?"
		read -r b <<<"two"; echo "[$a] [$b]"; help -d read; help read >/dev/null; echo done'
	assert_output "rc=0
[one] [two]
read - Read a line from the standard input and split it into fields.
done"
	assert_equal "$stderr" ""
}

# Documented limit: bash deletes the entry after the unload hook, and the
# hook can put bash's read back only into a spare slot of the table, which
# exists once read has run since the last enable. Before that it says so.
@test "enable -d read right after loading says bash's read could not be put back" {
	run -0 --separate-stderr ov 'enable -d read; echo "rc=$?"; type -t read || echo "no read"'
	assert_output "rc=0
no read"
	assert_equal "$stderr" "bash: line 1: enable: read: deleted, and bash's own read could not be put back (no read ran since the last enable): a new shell has it"
}

# Once bash's read is gone, a new override has nothing to put back.
@test "enable -f read after bash's read was deleted: enable -d says it cannot restore it" {
	run -0 --separate-stderr env SO="$SO" bash --norc -c '
		enable -f "$SO" read || exit 9
		enable -d read 2>/dev/null; type -t read || echo gone
		enable -f "$SO" read || exit 9
		read -r a <<<"one"; echo "[$a]"
		enable -d read; echo "rc=$?"; type -t read || echo "gone again"'
	assert_output "gone
[one]
rc=0
gone again"
	assert_equal "$stderr" "bash: line 6: enable: read: deleted, and bash's own read could not be put back (bash's read was not what it replaced): a new shell has it"
}

# --- BASHSOCK_BARE_READ=0 ------------------------------------------------------------

@test "BASHSOCK_BARE_READ=0: a bare read NAME is bash's read even when NAME is a binding" {
	bind_line line
	run -0 --separate-stderr ov 'BASHSOCK_BARE_READ=0; read line <<<"one"; echo "[$line]"
		BASHSOCK_BARE_READ=1; BASHSOCK_BARE_READ=0 read line <<<"two"; echo "[$line]"
		read -l -v got line; echo "rc=$? [$got]"'
	assert_output "[one]
[two]
rc=0 [SOCKET DATA]"
	assert_equal "$stderr" ""
}

@test "without BASHSOCK_BARE_READ=0 a bare read NAME of a binding is the socket form" {
	bind_line line
	run -0 --separate-stderr ov 'BASHSOCK_BARE_READ=1; read line <<<"stdin"; echo "rc=$? [$line]"'
	assert_output "SOCKET DATA
rc=0 []"
}

@test "BASHSOCK_BARE_READ=0 keeps a while read line loop off a binding named line" {
	bind_line line
	printf 'a\nb c\n' >"$T/in"
	run -0 --separate-stderr ov 'export BASHSOCK_BARE_READ=0; n=0
		while read line; do echo "<$line>"; done <"$1"' "$T/in"
	assert_output "<a>
<b c>"
	run -0 bs_field line 6
	assert_output 12
}

# --- Ctrl-C -----------------------------------------------------------------------------

# The scope read runs in (x=pre read x) is dropped when Ctrl-C interrupts
# it, as bash's is: left behind, it would hold x=pre for the rest of the
# session.
@test "interactive: Ctrl-C in x=pre read x leaves no temporary scope behind" {
	tm_start
	tm_keys "x=old; x=pre read -p 'RD''Y> ' x; echo af''ter=\$?" Enter
	tm_wait 'RDY>'
	tm_keys C-c
	tm_keys 'echo "st=$? [$x]"' Enter
	tm_wait 'st=130 [old]'
	run ! tm_has after=
	tm_keys 'x=new; export x; bash -c "echo ch''ild=\$x"' Enter
	tm_wait 'child=new'
}

# --- documented difference --------------------------------------------------------------

# bash applies its read special case (the temporary environment as a scope
# of its own) only when execute_builtin() runs read_builtin itself; through
# `builtin read' it does not. builtin_builtin() reaches the override by a
# tail call that leaves no trace a loadable can read safely, so the
# override applies the special case there too.
@test "x=pre builtin read x: documented difference, x keeps its old value" {
	local script='x=old; x=pre builtin read x <<<new; echo "[$x]"'
	run -0 plain "$script"
	assert_output "[new]"
	run -0 ov "$script"
	assert_output "[old]"
}
