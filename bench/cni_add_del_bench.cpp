// cni_add_del_bench: ADD then DEL of N pods through cnikit and through the reference
// bridge + host-local plugins, both run as executables the way a container runtime runs
// them (spawn, CNI_* environment, config on stdin, result on stdout). Prints latency
// percentiles per operation and mode, the ratios cnikit/reference and the agent's memory.
// It asserts nothing about speed; it fails only when a plugin invocation fails.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <cnikit/toolkit/Process.hpp>
#include <nlohmann/json.hpp>

#include "Percentiles.hpp"
#include "ProcSample.hpp"

namespace cnikit::bench {
namespace {

using Json = nlohmann::json;
using Nanos = std::chrono::nanoseconds;

constexpr double kTargetLatencyRatio = 0.15;  // cnikit p50 at most this times the reference (issue 10)
constexpr long kTargetRssKiB = 30 * 1024;    // agent RSS with all pods attached

enum class Op { Add, Del };
const char* opName(Op op) { return op == Op::Add ? "ADD" : "DEL"; }

// One plugin under measurement: how a runtime would find and call it.
struct Subject {
  std::string label;       // "reference" or "cnikit"
  std::string cniPath;     // CNI_PATH, where the runtime looks up "type"
  std::string executable;  // cniPath/type
  Json config;
};

struct Options {
  std::string hostNetns;
  std::string podNetnsPrefix;
  int pods = 200;
  int workers = 8;
  int warmup = 3;
  int repeat = 1;
  pid_t agentPid = 0;
  std::string refConfig;
  std::string refCniPath = "/usr/lib/cni";
  std::string cnikitConfig;
  std::string cnikitCniPath;
  std::string samplesOut;
};

// A plugin invocation that failed: the run stops and reports it.
struct InvocationFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Job {
  int pod = 0;
  std::string containerId;
  std::map<std::string, std::string> env;
  std::string stdinText;
};

struct PhaseResult {
  std::vector<Nanos> samples;    // one per pod, spawn to exit
  std::vector<std::string> out;  // stdout per pod
  double wallSeconds = 0;        // whole phase, first spawn to last exit
  double pluginCpuMs = 0;        // CPU of the reaped plugin processes (and their children)
  std::optional<double> agentCpuMs;
};

// One (subject, mode) round: ADD of every pod, then DEL of every pod.
struct RoundResult {
  std::string subject;
  std::string mode;
  PhaseResult add;
  PhaseResult del;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ino_t netnsInode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path + ": " + std::strerror(errno));
  return st.st_ino;
}

// The reference bridge is created in the caller's namespace: the whole bench runs in a
// namespace of its own, entered here, never in the one it was started in.
void enterHostNetns(const std::string& path) {
  ino_t startedIn = netnsInode("/proc/self/ns/net");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open host netns " + path + ": " + std::strerror(errno));
  // Before any thread starts: threads and children inherit the namespace of their creator.
  int rc = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("setns into " + path + ": " + std::strerror(err));
  if (netnsInode("/proc/self/ns/net") == startedIn)
    throw std::runtime_error(path + " is the namespace the bench was started in: give it a namespace of its own");
}

Subject loadSubject(const std::string& label, const std::string& configPath, const std::string& cniPath) {
  Subject s;
  s.label = label;
  s.cniPath = cniPath;
  try {
    s.config = Json::parse(readFile(configPath));
  } catch (const Json::parse_error& e) {
    throw std::runtime_error(configPath + " is not JSON: " + e.what());
  }
  if (!s.config.contains("type") || !s.config["type"].is_string())
    throw std::runtime_error(configPath + ": network config has no string \"type\"");
  s.executable = cniPath + "/" + s.config["type"].get<std::string>();
  if (::access(s.executable.c_str(), X_OK) != 0)
    throw std::runtime_error(label + " plugin " + s.executable + " is not executable: " + std::strerror(errno));
  return s;
}

std::string podNetns(const Options& o, int pod) { return o.podNetnsPrefix + std::to_string(pod); }

std::string containerId(const Subject& s, const std::string& round, int pod) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "cnkb-%s-%s-%04d", s.label.c_str(), round.c_str(), pod);
  return buf;
}

