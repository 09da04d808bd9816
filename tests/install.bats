#!/usr/bin/env bats
# A newcomer's first hour: what each make target installs, the test
# runner's summary, the demo, make install / uninstall, the man pages
# (generated from the builtins' help), the Debian package. Everything is
# built by make already (make test runs make all first); the tests install
# into temporary directories, except one that installs the package into
# the system with dpkg and removes it again (root only).

bats_require_minimum_version 1.5.0
load test_helper/common

setup() {
	bs_setup
	T=$BATS_TEST_TMPDIR
	cd "$BS_ROOT" || return 1
}
teardown() { bs_teardown; }

COMMANDS='bind-input read bind-output write unbind bindings trigger-wait trigger-send pool master'

# --- what each target installs ------------------------------------------

@test "make test installs what the suite uses, not the hardening tools" {
	run -0 tools/deps.sh --list build test
	local p
	for p in bash-builtins gcc make libssl-dev bats bats-assert bats-support \
		socat netcat-openbsd ncat python3 iproute2 tmux man-db \
		redis-server curl; do
		assert_line "$p"
	done
	for p in clang libclang-rt-dev valgrind cppcheck clang-tidy clang-format \
		shellcheck lintian zsh iperf3; do
		refute_line "$p"
	done
	# And the Makefile's test target asks for exactly those groups.
	run -0 make -n --no-print-directory test BATS_FILES=none
	assert_line "tools/deps.sh build test"
}

@test "each hardening target installs its own tools, by their generic names" {
	local t g
	for t in lint:lint check-asan:asan check-valgrind:valgrind fuzz:fuzz \
		bench:bench deb:deb demo:demo; do
		g=${t#*:}
		run -0 make -n --no-print-directory "${t%%:*}"
		assert_line --regexp "^tools/deps.sh build( test)? $g\$"
	done
	run -0 tools/deps.sh --list lint
	assert_output "shellcheck
cppcheck
clang-tidy
clang-format"
	run -0 tools/deps.sh --list asan
	assert_line clang
	assert_line libclang-rt-dev
	run -0 tools/deps.sh --list bench
	for g in zsh iperf3 gnuplot-nox socat ncat valgrind; do assert_line "$g"; done
	run -0 tools/deps.sh --list deb
	assert_line lintian
	# No name tied to one release's LLVM (libclang-rt-14-dev, clang-14...).
	run -0 tools/deps.sh --list build demo test lint asan valgrind fuzz bench deb
	refute_line --regexp '-[0-9]+(-dev)?$'
	# Every name is a package apt knows.
	for g in "${lines[@]}"; do
		apt-cache show --no-all-versions "$g" >/dev/null 2>&1 ||
			fail "apt-cache does not know $g"
	done
}

@test "as another user deps.sh names the missing packages in one line and fails" {
	# A dpkg-query that finds nothing installed, where that user can run it.
	local bin
	bin=$(mktemp -d /tmp/bashsock-deps.XXXXXX)
	printf '#!/bin/sh\nexit 1\n' >"$bin/dpkg-query"
	cp tools/deps.sh "$bin/deps.sh"
	chmod 0755 "$bin" "$bin/dpkg-query" "$bin/deps.sh"
	if [ "$(id -u)" -eq 0 ]; then
		run -1 --separate-stderr runuser -u nobody -- env PATH="$bin:/usr/bin:/bin" \
			"$bin/deps.sh" build lint
	else
		run -1 --separate-stderr env PATH="$bin:/usr/bin:/bin" "$bin/deps.sh" build lint
	fi
	rm -rf "$bin"
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"apt-get install bash-builtins pkg-config gcc make binutils libssl-dev shellcheck cppcheck clang-tidy clang-format" ]]
}

# --- the test runner -------------------------------------------------------

# runner FILE [VAR=VALUE...]: tools/run-tests.sh on one bats file, in a
# clean environment (not this bats run's), its logs in $T/run; 120 s at most.
runner() {
	timeout 120 env -i PATH=/usr/bin:/bin HOME="$T" BS_RUN_DIR="$T/run" \
		BATS_FILES="$1" "${@:2}" "$BS_ROOT/tools/run-tests.sh"
}

