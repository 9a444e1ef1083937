# Shared by the runtime tests (sourced, not run): unique names, a cleanup that runs even
# when a test fails, test network namespaces, the cnikit agent and the CNI bin dir.
#
# Everything a test makes is registered here and undone on exit in reverse order:
# processes are stopped by PID, namespaces deleted, mounts under the temp dir unmounted,
# the temp dir removed.
#
# Under `set -o pipefail`, `cmd | grep -q` can fail when grep exits before cmd has written
# everything (SIGPIPE): the tests grep captured output instead.

RT_NAME=${RT_NAME:-runtimes}
RT_PREFIX="cnkt-$$"
RT_TMP=""
RT_PIDS=()
RT_NETNS=()
RT_UNDO=()  # shell snippets run first at exit, last registered first
RT_MOUNTS=()  # private-namespace mounts, undone after processes and namespaces

rt_log() { printf '[%s %(%H:%M:%S)T] %s\n' "$RT_NAME" -1 "$*" >&2; }

# Ends the test with a message; the EXIT trap cleans up.
rt_fail() {
  printf '[%s] FAIL: %s\n' "$RT_NAME" "$*" >&2
  exit 1
}

# Exit code 77 is registered as SKIP_RETURN_CODE in CMakeLists.txt.
rt_skip() {
  printf '[%s] SKIP: %s\n' "$RT_NAME" "$*" >&2
  exit 77
}

rt_require_root_and_tools() {
  [[ $(id -u) -eq 0 ]] || rt_skip "needs root"
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || rt_skip "$tool is not installed"
  done
}

rt_make_tmp() {
  RT_TMP=$(mktemp -d "/tmp/${RT_PREFIX}-${RT_NAME}.XXXXXX")
  chmod 755 "$RT_TMP"
}

rt_on_exit() { RT_UNDO+=("$1"); }

# Stops one process we started: TERM, then KILL after a grace period.
rt_stop_pid() {
  local pid=$1 grace=${2:-10} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    rt_log "pid $pid ignored TERM, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

rt_track_pid() { RT_PIDS+=("$1"); }

# Dumps logs of the temp dir when a test failed, so ctest output explains it.
rt_dump_logs() {
  [[ -n $RT_TMP && -d $RT_TMP ]] || return 0
  local f
  for f in "$RT_TMP"/*.log; do
    [[ -s $f ]] || continue
    printf -- '----- %s (last 40 lines) -----\n' "${f##*/}" >&2
    tail -n 40 "$f" >&2
  done
}

