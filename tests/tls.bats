#!/usr/bin/env bats
# TLS (contract v2): bind-input -T and bind-output -T against peers nobody
# here wrote (openssl s_client/s_server, socat OPENSSL, ncat --ssl), the
# failures each clean (one line, exit 1, no binding, no process), and the
# plain helper staying without libssl.

bats_require_minimum_version 1.5.0
load test_helper/common

# Certificates, made once for the file: a CA; a server certificate for
# localhost, 127.0.0.1 and ::1 signed by it; one of another CA (wrong CA);
# one for another name only (wrong host); one that expired in 2020
# (openssl ca -startdate/-enddate: openssl 3.0's x509 cannot backdate).
setup_file() {
	local d=$BATS_FILE_TMPDIR ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	cd "$d" || return 1
	tls_ca() { # NAME
		openssl req -x509 "${ec[@]}" -keyout "$1.key" -out "$1.pem" \
			-days 30 -subj "/CN=$1" 2>/dev/null
	}
	tls_leaf() { # NAME CA SAN [ca options...]
		local n=$1 ca=$2 san=$3
		shift 3
		openssl req "${ec[@]}" -keyout "$n.key" -out "$n.csr" \
			-subj "/CN=$n" -addext "subjectAltName=$san" 2>/dev/null || return 1
		if [ $# -eq 0 ]; then
			openssl x509 -req -in "$n.csr" -CA "$ca.pem" -CAkey "$ca.key" \
				-CAcreateserial -days 30 -copy_extensions copy \
				-out "$n.pem" 2>/dev/null
		else
			openssl ca -batch -config ca.cnf -cert "$ca.pem" \
				-keyfile "$ca.key" -in "$n.csr" -out "$n.pem" -notext \
				"$@" 2>/dev/null
		fi
		cat "$n.pem" "$n.key" >"$n.both"
	}
	printf '%s\n' '[ca]' 'default_ca=c' '[c]' 'database=index.txt' \
		'new_certs_dir=.' 'serial=serial' 'default_md=sha256' 'policy=p' \
		'copy_extensions=copy' 'unique_subject=no' '[p]' \
		'commonName=supplied' >ca.cnf
	: >index.txt
	echo 01 >serial
	tls_ca ca && tls_ca other &&
		tls_leaf srv ca 'DNS:localhost,IP:127.0.0.1,IP:::1' &&
		tls_leaf wrong ca 'DNS:other.example' &&
		tls_leaf expired ca 'DNS:localhost,IP:127.0.0.1' \
			-startdate 20200101000000Z -enddate 20200201000000Z &&
		tls_leaf foreign other 'DNS:localhost,IP:127.0.0.1'
}

setup() {
	bs_setup
	C=$BATS_FILE_TMPDIR
	PORT=$(bs_free_port)
}
teardown() { bs_teardown; }

# TLS servers: tls_server NAME CMD... runs CMD (a TLS listener on $PORT
# writing what it gets to $BATS_TEST_TMPDIR/NAME.out) and waits until it
# listens.
tls_server() {
	local n=$1
	shift
	bs_bg "$@" >"$BATS_TEST_TMPDIR/$n.out" 2>"$BATS_TEST_TMPDIR/$n.err" \
		</dev/null
	bs_wait_for 250 bs_port_listening "$PORT"
}

# socat's TLS sink on $PORT with CERT (default srv).
tls_socat_sink() {
	tls_server sink socat -u \
		"OPENSSL-LISTEN:$PORT,reuseaddr,cert=$C/${1:-srv}.pem,key=$C/${1:-srv}.key,verify=0" \
		STDOUT
}

file_has() {
	grep -qxF -- "$2" "$1" 2>/dev/null
}

# No binding in the namespace and no helper of it alive.
tls_nothing_left() {
	[ -z "$(bindings)" ] &&
		! pgrep -f "^bashsock-(in|out) (tls-)?(in|out) $BASHSOCK_NS " >/dev/null
}

# A failing bind-output -T: exit 1, one line naming why ($1, a regex).
tls_out_fails() {
	local why=$1
	shift
	run -1 bind-output -T -t 3 "$@"
	[ "${#lines[@]}" -eq 1 ] || {
		echo "lines: ${#lines[@]}: $output"
		return 1
	}
	[[ $output =~ $why ]] || {
		echo "want /$why/: $output"
		return 1
	}
	bs_wait_for 100 tls_nothing_left
}

@test "bind-input -T: openssl s_client, socat OPENSSL and ncat --ssl each deliver their lines; bindings says tls" {
	bind-input -T "$C/srv.both" in1 "$PORT"
	bindings | grep -qE '^in1 in .* 0 tls$'
	(echo 'from s_client' && sleep 2) | bs_bg timeout 10 openssl s_client -quiet \
		-CAfile "$C/ca.pem" -verify_return_error -connect "127.0.0.1:$PORT" \
		>/dev/null 2>&1
	run -0 read -l -w 10 in1
	assert_output 'from s_client'
	echo 'from socat' | timeout 10 socat -u - \
		"OPENSSL:localhost:$PORT,cafile=$C/ca.pem"
	run -0 read -l -w 10 in1
	assert_output 'from socat'
	echo 'from ncat' | timeout 10 ncat --ssl --ssl-verify \
		--ssl-trustfile "$C/ca.pem" --send-only localhost "$PORT"
	run -0 read -l -w 10 in1
	assert_output 'from ncat'
}

@test "bind-input -T -K: the key in a file of its own; a large stream arrives byte-exact" {
	head -c 3000000 /dev/urandom | base64 >"$BATS_TEST_TMPDIR/big"
	bind-input -1 -T "$C/srv.pem" -K "$C/srv.key" in1 "$PORT"
	timeout 20 socat -u "OPEN:$BATS_TEST_TMPDIR/big" \
		"OPENSSL:127.0.0.1:$PORT,cafile=$C/ca.pem" &
	local w=$! k rc=0
	: >"$BATS_TEST_TMPDIR/got"
	# The 1 MiB buffer fills several times: read until the stream ended.
	for ((k = 0; k < 2000 && rc != 3; k++)); do
		rc=0
		read -w 10 in1 >>"$BATS_TEST_TMPDIR/got" || rc=$?
		[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]
	done
	wait "$w"
	cmp "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/got"
}

@test "bind-input -T: a plain-TCP client is dropped before a byte counts; the binding goes on" {
	bind-input -T "$C/srv.both" in1 "$PORT"
	# nc sends a plain line; the handshake fails and the server closes.
	run timeout 10 nc -q 5 127.0.0.1 "$PORT" <<<'plain text'
	run -1 read -w 0.5 in1
	assert_output ''
	bindings | grep -qE '^in1 in .* 0 0 tls$'
	echo 'after' | timeout 10 socat -u - "OPENSSL:127.0.0.1:$PORT,cafile=$C/ca.pem"
	run -0 read -l -w 10 in1
	assert_output 'after'
}

@test "bind-input -T: a client that never handshakes holds no slot: others get in meanwhile" {
	bind-input -T "$C/srv.both" in1 "$PORT"
	exec 7<>"/dev/tcp/127.0.0.1/$PORT"
	echo 'meanwhile' | timeout 10 socat -u - "OPENSSL:127.0.0.1:$PORT,cafile=$C/ca.pem"
	run -0 read -l -w 10 in1
	assert_output 'meanwhile'
	exec 7>&-
}

@test "bind-input -T: a bad certificate or key: exit 1, one line, nothing left" {
	run -1 bind-input -T "$C/none.pem" in1 "$PORT"
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *none.pem* ]]
	run -1 bind-input -T "$C/srv.pem" -K "$C/other.key" in1 "$PORT"
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *other.key* ]]
	run -1 bind-input -T "$C/srv.pem" in1 "$PORT" # no key inside
	[ "${#lines[@]}" -eq 1 ]
	bs_wait_for 100 tls_nothing_left
	bs_port_free "$PORT"
	run -2 bind-input -K "$C/srv.key" in1 "$PORT"
	[[ $output == *'-K: only with -T'* ]]
}