# mkbats FILE 'NAME|BODY'...: a bats file of one-line tests (not written as
# a here-document: bats would take its lines for tests of this file).
mkbats() {
	local f=$1 t
	shift
	for t in "$@"; do
		printf '@test "%s" { %s; }\n' "${t%%|*}" "${t#*|}"
	done >"$f"
}

@test "the runner counts skipped tests as skipped, not passed" {
	mkbats "$T/s.bats" 'passes|true' 'skips with a reason|skip "not here"' 'skips|skip'
	run -0 runner "$T/s.bats"
	assert_line --index $((${#lines[@]} - 1)) "1 passed, 0 failed, 2 skipped"
	mkbats "$T/f.bats" 'passes|true' 'fails|false' 'skips|skip'
	run -1 runner "$T/f.bats"
	assert_line --index $((${#lines[@]} - 1)) "1 passed, 1 failed, 1 skipped"
	# All skipped is no success.
	mkbats "$T/a.bats" 'skips|skip'
	run -1 runner "$T/a.bats"
	assert_line --index $((${#lines[@]} - 1)) "0 passed, 0 failed, 1 skipped"
}

@test "a hung test fails after BATS_TEST_TIMEOUT instead of holding the run" {
	# The hang is the thing tested: a test that never returns by itself.
	mkbats "$T/h.bats" 'hangs|sleep 600' 'passes|true'
	run -1 runner "$T/h.bats" BATS_TEST_TIMEOUT=2
	assert_line --index $((${#lines[@]} - 1)) "1 passed, 1 failed, 0 skipped"
	# The runner sets a limit when the caller does not.
	run -0 grep -E '^export BATS_TEST_TIMEOUT=\$\{BATS_TEST_TIMEOUT:-[0-9]+\}$' tools/run-tests.sh
}

@test "CI reads the runner's summary with its skip count" {
	# .ci/run's parser, on the line run-tests.sh prints.
	local parse
	parse=$(sed -n '/^read -r passed/,/tail -1 | tr -d ,)/p' .ci/run)
	[ -n "$parse" ]
	printf 'ok 1 x\n12 passed, 3 failed, 4 skipped\n' >"$T/ci.log"
	run -0 bash -c "${parse//build\/ci-test.log/$T/ci.log}"'
		echo "$passed $failed ${skipped:-none}"'
	assert_output "12 3 4"
	# A summary without a skip count (an older runner) still parses.
	printf '12 passed, 3 failed\n' >"$T/ci.log"
	run -0 bash -c "${parse//build\/ci-test.log/$T/ci.log}"'
		echo "$passed $failed ${skipped:-none}"'
	assert_output "12 3 none"
	# Its own last line keeps the form CI tools read.
	run -0 grep -cF 'echo "$((passed + ok)) passed, $((failed + bad)) failed, $skipped skipped"' .ci/run
}

# --- the demo ------------------------------------------------------------

@test "the demo runs the seed's four examples on loopback" {
	run -0 timeout 120 tools/demo.sh
	assert_line --partial "== 1. Listen: bind-input input1"
	assert_line --regexp '^loop saw END after [0-9]+ polls$'
	assert_line --regexp '^read input1 -> third\\ message$'
	assert_line --partial "== 2. Connect: bind-output output1 127.0.0.1"
	assert_line '   with^Iescapable^[[1mcharaters^[[0m$'
	assert_line --partial "== 3. Network trigger: trigger-wait somekey123"
	assert_line '   trigger-wait returned 0: now the script would go on (read input1...)'
	assert_line --partial 'trigger-send: 127.0.0.1 port '
	assert_line --partial ': key refused'
	assert_line --partial "== 4. Daemon pool: pool k12"
	assert_line '   read dem1 -> dem1 says 3'
	assert_line '   read dem2 -> dem2 says 3'
	assert_line '   dem2 ended (read returned 3)'
	assert_line 'pool returned 0 (every daemon read to its end)'
}

# --- make install / uninstall -------------------------------------------

@test "make install puts stripped copies beside bash's loadables; the tree keeps its debug build" {
	local d=$T/root
	run -0 make --no-print-directory -s install DESTDIR="$d" PREFIX=/usr
	[ -f "$d/usr/lib/bash/bashsock.so" ] && [ -x "$d/usr/lib/bash/bashsock-helper" ]
	[ -f "$d/usr/share/bashsock/loader.sh" ]
	[ -f "$d/usr/share/man/man1/bashsock.1" ] && [ -f "$d/usr/share/man/man7/bashsock.7" ]
	[ "$(stat -c %a "$d/usr/lib/bash/bashsock.so")" = 644 ]
	# Stripped: no symbol table, no debug info; the build's copies keep both.
	local f
	for f in "$d/usr/lib/bash/bashsock.so" "$d/usr/lib/bash/bashsock-helper"; do
		run -0 readelf -S --wide "$f"
		refute_output --partial .symtab
		refute_output --partial .debug_info
	done
	run -0 readelf -S --wide bashsock.so
	assert_output --partial .symtab
	assert_output --partial .debug_info
	# The loader names the installed object.
	run -0 grep -c "local so='/usr/lib/bash/bashsock.so'" "$d/usr/share/bashsock/loader.sh"
}

@test "the installed object and helper work: a binding carries a line" {
	local d=$T/root port
	make --no-print-directory -s install DESTDIR="$d" PREFIX=/usr >/dev/null
	port=$(bs_free_port)
	run -0 --separate-stderr env BASHSOCK_SO="$d/usr/lib/bash/bashsock.so" \
		BASHSOCK_NS="$BASHSOCK_NS" bash --norc -c '
		PATH= . "$1" || exit 9
		bind-input -v pid inst "$2" || exit 8
		printf "via the stripped build\n" >/dev/tcp/127.0.0.1/"$2"
		read -l -w 5 -v got inst; rc=$?
		exe=$(readlink "/proc/$pid/exe")
		unbind inst
		echo "$rc $got"; echo "$exe"' bash "$d/usr/share/bashsock/loader.sh" "$port"
	assert_output "0 via the stripped build
$d/usr/lib/bash/bashsock-helper"
	assert_equal "$stderr" ""
}

@test "make uninstall removes everything make install put there" {
	local d=$T/root
	make --no-print-directory -s install DESTDIR="$d" PREFIX=/usr >/dev/null
	run -0 find "$d" -type f
	[ "${#lines[@]}" -eq 6 ]
	run -0 make --no-print-directory -s uninstall DESTDIR="$d" PREFIX=/usr
	run -0 find "$d" -type f
	assert_output ""
	[ ! -e "$d/usr/share/bashsock" ]
}

@test "the helper program does not pull libcrypto; the object does" {
	run -0 ldd bashsock-helper
	refute_output --partial libcrypto
	run -0 ldd bashsock.so
	assert_output --partial libcrypto
	# libssl only in the TLS helper (README: TLS, the memory decision).
	refute_output --partial libssl
	run -0 ldd bashsock-helper
	refute_output --partial libssl
	run -0 ldd bashsock-helper-tls
	assert_output --partial libssl
	# lib/ is linked as an archive, once built.
	[ -f build/libbashsock.a ]
	run -0 ar t build/libbashsock.a
	assert_line auth.o
}

@test "the hyphenated builtins are exported by their own names, and only by them" {
	run -0 nm -D --defined-only bashsock.so
	local b
	for b in $COMMANDS; do
		assert_line --regexp " D ${b}_struct\$"
	done
	refute_line --regexp ' (bind_input|bind_output|trigger_wait|trigger_send)_struct$'
	# Each loads by itself.
	for b in bind-input bind-output trigger-wait trigger-send; do
		run -0 bash --norc -c 'enable -f "$1" "$2" && type -t "$2"' _ "$PWD/bashsock.so" "$b"
		assert_output builtin
	done
}

# --- man pages -----------------------------------------------------------

@test "the installed bashsock(1) has each command's help text, verbatim" {
	local d=$T/root b
	make --no-print-directory -s install DESTDIR="$d" PREFIX=/usr >/dev/null
	# The page as man shows it, blanks squeezed.
	LC_ALL=C MANWIDTH=250 man -P cat -l "$d/usr/share/man/man1/bashsock.1" \
		2>"$T/man.err" | sed 's/^ *//; s/ *$//' >"$T/man.txt"
	[ ! -s "$T/man.err" ] || fail "man: $(cat "$T/man.err")"
	for b in $COMMANDS; do
		# help NAME: the synopsis line, then the text; every line of it
		# must be in the page, in order, in NAME's section.
		LC_ALL=C bash --norc -c 'enable -f "$1" "$2" && help "$2"' _ \
			"$PWD/bashsock.so" "$b" | tail -n +2 | sed 's/^ *//; s/ *$//' |
			grep -v '^$' >"$T/help.txt"
		[ -s "$T/help.txt" ]
		sed -n "/^$b\$/,\$p" "$T/man.txt" >"$T/section.txt"
		/usr/bin/python3 - "$T/help.txt" "$T/section.txt" "$b" <<-'EOF'
			import sys
			# Tabs and runs of blanks are one blank once formatted.
			want = [" ".join(l.split()) for l in open(sys.argv[1]) if l.strip()]
			have = [" ".join(l.split()) for l in open(sys.argv[2]) if l.strip()]
			i = 0
			for w in want:
			    while i < len(have) and have[i] != w:
			        i += 1
			    if i == len(have):
			        sys.exit("%s: not in the page, in order: %r" % (sys.argv[3], w))
			    i += 1
		EOF
		# And the synopsis, from help -s.
		LC_ALL=C bash --norc -c 'enable -f "$1" "$2" && help -s "$2"' _ \
			"$PWD/bashsock.so" "$b" >"$T/syn.txt"
		grep -qxF "$(sed "s/^$b: //" "$T/syn.txt")" "$T/section.txt" ||
			fail "$b: synopsis not in the page"
	done
	# The installed page names the installed loader.
	grep -qx 'source /usr/share/bashsock/loader.sh' "$T/man.txt"
}

@test "the man pages format without a warning and bashsock(7) has its sections" {
	local d=$T/root s
	make --no-print-directory -s install DESTDIR="$d" PREFIX=/usr >/dev/null
	for s in 1 7; do
		run -0 --separate-stderr groff -man -ww -z "$d/usr/share/man/man$s/bashsock.$s"
		assert_equal "$stderr" ""
	done
	run -0 bash -c 'LC_ALL=C MANWIDTH=80 man -P cat -l "$1"' _ "$d/usr/share/man/man7/bashsock.7"
	for s in NAME DESCRIPTION SECURITY ENVIRONMENT FILES 'SEE ALSO'; do
		assert_line "$s"
	done
	assert_line --partial 'BASHSOCK_NS'
}

# --- the Debian package ----------------------------------------------------

# deb: builds the package into $T/deb from the tree's build (make deb
# builds its own and runs lintian) and sets DEB to its path.
deb() {
	DEB=$(tools/mkdeb.sh 0.1.0 "$T/deb") || fail "mkdeb failed"
	[ -f "$DEB" ]
}

@test "the package's control data and contents" {
	deb
	run -0 dpkg-deb -f "$DEB" Package Version Architecture Section
	assert_output "Package: bashsock
Version: 0.1.0-1
Architecture: $(dpkg --print-architecture)
Section: shells"
	run -0 dpkg-deb -f "$DEB" Depends
	assert_output --regexp '^bash \(>= 5\.[0-9]+\), bash \(<< 5\.[0-9]+\), libc6 \(>= [0-9.]+\), libssl3 \(>= [0-9.]+\)$'
	run -0 dpkg-deb -c "$DEB"
	local f
	for f in ./usr/lib/bash/bashsock.so ./usr/lib/bash/bashsock-helper \
		./usr/lib/bash/bashsock-helper-tls ./usr/share/bashsock/loader.sh ./usr/share/man/man1/bashsock.1.gz \
		./usr/share/man/man7/bashsock.7.gz ./usr/share/doc/bashsock/copyright \
		./usr/share/doc/bashsock/changelog.Debian.gz; do
		assert_line --regexp " $f\$"
	done
	# Owned by root, whoever built it.
	run -1 bash -c 'dpkg-deb -c "$1" | grep -v " root/root "' _ "$DEB"
}

@test "the package unpacks to a working tree: loader, object, helper, checksums" {
	deb
	local x=$T/x port
	dpkg -x "$DEB" "$x"
	dpkg-deb -e "$DEB" "$x/DEBIAN"
	run -0 bash -c 'cd "$1" && md5sum --quiet -c DEBIAN/md5sums' _ "$x"
	run -0 grep -c "local so='/usr/lib/bash/bashsock.so'" "$x/usr/share/bashsock/loader.sh"
	run -0 bash -c 'zcat "$1" | head -1' _ "$x/usr/share/doc/bashsock/changelog.Debian.gz"
	assert_output --regexp '^bashsock \(0\.1\.0-1\) unstable; urgency=medium$'
	port=$(bs_free_port)
	run -0 --separate-stderr env BASHSOCK_SO="$x/usr/lib/bash/bashsock.so" \
		BASHSOCK_NS="$BASHSOCK_NS" bash --norc -c '
		PATH= . "$1" || exit 9
		bind-input -v pid pkg "$2" || exit 8
		printf "from the package\n" >/dev/tcp/127.0.0.1/"$2"
		read -l -w 5 -v got pkg; rc=$?
		exe=$(readlink "/proc/$pid/exe")
		unbind pkg; echo "$rc $got"; echo "$exe"' bash "$x/usr/share/bashsock/loader.sh" "$port"
	assert_output "0 from the package
$x/usr/lib/bash/bashsock-helper"
}

# dpkg_locked CMD...: CMD, retried (60 s at most) while another dpkg or apt
# holds the dpkg lock.
dpkg_locked() {
	local i
	for ((i = 0; i < 120; i++)); do
		"$@" >/dev/null 2>"$T/dpkg.err" && return 0
		grep -q 'lock' "$T/dpkg.err" || break
		sleep 0.5
	done
	cat "$T/dpkg.err" >&2
	return 1
}

@test "dpkg -i installs the package: bare-name enable -f works; dpkg -r removes it all" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to install a package"
	if dpkg-query -W -f='${Status}' bashsock 2>/dev/null | grep -q installed; then
		skip "a bashsock package is already installed on this machine"
	fi
	deb
	dpkg_locked dpkg -i "$DEB"
	# bash's default BASH_LOADABLES_PATH has /usr/local/lib/bash first: a
	# make install there would win; /usr/lib/bash is what the package is.
	local lp=
	[ -e /usr/local/lib/bash/bashsock.so ] && lp=/usr/lib/bash
	# From /: the default path ends with ".", and the checkout has one too.
	run --separate-stderr env -i ${lp:+BASH_LOADABLES_PATH=$lp} /bin/bash --norc -c '
		cd / || exit 8
		enable -f bashsock.so bind-input bindings || exit 9
		type -t bind-input
		maps=$(</proc/$$/maps)
		[[ $maps == */usr/lib/bash/bashsock.so* ]] && echo "mapped from /usr/lib/bash"
		. /usr/share/bashsock/loader.sh && type -t trigger-wait'
	local rc=$status out=$output
	dpkg_locked dpkg -r bashsock
	[ "$rc" -eq 0 ] || fail "bash said: $stderr"
	assert_equal "$out" "builtin
mapped from /usr/lib/bash
builtin"
	[ ! -e /usr/lib/bash/bashsock.so ] && [ ! -e /usr/lib/bash/bashsock-helper ]
	[ ! -e /usr/share/bashsock ] && [ ! -e /usr/share/man/man1/bashsock.1.gz ]
	run -1 dpkg-query -W -f='${Status}' bashsock
	[[ $output != *"ok installed"* ]]
}
