# shellcheck shell=bash
# lib_fail MESSAGE [HINT...]: stops the script with MESSAGE and a line per HINT, in the format of
# scripts/test's own errors. Sourced by the other files of scripts/lib.
lib_fail() {
  printf '\nerror: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}
