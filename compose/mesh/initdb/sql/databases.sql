-- Idempotent: every statement is generated only when needed and run by \gexec.
-- CREATE DATABASE cannot run inside a DO block (or any transaction block), so
-- the usual `DO $$ ... IF NOT EXISTS ... $$` pattern does not work for it.
-- Values come from psql variables (-v), quoted with %I (names) and %L (literals).

SELECT format('CREATE ROLE %I LOGIN', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'app_user', :'app_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec

SELECT format('CREATE ROLE %I LOGIN', :'iam_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'iam_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'iam_user', :'iam_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'iam_db', :'iam_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'iam_db') \gexec