// The environment a runtime (libcni) hands a plugin, nothing inherited from ours.
std::map<std::string, std::string> cniEnv(const Subject& s, Op op, const std::string& id, const std::string& netns,
                                          int pod) {
  return {
      {"CNI_COMMAND", opName(op)},
      {"CNI_CONTAINERID", id},
      {"CNI_NETNS", netns},
      {"CNI_IFNAME", "eth0"},
      {"CNI_PATH", s.cniPath},
      {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-" + std::to_string(pod) +
                       ";K8S_POD_INFRA_CONTAINER_ID=" + id},
      {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
  };
}

std::vector<Job> makeJobs(const Options& o, const Subject& s, Op op, const std::string& round, int firstPod,
                          int count, const std::vector<std::string>* addResults) {
  std::vector<Job> jobs;
  for (int pod = firstPod; pod < firstPod + count; ++pod) {
    Job job;
    job.pod = pod;
    job.containerId = containerId(s, round, pod);
    job.env = cniEnv(s, op, job.containerId, podNetns(o, pod), pod);
    Json config = s.config;
    // Like libcni, DEL carries the cached ADD result as prevResult.
    if (op == Op::Del && addResults) config["prevResult"] = Json::parse((*addResults)[pod - firstPod]);
    job.stdinText = config.dump();
    jobs.push_back(std::move(job));
  }
  return jobs;
}

std::string failureText(const Subject& s, Op op, const Job& job, const toolkit::ProcessResult& r) {
  std::ostringstream text;
  text << opName(op) << " failed with " << s.label << " (" << s.executable << ") for pod " << job.pod
       << " (container " << job.containerId << "): "
       << (r.signal ? "killed by signal " + std::to_string(r.signal) : "exit code " + std::to_string(r.exitCode)) << " after "
       << std::chrono::duration<double, std::milli>(r.wall).count() << " ms\n  stdout: " << (r.out.empty() ? "(empty)" : r.out)
       << "\n  stderr: " << (r.err.empty() ? "(empty)" : r.err);
  return text.str();
}

// Runs every job with `workers` threads, each taking its own share (pods i, i+workers, ...).
PhaseResult runPhase(const Subject& s, Op op, std::vector<Job> jobs, int workers, pid_t agentPid) {
  PhaseResult result;
  result.samples.resize(jobs.size());
  result.out.resize(jobs.size());
  std::atomic<bool> failed{false};
  std::mutex failureMutex;
  std::string failure;

  auto work = [&](int worker) {
    for (size_t i = static_cast<size_t>(worker); i < jobs.size(); i += static_cast<size_t>(workers)) {
      if (failed.load()) return;
      try {
        // As a runtime runs a plugin: exactly this environment, the config on stdin.
        toolkit::ProcessSpec spec{.argv = {s.executable}, .stdinText = jobs[i].stdinText, .env = jobs[i].env,
                                  .replaceEnv = true, .timeout = std::chrono::milliseconds(0)};
        toolkit::ProcessResult r = toolkit::runProcess(spec).value();
        result.samples[i] = r.wall;
        if (!r.succeeded()) {
          std::lock_guard lock(failureMutex);
          if (!failed.exchange(true)) failure = failureText(s, op, jobs[i], r);
          return;
        }
        result.out[i] = std::move(r.out);
      } catch (const std::exception& e) {
        std::lock_guard lock(failureMutex);
        if (!failed.exchange(true)) failure = std::string(opName(op)) + " with " + s.label + ": " + e.what();
        return;
      }
    }
  };

  double cpuBefore = reapedChildrenCpuMs();
  std::optional<double> agentBefore = agentPid ? readCpuMs(agentPid) : std::nullopt;
  auto start = std::chrono::steady_clock::now();
  if (workers <= 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back(work, w);
    for (auto& t : threads) t.join();
  }
  result.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.pluginCpuMs = reapedChildrenCpuMs() - cpuBefore;
  if (agentBefore) {
    if (auto after = readCpuMs(agentPid)) result.agentCpuMs = *after - *agentBefore;
  }
  if (failed) throw InvocationFailure(failure);

  // Outside the timing: every ADD must have returned a result with addresses.
  if (op == Op::Add) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      bool ok = false;
      try {
        Json res = Json::parse(result.out[i]);
        ok = res.contains("ips") && res["ips"].is_array() && !res["ips"].empty();
      } catch (const Json::parse_error&) {
      }
      if (!ok) {
        throw InvocationFailure("ADD with " + s.label + " for pod " + std::to_string(jobs[i].pod) +
                                " exited 0 but printed no result with \"ips\"\n  stdout: " + result.out[i]);
      }
    }
  }
  return result;
}

