#!/bin/sh
# /init of the svcplane test VM (PID 1; /bin/sh is dash, the rest busybox applets). Built into the base initramfs by
# test/vm/assets.ts; runInVm appends a second archive carrying /work/script.sh and
# /work/input/*.
#
# Serial ports: ttyS0 is the console (kernel messages, this script's progress): the
# harness keeps it as the console log. ttyS1 carries only the test script's output between
# the BEGIN and END markers, so kernel messages never interleave with it.
# The exit code travels in the END marker. Then the VM powers off; if anything here dies,
# the kernel panics (init exited) and qemu, run with -no-reboot and panic=-1, exits too.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp

OUT=/dev/ttyS1

console() { echo "svcplane-vm: $*" > /dev/console; }
setup_failed() {
  console "setup failed: $*"
  echo "SVCPLANE-VM-SETUP-FAILED: $*" > "$OUT"
  poweroff -f
}

console "user space up after $(cut -d' ' -f1 /proc/uptime)s"
for m in $(cat /etc/svcplane-vm/modules); do
  modprobe "$m" || setup_failed "modprobe $m"
done
console "modules loaded after $(cut -d' ' -f1 /proc/uptime)s"

ip link set lo up || setup_failed "ip link set lo up"

# runInVm's hostFs: the host's root filesystem, read-only over virtio-9p, at /host.
# cache=loose: the share is read-only, and node's ~100 MB binary is paged in once.
if [ -f /etc/svcplane-vm/hostfs ]; then
  mkdir -p /host
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /host \
    || setup_failed "mount the host's filesystem (9p) at /host"
  console "host filesystem mounted at /host after $(cut -d' ' -f1 /proc/uptime)s"
fi
hostname svcplane-vm

[ -f /work/script.sh ] || setup_failed "no /work/script.sh (the per-run archive was not appended)"
cd /work || setup_failed "cd /work"
echo "SVCPLANE-VM-BEGIN" > "$OUT"
sh /work/script.sh > "$OUT" 2>&1 < /dev/null
rc=$?
echo "SVCPLANE-VM-END rc=$rc" > "$OUT"
console "script exited with $rc after $(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f
