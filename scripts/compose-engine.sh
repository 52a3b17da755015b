#!/usr/bin/env bash
# A container engine for `docker compose`, for tests/test_compose_up.py and `make compose-test`.
#
#   scripts/compose-engine.sh start STATE_DIR   prints DOCKER_HOST=... for compose to use
#   scripts/compose-engine.sh stop STATE_DIR    stops what start started (safe to repeat)
#
# When a Docker engine answers (`docker info`), start prints nothing: compose uses it as
# usual, with the real images. Otherwise, on a Debian machine where we are root, it sets up
# Debian's podman behind a Docker API socket, as found to work on this project's CI machines:
#   - runc, not crun ("cgroups in hybrid mode not supported"), with cgroupfs (no systemd), and
#     default ulimits within the host's, all in a containers.conf named by CONTAINERS_CONF;
#   - the host's CA bundle mounted into every container, builds included, for pip;
#   - netavark networks with aardvark-dns, so containers resolve service names (CNI with the
#     dnsname plugin does too, but leaves each network's bridge and firewall rules behind);
#   - a loop that runs `podman healthcheck run` (podman schedules health checks with systemd
#     timers, and there is no systemd), or `up --wait` would never see a healthy container;
#   - stand-ins for the base images (scripts/compose-stand-ins.sh): no registry is reachable.
# Everything a run creates (containers, networks, volumes, the project's image) lives in a
# storage under STATE_DIR that stop deletes whole. The stand-ins live in a read-only image
# store of their own under /var/lib/flyte-batch-compose, kept between runs as a cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 2 ] || { [ "$1" != start ] && [ "$1" != stop ]; }; then
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
fi
command=$1
state=$2
mkdir -p "$state"
state=$(cd "$state" && pwd)
images=/var/lib/flyte-batch-compose
packages=(podman runc netavark aardvark-dns iptables mmdebstrap)

fail() { echo "compose-engine: $*" >&2; exit 1; }

use_podman() {  # storage.conf: this run's storage, or (with "images") the stand-ins' store
  export CONTAINERS_CONF="$state/containers.conf" CONTAINERS_STORAGE_CONF="$state/${1:-storage}.conf"
}

install_packages() {
  local missing=()
  for package in "${packages[@]}"; do
    dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null || fail "no Docker engine answers, and without apt-get the podman stand-in cannot be installed: install Docker (or ${missing[*]}) and retry"
  echo "compose-engine: installing ${missing[*]} from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_config() {
  mkdir -p "$state/networks" "$images"
  # A container may not raise a limit above podman's own, and root here cannot raise limits
  # at all (no CAP_SYS_RESOURCE): podman keeps the host's open files and caps its processes at
  # 32768, so containers get the same.
  local files processes
  files=$(ulimit -Hn)
  processes=$(ulimit -Hu)
  [ "$processes" = unlimited ] || [ "$processes" -gt 32768 ] && processes=32768
  cat > "$state/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$files:$files", "nproc=$processes:$processes"]
volumes = ["/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro"]

[network]
network_backend = "netavark"
network_config_dir = "$state/networks"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$state/events.log"
CONF
  cat > "$state/images.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$images/storage"
runroot = "/run/flyte-batch-compose"
CONF
  cat > "$state/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"

[storage.options]
additionalimagestores = ["$images/storage"]
CONF
}

start_in_background() {  # pidfile, command...
  local pidfile=$1
  shift
  setsid "$@" </dev/null >>"$state/engine.log" 2>&1 &
  echo $! >"$pidfile"
}

health_check_loop() {
  # Containers still starting are checked every second (so `up --wait` returns soon after
  # they are ready); healthy and unhealthy ones every five, as an interval of 5 s would.
  local tick=0
  while true; do
    local filters=(--filter health=starting)
    [ $((tick % 5)) -eq 0 ] && filters+=(--filter health=healthy --filter health=unhealthy)
    for container in $(podman ps --quiet "${filters[@]}"); do
      podman healthcheck run "$container" >/dev/null 2>&1 || true
    done
    tick=$((tick + 1))
    sleep 1
  done
}

start() {
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    return  # a Docker engine answers (DOCKER_HOST or the default socket): nothing to set up
  fi
  [ -z "${DOCKER_HOST:-}" ] || fail "DOCKER_HOST=$DOCKER_HOST does not answer"
  [ "$(id -u)" -eq 0 ] || fail "no Docker engine answers, and the podman stand-in needs root (to install podman and run containers): run as root or start Docker"
  install_packages
  write_config
  use_podman images
  flock "$images" "$here/compose-stand-ins.sh"  # one builder at a time; the others wait for it
  use_podman
  local socket="$state/podman.sock"
  rm -f "$socket"
  start_in_background "$state/service.pid" podman system service --time=0 "unix://$socket"
  for _ in $(seq 1 100); do
    [ -S "$socket" ] && podman --url "unix://$socket" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  [ -S "$socket" ] || fail "podman system service did not open $socket (see $state/engine.log)"
  start_in_background "$state/health-checks.pid" bash -c "$(declare -f health_check_loop); health_check_loop"
  echo "DOCKER_HOST=unix://$socket"
}

stop_process() {  # pidfile
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  # setsid made each one a process group of its own: end the group, then wait for it.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null || kill -KILL -- "-$pid"
  rm -f "$1"
}

stop() {
  [ -f "$state/containers.conf" ] || return 0  # start used a real Docker engine, or never ran
  use_podman
  stop_process "$state/health-checks.pid"
  stop_process "$state/service.pid"
  # Every container (stopped first), network, volume and image of this run; not the stand-ins.
  podman system reset --force >>"$state/engine.log" 2>&1
  # What reset misses: the conmon of a `compose exec` lingers 5 minutes after the command
  # (to keep its exit code), and netavark 1.4 at times leaves a network's port-forwarding
  # chain (NETAVARK-DN-...) behind, empty and unused. Only this run's conmons match; a chain
  # still in use holds rules and a jump to it, so iptables refuses to delete it.
  local conmon
  for conmon in $(pgrep --full -- "--exit-dir $state/" || true); do
    kill -KILL "$conmon" 2>/dev/null || true
  done
  local chain
  for chain in $(iptables -t nat -S | sed -n 's/^-N \(NETAVARK-DN-[0-9A-F]*\)$/\1/p'); do
    iptables -t nat -X "$chain" 2>/dev/null || true
  done
}

"$command"
