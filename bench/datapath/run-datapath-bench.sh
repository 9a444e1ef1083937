#!/usr/bin/env bash
# Datapath benchmark: pod-to-pod TCP throughput (iperf3, 1 and 2 streams) and ping RTT across
# two "nodes" (network namespaces on a fabric bridge), all in one run, for
#   raw       a veth pair between two namespaces (the reference: no bridge, no routing)
#   hostgw    host-gw made by hand with `ip`: pod veth -> node bridge -> route via the peer
#             node's underlay address -> fabric bridge -> peer node -> bridge -> pod
#   vxlan     the same over a VXLAN device made by hand with `ip` (flannel's layout: onlink
#             route, permanent neighbour, FDB entry; pods at MTU 1450)
#   cnikit-hostgw, cnikit-vxlan
#             the same topologies, the nodes' bridge/pods/routes/tunnel made by the cnikit
#             flannel-like backend through its C ABI (flannel_datapath_setup)
# It prints every figure, its ratio to raw veth, and cnikit against the hand-made path of
# each mode (target: within 3%).
#
#   bench/datapath/run-datapath-bench.sh <build dir>
#
# DP_SECONDS (iperf3 seconds per sample, default 5), DP_ROUNDS (samples per figure, default
# 3; each hand-made path and its cnikit twin run back to back, ABBA, and cnikit is compared
# by the median of those paired ratios), DP_PINGS
# (echo requests per RTT sample, default 200), DP_MODES (default "host-gw vxlan": the modes
# measured, each against raw veth; one mode alone gives it all the rounds). Needs root. Everything it makes carries the
# prefix "cnkd-<pid>-" and is removed on exit, also on failure or Ctrl-C; it never changes
# the namespace it was started in (every `ip` runs with -n, every process with nsenter).
set -euo pipefail

