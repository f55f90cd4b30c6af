# A private Docker engine and a small local test image for the sandbox tests.
#
# Installs docker.io when missing, starts `dockerd --iptables=false --bridge=none` with its own data
# root, exec root and socket under $POLOS_DOCKERD_DIR (no systemd, no host networking changes), and
# builds the image $POLOS_TEST_DOCKER_IMAGE by `docker import` of a busybox rootfs made here (no
# registry is reachable). When the host has a self-contained `node` binary it is copied in with the
# libraries it links, so the agent tests can run hello.js in the container.
# Exports DOCKER_HOST and POLOS_TEST_DOCKER_IMAGE. Outside CI a failure only skips the docker tests.
# The engine is left running (a later run reuses it); the tests remove every container they create.

POLOS_DOCKERD_DIR="${POLOS_DOCKERD_DIR:-/tmp/polos-dockerd}"
export POLOS_TEST_DOCKER_IMAGE="${POLOS_TEST_DOCKER_IMAGE:-polos-sandbox-test:1}"

_docker_fail() {
    if [ -n "${CI:-}" ]; then
        die "docker: $1"
    fi
    warn "docker: $1. The docker sandbox tests will be skipped."
    unset DOCKER_HOST
}

_docker_now() { echo "$EPOCHREALTIME"; }
_docker_took() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

_docker_ping() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

_docker_build_image() {
    # A rootfs: static busybox (+ node if the host has one), a non-root user, /workspace and /tmp.
    local rootfs lib
    rootfs="$(mktemp -d)"
    mkdir -p "$rootfs"/{bin,etc,tmp,workspace,home/sandbox,usr/bin,proc,sys,dev}
    cp "$(command -v busybox)" "$rootfs/bin/busybox"
    for applet in $("$rootfs/bin/busybox" --list); do
        [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nsandbox:x:1000:\n' >"$rootfs/etc/group"
    chmod 1777 "$rootfs/tmp"
    chown 1000:1000 "$rootfs/workspace" "$rootfs/home/sandbox"
    if command -v node >/dev/null 2>&1 && ldd "$(command -v node)" >/dev/null 2>&1; then
        cp "$(readlink -f "$(command -v node)")" "$rootfs/usr/bin/node"
        for lib in $(ldd "$(command -v node)" | grep -o '/[^ ]*'); do
            mkdir -p "$rootfs$(dirname "$lib")"
            cp -L "$lib" "$rootfs$lib"
        done
        log "docker: node $(node --version) copied into the test image"
    fi
    tar -C "$rootfs" -c . | docker import \
        --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/bin:/bin' --change 'WORKDIR /workspace' \
        - "$POLOS_TEST_DOCKER_IMAGE" >/dev/null
    local rc=$?
    rm -rf "$rootfs"
    return $rc
}

_docker_setup() {
    local t0 started
    t0="$(_docker_now)"
    if ! command -v dockerd >/dev/null 2>&1; then
        if can_apt; then
            apt_install docker.io || { _docker_fail "apt-get install docker.io failed"; return 0; }
        else
            _docker_fail "dockerd is not installed (apt-get install docker.io)"
            return 0
        fi
        log "docker: installed docker.io in $(_docker_took "$t0") s"
    fi
    if ! command -v busybox >/dev/null 2>&1; then
        if can_apt; then apt_install busybox-static || true; fi
        command -v busybox >/dev/null 2>&1 || { _docker_fail "busybox is needed for the test image"; return 0; }
    fi

    export DOCKER_HOST="unix://$POLOS_DOCKERD_DIR/docker.sock"
    started="$(_docker_now)"
    if _docker_ping; then
        log "docker: reusing the engine at $DOCKER_HOST"
    else
        if ! is_root; then
            _docker_fail "starting dockerd needs root"
            return 0
        fi
        mkdir -p "$POLOS_DOCKERD_DIR"
        rm -f "$POLOS_DOCKERD_DIR/docker.sock" "$POLOS_DOCKERD_DIR/dockerd.pid"
        log "docker: starting dockerd (data root $POLOS_DOCKERD_DIR/data, log $POLOS_DOCKERD_DIR/dockerd.log)"
        nohup dockerd --iptables=false --ip-masq=false --bridge=none \
            --data-root "$POLOS_DOCKERD_DIR/data" --exec-root "$POLOS_DOCKERD_DIR/exec" \
            --pidfile "$POLOS_DOCKERD_DIR/dockerd.pid" -H "$DOCKER_HOST" \
            >"$POLOS_DOCKERD_DIR/dockerd.log" 2>&1 </dev/null &
        local i
        for i in $(seq 1 150); do
            _docker_ping && break
            sleep 0.2
        done
        if ! _docker_ping; then
            tail -n 20 "$POLOS_DOCKERD_DIR/dockerd.log" >&2 || true
            _docker_fail "dockerd did not answer on $DOCKER_HOST within 30 s"
            return 0
        fi
        log "docker: engine up in $(_docker_took "$started") s"
    fi

    if ! docker image inspect "$POLOS_TEST_DOCKER_IMAGE" >/dev/null 2>&1; then
        started="$(_docker_now)"
        if ! _docker_build_image; then
            _docker_fail "could not build the test image $POLOS_TEST_DOCKER_IMAGE"
            return 0
        fi
        log "docker: built $POLOS_TEST_DOCKER_IMAGE in $(_docker_took "$started") s"
    fi
    log "docker: ready in $(_docker_took "$t0") s (DOCKER_HOST=$DOCKER_HOST, image $POLOS_TEST_DOCKER_IMAGE)"
}

_docker_setup
