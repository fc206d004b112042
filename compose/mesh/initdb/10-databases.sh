#!/bin/sh
# Roles and databases for the app pool and the IAM pool, created if missing and
# passwords kept in step with env/.env. Safe to run any number of times:
# postgres runs it on the first start of an empty volume
# (/docker-entrypoint-initdb.d), and `inv mesh.init-data` runs it again with
# `docker compose exec -T postgres sh /docker-entrypoint-initdb.d/10-databases.sh`.
# Connects over the local socket as $POSTGRES_USER (trusted inside the container).
set -eu
psql -v ON_ERROR_STOP=1 -X --username "$POSTGRES_USER" --dbname postgres \
    -v app_db="$APP_DB_NAME" -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" \
    -v iam_db="$IAM_DB_NAME" -v iam_user="$IAM_DB_USER" -v iam_password="$IAM_DB_PASSWORD" \
    -f /docker-entrypoint-initdb.d/sql/databases.sql
