# shellcheck shell=bash
# Shared by scripts/test and scripts/generate: sqlx's compile-time query checks.
#
# The bot's queries are checked against the schema when it compiles, from the offline data in
# bot/.sqlx (bot/sqlx.toml points the checks at TICKETEER_SQLX_DATABASE_URL only, so an unrelated
# DATABASE_URL never reaches the compiler). The data is written by `cargo sqlx prepare` against a
# database migrated to bot/migrations, which these functions set up on the server at DATABASE_URL.
#
# ensure_sqlx_cli TOOLS_DIR
#   Installs sqlx-cli (cargo-sqlx) into TOOLS_DIR unless the pinned version is there, and puts it
#   on PATH. Fails with a message saying how to fix what is missing.
# sqlx_prepare [--check]
#   Migrates a scratch database on the DATABASE_URL server, runs `cargo sqlx prepare` in bot/
#   (--check: fails when bot/.sqlx is stale instead of rewriting it), and drops the database.

# shellcheck source=scripts/lib/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
# shellcheck source=scripts/lib/fail.sh
source "$(dirname "${BASH_SOURCE[0]}")/fail.sh"


ensure_sqlx_cli() {
  local root="$1/sqlx-cli-$SQLX_CLI_VERSION"
  if ! "$root/bin/cargo-sqlx" sqlx --version 2>/dev/null | grep -q " $SQLX_CLI_VERSION\$"; then
    echo "installing sqlx-cli $SQLX_CLI_VERSION into $root (once; a few minutes)"
    # Its own build directory: a shared CARGO_TARGET_DIR would keep the install's artefacts.
    CARGO_TARGET_DIR="$root/build" cargo install --quiet --locked --force \
      --version "$SQLX_CLI_VERSION" --no-default-features --features postgres,rustls,sqlx-toml \
      --root "$root" sqlx-cli ||
      lib_fail "could not install sqlx-cli $SQLX_CLI_VERSION from crates.io into $root." \
        "Check network access to crates.io."
    rm -rf "$root/build"
  fi
  export PATH="$root/bin:$PATH"
  echo "sqlx-cli $SQLX_CLI_VERSION at $root/bin"
}

# _sqlx_database_url NAME: DATABASE_URL with its database replaced by NAME.
_sqlx_database_url() {
  python3 - "$DATABASE_URL" "$1" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
url = urlsplit(sys.argv[1])
print(urlunsplit(url._replace(path="/" + sys.argv[2])))
PY
}

sqlx_prepare() {
  local root url status=0
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  url="$(_sqlx_database_url "ticketeer_sqlx_$$")"
  sqlx database drop -y --database-url "$url" >/dev/null 2>&1 || true
  sqlx database create --database-url "$url" ||
    lib_fail "could not create a scratch database on the server at DATABASE_URL." \
      "The user in DATABASE_URL must be allowed to create databases."
  sqlx migrate run --source "$root/bot/migrations" --database-url "$url" >/dev/null ||
    status=$?
  if [ "$status" -eq 0 ]; then
    (cd "$root/bot" && TICKETEER_SQLX_DATABASE_URL="$url" \
      cargo sqlx prepare --database-url "$url" "$@" -- --all-targets --locked) || status=$?
  fi
  sqlx database drop -y --database-url "$url" >/dev/null 2>&1 || true
  return "$status"
}
