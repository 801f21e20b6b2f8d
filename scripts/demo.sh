#!/usr/bin/env bash
# Install (first time) and run the scripted demo: the real bot against a local Bot API stand-in,
# on a temporary SQLite database holding the 30 tasks; prints the chat and the digest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/taskbot demo "$@"
