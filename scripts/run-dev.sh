#!/usr/bin/env bash
# Start the web app with one Celery worker that also runs the beat scheduler,
# on the embedded defaults (SQLite, folder-based broker); stop both together.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
BIN=.venv/bin

children=()
stop() {
  trap - EXIT INT TERM
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

"$BIN/celery" -A config worker --beat --pool solo --loglevel warning \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler &
children+=($!)

"$BIN/python" manage.py runserver "0.0.0.0:$PORT" --noreload &
children+=($!)

cat <<MSG

  Squad Planner is running at http://localhost:$PORT/
  Log in as the demo tech lead:  lead / squad-demo
  (more demo logins above; Ctrl-C stops the web app and the worker)

MSG
wait -n "${children[@]}"
