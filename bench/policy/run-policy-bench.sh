#!/usr/bin/env bash
# NetworkPolicy benchmark (issue 4, section 6). Two parts, all in network namespaces:
#
# 1. Programming: the scale model of integration.PolicyIptablesScale (1000 policies over 500
#    pods, all local to one node) compiled by the engine and programmed by cnikit's
#    iptables/ipset provider into an empty node namespace, PB_PROGRAM_ROUNDS times (target:
#    compile + program under 1 s).
# 2. Datapath: per case N in PB_RULES (default "0 1 1000 5000"), a node namespace with a Linux
#    bridge (br_netfilter on, as the provider sets it) and two pods on it, a client and a
#    server; N policies select the server, and the client's own allow rule comes last in the
#    server's ingress chain, after N-1 rules that each compare the port and an ipset (see
#    policy_bench.cpp). Measured between the pods, every figure as a ratio to N = 0:
#      rr     TCP request/response over one persistent connection (tcp_rr, 64 bytes): after
#             the handshake conntrack accepts every packet at the top (ESTABLISHED);
#      crr    a new TCP connection per request (connect, 64 bytes there and back, close): each
#             SYN is NEW and walks the N rules;
#      iperf3 TCP throughput, one stream.
#    The cases take turns in every round (the order rotates by round); each figure is the
#    median over PB_ROUNDS rounds, and each ratio the median of the per-round ratios.
#    Target: rr latency with 5000 rules within 1.15x of none.
#
#   bench/policy/run-policy-bench.sh <build dir>
#
# PB_ROUNDS (default 5), PB_SECONDS (seconds per rr/crr/iperf3 sample, default 3),
# PB_RULES (default "0 1 1000 5000"; must start with 0), PB_PROGRAM_ROUNDS (default 5).
# Needs root, iperf3, jq, iptables-legacy-save. Everything it makes carries the prefix
# "cnkp-<pid>-" and is removed on exit, also on failure or Ctrl-C; it never changes the
# namespace it was started in (every `ip` runs with -n, every process with nsenter). It
# asserts nothing: it fails only when something it runs fails.
set -euo pipefail

