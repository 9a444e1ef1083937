#include "core/store/EtcdWatch.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/store/EtcdCodec.hpp"

namespace cnikit::store::etcd {

// Shared by the Watch and its thread, so that the thread never outlives what it uses.
struct EtcdWatch::State {
  std::shared_ptr<EtcdClient> client;
  std::string prefix;
  WatchCallback onEvents;
  CompactedCallback onCompacted;
  WatchOptions options;

  std::atomic<bool> stop{false};
  std::mutex mutex;  // guards the backoff wait
  std::condition_variable cv;
  CURLM* multi = nullptr;
  std::thread thread;

  // Only the watch thread touches these.
  Revision last = 0;  // the last revision delivered (or skipped: fromRevision)
  std::string buffer;
  std::string requestBody;
  bool created = false;
  bool finished = false;
  std::string lastError;

  ~State() {
    if (multi) curl_multi_cleanup(multi);
  }

  void run();
  void streamFrom(size_t endpointIndex);
  bool handleLine(std::string_view line);
  void deliver(const std::vector<Event>& events);
};

namespace {

size_t onData(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<EtcdWatch::State*>(user);
  if (state->stop) return 0;
  state->buffer.append(data, size * count);
  size_t start = 0;
  for (size_t nl; (nl = state->buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(state->buffer.data() + start, nl - start);
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    if (!state->handleLine(line)) return 0;  // aborts the transfer
  }
  state->buffer.erase(0, start);
  return size * count;
}

// The gateway passes Grpc-Metadata-* headers on as gRPC metadata: with "hasleader" etcd
// cancels the watch when its member loses the leader (a partitioned member would otherwise
// keep the stream open and silently deliver nothing), and the watch moves on.
curl_slist* watchHeaders() {
  static curl_slist* headers = [] {
    curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    return curl_slist_append(h, "Grpc-Metadata-hasleader: true");
  }();
  return headers;
}

int setKeepAliveCount(void*, curl_socket_t fd, curlsocktype) {
  int probes = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
  return CURL_SOCKOPT_OK;
}

}  // namespace

void EtcdWatch::State::deliver(const std::vector<Event>& events) {
  if (stop) return;
  try {
    onEvents(events);
  } catch (...) {
    // A callback's failure is its own; the watch carries on.
  }
}

bool EtcdWatch::State::handleLine(std::string_view line) {
  nlohmann::json message;
  try {
    message = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    lastError = std::string("unparsable watch message: ") + e.what();
    return false;
  }
  if (message.contains("error")) {
    lastError = "watch error: " + message["error"].dump();
    return false;
  }
  auto it = message.find("result");
  if (it == message.end() || !it->is_object()) return true;
  const nlohmann::json& result = *it;
  try {
    if (int64Field(result, "compact_revision") > 0) {
      finished = true;
      if (!stop && onCompacted) {
        try {
          onCompacted();
        } catch (...) {
          // As for events.
        }
      }
      return false;
    }
    if (result.value("canceled", false)) {
      lastError = "watch canceled by etcd: " + result.value("cancel_reason", std::string("no reason given"));
      return false;
    }
    if (result.value("created", false)) {
      created = true;
      client->noteWatchCreated();
    }
    auto events = result.find("events");
    if (events == result.end() || !events->is_array()) return true;
    std::vector<Event> out;
    out.reserve(events->size());
    Revision newest = last;
    for (const auto& e : *events) {
      Event event{e.value("type", std::string("PUT")) == "DELETE" ? EventType::Delete : EventType::Put,
                  keyValueFromJson(e.value("kv", nlohmann::json::object()))};
      // After a reconnect etcd starts at last + 1; this only guards against a server that
      // would not.
      if (event.kv.modRevision <= last) continue;
      newest = std::max(newest, event.kv.modRevision);
      out.push_back(std::move(event));
    }
    if (!out.empty()) deliver(out);
    last = newest;
  } catch (const std::exception& e) {
    lastError = std::string("bad watch message: ") + e.what();
    return false;
  }
  return !stop;
}

void EtcdWatch::State::streamFrom(size_t endpointIndex) {
  const std::string url = client->endpoints()[endpointIndex] + "/v3/watch";
  nlohmann::json create = {{"key", base64Encode(prefix.empty() ? std::string(1, '\0') : prefix)},
                           {"range_end", base64Encode(prefixRangeEnd(prefix))},
                           {"start_revision", std::to_string(last + 1)}};
  requestBody = nlohmann::json{{"create_request", create}}.dump();
  buffer.clear();
  created = false;

  CURL* easy = curl_easy_init();
  if (!easy) {
    lastError = "curl_easy_init failed";
    return;
  }
  configureCommon(easy, client->options());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, watchHeaders());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, requestBody.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(requestBody.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, static_cast<long>(options.keepAliveIdle.count()));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, static_cast<long>(options.keepAliveInterval.count()));
  curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, setKeepAliveCount);
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);

  curl_multi_add_handle(multi, easy);
  int running = 1;
  while (running && !stop) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    if (!running || stop) break;
    // Woken early by new data or by curl_multi_wakeup from the destructor.
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK && lastError.empty()) {
      lastError = curl_easy_strerror(msg->data.result) + (error[0] ? std::string(" (") + error + ")" : "");
    }
  }
  curl_multi_remove_handle(multi, easy);
  curl_easy_cleanup(easy);
  // The gateway ends a stream after an error message without a final newline.
  if (!stop && !finished && buffer.find_first_not_of(" \r\n\t") != std::string::npos) handleLine(buffer);
  buffer.clear();
}

void EtcdWatch::State::run() {
  const size_t endpoints = client->endpoints().size();
  size_t index = client->preferredEndpoint();
  auto backoff = options.retryMin;
  while (!stop && !finished) {
    lastError.clear();
    streamFrom(index);
    if (stop || finished) break;
    client->noteWatchError(client->endpoints()[index] + ": watch of '" + prefix +
                           "': " + (lastError.empty() ? "the stream ended" : lastError));
    if (created) {
      backoff = options.retryMin;  // it worked until now: come back soon
    } else {
      index = (index + 1) % endpoints;  // this endpoint did not even start the watch
    }
    std::unique_lock lock(mutex);
    cv.wait_for(lock, backoff, [&] { return stop.load(); });
    backoff = std::min(backoff * 2, options.retryMax);
  }
}

EtcdWatch::EtcdWatch(std::shared_ptr<EtcdClient> client, std::string_view prefix, Revision fromRevision,
                     WatchCallback onEvents, CompactedCallback onCompacted, WatchOptions options)
    : state_(std::make_shared<State>()) {
  state_->client = std::move(client);
  state_->prefix = std::string(prefix);
  state_->onEvents = std::move(onEvents);
  state_->onCompacted = std::move(onCompacted);
  state_->options = options;
  state_->last = fromRevision;
  state_->multi = curl_multi_init();
  if (!state_->multi) throw StoreUnavailable("etcd store: curl_multi_init failed");
  state_->thread = std::thread([state = state_] { state->run(); });
}

EtcdWatch::~EtcdWatch() {
  state_->stop = true;
  curl_multi_wakeup(state_->multi);
  {
    std::lock_guard lock(state_->mutex);
    state_->cv.notify_all();
  }
  if (state_->thread.get_id() == std::this_thread::get_id()) {
    // Destroyed from its own callback (which the contract forbids): the thread holds the
    // state and ends by itself; joining here would deadlock.
    state_->thread.detach();
  } else {
    state_->thread.join();
  }
}

}  // namespace cnikit::store::etcd
