#!/bin/sh
# Brings Temporal's two PostgreSQL databases (its store and its visibility store) to the schema of
# this admin-tools image's server version: creates them when missing, then applies every versioned
# update not applied yet. Safe at every start and after an upgrade of the images: what is done is
# not done twice. Connection settings come from SQL_PLUGIN, SQL_HOST, SQL_PORT and SQL_USER.
set -eu

: "${SQL_PASSWORD_FILE:?the file holding the database password, a Compose secret}"

# temporal-sql-tool reads the password from SQL_PASSWORD: set here from the secret, it never
# appears in the compose file nor in `docker inspect`.
SQL_PASSWORD=$(cat "$SQL_PASSWORD_FILE")
export SQL_PASSWORD

for store in temporal visibility; do
    case $store in
        temporal) database=temporal ;;
        visibility) database=temporal_visibility ;;
    esac
    echo "schema of $database"
    temporal-sql-tool --database "$database" create-database
    # Only the version tables (version 0.0): the versioned updates below make the rest.
    temporal-sql-tool --database "$database" setup-schema -v 0.0
    temporal-sql-tool --database "$database" update-schema --schema-name "postgresql/v12/$store"
done
