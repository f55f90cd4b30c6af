# Chromium for the browser tests (Playwright drives Debian's chromium; never `playwright install`).
# Exports POLOS_CHROMIUM for tests/browser.py. Outside CI a missing browser only skips those tests.

POLOS_CHROMIUM="${POLOS_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$POLOS_CHROMIUM" ]; then
    if can_apt; then
        apt_install chromium fonts-dejavu-core || true
    fi
fi
if [ -x "$POLOS_CHROMIUM" ]; then
    log "Chromium for browser tests: $POLOS_CHROMIUM"
    export POLOS_CHROMIUM
elif [ -n "${CI:-}" ]; then
    die "chromium is not installed at $POLOS_CHROMIUM and could not be installed with apt-get"
else
    warn "chromium not found at $POLOS_CHROMIUM: browser tests (-m browser) will be skipped"
fi
