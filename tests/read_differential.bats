#!/usr/bin/env bats
# bash's own read, differentially: every form below runs three times,
#   plain   bash --norc -c SCRIPT                  (no builtins)
#   loaded  bash --norc -c '. loader.sh; SCRIPT'
#   bound   the same, with live input bindings around: one named like each
#           variable the script reads into (unless the script is exactly
#           `read NAME`, see below) and an unrelated one, each holding
#           "SOCKET DATA\n"
# and stdout, stderr and exit status must be identical, and no binding
# may have lost a byte.
#
# The one call that changes meaning with the builtins loaded is exactly
# `read NAME` while NAME is a live input binding of the namespace: the
# contract makes it the socket form (it drains the binding to stdout and
# leaves $NAME alone). The tests at the end document that, and that every
# other spelling (read -r NAME, read NAME OTHER, read -- NAME, read with no
# binding of that name) stays bash's read.

bats_require_minimum_version 1.5.0
load test_helper/common
load helpers/receive

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	mkfifo "$T/fifo"
}
teardown() { bs_teardown; }

# rd_run TAG PREAMBLE SCRIPT: runs one form with stdin from $T/in; $F is an
# empty FIFO, $IN the input file, $L the loader.
rd_run() {
	local rc=0
	env F="$T/fifo" IN="$T/in" L="$BS_LOADER" timeout 20 \
		bash --norc -c "$2$3" bash <"$T/in" >"$T/$1.out" 2>"$T/$1.err" || rc=$?
	echo "$rc" >"$T/$1.rc"
}

# rd_same A B: A's and B's stdout, stderr and status are identical.
rd_same() {
	local f
	for f in out err rc; do
		if ! cmp -s "$T/$1.$f" "$T/$2.$f"; then
			echo "$f differs between $1 and $2:" >&2
			diff -a "$T/$1.$f" "$T/$2.$f" >&2 || true
			return 1
		fi
	done
}

# rd_bind ID...: a live input binding per ID, each holding "SOCKET DATA\n".
rd_bind() {
	local id port
	for id; do
		port=$(bs_free_port)
		bind-input -v BS_RD_PID "$id" "$port"
		printf 'SOCKET DATA\n' | bs_peer send "$port"
	done
	for id; do
		bs_wait_buffered "$id" 12
	done
}

# rd_diff NAMES INPUT SCRIPT: INPUT is a printf format for stdin; NAMES the
# IDs to bind for the third run.
rd_diff() {
	local names=$1 id
	# shellcheck disable=SC2059
	printf "$2" >"$T/in"
	rd_run plain '' "$3"
	rd_run loaded '. "$L" || exit 99; ' "$3"
	# shellcheck disable=SC2086
	rd_bind $names rd_unrelated
	rd_run bound '. "$L" || exit 99; ' "$3"
	rd_same plain loaded
	rd_same plain bound
	for id in $names rd_unrelated; do
		[ "$(bs_field "$id" 6)" = 12 ] || {
			echo "binding $id lost data" >&2
			return 1
		}
	done
}

# --- splitting and names ------------------------------------------------------

@test "read splits a line on IFS whitespace into several names" {
	rd_diff 'a b c' '  one  two three four  \n' \
		'read a b c; echo "$? [$a] [$b] [$c]"'
}

@test "IFS=: read splits on colons, keeping empty fields" {
	rd_diff 'a b c' 'x:y::z:w\n' 'IFS=: read a b c; echo "$? [$a] [$b] [$c]"'
}

@test "read with more words than names leaves the rest in the last name" {
	rd_diff 'a b' '1 2 3  4  \n' 'read a b; echo "$? [$a] [$b]"'
}

@test "read with more names than words sets the extra names empty" {
	rd_diff 'a b c' 'only\n' 'a=x b=y c=z; read a b c; echo "$? [$a] [$b] [$c]"'
}

@test "read with no name sets REPLY, whitespace kept" {
	rd_diff 'REPLY' '  sp  ace  \n' 'read; echo "$? [$REPLY]"'
}

@test "IFS= read -r keeps leading and trailing whitespace" {
	rd_diff 'line' '\t  padded \t\n' 'IFS= read -r line; printf "%s|%q\\n" "$?" "$line"'
}