@test "bind-output -T: socat OPENSSL-LISTEN gets the lines, verified by -C; bindings says connected tls" {
	tls_socat_sink
	bind-output -T -C "$C/ca.pem" -v pid o1 localhost "$PORT"
	bindings | grep -qE '^o1 out .* connected tls$'
	write o1 'line one'
	write o1 'line two'
	unbind o1
	bs_wait_for 250 file_has "$BATS_TEST_TMPDIR/sink.out" 'line two'
	run cat "$BATS_TEST_TMPDIR/sink.out"
	assert_output $'line one\nline two'
}

@test "bind-output -T: by IP address, verified against the certificate's SAN IP" {
	tls_socat_sink
	bind-output -T -C "$C/ca.pem" o1 127.0.0.1 "$PORT"
	write o1 'to the server'
	bs_wait_for 250 file_has "$BATS_TEST_TMPDIR/sink.out" 'to the server'
}

@test "bind-output -T: ncat --ssl listener receives; -r reconnects with a new handshake" {
	tls_server n1 ncat --recv-only --ssl --ssl-cert "$C/srv.pem" --ssl-key "$C/srv.key" \
		-l 127.0.0.1 "$PORT"
	local n1=$BS_LAST
	bind-output -r -T -C "$C/ca.pem" o1 localhost "$PORT"
	write o1 'first'
	bs_wait_for 250 file_has "$BATS_TEST_TMPDIR/n1.out" 'first'
	kill "$n1"
	bs_wait_gone "$n1"
	bs_wait_for 250 bs_port_free "$PORT"
	tls_server n2 socat -u \
		"OPENSSL-LISTEN:$PORT,reuseaddr,cert=$C/srv.pem,key=$C/srv.key,verify=0" STDOUT
	write o1 'second'
	bs_wait_for 500 file_has "$BATS_TEST_TMPDIR/n2.out" 'second'
	bindings | grep -qE '^o1 out .* connected tls$'
}

