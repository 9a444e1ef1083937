#!/bin/bash
# Builds a one-layer OCI image archive (an OCI image layout in a tar) holding a static
# busybox, so runtime tests need no registry: make-oci-image.sh OUT.tar IMAGE_NAME [BUSYBOX]
# IMAGE_NAME is a full reference such as localhost/cnikit/busybox:test.
set -euo pipefail

out=$1
name=$2
busybox=${3:-/bin/busybox}

# The image has no libc: only a static busybox runs in it.
if ldd "$busybox" >/dev/null 2>&1; then
  echo "make-oci-image: $busybox is dynamically linked; a static busybox is needed" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
layout="$work/layout"
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root,var/www} "$layout/blobs/sha256"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in sh ash ip ping nc sleep ifconfig wget httpd cat echo ls ps kill hostname \
  route netstat true false grep sed awk seq date env sync; do
  ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

# Stores a blob under its digest; prints "sha256:<hex> <size>".
put_blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

arch=$(uname -m)
case $arch in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
esac

# Fixed owner and times keep the layer reproducible.
(cd "$root" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -cf "$work/layer.tar" -- *)
read -r layerDigest layerSize < <(put_blob "$work/layer.tar")

jq -n --arg arch "$arch" --arg diff "$layerDigest" '{
  architecture: $arch, os: "linux", created: "1970-01-01T00:00:00Z",
  config: {Env: ["PATH=/bin"], Cmd: ["/bin/sh"], WorkingDir: "/"},
  rootfs: {type: "layers", diff_ids: [$diff]},
  history: [{created: "1970-01-01T00:00:00Z", created_by: "make-oci-image.sh"}]
}' >"$work/config.json"
read -r configDigest configSize < <(put_blob "$work/config.json")

jq -n --arg cd "$configDigest" --argjson cs "$configSize" \
  --arg ld "$layerDigest" --argjson ls "$layerSize" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
  layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $ld, size: $ls}]
}' >"$work/manifest.json"
read -r manifestDigest manifestSize < <(put_blob "$work/manifest.json")

# containerd names the image after io.containerd.image.name, podman after ref.name.
jq -n --arg md "$manifestDigest" --argjson ms "$manifestSize" --arg arch "$arch" \
  --arg name "$name" '{
  schemaVersion: 2,
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
    platform: {architecture: $arch, os: "linux"},
    annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": $name}
  }]
}' >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

(cd "$layout" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -cf "$work/image.tar" oci-layout index.json blobs)
mv "$work/image.tar" "$out"