@test "read into an array element and into a local variable" {
	rd_diff 'arr v' 'elem\nlocal one\n' \
		'read -r "arr[2]"; f() { local v; read -r v; echo "[$v]"; }; f; declare -p arr'
}

# --- backslashes ------------------------------------------------------------------

@test "read -r keeps backslashes" {
	rd_diff 'line' 'a\\b\\tc \\\n' 'read -r line; printf "%s|%s\\n" "$?" "$line"'
}

@test "read without -r removes backslashes (no binding named line)" {
	rd_diff '' 'a\\b c\\\\d\n' 'read line; printf "%s|%s\\n" "$?" "$line"'
}

@test "read without -r joins a line continued by a backslash-newline" {
	rd_diff 'a b' 'first \\\nsecond third\nfourth\n' 'read a b; echo "$? [$a] [$b]"'
}

# --- arrays ------------------------------------------------------------------------

@test "read -a splits into an array" {
	rd_diff 'arr' 'one two  three\n' 'read -a arr; echo $?; declare -p arr'
}

@test "IFS=, read -r -a keeps empty fields in the array" {
	rd_diff 'arr' 'a,b,,c\n' 'IFS=, read -r -a arr; echo $?; declare -p arr'
}

@test "read -ra with bundled options" {
	rd_diff 'arr' 'x\\y z\n' 'read -ra arr; echo $?; declare -p arr'
}

# --- delimiters and counts -------------------------------------------------------------

@test "read -d , stops at the delimiter" {
	rd_diff 'x' 'ab,cd' 'read -d , x; echo "$? [$x]"; read -d , x; echo "$? [$x]"'
}

@test "read -r -d '' reads NUL-delimited records" {
	rd_diff 'x' 'a b\0c\n\0d' \
		'while IFS= read -r -d "" x; do printf "<%s>" "$x"; done; echo " $? [$x]"'
}

@test "read -n 3 reads at most three characters" {
	rd_diff 'x' 'abcdef' 'read -n 3 x; echo "$? [$x]"; read -n 3 x; echo "$? [$x]"'
}

@test "read -n stops early at a newline, read -N does not" {
	rd_diff 'x y' 'a\nbcdef' 'read -n 4 x; echo "$? [$x]"; read -N 4 y; echo "$? [$y]"'
}

@test "read -N 4 ignores the delimiter and IFS" {
	rd_diff 'x' ' b\ncdef' 'read -N 4 x; printf "%s|%q\\n" "$?" "$x"'
}

@test "read -r -n 1 in a loop reads character by character" {
	rd_diff 'c' 'ab c\nd' 'while read -r -n 1 c; do printf "<%s>" "$c"; done; echo " $?"'
}

@test "read -n 0 returns at once without reading" {
	rd_diff 'x' 'data\n' 'x=old; read -n 0 x; echo "$? [$x]"; read -r x; echo "[$x]"'
}

@test "option arguments that look like socket options stay bash's" {
	rd_diff 'x y z' 'hello lworld\n' \
		'read -d l -r x; echo "$? [$x]"; read -rd w y; echo "$? [$y]"; read -p -l -n1 z; echo "$? [$z]"'
}

# --- timeouts ------------------------------------------------------------------------------

@test "read -t 0 reports available input without reading it" {
	rd_diff 'x' 'data\n' 'read -t 0; echo "rc=$?"; read -r x; echo "[$x]"'
}

@test "read -t 0 on an empty FIFO returns 1" {
	rd_diff '' '' 'read -t 0 -u 5 5<>"$F"; echo "rc=$?"'
}

@test "read -t 0.1 on an empty FIFO times out with status 142" {
	rd_diff 'x' '' 'x=old; read -t 0.1 -u 5 x 5<>"$F"; echo "rc=$? [$x]"'
}

@test "TMOUT=0.1 makes read time out with status 142" {
	rd_diff 'x' '' 'TMOUT=0.1; read -u 5 x 5<>"$F"; echo "rc=$? [$x]"'
}

@test "read -t with input available returns it" {
	rd_diff 'x' 'quick\n' 'read -t 5 x; echo "rc=$? [$x]"'
}

# --- descriptors, prompts, modes -----------------------------------------------------------