@test "bind-output -T: a wrong CA fails cleanly; -k connects anyway" {
	tls_server s1 openssl s_server -quiet -accept "$PORT" \
		-cert "$C/foreign.pem" -key "$C/foreign.key"
	tls_out_fails 'certificate verify failed: unable to get local issuer certificate' \
		-C "$C/ca.pem" o1 localhost "$PORT"
	bind-output -T -k o1 localhost "$PORT"
	bindings | grep -qE '^o1 out .* connected tls$'
}

@test "bind-output -T: the system store does not trust our test CA" {
	tls_socat_sink
	tls_out_fails 'certificate verify failed' o1 localhost "$PORT"
}

@test "bind-output -T: an expired certificate fails cleanly" {
	tls_socat_sink expired
	tls_out_fails 'certificate verify failed: certificate has expired' \
		-C "$C/ca.pem" o1 localhost "$PORT"
}

@test "bind-output -T: a wrong hostname or address fails cleanly" {
	tls_server s1 openssl s_server -quiet -naccept 2 -accept "$PORT" \
		-cert "$C/wrong.pem" -key "$C/wrong.key"
	tls_out_fails 'certificate verify failed: hostname mismatch' \
		-C "$C/ca.pem" o1 localhost "$PORT"
	tls_out_fails 'certificate verify failed: IP address mismatch' \
		-C "$C/ca.pem" o1 127.0.0.1 "$PORT"
}

@test "bind-output -T to a plain-TCP server fails cleanly (and a silent one within -t)" {
	tls_server s1 socat -u SYSTEM:'echo plain banner; sleep 5' \
		"TCP-LISTEN:$PORT,reuseaddr"
	tls_out_fails 'TLS handshake' o1 127.0.0.1 "$PORT"
	PORT=$(bs_free_port)
	tls_server s2 socat -u SYSTEM:'sleep 10' "TCP-LISTEN:$PORT,reuseaddr"
	tls_out_fails 'TLS handshake: timed out' o1 127.0.0.1 "$PORT"
}

@test "bind-output: -C and -k only with -T" {
	run -2 bind-output -k o1 localhost "$PORT"
	[[ $output == *'-k: only with -T'* ]]
	run -2 bind-output -C "$C/ca.pem" o1 localhost "$PORT"
	[[ $output == *'-C: only with -T'* ]]
}

# Private_Dirty of an idle helper, in kB.
tls_dirty() {
	awk '/^Private_Dirty:/ { print $2 }' "/proc/$1/smaps_rollup"
}

