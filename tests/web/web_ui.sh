#!/usr/bin/env bash
# web_ui - the browser tests of the web page (tests/web/web_ui.mjs: Debian's chromium driven by
# playwright-core against real `vas serve` processes). mk/webtest.mk copies this file to
# BUILD/tests/web_ui, so tests/run-tests runs it among the cmocka binaries and counts its
# cmocka-style lines. When node, chromium or playwright-core is missing, it says so on a
# "skipped web_ui: WHY" line and counts one skipped test; it never passes silently.
# Environment: VAS_BIN (set by tests/run-tests), VAS_CHROMIUM (default /usr/bin/chromium),
# VAS_TEST_OUTPUT (screenshots go to $VAS_TEST_OUTPUT/web; default BUILD/test-output/web).
set -u

skip() {
    echo "skipped web_ui: $1"
    echo "[==========] web_ui: Running 1 test(s)."
    echo "[  SKIPPED ] 1 test(s), listed below:"
    echo "[  SKIPPED ] web_ui"
    exit 0
}

here=$(cd "$(dirname "$0")" && pwd)
# BUILD/tests/web_ui -> the repository is three levels up; run from the source tree, two.
root=""
for r in "$here/../../.." "$here/../.." "$PWD"; do
    if [ -f "$r/tests/web/web_ui.mjs" ]; then
        root=$(cd "$r" && pwd)
        break
    fi
done
[ -n "$root" ] || skip "tests/web/web_ui.mjs not found next to $0"

node=$(command -v node) || skip "node is not installed (apt-get install nodejs)"
major=$("$node" -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0)
[ "$major" -ge 18 ] || skip "node $major is too old (playwright-core needs 18 or later)"
chromium=${VAS_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || skip "chromium is not installed (scripts/install-deps, or apt-get install chromium)"
[ -f "$root/tests/web/node_modules/playwright-core/package.json" ] ||
    skip "playwright-core is not installed (scripts/install-deps, or npm ci --prefix tests/web)"

export VAS_BIN=${VAS_BIN:-$here/../vas}
[ -x "$VAS_BIN" ] || { echo "web_ui: no server binary at $VAS_BIN"; echo "[  FAILED  ] 1 test(s), listed below:"; echo "[  FAILED  ] web_ui"; exit 1; }
VAS_BIN=$(cd "$(dirname "$VAS_BIN")" && pwd)/$(basename "$VAS_BIN")
export VAS_CHROMIUM=$chromium
exec "$node" "$root/tests/web/web_ui.mjs"
