#!/usr/bin/env bash
# Fails when a file of src/ or include/ includes a header of a folder on its own floor or above,
# by the rules of cmake/floors.txt. Quoted includes only: <...> are other projects' headers.
# A header is named by its path under include/ ("lab_orders/orders/x.h"), by its path under src/
# for a folder's private headers ("store/sql_session.h"), or bare for one beside the file.
# Usage: scripts/check-floors.sh [ROOT]  (ROOT: the tree to check, the repository by default).
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
rules="$root/cmake/floors.txt"
[ -f "$rules" ] || { echo "check-floors: no $rules" >&2; exit 2; }

declare -A floor_of
while read -r level folders; do
  case "$level" in '' | '#'*) continue ;; esac
  for folder in $folders; do floor_of[$folder]=$level; done
done <"$rules"

violations=0
report() {
  echo "check-floors: $1" >&2
  violations=$((violations + 1))
}

cd "$root"
while IFS= read -r file; do
  case "$file" in
    include/lab_orders/*) rest=${file#include/lab_orders/} ;;
    src/*) rest=${file#src/} ;;
  esac
  folder=${rest%%/*}
  if [ "$folder" = "$rest" ]; then
    report "$file: a file outside every folder (put it in one of cmake/floors.txt)"
    continue
  fi
  if [ -z "${floor_of[$folder]+set}" ]; then
    report "$file: folder $folder has no floor in cmake/floors.txt"
    continue
  fi
  own=${floor_of[$folder]}
  while IFS=: read -r line header; do
    target=${header#lab_orders/}
    used=${target%%/*}
    [ "$used" = "$target" ] && continue  # bare: a header beside the file
    [ "$used" = "$folder" ] && continue
    if [ -z "${floor_of[$used]+set}" ]; then
      report "$file:$line: includes \"$header\", of folder $used that has no floor"
    elif [ "${floor_of[$used]}" -ge "$own" ]; then
      report "$file:$line: $folder (floor $own) includes \"$header\" of $used (floor ${floor_of[$used]}): a floor uses only the floors below it"
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
    sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(find src include/lab_orders -type f \( -name '*.h' -o -name '*.cpp' \) | sort)

if [ "$violations" -gt 0 ]; then
  echo "check-floors: $violations include(s) against the floors of cmake/floors.txt" >&2
  exit 1
fi
echo "check-floors: every include in src/ and include/ points down a floor"
