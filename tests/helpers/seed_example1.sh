#/bin/bash
# 1. Create the listening socket + store PID in /tmp
bind-input input1 9999 > /tmp/get_bg_pid;
# 2. Store PID in a variable
bound_pid="`cat /tmp/get_bg_pid`";
# 3. Now the socket is listening, you can read every 1 sec
while true; do
# 3.1. Read received data from port 9999
message="`read input1`";
# 3.2. Ignore empty messages
[[ -z "$message" ]] && sleep 1 && continue;
# 3.3. Exit while() loop if received "END"
[[ "$message" = "END" ]] && break;
# 3.4. Wait 1 sec
sleep 1;
done;
# 4. Kill 'bind-input' with signal SIGINT, SIGHUP or SIGTERM
kill -INT $bound_pid;
