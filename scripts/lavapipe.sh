#!/usr/bin/env bash
# Mesa's lavapipe (a software Vulkan device) unpacked into .cache/lavapipe/,
# so Dawn (the `webgpu` npm package) has an adapter on machines without a GPU.
#
# Debian 12's own Mesa 22.3.6 is rejected by Dawn ("shaderUniform*ArrayDynamicIndexing
# required"); Mesa 25 from bookworm-backports works. The packages are fetched with
# `apt-get download` through a private sources list and unpacked with `dpkg-deb -x`:
# the system's apt sources and its Mesa are left as they are.
#
# Writes .cache/lavapipe/env (VK_ICD_FILENAMES, LD_LIBRARY_PATH), which the
# webgpu tests and `paragen` read when those variables are unset. Idempotent:
# does nothing when the env file and the driver are already there.
# Set LAVAPIPE_MIRROR to a Debian mirror's URI to choose one; by default the
# first Debian URI of this machine's own apt sources is used.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.cache/lavapipe"
envfile="$root/env"
lib="$root/usr/lib/x86_64-linux-gnu"

if [[ -f "$envfile" && -f "$lib/libvulkan_lvp.so" ]]; then
  echo "lavapipe: already in .cache/lavapipe (env: .cache/lavapipe/env)"
  exit 0
fi
if [[ "$(uname -m)" != x86_64 ]] || ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  echo "lavapipe: skipped (needs Debian/Ubuntu apt on x86_64); webgpu tests will skip" >&2
  exit 0
fi

mirror="${LAVAPIPE_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -oE '(https?)://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)"
fi
if [[ -z "$mirror" ]]; then
  echo "lavapipe: no Debian mirror in this machine's apt sources; set LAVAPIPE_MIRROR; webgpu tests will skip" >&2
  exit 0
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

apt_dir="$root/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$root/debs"
cat >"$apt_dir/sources.list" <<LIST
deb [signed-by=$keyring] $mirror bookworm main
deb [signed-by=$keyring] $mirror bookworm-backports main
LIST
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::status=/var/lib/dpkg/status"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)
echo "lavapipe: fetching package lists from $mirror (bookworm, bookworm-backports)"
skip() { echo "lavapipe: $1; webgpu tests will skip" >&2; exit 0; }
apt-get "${apt_opts[@]}" -qq update || skip "apt-get update failed for $mirror"
(
  cd "$root/debs"
  rm -f ./*.deb
  apt-get "${apt_opts[@]}" -qq download \
    mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports \
    libvulkan1/bookworm libllvm15/bookworm
) || skip "apt-get download failed"
for deb in "$root"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
[[ -f "$lib/libvulkan_lvp.so" ]] || skip "libvulkan_lvp.so missing after unpacking"

# The packaged ICD file names the system path; this one names the unpacked driver.
cat >"$root/lvp_icd.json" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib/libvulkan_lvp.so", "api_version": "1.4.305" } }
JSON
cat >"$envfile" <<ENV
VK_ICD_FILENAMES=$root/lvp_icd.json
LD_LIBRARY_PATH=$lib
ENV
echo "lavapipe: ready; for a shell: set -a; . .cache/lavapipe/env; set +a"
cat "$envfile"