@test "only TLS bindings load libssl: the plain helper maps none and stays under 1 MiB" {
	local plain tls
	bind-input -v plain in1 "$PORT"
	bind-input -v tls -T "$C/srv.both" in2 "$(bs_free_port)"
	run -1 grep -c libssl "/proc/$plain/maps"
	grep -q libssl "/proc/$tls/maps"
	# The bound is the release build's: an ASan helper (make check-asan)
	# carries its shadow memory and allocator, far past it.
	[ -n "${BS_ASAN_BIN:-}" ] || [ "$(tls_dirty "$plain")" -le 1024 ]
	echo "plain $(tls_dirty "$plain") kB, tls $(tls_dirty "$tls") kB" >&3
}

# --- duplex over TLS (read -c, write -c, read on an output binding) ---------

@test "bind-input -T: curl --cacert against a bash HTTPS server (read -c, write -c, unbind -c), 10 at once" {
	local i pids=()
	bind-input -T "$C/srv.both" web "$PORT"
	for ((i = 1; i <= 10; i++)); do
		curl -sS --max-time 20 --cacert "$C/ca.pem" -o "$BATS_TEST_TMPDIR/c$i" \
			"https://localhost:$PORT/p/$i" 2>"$BATS_TEST_TMPDIR/c$i.err" &
		pids+=($!)
	done
	declare -A path=()
	local cl line req body resp n=0
	while ((n < 10)) && read -l -c cl -w 10 -v line web; do
		line=${line%$'\r'}
		if [[ -z ${path[$cl]+set} ]]; then
			req=${line#* } path[$cl]=${req%% *}
		elif [[ -z $line ]]; then
			body="you asked for ${path[$cl]}"
			printf -v resp 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
				"${#body}" "$body"
			write -n -E -c "$cl" web "$resp"
			unbind -c "$cl" web 2>/dev/null || true
			unset 'path[$cl]'
			n=$((n + 1))
		fi
	done
	for ((i = 1; i <= 10; i++)); do
		wait "${pids[i - 1]}" || fail "curl $i: $(cat "$BATS_TEST_TMPDIR/c$i.err")"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/c$i")" "you asked for /p/$i"
	done
}

@test "bind-input -T: socat OPENSSL client gets the reply write -c sends it" {
	local cl line
	bind-input -T "$C/srv.both" in1 "$PORT"
	bs_bg socat "OPENSSL:127.0.0.1:$PORT,cafile=$C/ca.pem" \
		"SYSTEM:echo question; read -r a; echo \"\$a\" >$BATS_TEST_TMPDIR/answer"
	read -l -c cl -w 10 -v line in1
	assert_equal "$line" question
	write -c "$cl" in1 'the answer'
	bs_wait_for 250 file_has "$BATS_TEST_TMPDIR/answer" 'the answer'
}

@test "bind-output -T: duplex with socat OPENSSL-LISTEN: read gets what the server says" {
	tls_server srv socat \
		"OPENSSL-LISTEN:$PORT,reuseaddr,cert=$C/srv.pem,key=$C/srv.key,verify=0" \
		"SYSTEM:echo hello shell; read -r a; echo \"\$a\" >$BATS_TEST_TMPDIR/got"
	bind-output -T -C "$C/ca.pem" o1 localhost "$PORT"
	run -0 read -l -w 10 o1
	assert_output 'hello shell'
	write o1 'hello server'
	bs_wait_for 250 file_has "$BATS_TEST_TMPDIR/got" 'hello server'
}

@test "without bashsock-helper-tls beside the object, -T fails with one line naming it; plain bindings still work" {
	local d=$BATS_TEST_TMPDIR/notls
	mkdir "$d"
	cp "$BS_ROOT/bashsock.so" "$BS_ROOT/bashsock-helper" "$d/"
	run -1 --separate-stderr bash --norc -c '
		export BASHSOCK_SO=$1
		source "$2" || exit 99
		bind-input -T "$3" in1 "$4" >/dev/null
		rc=$?
		[ -z "$(bindings)" ] || exit 98
		bind-input in2 "$4" >/dev/null || exit 97
		unbind in2
		exit $rc' _ "$d/bashsock.so" "$BS_ROOT/loader.sh" "$C/srv.both" "$PORT"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *'TLS needs bashsock-helper-tls next to bashsock.so'* ]]
}