// The first three fields of /proc/loadavg: other load on the machine moves every figure.
std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

std::string formatRss(std::optional<long> kib) {
  if (!kib) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(*kib) / 1024.0);
  return buf;
}

void writeSamples(const std::string& path, const std::vector<RoundResult>& rounds, int pods) {
  std::ofstream csv(path);
  if (!csv) throw std::runtime_error("cannot write " + path);
  csv << "subject,mode,op,repeat,pod,wall_ms\n";
  for (const auto& r : rounds) {
    for (Op op : {Op::Add, Op::Del}) {
      const auto& samples = op == Op::Add ? r.add.samples : r.del.samples;
      for (size_t i = 0; i < samples.size(); ++i)
        csv << r.subject << ',' << r.mode << ',' << opName(op) << ',' << i / static_cast<size_t>(pods) << ','
            << i % static_cast<size_t>(pods) << ','
            << std::chrono::duration<double, std::milli>(samples[i]).count() << '\n';
    }
  }
}

void mergeInto(PhaseResult& total, PhaseResult&& part) {
  total.samples.insert(total.samples.end(), part.samples.begin(), part.samples.end());
  total.wallSeconds += part.wallSeconds;
  total.pluginCpuMs += part.pluginCpuMs;
  if (part.agentCpuMs) total.agentCpuMs = total.agentCpuMs.value_or(0) + *part.agentCpuMs;
}

RoundResult* findRound(std::vector<RoundResult>& rounds, const std::string& subject, const std::string& mode) {
  for (auto& r : rounds)
    if (r.subject == subject && r.mode == mode) return &r;
  return nullptr;
}

