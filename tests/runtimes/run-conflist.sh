#!/bin/bash
# Runs a CNI network configuration list the way a runtime's libcni does (CNI spec 1.0,
# "Network configuration lists"), for tests on machines without cnitool:
#
#   run-conflist.sh ADD|CHECK|DEL CONFLIST CONTAINER_ID NETNS IFNAME [RUNTIME_CONFIG_JSON]
#
# Environment: CNI_PATH (plugin dirs, ':'-separated), CNI_CACHE_DIR (result cache),
# CNI_ARGS (passed through). Before the verb, each plugin's VERSION must list the list's
# cniVersion. ADD runs the plugins in order, each with the previous result as prevResult,
# and caches the last result; CHECK runs in order with the cached result; DEL runs in
# reverse order with the cached result (none if absent) and drops the cache. A plugin
# receives runtimeConfig entries only for capabilities it declares. ADD prints the result.
set -euo pipefail

verb=$1
conflist=$2
containerId=$3
netns=$4
ifname=$5
runtimeConfig=${6:-"{}"}
: "${CNI_PATH:?CNI_PATH must name the plugin directories}"
: "${CNI_CACHE_DIR:?CNI_CACHE_DIR must name the result cache directory}"

die() {
  echo "run-conflist: $*" >&2
  exit 1
}

list=$(jq -c . "$conflist") || die "$conflist is not JSON"
version=$(jq -r '.cniVersion // empty' <<<"$list")
name=$(jq -r '.name // empty' <<<"$list")
[[ -n $version && -n $name ]] || die "$conflist needs cniVersion and name"
count=$(jq '.plugins | length' <<<"$list")
((count > 0)) || die "$conflist has no plugins"
cacheFile="$CNI_CACHE_DIR/$name-$containerId-$ifname.json"
mkdir -p "$CNI_CACHE_DIR"

findPlugin() {
  local dir
  IFS=: read -ra dirs <<<"$CNI_PATH"
  for dir in "${dirs[@]}"; do
    [[ -x $dir/$1 ]] && { echo "$dir/$1"; return 0; }
  done
  die "plugin $1 not found in CNI_PATH=$CNI_PATH"
}

# execPlugin COMMAND PLUGIN_PATH CONFIG_JSON -> stdout of the plugin; fails with its error.
execPlugin() {
  local command=$1 path=$2 config=$3 out rc=0
  out=$(CNI_COMMAND=$command CNI_CONTAINERID=$containerId CNI_NETNS=$netns CNI_IFNAME=$ifname \
    CNI_ARGS=${CNI_ARGS:-} CNI_PATH=$CNI_PATH "$path" <<<"$config") || rc=$?
  if ((rc != 0)); then
    echo "run-conflist: $command ${path##*/} exited $rc: $out" >&2
    return 1
  fi
  printf '%s' "$out"
}

# pluginConfig INDEX PREV_RESULT -> the config one plugin receives.
pluginConfig() {
  jq -c --argjson i "$1" --argjson prev "$2" --argjson rc "$runtimeConfig" '
    .cniVersion as $v | .name as $n | .plugins[$i]
    | . + {cniVersion: $v, name: $n}
    | (.capabilities // {} | to_entries | map(select(.value == true) | .key)) as $caps
    | ([$caps[] | select($rc[.] != null) | {key: ., value: $rc[.]}] | from_entries) as $given
    | del(.capabilities)
    | if ($given | length) > 0 then .runtimeConfig = $given else . end
    | if $prev != null then .prevResult = $prev else . end' <<<"$list"
}

# VERSION first, as podman does: every plugin must speak the list's version.
for ((i = 0; i < count; i++)); do
  type=$(jq -r --argjson i "$i" '.plugins[$i].type' <<<"$list")
  path=$(findPlugin "$type")
  supported=$(execPlugin VERSION "$path" "{\"cniVersion\":\"$version\"}") ||
    die "VERSION failed for $type"
  jq -e --arg v "$version" '.supportedVersions | index($v)' <<<"$supported" >/dev/null ||
    die "$type does not support cniVersion $version: $supported"
done

cached=null
[[ -s $cacheFile ]] && cached=$(cat "$cacheFile")

case $verb in
  ADD)
    prev=null
    for ((i = 0; i < count; i++)); do
      type=$(jq -r --argjson i "$i" '.plugins[$i].type' <<<"$list")
      result=$(execPlugin ADD "$(findPlugin "$type")" "$(pluginConfig "$i" "$prev")") || exit 1
      jq -e 'type == "object"' <<<"$result" >/dev/null 2>&1 || die "ADD $type printed no result object: $result"
      prev=$result
    done
    printf '%s\n' "$prev" >"$cacheFile"
    printf '%s\n' "$prev"
    ;;
  CHECK)
    [[ $cached != null ]] || die "CHECK without a cached result for $containerId/$ifname"
    for ((i = 0; i < count; i++)); do
      type=$(jq -r --argjson i "$i" '.plugins[$i].type' <<<"$list")
      execPlugin CHECK "$(findPlugin "$type")" "$(pluginConfig "$i" "$cached")" >/dev/null || exit 1
    done
    ;;
  DEL)
    for ((i = count - 1; i >= 0; i--)); do
      type=$(jq -r --argjson i "$i" '.plugins[$i].type' <<<"$list")
      execPlugin DEL "$(findPlugin "$type")" "$(pluginConfig "$i" "$cached")" >/dev/null || exit 1
    done
    rm -f "$cacheFile"
    ;;
  *) die "unknown verb $verb (ADD, CHECK or DEL)" ;;
esac
