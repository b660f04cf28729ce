#!/usr/bin/env bash
# Runs mod_passenger_api for real: a throwaway httpd on 127.0.0.1 with Debian's mod_passenger
# serving a small Rack app, and this module at /passenger-api.
#   demo/demo.sh start | stop
set -euo pipefail

DEMO_DIR=${DEMO_DIR:-/tmp/passenger-api-demo}
PORT=${DEMO_PORT:-8642}
TOP=$(cd "$(dirname "$0")/.." && pwd)
MODULE=$TOP/.libs/mod_passenger_api.so
MODS=/usr/lib/apache2/modules

stop() {
    local pidfile=$DEMO_DIR/run/httpd.pid pid
    [ -f "$pidfile" ] || { echo "demo: not running"; return 0; }
    pid=$(cat "$pidfile")
    /usr/sbin/apache2 -f "$DEMO_DIR/httpd.conf" -k stop || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "demo: stopped (pid $pid)"
}

write_conf() {
    local user_lines=""
    if [ "$(id -u)" = 0 ]; then user_lines=$'User www-data\nGroup www-data'; fi
    cat > "$DEMO_DIR/httpd.conf" <<CONF
ServerRoot "$DEMO_DIR"
ServerName localhost
Listen 127.0.0.1:$PORT
PidFile "$DEMO_DIR/run/httpd.pid"
DefaultRuntimeDir "$DEMO_DIR/run"
ErrorLog "$DEMO_DIR/logs/error_log"
LogLevel warn
$user_lines
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_host_module $MODS/mod_authz_host.so
LoadModule status_module $MODS/mod_status.so
LoadModule passenger_module $MODS/mod_passenger.so
LoadModule passenger_api_module $MODULE

PassengerRoot /usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini
PassengerDefaultRuby /usr/bin/ruby
PassengerInstanceRegistryDir $DEMO_DIR/registry
PassengerDisableSecurityUpdateCheck on
PassengerDisableAnonymousTelemetry on
PassengerMinInstances 2
PassengerPreStart http://127.0.0.1:$PORT/

DocumentRoot "$DEMO_DIR/app/public"
<Directory "$DEMO_DIR/app/public">
    Require all granted
</Directory>

<Location "/passenger-api">
    SetHandler passenger-api
    PassengerApiRegistryDir $DEMO_DIR/registry
    Require local
</Location>

# Apache's status page, with the module's section.
<Location "/server-status">
    SetHandler server-status
    Require local
</Location>
CONF
}

start() {
    [ -f "$MODULE" ] || { echo "demo: build the module first (make -f Makefile.apxs)"; exit 1; }
    stop >/dev/null
    rm -rf "$DEMO_DIR"
    mkdir -p "$DEMO_DIR"/{run,logs,registry,app/public}
    chmod 755 "$DEMO_DIR" "$DEMO_DIR/registry"
    cat > "$DEMO_DIR/app/config.ru" <<'RUBY'
# A tiny Rack app: each process says who it is.
run lambda { |env| [200, { "content-type" => "text/plain" }, ["Hello from pid #{Process.pid}\n"]] }
RUBY
    [ "$(id -u)" = 0 ] && chown -R www-data: "$DEMO_DIR/app"
    write_conf
    /usr/sbin/apache2 -t -f "$DEMO_DIR/httpd.conf" >/dev/null
    /usr/sbin/apache2 -f "$DEMO_DIR/httpd.conf" -k start
    # Passenger starts its core and spawns the app's processes in the background.
    for _ in $(seq 1 150); do
        if curl -sf "http://127.0.0.1:$PORT/" >/dev/null 2>&1 &&
           [ "$(curl -s "http://127.0.0.1:$PORT/passenger-api/pool.txt" | grep -o 'PID:' | wc -l)" -ge 2 ]; then
            break
        fi
        sleep 0.2
    done
    local base=http://127.0.0.1:$PORT/passenger-api
    cat <<MSG
demo: httpd with Passenger and mod_passenger_api is running (pid $(cat "$DEMO_DIR/run/httpd.pid")).
      app:       http://127.0.0.1:$PORT/
      dashboard: $base/   (open it in a browser)
      logs:      $DEMO_DIR/logs/error_log

Try:
  curl -s $base/ping.json | jq .
  curl -s $base/instances.json | jq .
  curl -s $base/pool.txt | jq -r '.[].body'
  curl -s $base/pool.xml | jq -r '.[0].body'
  curl -s $base/server.json | jq -r '.[0].body | fromjson | .threads'
  curl -s $base/instances/\$(curl -s $base/instances.json | jq -r '.[0].name')/pool.txt
  curl -s $base/processes.json | jq '.[].pool.app_groups[].processes[] | {pid, processed, rss}'
  curl -s $base/metrics | grep -v '^#'
  curl -s $base/health.json | jq .
  curl -s $base/processes/\$(curl -s $base/processes.json | jq '.[0].pool.app_groups[0].processes[0].pid')/
  curl -s -X POST $base/ping.json          # read-only: 403
  curl -s 'http://127.0.0.1:$PORT/server-status?auto' | grep ^PassengerApi

Stop it with: make -f Makefile.apxs demo-stop
MSG
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