die() { echo "run-policy-bench: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || die "usage: $0 <build dir>"
build=$(realpath "$1")
rounds=${PB_ROUNDS:-5}
seconds=${PB_SECONDS:-3}
programRounds=${PB_PROGRAM_ROUNDS:-5}
read -r -a cases <<<"${PB_RULES:-0 1 1000 5000}"
[[ "${cases[0]}" == 0 ]] || die "PB_RULES must start with 0 (the reference)"
[[ $EUID -eq 0 ]] || die "needs root (network namespaces)"
bench=$build/bin/policy_bench
rr=$build/bin/tcp_rr
[[ -x "$bench" && -x "$rr" ]] || die "policy_bench or tcp_rr missing in $build/bin: cmake --build $build --target policy_bench tcp_rr"
for tool in iperf3 jq nsenter timeout ip ss sysctl iptables-legacy-save; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

# shellcheck source=bench/netns-bench.sh
source "$(dirname "$(realpath "$0")")/../netns-bench.sh"
netnsBenchInit cnkp

echo "run-policy-bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---- 1. programming time ----------------------------------------------------------------
newns prog
echo
"$bench" program --netns "/run/netns/$(ns prog)" --rounds "$programRounds" || die "policy_bench program failed"
ip netns del "$(ns prog)"

# ---- 2. datapath ------------------------------------------------------------------------
serverIp=10.77.0.3
clientIp=10.77.0.2
iperfPort=5201
rrPort=5202

# Case N: <N>-node (bridge br0 10.77.0.1/24), <N>-cli (10.77.0.2), <N>-srv (10.77.0.3).
setupCase() {
  local n=$1 node
  node=$(ns "$n-node")
  newns "$n-node"
  newns "$n-cli"
  newns "$n-srv"
  ip -n "$node" link add br0 type bridge
  ip -n "$node" addr add 10.77.0.1/24 dev br0
  ip -n "$node" link set br0 up
  local pod ip
  for pod in cli srv; do
    ip=$([[ $pod == cli ]] && echo "$clientIp" || echo "$serverIp")
    ip -n "$node" link add "veth-$pod" type veth peer name eth0 netns "$(ns "$n-$pod")"
    ip -n "$node" link set "veth-$pod" master br0 up
    ip -n "$(ns "$n-$pod")" addr add "$ip/24" dev eth0
    ip -n "$(ns "$n-$pod")" link set eth0 up
    ip -n "$(ns "$n-$pod")" route add default via 10.77.0.1
  done
  # crr: the client closes first and keeps TIME_WAIT; let connect() reuse those ports.
  inns "$n-cli" sysctl -qw net.ipv4.tcp_tw_reuse=1
  "$bench" rules --netns "/run/netns/$node" --rules "$n" --server-ip "$serverIp" --client-ip "$clientIp" \
    --ports "$iperfPort-$rrPort" >"$tmp/rules-$n.json" || die "policy_bench rules $n failed"
  # nsenter execs, so $! is the server's pid.
  nsenter --net="/run/netns/$(ns "$n-srv")" "$rr" server --port "$rrPort" >"$tmp/rr-server-$n.log" 2>&1 &
  pids+=($!)
  nsenter --net="/run/netns/$(ns "$n-srv")" iperf3 -s -p "$iperfPort" >"$tmp/iperf3-server-$n.log" 2>&1 &
  pids+=($!)
}

waitListening() {
  local n=$1 port
  for port in "$rrPort" "$iperfPort"; do
    local ok=0
    for _ in $(seq 50); do
      if [[ -n "$(inns "$n-srv" ss -Hltn "sport = :$port" 2>/dev/null)" ]]; then
        ok=1
        break
      fi
      sleep 0.1
    done
    [[ $ok -eq 1 ]] || die "case $n: nothing listens on port $port (see $tmp/*-server-$n.log)"
  done
}

echo "run-policy-bench: building namespaces (${prefix}*) and programming ${cases[*]} rules" >&2
for n in "${cases[@]}"; do
  setupCase "$n"
done
for n in "${cases[@]}"; do
  waitListening "$n"
  inns "$n-cli" "$rr" client --host "$serverIp" --port "$rrPort" --mode crr --seconds 0.2 --warmup-ms 0 >/dev/null ||
    die "case $n: the client does not reach the server"
done

# `timeout --foreground` keeps the client in this script's process group, so Ctrl-C reaches it
# and the script stops at once (plain `timeout` moves it to a group of its own: the client
# would finish its sample, exit 0, and bash would then ignore the Ctrl-C).
# Prints one sample: rr/crr -> "p50 p99 tps" (microseconds, transactions/s); iperf -> Gbit/s.
sample() {  # sample <case> rr|crr|iperf
  local n=$1 what=$2 out
  if [[ $what == iperf ]]; then
    out=$(inns "$n-cli" timeout --foreground $((seconds + 20)) iperf3 -c "$serverIp" -p "$iperfPort" -t "$seconds" -J 2>/dev/null) ||
      die "iperf3 case $n failed or timed out"
    jq -r '.end.sum_received.bits_per_second / 1e7 | round / 100' <<<"$out"
  else
    out=$(inns "$n-cli" timeout --foreground $((seconds + 20)) "$rr" client --host "$serverIp" --port "$rrPort" --mode "$what" \
      --seconds "$seconds") || die "tcp_rr $what case $n failed"
    jq -r '"\(.p50Us * 10 | round / 10) \(.p99Us * 10 | round / 10) \(.tps | round)"' <<<"$out"
  fi
}

echo "run-policy-bench: $rounds round(s); per round and case: rr, crr and iperf3 for ${seconds}s each" >&2
for ((r = 0; r < rounds; r++)); do
  # Each measurement runs for every case back to back; the order of the cases rotates.
  order=()
  for ((k = 0; k < ${#cases[@]}; k++)); do
    order+=("${cases[$(((r + k) % ${#cases[@]}))]}")
  done
  echo "  round $((r + 1)): ${order[*]}" >&2
  for what in rr crr iperf; do
    for n in "${order[@]}"; do
      sample "$n" "$what" >>"$tmp/$what-$n"
    done
  done
done

# ---- report -----------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column() { awk -v c="$2" '{ print $c }' "$1"; }
fig() { column "$tmp/$1-$2" "$3" | median; }  # fig rr|crr|iperf <case> <column>
# Median (q1..q3) of the per-round ratios case/0 of one column.
ratio() {  # ratio rr|crr|iperf <case> <column>
  paste <(column "$tmp/$1-0" "$3") <(column "$tmp/$1-$2" "$3") | awk '{ print $2 / $1 }' | sort -g |
    awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      q1 = v[int((NR + 3) / 4)]; q3 = v[int((3 * NR + 3) / 4)]; printf "%.3f (%.2f..%.2f)", m, q1, q3 }'
}

echo
echo "Rules in front of the server, as the node's kernel holds them after the run (iptables-legacy-save -c):"
printf "%-7s %11s %16s %12s %7s %11s %11s\n" rules "chain rules" "client rule at" "its packets" ipsets "program ms" \
  "conntrack"
for n in "${cases[@]}"; do
  # The server's ingress chain (the only CNIKIT-IN-*), the position of the client's allow rule
  # in it, and that rule's packet counter: the SYN of every connection the client made, each
  # of which passed every rule before it.
  kernel=$(inns "$n-node" iptables-legacy-save -c -t filter |
    awk '$2 == "-A" && $3 ~ /^CNIKIT-IN-/ { count++; if (/zz-allow-client/) { pos = count; split(substr($1, 2), c, ":"); pk = c[1] } }
         END { printf "%d %s %s", count, pos ? pos : "-", pos ? pk : "-" }')
  read -r count pos pk <<<"$kernel"
  # Connections the node's conntrack tracks now (0 when no rule needs conntrack there).
  tracked=$(inns "$n-node" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo "-")
  printf "%-7s %11s %16s %12s %7s %11.1f %11s\n" "$n" "$count" "$pos" "$pk" "$(jq -r .ipsets "$tmp/rules-$n.json")" \
    "$(jq -r .programMs "$tmp/rules-$n.json")" "$tracked"
done

echo
echo "Between two pods on one node (median of $rounds rounds of ${seconds}s; x0 = median of the per-round"
echo "ratios to 0 rules, with quartiles). rr: one persistent connection; crr: a new connection per request."
printf "%-7s %9s %-19s %9s %-19s %9s %-19s %9s %-19s %8s %-19s\n" rules "rr p50 us" "x0" "rr p99 us" "x0" \
  "crr p50" "x0" "crr/s" "x0" "iperf3 G" "x0"
for n in "${cases[@]}"; do
  printf "%-7s %9.1f %-19s %9.1f %-19s %9.1f %-19s %9.0f %-19s %8.2f %-19s\n" "$n" \
    "$(fig rr "$n" 1)" "$(ratio rr "$n" 1)" "$(fig rr "$n" 2)" "$(ratio rr "$n" 2)" \
    "$(fig crr "$n" 1)" "$(ratio crr "$n" 1)" "$(fig crr "$n" 3)" "$(ratio crr "$n" 3)" \
    "$(fig iperf "$n" 1)" "$(ratio iperf "$n" 1)"
done
last=${cases[-1]}
rrRatio=$(ratio rr "$last" 1)
echo
echo "Target: request/response latency (rr p50) with $last rules within 1.15x of none: ${rrRatio%% *}x," \
  "$(awk -v r="${rrRatio%% *}" 'BEGIN { print (r <= 1.15) ? "met" : "MISSED" }')"
echo "Connection setup (crr p50) with $last rules: $(ratio crr "$last" 1 | cut -d' ' -f1)x of none (no target;" \
  "each new connection's SYN walks every rule)."
echo
echo "raw samples (rr: p50 p99 us tps; crr: p50 p99 us tps; iperf3: Gbit/s):"
for n in "${cases[@]}"; do
  echo "  $n rules: rr [$(paste -sd',' "$tmp/rr-$n")] crr [$(paste -sd',' "$tmp/crr-$n")]" \
    "iperf3 [$(paste -sd' ' "$tmp/iperf-$n")]"
done
echo "run-policy-bench: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