@test "read -u reads from another descriptor" {
	rd_diff 'x y' 'from five\n' 'exec 5<"$IN"; read -u 5 x y; echo "$? [$x] [$y]"'
}

@test "read -p prompt prints no prompt when input is not a terminal" {
	rd_diff 'x' 'typed\n' 'read -p "prompt> " x; echo "$? [$x]"'
}

@test "read -s on a non-terminal reads normally" {
	rd_diff 'x' 'secret\n' 'read -s x y; echo "$? [$x]"'
}

@test "read -e and -i on a non-terminal read normally" {
	rd_diff 'x' 'edited\n' 'read -e -i default x y; echo "$? [$x]"'
}

@test "read from a here-string and from a redirected file" {
	rd_diff 'a b x' 'unused\n' \
		'read -r a b <<<"x y z"; echo "[$a] [$b]"; read -r x <"$IN"; echo "[$x]"'
}

@test "read at the end of a pipeline reads the pipe" {
	rd_diff 'v' '' 'echo piped | { read -r v; echo "[$v]"; }'
}

@test "read -- NAME stays bash's read" {
	rd_diff 'x' 'dashdash\n' 'read -- x; echo "$? [$x]"'
}

# --- loops and end of file ----------------------------------------------------------------------

@test "while read -r consumes lines and drops an unterminated last one" {
	rd_diff 'l' '1\n2 two\n\n3' 'while read -r l; do echo "<$l>"; done; echo "rc=$? [$l]"'
}

@test "while read -r || [ -n ] keeps the unterminated last line" {
	rd_diff 'l' '1\n2\nlast' 'while IFS= read -r l || [ -n "$l" ]; do echo "<$l>"; done'
}

@test "read at end of file without a newline returns 1 with the data" {
	rd_diff 'x' 'last' 'read -r x; echo "$? [$x]"'
}

@test "read on empty input returns 1 and empties the name" {
	rd_diff 'x' '' 'x=old; read -r x; echo "$? [$x]"'
}

@test "read from a closed standard input fails with bash's message" {
	rd_diff 'x' 'unused\n' 'read -r x <&-; echo "rc=$?"'
}

# --- errors --------------------------------------------------------------------------------------

@test "read with an invalid variable name fails as in bash" {
	rd_diff '' 'v\n' 'read 1bad; echo "rc=$?"'
}

@test "read into a readonly variable fails as in bash" {
	rd_diff 'r' 'v\n' 'readonly r=fixed; read -r r; echo "rc=$? [$r]"'
}

@test "read -u with a closed descriptor fails as in bash" {
	rd_diff 'x' '' 'read -u 9 x; echo "rc=$?"'
}

@test "read -t with an invalid timeout fails as in bash" {
	rd_diff 'x' 'v\n' 'read -t abc x; echo "rc=$?"'
}

@test "read with an unknown option prints bash's usage" {
	rd_diff 'x' 'v\n' 'read -z x; echo "rc=$?"'
}

@test "read -n without its argument prints bash's usage" {
	rd_diff '' 'v\n' 'read -n; echo "rc=$?"'
}

# --- from what bash's own tests/read*.sub probe --------------------------------------

@test "control characters CTLESC and DEL survive read into a name and REPLY" {
	rd_diff '' '\001x\001\n\177y\177\n' \
		'read v; printf "%q\\n" "$v"; read; printf "%q\\n" "$REPLY"'
}

@test "one name and leading space under each IFS" {
	rd_diff '' ' foo \n foo \n foo \n foo \n foo \n' \
		'for i in "" "\n" ":" " \n" unset; do if [ "$i" = unset ]; then unset IFS; else IFS=$(printf "$i."); IFS=${IFS%.}; fi; read line; printf "<%q>" "$line"; done; echo'
}

@test "escaped blanks at the edges with and without -r" {
	rd_diff '' ' a  b\\ \n a  b\\ \n\\ a  b\\ \n \\ a  b\\ \n' \
		'read x y; echo "-$x-$y-"; read -r x y; echo "-$x-$y-"; read -r x; echo "-$x-"; read x y; echo "-$x-$y-"'
}

