#!/usr/bin/env bash
# Start the web app with one Celery worker that also runs the beat scheduler,
# on the embedded defaults (SQLite, folder-based broker); stop both together.
# Their start-up lines come first; the demo logins and the address last, so
# that they are what the terminal shows. Emails go to files (EMAIL_FILE_PATH,
# sent-emails/ by default), not to the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-8000}"
BIN=.venv/bin

children=()
stop() {
  trap - EXIT INT TERM
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# -q: no banner; the worker speaks only of warnings and errors. It writes its
# pidfile once past its start-up checks (and their warnings).
pidfile=.celery/worker.pid
mkdir -p .celery
rm -f "$pidfile"
"$BIN/celery" -q -A config worker --beat --pool solo --loglevel warning \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler --pidfile "$pidfile" &
worker=$!
children+=("$worker")

"$BIN/python" manage.py runserver "0.0.0.0:$PORT" --noreload &
web=$!
children+=("$web")

# Wait until the web app answers and the worker has started (or either has
# stopped, e.g. on a port in use).
for _ in $(seq 1 150); do
  if [ -f "$pidfile" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  kill -0 "$web" 2>/dev/null && kill -0 "$worker" 2>/dev/null || break
  sleep 0.2
done

if kill -0 "$web" 2>/dev/null; then
  echo
  if [ -z "${EMAIL_BACKEND:-}" ]; then
    echo "  Emails are written to ${EMAIL_FILE_PATH:-sent-emails/}, one file each, not sent."
  fi
  echo "  Ctrl-C stops the web app and the worker; make reset-demo rebuilds the demo data."
  logins=$("$BIN/python" manage.py seed_demo --logins-only) || logins=""
  if [ -n "$logins" ]; then
    echo
    echo "$logins" | sed 's/^/  /'
  fi
  echo
  echo "  Squad Planner is running at http://localhost:$PORT/${logins:+  (log in as lead / squad-demo)}"
  echo
fi
wait -n "${children[@]}"
