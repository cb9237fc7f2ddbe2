#!/bin/bash
# Run once by the influxdb:2 image after its initial setup (DOCKER_INFLUXDB_INIT_MODE=setup),
# which already created the organisation and the bucket "${RONDE_DATABASE}/raw".
# Creates the other retention-class buckets and the DBRP mappings that let InfluxQL (Grafana,
# Ronde's queries) read database "${RONDE_DATABASE}", retention policies raw/rejections/proof.
# Idempotent: safe to run again by hand: docker compose exec influxdb /docker-entrypoint-initdb.d/10-ronde-buckets.sh
# No retention here: the ingest worker (maintenance role) sets each bucket's retention rule from its
# configuration when it starts (defaults in ronde/store/records.py, docs/retention.md), so the
# durations have one source; until it first starts, nothing is written to these buckets.
set -euo pipefail

db="${RONDE_DATABASE:-ronde}"
org="${DOCKER_INFLUXDB_INIT_ORG:?}"

for rp in raw rejections proof; do
  bucket="${db}/${rp}"
  if ! influx bucket list --org "$org" --name "$bucket" --hide-headers >/dev/null 2>&1; then
    influx bucket create --org "$org" --name "$bucket" \
      --description "Ronde ${rp} (retention class, docs/retention.md)"
  fi
  id="$(influx bucket list --org "$org" --name "$bucket" --hide-headers | awk '{print $1}')"
  if ! influx v1 dbrp list --org "$org" --db "$db" --hide-headers 2>/dev/null | grep -qw "$rp"; then
    default_flag=""
    [ "$rp" = raw ] && default_flag="--default"
    influx v1 dbrp create --org "$org" --db "$db" --rp "$rp" --bucket-id "$id" $default_flag
  fi
done
influx v1 dbrp list --org "$org" --db "$db"
