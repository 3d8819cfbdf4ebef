#!/usr/bin/env bash
# podman with the settings this kind of machine needs (measured, see
# ../shared/NOTES-datapath.md "Containers"); every podman call of the build and
# the tests goes through here:
# - runc, not crun: crun refuses the hybrid cgroup setup ("cgroups in hybrid mode
#   not supported");
# - default ulimits within the machine's hard limits: podman's defaults exceed them
#   and the container fails to start.
# Never use podman's default bridge network: it writes NAT rules into the root
# namespace. Callers pass --network=host|none|ns:/run/netns/NAME.
set -euo pipefail

conf_dir="${SVCPLANE_CACHE:-/var/cache/svcplane}"
mkdir -p "$conf_dir"
conf="$conf_dir/containers.conf"
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
want="$(printf '[engine]\nruntime = "runc"\n\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=32768:32768"]\n' "$nofile" "$nofile")"
# Rewritten only when it changes, so concurrent callers do not race on it.
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  tmp="$(mktemp "$conf.XXXXXX")"
  printf '%s\n' "$want" >"$tmp"
  mv -f "$tmp" "$conf"
fi
export CONTAINERS_CONF="$conf"
exec podman "$@"