die() { echo "run-datapath-bench: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || die "usage: $0 <build dir>"
build=$(realpath "$1")
seconds=${DP_SECONDS:-5}
rounds=${DP_ROUNDS:-3}
pings=${DP_PINGS:-200}
[[ $EUID -eq 0 ]] || die "needs root (network namespaces)"
driver=""
for d in "$build/bin/flannel_datapath_setup" "$build/bench/datapath/flannel_datapath_setup" \
         "$build/datapath/flannel_datapath_setup"; do
  [[ -x "$d" ]] && driver="$d" && break
done
[[ -n "$driver" ]] || die "flannel_datapath_setup missing in $build: cmake --build $build --target flannel_datapath_setup"
for tool in iperf3 jq ping nsenter timeout ip bridge ss; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

# Namespaces "cnkd-<pid>-*", $tmp, $pids and the cleanup traps (ns, newns, inns).
source "$(dirname "$0")/../netns-bench.sh"
netnsBenchInit cnkd

# ---- topologies -------------------------------------------------------------------------
# raw: r-a 10.200.0.1 <-> r-b 10.200.0.2
setupRaw() {
  newns r-a
  newns r-b
  ip -n "$(ns r-a)" link add eth0 type veth peer name eth0 netns "$(ns r-b)"
  ip -n "$(ns r-a)" addr add 10.200.0.1/24 dev eth0
  ip -n "$(ns r-b)" addr add 10.200.0.2/24 dev eth0
  ip -n "$(ns r-a)" link set eth0 up
  ip -n "$(ns r-b)" link set eth0 up
}

# Two nodes on a fabric bridge: <s>-fab, <s>-n1 (192.168.66.1), <s>-n2 (192.168.66.2); pod
# namespaces <s>-p1, <s>-p2 (empty: filled by hand or by cnikit).
setupNodes() {
  local s=$1
  newns "$s-fab"
  ip -n "$(ns "$s-fab")" link add fab0 type bridge
  ip -n "$(ns "$s-fab")" link set fab0 up
  local i
  for i in 1 2; do
    newns "$s-n$i"
    newns "$s-p$i"
    ip -n "$(ns "$s-n$i")" link add eth0 type veth peer name fp$i netns "$(ns "$s-fab")"
    ip -n "$(ns "$s-fab")" link set fp$i master fab0 up
    ip -n "$(ns "$s-n$i")" addr add 192.168.66.$i/24 dev eth0
    ip -n "$(ns "$s-n$i")" link set eth0 up
    inns "$s-n$i" sysctl -qw net.ipv4.ip_forward=1
  done
}

# By hand, what flannel-like's bridge part does: cni0 with the gateway, a veth per pod.
handPods() {
  local s=$1 mtu=$2 i
  for i in 1 2; do
    local n p
    n=$(ns "$s-n$i")
    p=$(ns "$s-p$i")
    ip -n "$n" link add cni0 mtu "$mtu" type bridge
    ip -n "$n" addr add 10.244.$i.1/24 dev cni0
    ip -n "$n" link set cni0 up
    ip -n "$n" link add vethp$i mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$p"
    ip -n "$n" link set vethp$i master cni0 up
    ip -n "$p" addr add 10.244.$i.2/24 dev eth0
    ip -n "$p" link set eth0 up
    ip -n "$p" route add default via 10.244.$i.1
  done
}

setupHandHostGw() {
  setupNodes hg
  handPods hg 1500
  ip -n "$(ns hg-n1)" route add 10.244.2.0/24 via 192.168.66.2 dev eth0
  ip -n "$(ns hg-n2)" route add 10.244.1.0/24 via 192.168.66.1 dev eth0
}

setupHandVxlan() {
  setupNodes vx
  handPods vx 1450
  local i j
  for i in 1 2; do
    j=$((3 - i))
    local n
    n=$(ns "vx-n$i")
    ip -n "$n" link add flannel.1 mtu 1450 address 0e:00:00:00:00:0$i type vxlan id 1 local 192.168.66.$i dev eth0 \
      dstport 8472 nolearning
    ip -n "$n" addr add 10.244.$i.0/32 dev flannel.1
    ip -n "$n" link set flannel.1 up
    ip -n "$n" neigh add 10.244.$j.1 lladdr 0e:00:00:00:00:0$j dev flannel.1 nud permanent
    bridge -n "$n" fdb append 0e:00:00:00:00:0$j dev flannel.1 dst 192.168.66.$j self permanent
    ip -n "$n" route add 10.244.$j.0/24 via 10.244.$j.1 dev flannel.1 onlink
  done
}

setupCnikit() {  # setupCnikit <scenario prefix> <mode>
  local s=$1 mode=$2
  setupNodes "$s"
  "$driver" --mode "$mode" --state-dir "$tmp/state-$s" \
    --node "node-1,/run/netns/$(ns "$s-n1"),eth0,192.168.66.1,10.244.1.0/24,/run/netns/$(ns "$s-p1")" \
    --node "node-2,/run/netns/$(ns "$s-n2"),eth0,192.168.66.2,10.244.2.0/24,/run/netns/$(ns "$s-p2")" \
    >"$tmp/setup-$s.json" || die "flannel_datapath_setup failed for $mode"
}

# ---- measurements -----------------------------------------------------------------------
# scenario -> "client-ns server-ns server-ip"
declare -A client server target
client[raw]=r-a;  server[raw]=r-b;  target[raw]=10.200.0.2
client[hostgw]=hg-p1; server[hostgw]=hg-p2; target[hostgw]=10.244.2.2
client[vxlan]=vx-p1;  server[vxlan]=vx-p2;  target[vxlan]=10.244.2.2
client[cnikit-hostgw]=ch-p1; server[cnikit-hostgw]=ch-p2; target[cnikit-hostgw]=10.244.2.2
client[cnikit-vxlan]=cv-p1;  server[cnikit-vxlan]=cv-p2;  target[cnikit-vxlan]=10.244.2.2
modes=${DP_MODES:-host-gw vxlan}
scenarios=(raw)
blocks=("raw")
for mode in $modes; do
  case $mode in
    host-gw) scenarios+=(hostgw cnikit-hostgw); blocks+=("hostgw cnikit-hostgw") ;;
    vxlan) scenarios+=(vxlan cnikit-vxlan); blocks+=("vxlan cnikit-vxlan") ;;
    *) die "DP_MODES: unknown mode '$mode' (host-gw, vxlan)" ;;
  esac
done

startServers() {
  local sc
  for sc in "${scenarios[@]}"; do
    # nsenter execs iperf3, so $! is the server's pid.
    nsenter --net="/run/netns/$(ns "${server[$sc]}")" iperf3 -s -p 5201 >"$tmp/iperf3-server-$sc.log" 2>&1 &
    pids+=($!)
  done
  for sc in "${scenarios[@]}"; do
    local ok=0
    for _ in $(seq 50); do
      if [[ -n "$(inns "${server[$sc]}" ss -Hltn 'sport = :5201' 2>/dev/null)" ]]; then
        ok=1
        break
      fi
      sleep 0.1
    done
    [[ $ok -eq 1 ]] || die "iperf3 server of $sc does not listen (see $tmp/iperf3-server-$sc.log)"
  done
}