@test "IFS=: on a line of only colons leaves every field empty" {
	rd_diff '' ':::\n:::\na:b\n' \
		'IFS=: read x y z; printf "[%s]" "$x" "$y" "$z"; echo; IFS=: read -a A; echo "${#A[@]}"; declare -p A; IFS=: read x y z; printf "[%s]" "$x" "$y" "$z" "${z-unset}"; echo'
}

@test "more names than words: the extra names are set, and empty" {
	rd_diff '' 'A B \n' 'unset x y z; read x y z; echo "x[$x] y[$y] z[$z] ${z-z not set}"'
}

@test "read -d stops at the delimiter and leaves the rest for the next reader" {
	rd_diff '' 'abcdefg|xyz\nmore\n' '{ read -d "|" a; echo "a = $a"; cat; }'
}

@test "read -d from a pipe does not read past the delimiter" {
	rd_diff '' '' 'printf "abcdefg|xyz\\n" | { read -d "|" a; echo "a = $a"; cat; }; echo xyz 123 | { read -d " " a; echo "[$a]"; }'
}

@test "read -d with a newline, a letter and no delimiter found" {
	rd_diff '' '' 'echo xyz 123 | { read -d $'"'"'\\n'"'"' a; echo "-$a-"; }; echo abcd | { read -d d a; echo "$? [$a]"; }; printf "none" | { read -d x a; echo "$? [$a]"; }'
}

@test "read -n and -N leave the rest of a pipe unread" {
	rd_diff '' '' 'echo abcdefg | { read -n 3 x; echo "$x"; cat; }; echo ab | { read -n 3 x; echo "[$x]"; }; echo abc | { read -N 4 -d $'"'"'\\n'"'"' f; printf "%q\\n" "$f"; }'
}

@test "read -N at end of file returns 1 with what it got" {
	rd_diff '' 'abc' 'read -N 10 x; echo "$? [$x]"'
}

@test "read -n -1 is an invalid count, read -n 1 reads one byte of a file" {
	rd_diff '' 'xyz\n' 'read -n -1; echo "rc=$?"; read -n 1; echo "rc=$? [$REPLY]"; read -n 1 <"$IN"; echo "[$REPLY]"'
}

@test "read -n counts characters, not bytes, in a UTF-8 locale" {
	rd_diff '' '\303\251\303\240b\n' 'LC_ALL=C.UTF-8; read -n 2 x; printf "%q %d\\n" "$x" "${#x}"'
}

@test "NUL bytes in a line are dropped, with -r and with -N" {
	rd_diff '' 'a\0b c\n\0d\0ef' 'read -r x y; printf "%q %q\\n" "$x" "$y"; read -r -N 3 z; printf "%q\\n" "$z"'
}

@test "while read -u 3 reads a file on descriptor 3 to its end" {
	rd_diff '' '1\n2 3\n' 'while read -u 3 var; do echo "<$var>"; done 3<"$IN"; echo "rc=$?"; read -u 3 v 3</dev/null; echo "eof rc=$?"'
}

@test "read -t 0 on a file and on a pipe with data, read -t with a negative timeout" {
	rd_diff '' 'x\n' 'read -t 0 <"$IN"; echo "file $?"; echo abcde | { read -r -n 5 -t 5 z; read -t 0; echo "pipe $? [$z]"; }; read -t -3 a; echo "neg $?"'
}

@test "read -t with data ready returns it, from a here-string and a pipe" {
	rd_diff '' '' 'read -t .0001 a <<<abcde; echo "[$a]"; echo abcde | { read -t 5 a; echo "[$a]"; }'
}

@test "read -e -t times out on an empty FIFO as read -t does" {
	rd_diff '' '' 'v=old; read -e -t 0.1 -u 5 v 5<>"$F"; echo "rc=$? [$v]"'
}

@test "read -a replaces an existing array and refuses an associative one" {
	rd_diff '' 'a b\nc\n' \
		'arr=(x y z w); read -a arr; declare -p arr; declare -A h=([k]=v); read -a h; echo "rc=$?"; declare -p h'
}

@test "read through a nameref assigns the referenced variable" {
	rd_diff '' 'via ref\n' 'declare -n ref=target; read -r ref; declare -p target'
}