int run(const Options& o) {
  std::signal(SIGPIPE, SIG_IGN);
  enterHostNetns(o.hostNetns);
  if (o.pods < 1 || o.workers < 1 || o.repeat < 1 || o.warmup < 0 || o.warmup > o.pods)
    throw std::runtime_error("need pods >= 1, parallel >= 1, repeat >= 1 and 0 <= warmup <= pods");
  for (int pod = 0; pod < o.pods; ++pod) netnsInode(podNetns(o, pod));  // all present, or say which is not

  std::vector<Subject> subjects;
  subjects.push_back(loadSubject("reference", o.refConfig, o.refCniPath));
  bool haveCnikit = !o.cnikitConfig.empty();
  if (haveCnikit) subjects.push_back(loadSubject("cnikit", o.cnikitConfig, o.cnikitCniPath));

  const std::string loadBefore = loadAverage();
  std::optional<long> rssBefore = o.agentPid ? readRssKiB(o.agentPid) : std::nullopt;
  if (o.agentPid && !rssBefore) throw std::runtime_error("agent pid " + std::to_string(o.agentPid) + " is not running");

  // Warm-up, untimed: page cache, the first ADD that creates a bridge or leases a subnet.
  for (const auto& s : subjects) {
    auto adds = runPhase(s, Op::Add, makeJobs(o, s, Op::Add, "warm", 0, o.warmup, nullptr), 1, 0);
    runPhase(s, Op::Del, makeJobs(o, s, Op::Del, "warm", 0, o.warmup, &adds.out), 1, 0);
  }

  // With --repeat, the plugins take turns round by round, so slow drifts of the machine's
  // load hit both alike; the samples of all repeats are pooled.
  std::vector<RoundResult> rounds;
  std::vector<std::pair<std::string, std::optional<long>>> rssAttached;  // highest per mode
  const std::string parallelMode = "parallel-" + std::to_string(o.workers);
  for (const auto& [mode, workers] : {std::pair<std::string, int>{"sequential", 1}, {parallelMode, o.workers}}) {
    std::optional<long> rssMode;
    for (int repeat = 0; repeat < o.repeat; ++repeat) {
      for (const auto& s : subjects) {
        std::string tag = (mode == "sequential" ? "seq" : "par") + std::to_string(repeat);
        pid_t agent = s.label == "cnikit" ? o.agentPid : 0;
        std::cerr << "  " << s.label << " " << mode << " #" << repeat + 1 << ": ADD x" << o.pods << std::flush;
        PhaseResult add = runPhase(s, Op::Add, makeJobs(o, s, Op::Add, tag, 0, o.pods, nullptr), workers, agent);
        if (agent) {
          auto rss = readRssKiB(agent);
          if (rss && (!rssMode || *rss > *rssMode)) rssMode = rss;
        }
        std::cerr << ", DEL x" << o.pods << std::flush;
        PhaseResult del = runPhase(s, Op::Del, makeJobs(o, s, Op::Del, tag, 0, o.pods, &add.out), workers, agent);
        std::cerr << " done\n";
        RoundResult* r = findRound(rounds, s.label, mode);
        if (!r) r = &rounds.emplace_back(RoundResult{s.label, mode, {}, {}});
        mergeInto(r->add, std::move(add));
        mergeInto(r->del, std::move(del));
      }
    }
    if (o.agentPid) rssAttached.emplace_back(mode, rssMode);
  }
  std::optional<long> rssAfter = o.agentPid ? readRssKiB(o.agentPid) : std::nullopt;
  const std::string loadAfter = loadAverage();
  if (!o.samplesOut.empty()) writeSamples(o.samplesOut, rounds, o.pods);

  // ---- report ----
  std::printf("\nCNI ADD/DEL benchmark: %d pods per round, %d round(s) per plugin and mode, %s = %d threads, "
              "%d untimed warm-up pods per plugin\n",
              o.pods, o.repeat, parallelMode.c_str(), o.workers, o.warmup);
  utsname uts{};
  ::uname(&uts);
  std::printf("machine: %s %s, %ld CPUs online, load average %s at start, %s at end\n", uts.sysname, uts.release,
              ::sysconf(_SC_NPROCESSORS_ONLN), loadBefore.c_str(), loadAfter.c_str());
  std::printf("reference: %s (ipam host-local), CNI_PATH=%s\n", subjects[0].executable.c_str(), subjects[0].cniPath.c_str());
  if (haveCnikit) std::printf("cnikit:    %s -> agent pid %d\n", subjects[1].executable.c_str(), static_cast<int>(o.agentPid));
  std::printf("latency of one invocation, spawn to exit, ms (nearest-rank percentiles)\n\n");
  char target[64];
  std::snprintf(target, sizeof target, "target: cnikit p50 <= %.2fx reference", kTargetLatencyRatio);
  std::printf("%-3s  %-11s | %-22s | %-22s | %-13s | %s\n", "op", "mode", "reference  p50     p99",
              "cnikit     p50     p99", "ratio p50 p99", target);
  std::printf("%s\n", std::string(118, '-').c_str());
  int targetsMet = 0, targetsTotal = 0;
  for (const std::string& mode : {std::string("sequential"), parallelMode}) {
    for (Op op : {Op::Add, Op::Del}) {
      const RoundResult* ref = findRound(rounds, "reference", mode);
      const RoundResult* cnk = findRound(rounds, "cnikit", mode);
      auto rs = summarize(op == Op::Add ? ref->add.samples : ref->del.samples);
      std::printf("%-3s  %-11s | %10.2f %8.2f   | ", opName(op), mode.c_str(), rs.p50Ms, rs.p99Ms);
      if (!cnk) {
        std::printf("%-22s | %-13s | %s\n", "(not run)", "", "");
        continue;
      }
      auto cs = summarize(op == Op::Add ? cnk->add.samples : cnk->del.samples);
      double r50 = cs.p50Ms / rs.p50Ms, r99 = cs.p99Ms / rs.p99Ms;
      bool met = r50 <= kTargetLatencyRatio;
      ++targetsTotal;
      targetsMet += met;
      std::printf("%10.2f %8.2f   | %5.3f %6.3f  | %s (%.2fx)\n", cs.p50Ms, cs.p99Ms, r50, r99, met ? "met" : "MISSED", r50);
    }
  }

  std::printf("\nper plugin and mode: phase wall time, throughput, CPU per invocation (plugin processes; cnikit adds the agent)\n\n");
  std::printf("%-9s  %-11s %-3s | %8s %8s %8s %8s | %10s %10s %10s\n", "plugin", "mode", "op", "mean ms", "max ms",
              "phase s", "pods/s", "plugin cpu", "agent cpu", "total cpu");
  std::printf("%s\n", std::string(106, '-').c_str());
  for (const auto& r : rounds) {
    for (Op op : {Op::Add, Op::Del}) {
      const PhaseResult& p = op == Op::Add ? r.add : r.del;
      auto s = summarize(p.samples);
      double n = static_cast<double>(p.samples.size());
      double plugin = p.pluginCpuMs / n;
      char agent[32] = "-";
      if (p.agentCpuMs) std::snprintf(agent, sizeof agent, "%.3f", *p.agentCpuMs / n);
      double total = plugin + (p.agentCpuMs ? *p.agentCpuMs / n : 0.0);
      std::printf("%-9s  %-11s %-3s | %8.2f %8.2f %8.2f %8.1f | %10.3f %10s %10.3f\n", r.subject.c_str(), r.mode.c_str(),
                  opName(op), s.meanMs, s.maxMs, p.wallSeconds, n / p.wallSeconds, plugin, agent, total);
    }
  }
  std::printf("(cpu in ms per invocation; agent cpu from /proc/<pid>/stat at %ld ticks/s)\n", ::sysconf(_SC_CLK_TCK));

  if (o.agentPid) {
    long worst = 0;
    std::printf("\nagent RSS (VmRSS): before any pod %s", formatRss(rssBefore).c_str());
    for (const auto& [mode, kib] : rssAttached) {
      std::printf("; %d pods attached (%s, highest) %s", o.pods, mode.c_str(), formatRss(kib).c_str());
      worst = std::max(worst, kib.value_or(0));
    }
    std::printf("; after all DEL %s\n", formatRss(rssAfter).c_str());
    bool met = worst > 0 && worst < kTargetRssKiB;
    ++targetsTotal;
    targetsMet += met;
    std::printf("target: RSS with %d pods attached < 30 MB: %s (%s)\n", o.pods, met ? "met" : "MISSED", formatRss(worst).c_str());
  }
  if (targetsTotal > 0) std::printf("\ntargets met: %d of %d\n", targetsMet, targetsTotal);
  return 0;
}

}  // namespace
}  // namespace cnikit::bench

