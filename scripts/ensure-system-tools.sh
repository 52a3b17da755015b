#!/usr/bin/env bash
# The tests and benchmarks use two things pip cannot install: a Chromium browser (the
# dashboard's browser tests drive it through Playwright) and wrk (HTTP load). Install them
# when missing and this is a Debian machine we may install on; otherwise say what is missing.
# A Chromium elsewhere is used when BATCH_TEST_CHROMIUM names it (see batch_testkit/browser.py).
set -euo pipefail
missing=()
if [ -z "${BATCH_TEST_CHROMIUM:-}" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
fi
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and retry." >&2
exit 1
