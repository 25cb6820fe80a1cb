#!/usr/bin/env bash
# Prints a hash of the working-tree state of the given paths: tracked changes
# against HEAD plus untracked files. Comparing it before and after a command
# shows whether the command changed anything there, in a clean checkout or not.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  git diff HEAD --binary -- "$@"
  git ls-files --others --exclude-standard -z -- "$@" | xargs -0 -r sha256sum
} | sha256sum | cut -d' ' -f1
