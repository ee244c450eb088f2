# Sourced by scripts/bench-http and scripts/bench-compare: starts a Storyloom server for a
# wrk benchmark and signs a user in.
#   start_storyloom BIN DIR [DATABASE_URL]
# Migrates the database (SQLite in DIR when the URL is empty) and adds user "bench". It
# then serves on a free loopback port with --workers 0 (API only, no generation) and the
# access log off, and waits for /healthz. It signs in with a session cookie and creates
# one workflow to read.
# Sets SL_PID and SL_BASE, and exports STORYLOOM_COOKIE, STORYLOOM_CSRF and
# STORYLOOM_WORKFLOW for the bench/wrk scripts. The caller stops SL_PID.
start_storyloom() {
  local bin=$1 dir=$2 database=${3:-} port login
  local dbflag=()
  [ -n "$database" ] && dbflag=(--database "$database")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  SL_BASE=http://127.0.0.1:$port
  "$bin" --data-dir "$dir" "${dbflag[@]}" --log-level warn db migrate >/dev/null
  echo "benchpassword" | "$bin" --data-dir "$dir" "${dbflag[@]}" --log-level warn users add bench \
    --password-stdin >/dev/null
  STORYLOOM_ACCESS_LOG=false "$bin" --data-dir "$dir" "${dbflag[@]}" --log-level warn serve \
    --port "$port" --workers 0 >"$dir/server.log" 2>&1 &
  SL_PID=$!
  for _ in $(seq 300); do curl -fs "$SL_BASE/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "$SL_BASE/healthz" >/dev/null || {
    echo "the server did not start:" >&2
    cat "$dir/server.log" >&2
    return 1
  }
  login=$(curl -fs -c "$dir/cookies" -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"benchpassword"}' "$SL_BASE/api/v1/auth/login")
  STORYLOOM_CSRF=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
  STORYLOOM_COOKIE="sl_session=$(awk '$6=="sl_session"{print $7}' "$dir/cookies"); sl_csrf=$STORYLOOM_CSRF"
  STORYLOOM_WORKFLOW=$(curl -fs -b "$dir/cookies" -H "X-CSRF-Token: $STORYLOOM_CSRF" \
    -H 'Content-Type: application/json' -d '{"prompt":"read me"}' "$SL_BASE/api/v1/workflows" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  export STORYLOOM_CSRF STORYLOOM_COOKIE STORYLOOM_WORKFLOW
}
