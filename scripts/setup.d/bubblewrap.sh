# bubblewrap for the local sandbox environment's isolation tests.
# Installs it when missing and checks that it can create a sandbox here (user namespaces or root).
# Exports POLOS_TEST_BWRAP=1 when it works. Outside CI a failure only skips the bubblewrap tests.

_bwrap_setup() {
    if ! command -v bwrap >/dev/null 2>&1 && can_apt; then
        apt_install bubblewrap || true
    fi
    if ! command -v bwrap >/dev/null 2>&1; then
        if [ -n "${CI:-}" ]; then die "bubblewrap: bwrap is not installed (apt-get install bubblewrap)"; fi
        warn "bubblewrap: bwrap is not installed; the bubblewrap tests will be skipped"
        return 0
    fi
    if ! bwrap --ro-bind / / --dev /dev --proc /proc --unshare-net --die-with-parent true 2>/dev/null; then
        if [ -n "${CI:-}" ]; then die "bubblewrap: bwrap cannot create a sandbox on this machine"; fi
        warn "bubblewrap: bwrap cannot create a sandbox here; the bubblewrap tests will be skipped"
        return 0
    fi
    export POLOS_TEST_BWRAP=1
    log "bubblewrap: $(bwrap --version) works"
}

_bwrap_setup
