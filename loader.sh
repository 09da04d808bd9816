# loader.sh: source it to enable the bashsock builtins in this shell.
#   source loader.sh
# Idempotent; changes no shell option; on failure prints one line on stderr
# and returns 1 (it never exits the shell). BASHSOCK_SO, when set, names the
# shared object to load instead (make check-asan points it at its build).
# shellcheck shell=bash

__bashsock_load() {
	local so='@SO@' here
	if [ -z "${BASH_VERSINFO[0]:-}" ] || [ "${BASH_VERSINFO[0]}" -lt 5 ]; then
		echo "bashsock: bash 5.0 or newer is needed (this is ${BASH_VERSION:-not bash})" >&2
		return 1
	fi
	if [ -n "${BASHSOCK_SO:-}" ]; then
		# Another build of the object (make check-asan uses this).
		so=$BASHSOCK_SO
	elif [ "$so" = '@''SO@' ]; then
		# Not installed: the checkout this file sits in.
		here=${BASH_SOURCE[0]%/*}
		[ "$here" = "${BASH_SOURCE[0]}" ] && here=.
		so=$(cd "$here" && pwd)/bashsock.so
	fi
	if [ ! -r "$so" ]; then
		echo "bashsock: $so not found (run make)" >&2
		return 1
	fi
	# Already loaded (sourced twice): nothing to do.
	[ "$(type -t bind-input)" = builtin ] && return 0
	# The builtins this build has, read from the object's symbol names:
	# whole NUL-delimited strings only, since other strings may end the
	# same way (an ASan build keeps "bind_input_struct", whose tail
	# "input_struct" names no builtin).
	local avail
	avail=$(LC_ALL=C grep -aoP '(?<=\x00)[a-z][a-z-]*_struct(?=\x00)' "$so" |
		sed 's/_struct$//' | sort -u)
	# shellcheck disable=SC2086
	if [ -z "$avail" ] || ! enable -f "$so" $avail 2>/dev/null; then
		echo "bashsock: cannot load $so" >&2
		return 1
	fi
	return 0
}
if __bashsock_load; then
	unset -f __bashsock_load
else
	unset -f __bashsock_load
	# shellcheck disable=SC2317 # reached when run instead of sourced
	return 1 2>/dev/null || false
fi
