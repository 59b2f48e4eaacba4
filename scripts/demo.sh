#!/usr/bin/env bash
# `make demo`: the whole product offline. Starts the sandbox (a generated Intercom
# workspace), mirrors it, runs the django-q2 cluster and serves the app on :8000.
# Ctrl-C stops everything this script started.
# Every run generates a new workspace, so every run starts from a new demo database (db.sqlite3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

# The demo is self-contained: it ignores .env and any configured database, broker or secret files, so it can never
# write sandbox data into a real mirror. DEBUG on: runserver speaks plain HTTP, and demo_login needs it.
export DJANGO_ENV_FILE=/dev/null
export DJANGO_DEBUG=true
export DJANGO_SECRET_KEY="demo-only-secret-key"
DEMO_DB="db.sqlite3"
export DATABASE_URL="sqlite:///${PWD}/${DEMO_DB}"
export REDIS_URL=""
unset DJANGO_SECRET_KEY_FILE INTERCOM_ACCESS_TOKEN_FILE INTERCOM_CLIENT_SECRET_FILE
SANDBOX_PORT="${SANDBOX_PORT:-8765}"
APP_PORT="${APP_PORT:-8000}"
export INTERCOM_ACCESS_TOKEN="${DEMO_TOKEN:-sandbox-demo-token}"
export INTERCOM_API_BASE="http://127.0.0.1:${SANDBOX_PORT}"
export INTERCOM_CLIENT_SECRET="${DEMO_WEBHOOK_SECRET:-sandbox-webhook-secret}"
export SYNC_INTERVAL_MINUTES="${SYNC_INTERVAL_MINUTES:-2}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "Demo stopped."
  exit 0
}
trap cleanup INT TERM EXIT

# A database left by an earlier run holds records this run's workspace never had: start afresh.
if [ -e "$DEMO_DB" ]; then
  echo "Removing the previous demo database ($DEMO_DB): the mirror starts empty for the new sandbox workspace."
fi
rm -f "$DEMO_DB" "$DEMO_DB-wal" "$DEMO_DB-shm"
$PY manage.py migrate --noinput -v 0

$PY manage.py intercom_sandbox --port "$SANDBOX_PORT" --seed 1 \
  --users "${DEMO_USERS:-2000}" --leads "${DEMO_LEADS:-500}" --conversations "${DEMO_CONVERSATIONS:-800}" \
  --token "$INTERCOM_ACCESS_TOKEN" --rate-limit "${DEMO_RATE_LIMIT:-500}" \
  --webhook-url "http://127.0.0.1:${APP_PORT}/webhooks/intercom/" --webhook-secret "$INTERCOM_CLIENT_SECRET" &
pids+=($!)

echo "Waiting for the sandbox on ${INTERCOM_API_BASE} ..."
for _ in $(seq 1 120); do
  if curl -fs -o /dev/null -H "Authorization: Bearer ${INTERCOM_ACCESS_TOKEN}" "${INTERCOM_API_BASE}/admins"; then break; fi
  sleep 0.5
done

$PY manage.py intercom_sync --full
$PY manage.py demo_login  # after the sync: the demo user acts as a mirrored Intercom admin
$PY manage.py intercom_schedule
$PY manage.py qcluster >qcluster.log 2>&1 &
pids+=($!)
echo "django-q2 cluster running in the background (log: qcluster.log)."
echo
echo "Intercom Mirror: http://127.0.0.1:${APP_PORT}/   (sandbox API: ${INTERCOM_API_BASE}, token ${INTERCOM_ACCESS_TOKEN})"
$PY manage.py runserver "127.0.0.1:${APP_PORT}" --noreload &
pids+=($!)
wait "${pids[-1]}"
