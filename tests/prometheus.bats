#!/usr/bin/env bats
# A real Prometheus (Debian's prometheus and promtool) reading pa:
# pa-ctl -p stat passes promtool's checks; pa-ctl -H answers HTTP as a
# scraper expects; a Prometheus server on 127.0.0.1 scrapes a pool the
# way README.md says (a one-handler pa service running pa-ctl -H stat)
# and answers a query with the pool's own pa_accepted_total; the alerting
# rules of contrib/ pass promtool check rules and their unit tests.

# shellcheck disable=SC2154 # bats' run sets output and lines
bats_require_minimum_version 1.5.0
load helper
load ctlpool

T=$BATS_TEST_TMPDIR
top=$BATS_TEST_DIRNAME/..

# http_to PORT REQUEST: send REQUEST raw, print the response.
http_to() {
	tcp_get 127.0.0.1 "$1" "$2"
}

# metrics_service NAME POOLCTL: a one-handler pa service on 127.0.0.1:0
# answering each connection with pa-ctl -c POOLCTL -H stat; sets MPORT.
metrics_service() {
	pa_start "$1" pa-listen -1 127.0.0.1:0 pa-spawn -c "$T/$1.ctl" -n 1 \
	    pa-handler pa-ctl -c "$2" -H stat
	MPORT=$(wait_port "$1")
}

# shellcheck disable=SC2153 # PORT is set by pool (ctlpool.bash)
served() {
	[ "$(tcp_get 127.0.0.1 "$PORT")" = served ]
}

@test "pa-ctl -p stat passes promtool check metrics, and promtool does check" {
	pool P -n 2 pa-handler echo served
	served
	served
	run -0 --separate-stderr sh -c "pa-ctl -c '$CTL' -p stat | promtool check metrics"
	[ -z "$stderr" ] || { echo "$stderr"; false; }
	# The same check finds what the format forbids: it is not a no-op.
	run ! sh -c "printf '# HELP pa_x x\n# TYPE pa_x counter\npa_x 1\n' |
	    promtool check metrics"
}

@test "pa-ctl -H: GET /metrics gets the Prometheus text; other requests get 4xx, an unreachable pool 503" {
	pool P -n 2 pa-handler echo served
	served
	metrics_service M "$CTL"
	run -0 http_to "$MPORT" $'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n'
	[ "${lines[0]}" = $'HTTP/1.0 200 OK\r' ]
	grep -qx $'Content-Type: text/plain; version=0.0.4; charset=utf-8\r' <<<"$output"
	grep -qx 'pa_accepted_total 1' <<<"$output"
	# The body is exactly what pa-ctl -p stat prints (uptime aside).
	diff <(sed '1,/^\r$/d' <<<"$output" | grep -v '^pa_uptime_seconds') \
	    <(pa-ctl -c "$CTL" -p stat | grep -v '^pa_uptime_seconds')
	run -0 http_to "$MPORT" $'HEAD /metrics HTTP/1.0\r\n\r\n'
	[ "${lines[0]}" = $'HTTP/1.0 200 OK\r' ]
	[[ "$output" != *pa_accepted_total* ]]
	run -0 http_to "$MPORT" $'GET /metrics?x=1 HTTP/1.0\n\n'
	grep -qx 'pa_accepted_total 1' <<<"$output"
	run -0 http_to "$MPORT" $'GET / HTTP/1.1\r\n\r\n'
	[ "${lines[0]}" = $'HTTP/1.0 404 Not Found\r' ]
	run -0 http_to "$MPORT" $'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n'
	[ "${lines[0]}" = $'HTTP/1.0 405 Method Not Allowed\r' ]
	grep -qx $'Allow: GET, HEAD\r' <<<"$output"
	run -0 http_to "$MPORT" $'GET /metrics HTTP/2.0\r\n\r\n'
	[ "${lines[0]}" = $'HTTP/1.0 505 HTTP Version Not Supported\r' ]
	run -0 http_to "$MPORT" $'\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03'
	[ "${lines[0]}" = $'HTTP/1.0 400 Bad Request\r' ]
	run -0 http_to "$MPORT" "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1"
	[ "${lines[0]}" = $'HTTP/1.0 431 Request Header Fields Too Large\r' ]
	# A client that says nothing is answered within pa-ctl's 5 s.
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 8 bash -c 'exec 5<>"/dev/tcp/127.0.0.1/$1"; cat <&5' _ "$MPORT"
	[ "${lines[0]}" = $'HTTP/1.0 408 Request Timeout\r' ]
	# Nothing a client sent went to the log.
	[ ! -s "$T/M.err" ] || { cat "$T/M.err"; false; }
	# The pool gone, a scrape gets 503 and the reason goes to the log.
	stop_pid "$POOL"
	run -0 http_to "$MPORT" $'GET /metrics HTTP/1.1\r\n\r\n'
	[ "${lines[0]}" = $'HTTP/1.0 503 Service Unavailable\r' ]
	wait_for 5 grep -q "pa-ctl: connect $CTL" "$T/M.err"
	# The metrics service itself never counted as the pool's traffic.
	run -0 pa-ctl -c "$T/M.ctl" stat
	grep -qx 'handlers: 1' <<<"$output"
}