@test "read into an element of an associative array under assoc_expand_once" {
	rd_diff '' 'rbracket\nlbracket\nsub\n' \
		'declare -A A; shopt -s assoc_expand_once; r="]"; l="["; s='"'"'$(echo x)'"'"'; read A[$r]; read A[$l]; read A[$s]; echo "rc=$?"; declare -p A'
}

@test "words starting with -- other than --help stay bash's errors" {
	rd_diff '' 'in put\n' \
		'read --helpx; echo "rc=$?"; read --hel; echo "rc=$?"; read -n --help; echo "rc=$?"; read x --help; echo "rc=$?"; read -r -- --help; echo "rc=$?"'
}

# --- prefix assignments (bash's execute_builtin special-cases read_builtin) -------------

# bash runs its read with the command's temporary environment as a scope of
# its own: what read assigns to a variable that the command also assigns
# in front of it is dropped with that scope. The override does the same.
@test "x=pre read x: the value read is dropped with the temporary assignment" {
	rd_diff '' 'new\n' 'x=old; x=pre read x; echo "$? [$x]"; unset x; x=pre read x <<<v; echo "[${x-unset}]"'
}

@test "x=pre command read x, and x=pre read x in a function with a local x" {
	rd_diff '' 'one\ntwo\n' \
		'x=old; x=pre command read x; echo "[$x]"; f() { local x=loc; x=pre read x; echo "in [$x]"; }; f; echo "[$x]"'
}

@test "x=pre read x under set -a and in posix mode" {
	rd_diff '' 'one\ntwo\n' \
		'set -a; x=old; x=pre read x; echo "[$x] [$(printenv x)]"; set +a -o posix; y=old; y=pre read y; echo "[$y]"'
}

@test "a prefix assignment to another name: read's own name keeps the value" {
	rd_diff '' 'got it\n' 'x=old y=old; y=pre read x; echo "[$x] [$y]"'
}

@test "REPLY=pre read, x=pre read -a x, and IFS=: read restores IFS" {
	rd_diff 'x' 'r1\nnew b\na:b c\n' \
		'REPLY=old; REPLY=pre read; echo "[$REPLY]"; x=(o); x=pre read -a x; declare -p x; IFS=: read a b; printf "[%s] [%s] [%q]\\n" "$a" "$b" "$IFS"'
}

@test "x=pre read x in a subshell, a pipeline and the background" {
	rd_diff '' 'sub\n' \
		'x=old; (x=pre read x; echo "[$x]"); echo pipe | x=pre read x; x=pre read x <<<bg & wait; echo "[$x]"'
}

# --- when a binding has the variable's name ----------------------------------------------------------

@test "with a binding named line, exactly 'read line' is the socket form" {
	printf 'from stdin\n' >"$T/in"
	rd_bind line
	rd_run bound '. "$L" || exit 99; ' 'read line; echo "rc=$? [$line]"; read -r line; echo "[$line]"'
	run -0 cat "$T/bound.out"
	assert_output "SOCKET DATA
rc=0 []
[from stdin]"
	run -0 bs_field line 6
	assert_output 0
}

@test "with a binding named line, other spellings of read line stay bash's read" {
	printf 'one\ntwo three\nfour\n' >"$T/in"
	rd_bind line
	rd_run bound '. "$L" || exit 99; ' \
		'read -r line; echo "[$line]"; read line rest; echo "[$line] [$rest]"; read -- line; echo "[$line]"'
	run -0 cat "$T/bound.out"
	assert_output "[one]
[two] [three]
[four]"
	run -0 bs_field line 6
	assert_output 12
}

@test "once the binding named line is gone, 'read line' is bash's read again" {
	printf 'from stdin\n' >"$T/in"
	rd_bind line
	rd_run bound '. "$L" || exit 99; ' \
		'read line >/dev/null; echo "rc=$?"; unbind line; read line; echo "rc=$? [$line]"'
	run -0 cat "$T/bound.out"
	assert_output "rc=0
rc=0 [from stdin]"
}

@test "a binding named line in another namespace does not change 'read line'" {
	printf 'from stdin\n' >"$T/in"
	rd_bind line
	BASHSOCK_NS="${BASHSOCK_NS}_elsewhere" rd_run other '. "$L" || exit 99; ' \
		'read line; echo "rc=$? [$line]"'
	run -0 cat "$T/other.out"
	assert_output "rc=0 [from stdin]"
}