int main(int argc, char** argv) {
  cnikit::bench::Options o;
  CLI::App app{"ADD/DEL latency of cnikit against the reference bridge + host-local plugins"};
  app.add_option("--host-netns", o.hostNetns, "network namespace (path) to run in; the reference bridge lands here")
      ->required();
  app.add_option("--pod-netns-prefix", o.podNetnsPrefix, "pod namespaces are <prefix>0 .. <prefix>N-1 (paths)")->required();
  app.add_option("--pods", o.pods, "pods per round")->capture_default_str();
  app.add_option("--parallel", o.workers, "threads in the parallel mode")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed ADD+DEL pods per plugin before measuring")->capture_default_str();
  app.add_option("--repeat", o.repeat, "rounds per plugin and mode, taking turns; samples are pooled")
      ->capture_default_str();
  app.add_option("--agent-pid", o.agentPid, "cnikitd pid, for RSS and CPU figures");
  app.add_option("--ref-config", o.refConfig, "reference network config (JSON)")->required();
  app.add_option("--ref-cni-path", o.refCniPath, "CNI_PATH of the reference plugins")->capture_default_str();
  auto* cnikit = app.add_option("--cnikit-config", o.cnikitConfig, "cnikit network config (JSON); omit to run the reference only");
  app.add_option("--cnikit-cni-path", o.cnikitCniPath, "CNI_PATH holding the cnikit executable")->needs(cnikit);
  app.add_option("--samples-out", o.samplesOut, "write every sample as CSV");
  CLI11_PARSE(app, argc, argv);
  try {
    return cnikit::bench::run(o);
  } catch (const cnikit::bench::InvocationFailure& e) {
    std::cerr << "\nbench stopped: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "\nbench error: " << e.what() << "\n";
    return 1;
  }
}
