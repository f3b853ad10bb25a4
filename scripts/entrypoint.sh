#!/usr/bin/env bash
# The Docker image's command and `make run`'s: the migrations, then the API (gunicorn) and the
# workers (manage.py runworkers) side by side, as the original service's one container ran them.
# Without the workers, jobs would queue and never run.
#
# ILIOS_ROLE picks what runs here: `all` (the default), `api` or `workers`, for hosts that scale
# the two apart. `workers` leaves the migrations to the API's host: two hosts migrating one
# PostgreSQL database at once can collide.
#
# SIGTERM or SIGINT is passed to both, each stops gracefully (running jobs get SHUTDOWN_GRACE to
# finish, the rest go back to the queue unspent), and this script exits once both have, 0 when
# both stopped cleanly. A child that exits on its own stops the other and this script fails with
# its status, so a container's restart policy starts the pair again rather than keep an API whose
# jobs never run.
set -euo pipefail
cd "$(dirname "$0")/.."

role="$(python -m ilios.role)"

if [[ "$role" != workers ]]; then
  python manage.py migrate --noinput
  python manage.py createcachetable
fi

children=()
stopping=false
stop() {
  stopping=true
  kill -TERM "${children[@]}" 2>/dev/null || true
}
trap stop TERM INT

if [[ "$role" != workers ]]; then
  gunicorn --config gunicorn.conf.py &
  children+=("$!")
fi
if [[ "$role" != api ]]; then
  python manage.py runworkers &
  children+=("$!")
fi
port="${PORT:-1337}"
cat <<MSG

  Ilios is running ($role: pids ${children[*]}).
    API         http://localhost:$port/
    Docs        http://localhost:$port/docs
    Admin       http://localhost:$port/admin/   (create a login: python manage.py createsuperuser)
    Playground  http://localhost:$port/playground
  SIGTERM or Ctrl-C stops it.

MSG

# The first child to exit, or a signal (which interrupts the wait: `first` is then empty).
first="" status=0
wait -n -p first "${children[@]}" || status=$?
first="${first:-}"
if [[ -z "$first" ]]; then
  status=0
elif [[ "$stopping" == false ]]; then
  echo "ilios: process $first exited with status $status; stopping the others" >&2
  stop
  if [[ "$status" -eq 0 ]]; then
    status=1
  fi
fi

# Every other child, each until it has exited: a second signal interrupts a wait too.
for pid in "${children[@]}"; do
  [[ "$pid" == "$first" ]] && continue
  while true; do
    code=0
    wait "$pid" || code=$?
    kill -0 "$pid" 2>/dev/null || break
  done
  if [[ "$status" -eq 0 ]]; then
    status=$code
  fi
done
exit "$status"