# prom_start CONFIG: a Prometheus server on 127.0.0.1 with CONFIG and its
# own storage, on a port free a moment ago (retried if taken meanwhile);
# waits for /-/ready; sets PROM (host:port).
prom_start() {
	local try port
	for try in 1 2 3; do
		port=$(free_port)
		pa_start "prom$try" prometheus --config.file="$1" \
		    --storage.tsdb.path="$T/prom$try.data" \
		    --web.listen-address="127.0.0.1:$port" \
		    --log.level=warn
		PROM=127.0.0.1:$port
		if wait_for 30 prom_ready "$PA_PID"; then
			return 0
		fi
		stop_pid "$PA_PID"
	done
	cat "$T"/prom*.err >&2
	return 1
}

# prom_ready PID: the server answers /-/ready (or PID is gone: fail fast).
prom_ready() {
	alive "$1" || return 2
	curl -fs --max-time 2 "http://$PROM/-/ready" >/dev/null
}

# prom_value QUERY: the value of the one sample QUERY returns.
prom_value() {
	curl -fs --max-time 5 --get --data-urlencode "query=$1" \
	    "http://$PROM/api/v1/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
res = r["data"]["result"]
print(res[0]["value"][1] if len(res) == 1 else "none")'
}

# prom_has QUERY VALUE: QUERY answers VALUE now.
prom_has() {
	[ "$(prom_value "$1")" = "$2" ]
}

@test "a real Prometheus scrapes a pool through pa-ctl -H and its query answers pa-ctl stat's accepted" {
	pool P -n 2 pa-handler echo served
	metrics_service M "$CTL"
	cat >"$T/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	  evaluation_interval: 1s
	rule_files:
	  - $top/contrib/pa-alerts.yml
	scrape_configs:
	  - job_name: pa
	    static_configs:
	      - targets: ['127.0.0.1:$MPORT']
	EOF
	run -0 promtool check config "$T/prometheus.yml"
	prom_start "$T/prometheus.yml"
	# The first scrapes: the target is up and the pool idle.
	wait_for 20 prom_has 'up{job="pa"}' 1
	wait_for 10 prom_has 'pa_accepted_total{job="pa"}' 0
	local i
	for ((i = 0; i < 25; i++)); do
		served
	done
	# Within a scrape interval or two, Prometheus has what pa-ctl says.
	want=$(fig accepted)
	[ "$want" -eq 25 ]
	wait_for 10 prom_has 'pa_accepted_total{job="pa"}' "$want"
	wait_for 10 prom_has 'pa_handlers{job="pa"}' 2
	prom_has 'pa_info{job="pa",address="127.0.0.1:'"$PORT"'"}' 1
	# The rules were loaded and are healthy.
	run -0 curl -fs --max-time 5 "http://$PROM/api/v1/rules"
	python3 -c '
import json, sys
g = json.loads(sys.argv[1])["data"]["groups"]
rules = [r for x in g for r in x["rules"]]
assert sorted(r["name"] for r in rules) == ["PaDown", "PaHandlersMissing", "PaPoolTooSmall", "PaQueueGrowing"], rules
assert all(r["health"] == "ok" for r in rules), rules
' "$output"
	# The pool gone, the scrape gets 503: Prometheus marks the target down.
	stop_pid "$POOL"
	wait_for 10 prom_has 'up{job="pa"}' 0
}

@test "the alerting rules of contrib/ pass promtool check rules and fire as their unit tests say" {
	run -0 promtool check rules "$top/contrib/pa-alerts.yml"
	[[ "$output" == *"SUCCESS: 4 rules found"* ]]
	cd "$top/tests/prometheus"
	run -0 promtool test rules pa-alerts.test.yml
	[[ "$output" == *SUCCESS* ]]
}