# Prints Gbit/s received. Client and server are pinned to fixed CPUs (iperf3 -A: the first
# CPU is the client's, the second the server's), the same for every scenario: where the
# scheduler puts them otherwise moves a sample by tens of percent on a 2-core machine.
cpus=$(nproc)
affinity="0,$((cpus > 1 ? 1 : 0))"
iperf() {  # iperf <scenario> <streams>
  local sc=$1 streams=$2 out
  out=$(inns "${client[$sc]}" timeout --foreground $((seconds + 20)) iperf3 -c "${target[$sc]}" -p 5201 -t "$seconds" \
    -P "$streams" -A "$affinity" -J 2>/dev/null) || die "iperf3 $sc -P $streams failed or timed out"
  jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out"
}

# Prints the RTT of one sample in microseconds: the interquartile mean of its echo requests
# (the mean of the middle half). Not ping's mean, which one request that waited for a busy
# CPU moves; not the median either, which ping's 1 us resolution quantises (11 or 12 us).
rtt() {
  local sc=$1 out
  out=$(inns "${client[$sc]}" timeout --foreground 60 ping -n -c "$pings" -i 0.002 "${target[$sc]}") ||
    die "ping $sc failed"
  sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' <<<"$out" | sort -g |
    awk '{ v[NR] = $1 } END { lo = int(NR / 4) + 1; hi = NR - int(NR / 4); for (i = lo; i <= hi; i++) sum += v[i];
      printf "%.2f\n", sum / (hi - lo + 1) * 1000 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- run ----------------------------------------------------------------------------------
echo "run-datapath-bench: building namespaces (${prefix}*)" >&2
setupRaw
setupHandHostGw
setupHandVxlan
setupCnikit ch host-gw
setupCnikit cv vxlan
# The driver's last line is its JSON report (the backend's log lines come before it).
summary() { tail -n 1 "$tmp/setup-$1.json" | jq -c '."node-1" | {mtu, pod_add_ms, node_upsert_ms}'; }
echo "run-datapath-bench: cnikit setup (node-1): host-gw $(summary ch), vxlan $(summary cv)" >&2

# Same MTU on both sides of each comparison, or the comparison means nothing.
for pair in "hg-p1:ch-p1" "vx-p1:cv-p1"; do
  a=$(ip -n "$(ns "${pair%%:*}")" -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
  b=$(ip -n "$(ns "${pair##*:}")" -o link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
  [[ "$a" == "$b" ]] || die "pod MTU differs between hand-made ($a) and cnikit ($b) for ${pair}"
done

startServers
for sc in "${scenarios[@]}"; do
  inns "${client[$sc]}" ping -q -c 3 -i 0.2 "${target[$sc]}" >/dev/null || die "$sc: pods do not reach each other"
done

echo "run-datapath-bench: $rounds round(s) of iperf3 ${seconds}s x {1,2} streams + ${pings} pings per scenario" >&2
# Each round measures every scenario once. A hand-made path and its cnikit twin run back to
# back (in ABBA order: which of the two goes first alternates by round) so that each round
# yields a paired ratio taken under the same machine conditions; the blocks rotate so that
# no scenario always runs first or last.
for ((r = 1; r <= rounds; r++)); do
  for ((k = 0; k < ${#blocks[@]}; k++)); do
    read -r -a block <<<"${blocks[$(((r - 1 + k) % ${#blocks[@]}))]}"
    if ((r % 2 == 0 && ${#block[@]} == 2)); then block=("${block[1]}" "${block[0]}"); fi
    for sc in "${block[@]}"; do
      echo "  round $r: $sc" >&2
      iperf "$sc" 1 >>"$tmp/$sc.tcp1"
      iperf "$sc" 2 >>"$tmp/$sc.tcp2"
      rtt "$sc" >>"$tmp/$sc.rtt"
    done
  done
done

declare -A tcp1 tcp2 lat
for sc in "${scenarios[@]}"; do
  tcp1[$sc]=$(median <"$tmp/$sc.tcp1")
  tcp2[$sc]=$(median <"$tmp/$sc.tcp2")
  lat[$sc]=$(median <"$tmp/$sc.rtt")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo
echo "Datapath, pod to pod across two nodes (median of $rounds; iperf3 ${seconds}s; RTT = interquartile mean of $pings pings)"
printf "%-15s %10s %7s %10s %7s %10s %7s\n" scenario "1 stream" "x raw" "2 streams" "x raw" "RTT us" "x raw"
for sc in "${scenarios[@]}"; do
  printf "%-15s %8.2f G %7s %8.2f G %7s %10.2f %7s\n" "$sc" "${tcp1[$sc]}" "$(ratio "${tcp1[$sc]}" "${tcp1[raw]}")" \
    "${tcp2[$sc]}" "$(ratio "${tcp2[$sc]}" "${tcp2[raw]}")" "${lat[$sc]}" "$(ratio "${lat[$sc]}" "${lat[raw]}")"
done
spread() {  # (max - min) / median of a sample file, as a percentage
  sort -g "$1" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
    printf "%.0f%%", (v[NR] - v[1]) / m * 100 }'
}
echo "sample spread (max - min) / median:"
for sc in "${scenarios[@]}"; do
  echo "  $sc: 1 stream $(spread "$tmp/$sc.tcp1"), 2 streams $(spread "$tmp/$sc.tcp2"), RTT $(spread "$tmp/$sc.rtt")"
done
echo
echo "cnikit against the same path made by hand (1.000 = equal): the median of the per-round paired"
echo "ratios (cnikit / hand-made, measured back to back) and its 95% bootstrap interval. Target:"
echo "cnikit not worse by more than 3% (throughput ratio >= 0.97, RTT ratio <= 1.03): 'met' when the"
echo "whole interval is on the good side, 'missed' when it is all on the bad side, else 'unresolved'"
echo "(the machine's noise is larger than the difference: more rounds narrow the interval)."
paired() {  # paired <hand file> <cnikit file>: "median [lo..hi]" of the line-by-line ratios
  paste "$1" "$2" | awk '{ print $2 / $1 }' | awk '
    function sorted(a, n, b,   i, j, t) {  # b = a sorted (insertion sort: mawk has no asort)
      for (i = 1; i <= n; i++) b[i] = a[i]
      for (i = 2; i <= n; i++) { t = b[i]; for (j = i - 1; j > 0 && b[j] > t; j--) b[j + 1] = b[j]; b[j + 1] = t }
    }
    function median(a, n,   b) {
      sorted(a, n, b)
      return (n % 2) ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
    }
    { v[NR] = $1 }
    END {
      srand(1)  # a fixed seed: the same samples give the same interval
      for (k = 1; k <= 2000; k++) {
        for (i = 1; i <= NR; i++) r[i] = v[int(rand() * NR) + 1]
        m[k] = median(r, NR)
      }
      sorted(m, 2000, ms)
      printf "%.3f [%.3f..%.3f]", median(v, NR), ms[51], ms[1950]
    }'
}
verdict() {  # verdict "<median> [lo..hi]" ge|le <bound>
  local lo hi
  lo=$(sed 's/.*\[\(.*\)\.\.\(.*\)\]/\1/' <<<"$1")
  hi=$(sed 's/.*\[\(.*\)\.\.\(.*\)\]/\2/' <<<"$1")
  awk -v lo="$lo" -v hi="$hi" -v op="$2" -v b="$3" 'BEGIN {
    if (op == "ge") print (lo >= b) ? "met" : (hi < b) ? "missed" : "unresolved";
    else print (hi <= b) ? "met" : (lo > b) ? "missed" : "unresolved" }'
}
printf "%-8s %-10s %-24s %s\n" mode figure "cnikit / hand-made" "within 3%"
for pair in "host-gw:hostgw:cnikit-hostgw" "vxlan:vxlan:cnikit-vxlan"; do
  IFS=: read -r mode hand ours <<<"$pair"
  [[ " $modes " == *" $mode "* ]] || continue
  t1=$(paired "$tmp/$hand.tcp1" "$tmp/$ours.tcp1")
  t2=$(paired "$tmp/$hand.tcp2" "$tmp/$ours.tcp2")
  rt=$(paired "$tmp/$hand.rtt" "$tmp/$ours.rtt")
  printf "%-8s %-10s %-24s %s\n" "$mode" "1 stream" "$t1" "$(verdict "$t1" ge 0.97)"
  printf "%-8s %-10s %-24s %s\n" "" "2 streams" "$t2" "$(verdict "$t2" ge 0.97)"
  printf "%-8s %-10s %-24s %s\n" "" "RTT" "$rt" "$(verdict "$rt" le 1.03)"
done
echo
echo "raw samples (Gbit/s, Gbit/s, us):"
for sc in "${scenarios[@]}"; do
  echo "  $sc: 1 stream [$(paste -sd' ' "$tmp/$sc.tcp1")], 2 streams [$(paste -sd' ' "$tmp/$sc.tcp2")]," \
    "RTT [$(paste -sd' ' "$tmp/$sc.rtt")]"
done
