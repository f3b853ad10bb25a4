#!/usr/bin/env bash
# Runs the API (gunicorn) and the workers together on one machine; Ctrl-C stops both cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
port="${PORT:-1337}"

"$bin/gunicorn" --config gunicorn.conf.py &
web=$!
"$bin/python" manage.py runworkers &
workers=$!

stop() {
  kill -TERM "$web" "$workers" 2>/dev/null || true
  wait "$web" "$workers" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

cat <<MSG

  Ilios is running on the embedded default (SQLite, local files, local engine unless configured).
    API         http://localhost:$port/
    Docs        http://localhost:$port/docs
    Admin       http://localhost:$port/admin/   (create a login: .venv/bin/python manage.py createsuperuser)
    Playground  http://localhost:$port/playground
  Press Ctrl-C to stop.

MSG
wait -n "$web" "$workers" || true
stop
