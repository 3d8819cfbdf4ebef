# The svcplane node agent (`svcplane agent`), as the NodeAgent construct's DaemonSet
# runs it. Build it with `npm run image` (scripts/image.sh): it stages the context
# this file expects (node, app/) and makes the base image offline.
FROM debian:bookworm-slim

# The kernel tools every backend drives: nft; iptables in both flavours (the iptables
# package carries iptables-nft and iptables-legacy, picked by update-alternatives or
# by name); ipset and ipvsadm for IPVS; conntrack to flush stale UDP entries; ip for
# node addresses and IPVS's dummy interface; kmod so the IPVS backend can modprobe
# ip_vs. libstdc++6 is node's only library beyond libc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      nftables iptables ipset ipvsadm conntrack iproute2 kmod libstdc++6 \
 && rm -rf /var/lib/apt/lists/*

# Node 20: bookworm's own nodejs is 18, and no container registry (node:20 images)
# and no nodejs.org download are reachable where this builds. The binary is the
# one that built and tested lib/ on this (bookworm) machine, copied into the context
# by scripts/image.sh; it needs only glibc and libstdc++, which the image has, and
# the RUN below proves it starts.
COPY node /usr/local/bin/node

# The package as `npm pack` makes it (lib/ without the example app, README,
# LICENSE) with its production dependencies only: no cdk8s, no compiler, no tests.
COPY app /opt/svcplane
# The bin link and mode npm would make on install (a packed tarball keeps neither).
RUN chmod 0755 /opt/svcplane/lib/cli/main.js \
 && ln -s /opt/svcplane/lib/cli/main.js /usr/local/bin/svcplane \
 && node --version \
 && svcplane --help >/dev/null

# Root, on purpose: the agent's job is to write the node's packet filter, which takes
# CAP_NET_ADMIN in the node's network namespace (plus NET_RAW for iptables, SYS_MODULE
# for IPVS). Kubernetes gives a non-root process the capabilities a pod adds only
# through file capabilities set on every tool it runs (nft, iptables-*, ipset,
# ipvsadm, conntrack, ip); it has no ambient capabilities. So the agent runs as root
# with every other capability dropped, no privilege escalation, not privileged (see
# the NodeAgent construct's securityContext).
# The agent's V8 options, as the NodeAgent construct's DaemonSet sets them too: the one
# definition is src/agent/node-options.ts (AGENT_NODE_OPTIONS; a test keeps this line
# equal to it). V8 sizes its young generation before any of our code runs, so they
# must reach node at start: a smaller young generation keeps the idle agent ~9 MiB lower.
ENV NODE_OPTIONS="--max-semi-space-size=1"
# And its environment (AGENT_ENV there): two malloc arenas, not 8 per core (~8-18 MiB at 44k Services).
ENV MALLOC_ARENA_MAX="2"
ENTRYPOINT ["svcplane"]