rt_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  # A closed stdout/stderr (ctest killed, a pipe to head) must not stop the cleanup.
  trap '' PIPE
  if ((rc != 0 && rc != 77)); then
    rt_dump_logs
  fi
  local i
  for ((i = ${#RT_UNDO[@]} - 1; i >= 0; i--)); do
    eval "${RT_UNDO[i]}" >/dev/null 2>&1
  done
  for ((i = ${#RT_PIDS[@]} - 1; i >= 0; i--)); do
    rt_stop_pid "${RT_PIDS[i]}" 5
  done
  for ((i = ${#RT_NETNS[@]} - 1; i >= 0; i--)); do
    ip netns delete "${RT_NETNS[i]}" 2>/dev/null
  done
  for ((i = ${#RT_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -l "${RT_MOUNTS[i]}" 2>/dev/null
  done
  if [[ -n $RT_TMP && -d $RT_TMP ]]; then
    # Mounts a runtime left below the temp dir (overlay rootfs, shm) go first, deepest
    # first, so the removal never walks into them.
    local m
    while read -r m; do
      [[ $m == "$RT_TMP"/* ]] && umount -l "$m" 2>/dev/null
    done < <(awk '{print $5}' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$RT_TMP"
  fi
  if ((rc == 0)); then
    printf '[%s] PASS\n' "$RT_NAME" >&2
  fi
  exit "$rc"
}

rt_install_trap() {
  trap rt_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Makes a network namespace "<prefix>-<suffix>" with lo up and stores its name in VAR:
# rt_netns VAR SUFFIX. (Not printed: a command substitution would register it in a
# subshell, and the cleanup would never see it.)
rt_netns() {
  local name="${RT_PREFIX}-$2"
  ip netns add "$name"
  RT_NETNS+=("$name")
  printf -v "$1" '%s' "$name"
  ip -n "$name" link set lo up
}

# Runs a command in a test namespace without remounting /sys (unlike `ip netns exec`).
rt_in() {
  local ns=$1
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}

# Starts a background process in namespace NS with output to LOG, tracked for cleanup:
# rt_spawn NS LOG CMD... ; its PID is in RT_SPAWNED_PID. nsenter execs the command, so
# the PID is the command's own (a backgrounded shell function would only give a subshell).
rt_spawn() {
  local ns=$1 log=$2
  shift 2
  nsenter --net="/run/netns/$ns" -- "$@" </dev/null >"$log" 2>&1 &
  RT_SPAWNED_PID=$!
  rt_track_pid "$RT_SPAWNED_PID"
}

# Links two namespaces with a veth pair and addresses: rt_link NS_A IF_A ADDR_A NS_B IF_B ADDR_B.
# The pair is created inside NS_A, so it never appears in the root namespace.
rt_link() {
  local nsA=$1 ifA=$2 addrA=$3 nsB=$4 ifB=$5 addrB=$6
  ip -n "$nsA" link add "$ifA" type veth peer name "$ifB" netns "$nsB"
  ip -n "$nsA" addr add "$addrA" dev "$ifA"
  ip -n "$nsB" addr add "$addrB" dev "$ifB"
  ip -n "$nsA" link set "$ifA" up
  ip -n "$nsB" link set "$ifB" up
}

# Waits until a command succeeds: rt_wait SECONDS DESCRIPTION CMD...
rt_wait() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || rt_fail "timed out after ${seconds}s waiting for: $what"
    sleep 0.2
  done
}

# The flannel-like backend deletes the veths of deleted pods in batches just after DEL
# returns: waits until no retired link (device group 0x636e6b74) is left in NS.
rt_wait_reaped() {
  rt_wait 5 "retired veths deleted in $1" test -z "$(ip -n "$1" -o link show group 1668180852)"
}

# Writes the agent config and starts cnikitd inside namespace NS:
# rt_start_agent NS CNIKITD CNIKITCTL BACKEND_DIR POOL_CIDR [BACKEND_OPTIONS_YAML]
# Sets RT_AGENT_SOCKET, RT_AGENT_PID, RT_CNIKITCTL. Garbage collection of vanished
# namespaces is off (RT_AGENT_GC_SECONDS=0), so a released address proves a DEL.
rt_start_agent() {
  local ns=$1 cnikitd=$2 cnikitctl=$3 backendDir=$4 cidr=$5
  local options=${6:-"{bridge: cnkt0, masquerade: false}"}
  RT_AGENT_SOCKET="$RT_TMP/agent/cnikitd.sock"
  RT_CNIKITCTL=$cnikitctl
  mkdir -p "$RT_TMP/agent/state"
  cat >"$RT_TMP/agent/cnikitd.yaml" <<EOF
node: ${RT_PREFIX}-node
socket: $RT_AGENT_SOCKET
stateDir: $RT_TMP/agent/state
backendDir: $backendDir
gcIntervalSeconds: ${RT_AGENT_GC_SECONDS:-0}
logLevel: debug
backends:
  - name: default
    type: flannel-like
    options: $options
pools:
  - name: default
    backend: default
    cidrs: [$cidr]
    nodeSubnetPrefix: {ipv4: 24}
EOF
  rt_spawn "$ns" "$RT_TMP/cnikitd.log" "$cnikitd" --config "$RT_TMP/agent/cnikitd.yaml"
  RT_AGENT_PID=$RT_SPAWNED_PID
  local deadline=$((SECONDS + 30))
  until [[ -S $RT_AGENT_SOCKET ]] && "$cnikitctl" --socket "$RT_AGENT_SOCKET" status >/dev/null 2>&1; do
    kill -0 "$RT_AGENT_PID" 2>/dev/null || rt_fail "cnikitd exited during start (see cnikitd.log)"
    ((SECONDS < deadline)) || rt_fail "cnikitd not ready after 30s (socket $RT_AGENT_SOCKET)"
    sleep 0.2
  done
  rt_log "cnikitd ready (pid $RT_AGENT_PID) in netns $ns"
}

# Allocations the agent holds, as a JSON array.
rt_allocations() {
  "$RT_CNIKITCTL" --socket "$RT_AGENT_SOCKET" -o json ipam list
}

rt_allocation_count() { rt_allocations | jq 'length'; }

# Fails unless the agent holds no allocation (waits a little: runtimes DEL asynchronously).
rt_expect_no_allocations() {
  local deadline=$((SECONDS + ${1:-15})) list
  while :; do
    list=$(rt_allocations) || rt_fail "cnikitctl ipam list failed"
    [[ $(jq 'length' <<<"$list") == 0 ]] && return 0
    ((SECONDS < deadline)) || rt_fail "allocations not released: $list"
    sleep 0.5
  done
}

# Makes a CNI bin dir: cnikit plus the reference plugins. rt_cni_bin DIR CNIKIT
rt_cni_bin() {
  local dir=$1 cnikit=$2 p
  mkdir -p "$dir"
  ln -s "$cnikit" "$dir/cnikit"
  for p in /usr/lib/cni/*; do
    ln -s "$p" "$dir/${p##*/}"
  done
}

# Bind-mounts the paths a runtime insists on (/etc/cni/net.d, /opt/cni/bin, /var/lib/cni
# result cache, /run state) onto test-owned copies. Only valid in a private mount
# namespace: see rt_private_mounts_reexec.
rt_private_runtime_dirs() {
  local netd=$1 bin=$2
  [[ -n ${CNKT_RT_PRIVATE_MNT:-} ]] || rt_fail "rt_private_runtime_dirs outside a private mount namespace"
  mount -t tmpfs -o mode=755 cnkt-run /run
  RT_MOUNTS+=(/run)
  mount --bind "$netd" /etc/cni/net.d
  RT_MOUNTS+=(/etc/cni/net.d)
  mount -t tmpfs -o mode=755 cnkt-opt /opt
  RT_MOUNTS+=(/opt)
  mkdir -p /opt/cni/bin
  mount --bind "$bin" /opt/cni/bin
  # /var/lib keeps its content, but what runtimes write (cni cache) lands in the temp dir.
  mkdir -p "$RT_TMP/varlib/upper" "$RT_TMP/varlib/work"
  mount -t overlay cnkt-varlib \
    -o "lowerdir=/var/lib,upperdir=$RT_TMP/varlib/upper,workdir=$RT_TMP/varlib/work" /var/lib
  RT_MOUNTS+=(/var/lib)
}

# Re-runs the calling script in a private mount namespace (once), so that runtime paths
# can be replaced without touching the host. Call before anything else.
rt_private_mounts_reexec() {
  if [[ -z ${CNKT_RT_PRIVATE_MNT:-} ]]; then
    export CNKT_RT_PRIVATE_MNT=1
    exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
  fi
}
