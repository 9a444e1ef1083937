/*
 * cnikit backend ABI: the stable C boundary between the cnikit core (the host) and a
 * datapath backend (a shared library loaded at run time).
 *
 * Rules that keep this boundary stable (see docs/sdk-guide.md):
 *  - Only C types cross. No exception may escape a backend function; errors are a
 *    cnikit_status plus a message from last_error().
 *  - Every struct that crosses starts with `size_t size` (sizeof the struct as the
 *    sender knew it). New fields are only ever appended; a receiver that gets a larger
 *    struct than it knows accepts it only if the unknown tail bytes are all zero
 *    (cnikit_struct_tail_is_zero).
 *  - Ownership: the side that allocates frees. A `const char*` or struct pointer returned
 *    by a backend stays valid until the next call into that backend library from the same
 *    thread (or the handle's destroy). A pointer the host passes in stays valid only for the
 *    duration of the call. Host callbacks that return data (store_get, secret_get) keep it
 *    valid until the next such callback made from the same thread.
 *  - Minor versions: the host sends every struct at the size the backend's abi_minor knows
 *    (a 1.0 backend never sees 1.1 fields), and reads a table's fields only as far as its
 *    size reaches. Each field below says the minor that added it.
 *  - A backend library exports exactly one symbol, CNIKIT_BACKEND_ENTRY_SYMBOL. The host
 *    calls it with its own ABI version; it returns the backend's function table. The
 *    host refuses a table whose abi_major differs from its own or whose abi_minor is
 *    newer than its own.
 *  - Optional capabilities are optional table pointers: NULL means "not supported".
 *  - Calls on one cnikit_backend handle may come from several threads at once, but
 *    never two for the same container id at the same time.
 */
#ifndef CNIKIT_BACKEND_H
#define CNIKIT_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNIKIT_ABI_MAJOR 1
#define CNIKIT_ABI_MINOR 1

#define CNIKIT_BACKEND_ENTRY_SYMBOL "cnikit_backend_entry"

#if defined(__GNUC__)
#define CNIKIT_EXPORT __attribute__((visibility("default")))
#else
#define CNIKIT_EXPORT
#endif

typedef enum cnikit_status {
  CNIKIT_OK = 0,
  CNIKIT_ERR_INVALID_ARGUMENT = 1, /* bad input from the host or in options */
  CNIKIT_ERR_NOT_FOUND = 2,        /* object does not exist (DEL of a gone pod is OK, not this) */
  CNIKIT_ERR_EXISTS = 3,           /* object exists and conflicts */
  CNIKIT_ERR_UNSUPPORTED = 4,      /* capability or option not supported */
  CNIKIT_ERR_SYSTEM = 5,           /* a kernel/OS call failed; last_error names it */
  CNIKIT_ERR_TRY_AGAIN = 6,        /* transient; the host may retry later */
  CNIKIT_ERR_INTERNAL = 7,         /* bug or unexpected exception inside the backend */
  CNIKIT_ERR_CONFLICT = 8          /* 1.1: a store compare-and-swap lost (the revision moved on) */
} cnikit_status;

typedef enum cnikit_log_level {
  CNIKIT_LOG_DEBUG = 0,
  CNIKIT_LOG_INFO = 1,
  CNIKIT_LOG_WARN = 2,
  CNIKIT_LOG_ERROR = 3
} cnikit_log_level;

typedef enum cnikit_metric_kind {
  CNIKIT_METRIC_COUNTER = 0,
  CNIKIT_METRIC_GAUGE = 1,
  CNIKIT_METRIC_HISTOGRAM = 2 /* 1.1, only through metric_register_series */
} cnikit_metric_kind;

/* 1.1: how the host ends a backend instance. */
typedef enum cnikit_shutdown_mode {
  /* The agent restarts or is upgraded: leave every interface, route, rule, map and helper
   * process in place; the next agent's instance adopts them (start + pods_sync). */
  CNIKIT_SHUTDOWN_KEEP_DATAPATH = 0,
  /* The node leaves the cluster: remove everything this instance made on the node. */
  CNIKIT_SHUTDOWN_TEARDOWN = 1
} cnikit_shutdown_mode;

/* 1.1: what the host does when a helper process exits. */
typedef enum cnikit_restart_policy {
  CNIKIT_RESTART_NEVER = 0,
  CNIKIT_RESTART_ON_FAILURE = 1, /* exit status != 0 or killed by a signal */
  CNIKIT_RESTART_ALWAYS = 2
} cnikit_restart_policy;

/* 1.1: store watch events. RESET: the host lost the history it watched from (compaction);
 * forget everything known under the prefix: a PUT of every current key follows. */
typedef enum cnikit_store_event_type {
  CNIKIT_STORE_PUT = 0,
  CNIKIT_STORE_DELETE = 1,
  CNIKIT_STORE_RESET = 2
} cnikit_store_event_type;

/* Opaque backend instance, created by the backend. */
typedef struct cnikit_backend cnikit_backend;

/* Reserved (1.0): no host caller yet. The flow capability that uses it is designed with its
 * first backend (cilium-like) in a later 1.x minor; this host drops flow_emit calls. */
typedef struct cnikit_flow_event {
  size_t size;
  uint64_t timestamp_ns;   /* CLOCK_REALTIME */
  int32_t family;          /* AF_INET or AF_INET6 */
  uint8_t protocol;        /* IPPROTO_* */
  uint8_t verdict;         /* 0 = forwarded, 1 = dropped */
  uint16_t src_port;
  uint16_t dst_port;
  uint8_t src_addr[16];    /* network byte order; IPv4 in the first 4 bytes */
  uint8_t dst_addr[16];
  const char* reason;      /* optional, e.g. policy name; may be NULL */
} cnikit_flow_event;

/* 1.1: one change seen by store_watch. */
typedef struct cnikit_store_event {
  size_t size;
  cnikit_store_event_type type;
  const char* key;       /* relative to the instance's scope; NULL for RESET */
  const char* value;     /* PUT only */
  size_t len;
  int64_t revision;      /* the store revision of the change */
} cnikit_store_event;

/* 1.1: a metric series for metric_register_series. */
typedef struct cnikit_metric_spec {
  size_t size;
  const char* name;
  const char* help;
  cnikit_metric_kind kind;
  const char* const* label_names;   /* n_labels each */
  const char* const* label_values;
  size_t n_labels;
  const double* buckets;            /* histogram bucket upper bounds, ascending; NULL = defaults */
  size_t n_buckets;
} cnikit_metric_spec;

/* 1.1: a helper process for helper_spawn. */
typedef struct cnikit_helper_spec {
  size_t size;
  const char* name;                 /* unique within the instance, [a-zA-Z0-9_.-]+ */
  const char* const* argv;          /* argv[0] is the program (absolute path), NULL-terminated */
  const char* netns;                /* network namespace path to run it in; NULL or "" = the agent's */
  cnikit_restart_policy restart;
} cnikit_helper_spec;

/*
 * Services the host offers a backend, passed at create. Every callback receives
 * host_ctx as its first argument. All pointers are non-NULL.
 */
typedef struct cnikit_host_callbacks {
  size_t size;
  void* host_ctx;

  void (*log)(void* host_ctx, cnikit_log_level level, const char* message);

  /* Registers a metric (name must match [a-zA-Z_:][a-zA-Z0-9_:]*); returns an id >= 0, or
   * -1 when refused. metric_add adds to a counter or gauge, metric_set sets a gauge. */
  int32_t (*metric_register)(void* host_ctx, const char* name, const char* help, cnikit_metric_kind kind);
  void (*metric_add)(void* host_ctx, int32_t metric_id, double value);
  void (*metric_set)(void* host_ctx, int32_t metric_id, double value);

  /* Reserved: not offered by this host (the call is accepted and dropped). */
  void (*flow_emit)(void* host_ctx, const cnikit_flow_event* event);

  /* Store access scoped to this backend instance: keys are relative and live under
   * /cnikit/v1/backends/<instance>/ in the cluster store. store_get sets *value and *len to a
   * host-owned buffer valid until the next store_* call with this host_ctx; it returns
   * CNIKIT_ERR_NOT_FOUND for a missing key. store_list calls `each` once per key under
   * `prefix` (relative key, value, length). */
  cnikit_status (*store_get)(void* host_ctx, const char* key, const char** value, size_t* len);
  cnikit_status (*store_put)(void* host_ctx, const char* key, const char* value, size_t len);
  cnikit_status (*store_delete)(void* host_ctx, const char* key);
  cnikit_status (*store_list)(void* host_ctx, const char* prefix,
                              void (*each)(void* user, const char* key, const char* value, size_t len),
                              void* user);

  /* ---- 1.1 ---- */

  /* Like store_get, with the key's modification revision (what store_cas compares). */
  cnikit_status (*store_get_revision)(void* host_ctx, const char* key, const char** value, size_t* len,
                                      int64_t* mod_revision);
  /* Writes only when the key does not exist: CNIKIT_ERR_EXISTS when it does. *revision (may
   * be NULL) receives the new modification revision. */
  cnikit_status (*store_create)(void* host_ctx, const char* key, const char* value, size_t len, int64_t* revision);
  /* Writes only when the key's modification revision is expected_revision (0: the key must be
   * absent): CNIKIT_ERR_CONFLICT otherwise. *revision (may be NULL) receives the new one. */
  cnikit_status (*store_cas)(void* host_ctx, const char* key, int64_t expected_revision, const char* value,
                             size_t len, int64_t* revision);
  /* Delivers every change under prefix after from_revision (0: a PUT of every current key
   * first), then live changes, on a host thread, in order, until store_unwatch. The event
   * and its strings are valid for the callback only. Never call store_unwatch from inside
   * the callback. */
  cnikit_status (*store_watch)(void* host_ctx, const char* prefix, int64_t from_revision,
                               void (*on_event)(void* user, const cnikit_store_event* event), void* user,
                               uint64_t* watch_id);
  cnikit_status (*store_unwatch)(void* host_ctx, uint64_t watch_id);

  /* One series of a metric family, with labels (the host adds backend_instance) and, for a
   * histogram, bucket upper bounds. Returns an id >= 0 or -1 when refused (bad name or label,
   * kind clash). metric_add / metric_set work on counter and gauge series, metric_observe on
   * histograms. */
  int32_t (*metric_register_series)(void* host_ctx, const cnikit_metric_spec* spec);
  void (*metric_observe)(void* host_ctx, int32_t metric_id, double value);

  /* A condition of this instance (e.g. "BGPSessionsEstablished"), shown by cnikitctl status
   * with its last transition time. A later report of the same type replaces it. */
  void (*report_condition)(void* host_ctx, const char* type, int32_t ok, const char* message);

  /* Starts a helper process supervised by the host (e.g. BIRD): restarted per its policy;
   * stopped by PID at shutdown TEARDOWN and at helper_stop; left running at KEEP_DATAPATH and
   * adopted (not started twice) when the next instance spawns the same name with the same
   * argv. *pid (may be NULL) receives its PID. */
  cnikit_status (*helper_spawn)(void* host_ctx, const cnikit_helper_spec* spec, int64_t* pid);
  cnikit_status (*helper_stop)(void* host_ctx, const char* name);

  /* A secret by name (the agent's secrets directory: one root-owned 0600 file per secret):
   * never pass secrets in options, which are logged. *value / *len as for store_get;
   * CNIKIT_ERR_NOT_FOUND when there is none. */
  cnikit_status (*secret_get)(void* host_ctx, const char* name, const char** value, size_t* len);
} cnikit_host_callbacks;

/* 1.1: an IPAM pool bound to a backend instance. */
typedef struct cnikit_pool_info {
  size_t size;
  const char* name;
  const char* const* cidrs;   /* "10.244.0.0/16", "fd00:10:244::/56" */
  size_t n_cidrs;
  const char* allocator;      /* "node-subnet" (a subnet per node) */
  uint32_t node_prefix_ipv4;  /* the per-node subnet's prefix length (e.g. 24) */
  uint32_t node_prefix_ipv6;
  const char* options_json;   /* the pool's own settings as the cluster config has them */
} cnikit_pool_info;

/* Arguments to create. */
typedef struct cnikit_create_args {
  size_t size;
  const char* instance_name;   /* e.g. "default"; unique per agent */
  const char* node_name;       /* this node */
  const char* options_json;    /* the backend instance's options object, JSON text */
  const char* state_dir;       /* a directory the backend may use for its files */
  const cnikit_host_callbacks* host;
  /* The node's underlay (the interface that reaches other nodes), as the agent detected
   * or was configured with; "" / 0 when unknown. Backends derive tunnel endpoints and the
   * pod MTU (underlay_mtu minus their overhead) from it. */
  const char* underlay_interface;
  const char* underlay_ipv4;
  const char* underlay_ipv6;
  uint32_t underlay_mtu;

  /* ---- 1.1 ---- */
  const cnikit_pool_info* const* pools; /* the pools bound to this instance */
  size_t n_pools;
  const char* node_labels_json;         /* this node's labels, a JSON object */
  uint32_t underlay_ipv4_prefix_length; /* of underlay_ipv4 on its interface; 0 = unknown */
  uint32_t underlay_ipv6_prefix_length;
} cnikit_create_args;

/* One address of a pod, as IPAM allocated it. */
typedef struct cnikit_ip_config {
  size_t size;
  int32_t family;              /* AF_INET or AF_INET6 */
  const char* address;         /* "10.244.1.5/24": the address with its subnet prefix */
  const char* gateway;         /* "10.244.1.1"; NULL or "" when the subnet has none */
  const char* subnet;          /* "10.244.1.0/24": the node subnet it came from */
  const char* pool_cidr;       /* "10.244.0.0/16": the pool (cluster) CIDR it belongs to */

  /* ---- 1.1: the same in binary, network byte order (IPv4 in the first 4 bytes) ---- */
  uint8_t address_bytes[16];
  uint32_t prefix_length;      /* of address */
  uint8_t gateway_bytes[16];   /* all zero when there is no gateway */
} cnikit_ip_config;

typedef struct cnikit_pod_request {
  size_t size;
  const char* container_id;
  const char* netns;           /* path of the pod's network namespace; "" for DEL may happen */
  const char* ifname;          /* interface name inside the pod */
  const char* pod_namespace;   /* Kubernetes namespace, "" if unknown */
  const char* pod_name;        /* Kubernetes pod name, "" if unknown */
  const cnikit_ip_config* ips; /* array of n_ips */
  size_t n_ips;
  const char* mac;             /* requested MAC for the pod interface, NULL or "" for any */
  uint32_t mtu;                /* MTU for the pod interface; 0 = backend default */
  const char* pool;            /* IPAM pool name */

  /* ---- 1.1 ---- */
  const char* pod_labels_json;     /* the pod's labels, a JSON object ("{}" when unknown) */
  const char* runtime_config_json; /* the CNI config's runtimeConfig object ("{}" when none) */
  const char* cni_args_json;       /* CNI_ARGS as an object {"K8S_POD_NAME": ...} and the config's
                                      "args" under "config" ("{}" when none) */
} cnikit_pod_request;

#define CNIKIT_IFNAME_MAX 16
#define CNIKIT_MAC_MAX 18

/* 1.1: a route for the CNI result. */
typedef struct cnikit_route {
  size_t size;
  const char* destination;  /* "10.96.0.0/12" */
  const char* gateway;      /* NULL or "" = on-link */
} cnikit_route;

/* 1.1: a further interface for the CNI result (e.g. a second pod interface). */
typedef struct cnikit_interface {
  size_t size;
  const char* name;
  const char* mac;
  const char* sandbox;      /* the pod's netns path, or "" for a host interface */
  uint32_t mtu;
} cnikit_interface;

/* What pod_add reports back; filled by the backend into host-owned memory. */
typedef struct cnikit_pod_result {
  size_t size;
  char host_ifname[CNIKIT_IFNAME_MAX];      /* host side interface ("" if none) */
  char host_mac[CNIKIT_MAC_MAX];
  char container_ifname[CNIKIT_IFNAME_MAX]; /* as named in the pod */
  char container_mac[CNIKIT_MAC_MAX];       /* "aa:bb:cc:dd:ee:ff" */
  uint32_t mtu;                             /* MTU actually set */

  /* ---- 1.1: more for the CNI result, in backend memory (valid as a returned string) ---- */
  const cnikit_route* routes;               /* routes the pod has beyond its default routes */
  size_t n_routes;
  const cnikit_interface* interfaces;       /* further interfaces the pod or host has */
  size_t n_interfaces;
} cnikit_pod_result;

/* Capability: pod networking. */
typedef struct cnikit_pod_ops {
  size_t size;
  /* Creates the pod's interface; on failure it must leave nothing behind. */
  cnikit_status (*pod_add)(cnikit_backend* b, const cnikit_pod_request* req, cnikit_pod_result* out);
  /* Removes it; succeeds when it is already gone or netns is empty/missing. */
  cnikit_status (*pod_del)(cnikit_backend* b, const cnikit_pod_request* req);
  /* Verifies it is as pod_add left it; CNIKIT_ERR_NOT_FOUND/SYSTEM with a message otherwise. */
  cnikit_status (*pod_check)(cnikit_backend* b, const cnikit_pod_request* req);
} cnikit_pod_ops;

/* A cluster node as a backend sees it. */
typedef struct cnikit_node_info {
  size_t size;
  const char* name;
  const char* underlay_ipv4;   /* "" when none */
  const char* underlay_ipv6;   /* "" when none */
  const char* const* subnets;  /* the node's pod subnets (CIDRs) of this backend's pools */
  size_t n_subnets;
  const char* backend_data_json; /* what this backend published for that node, JSON; may be "{}" */

  /* ---- 1.1 ---- */
  const char* labels_json;       /* the node's labels, a JSON object */
  uint32_t underlay_ipv4_prefix_length; /* 0 = unknown */
  uint32_t underlay_ipv6_prefix_length;
} cnikit_node_info;

/* Capability: routing to other nodes. */
typedef struct cnikit_node_ops {
  size_t size;
  /* JSON this backend wants published for the local node (e.g. a VTEP MAC); valid until
   * the next call on the handle. */
  const char* (*local_node_data)(cnikit_backend* b);
  cnikit_status (*node_upsert)(cnikit_backend* b, const cnikit_node_info* node);
  cnikit_status (*node_remove)(cnikit_backend* b, const char* node_name);
} cnikit_node_ops;

/* Reserved (1.0, policy): not offered by this host: the table must be NULL (the loader
 * refuses a backend that sets it). A 1.x minor defines its replacement with its first backend. */
typedef struct cnikit_policy_ops {
  size_t size;
  cnikit_status (*endpoint_policy_set)(cnikit_backend* b, const char* endpoint_id, const char* rules_json);
  cnikit_status (*endpoint_policy_clear)(cnikit_backend* b, const char* endpoint_id);
} cnikit_policy_ops;

/* Reserved (1.0, service): not offered by this host: the table must be NULL (the loader
 * refuses a backend that sets it). A 1.x minor defines its replacement with its first backend. */
typedef struct cnikit_service_ops {
  size_t size;
  cnikit_status (*service_upsert)(cnikit_backend* b, const char* service_json);
  cnikit_status (*service_delete)(cnikit_backend* b, const char* service_key);
} cnikit_service_ops;

/* Reserved (1.0, encryption): not offered by this host: the table must be NULL (the loader
 * refuses a backend that sets it). A 1.x minor defines its replacement with its first backend. */
typedef struct cnikit_encryption_ops {
  size_t size;
  /* The local public key to publish (text), valid until the next call on the handle. */
  const char* (*local_public_key)(cnikit_backend* b);
  cnikit_status (*peer_key_set)(cnikit_backend* b, const char* node_name, const char* public_key);
} cnikit_encryption_ops;

/* Reserved (1.0, flows): not offered by this host: the table must be NULL (the loader
 * refuses a backend that sets it). A 1.x minor defines its replacement with its first backend. */
typedef struct cnikit_flow_ops {
  size_t size;
  cnikit_status (*flows_enable)(cnikit_backend* b, int32_t enabled);
} cnikit_flow_ops;

/* 1.1, capability: lifecycle. The order of calls on an instance: create; local_node_update;
 * start; pods_sync; then pod, node and config_update calls as they come (local_node_update
 * again whenever this node's subnets or labels change); shutdown; destroy. A backend without
 * this table is treated as if every call succeeded and config_update were UNSUPPORTED. */
typedef struct cnikit_lifecycle_ops {
  size_t size;
  /* The store and every instance of the agent are ready; start watches and helpers here. */
  cnikit_status (*start)(cnikit_backend* b);
  /* Before destroy. KEEP_DATAPATH must not disturb traffic; TEARDOWN removes all it made. */
  cnikit_status (*shutdown)(cnikit_backend* b, cnikit_shutdown_mode mode);
  /* CNIKIT_OK when the instance can serve pods; otherwise a status (TRY_AGAIN: not yet)
   * with the reason in last_error. Called by CNI STATUS and cnikitctl status: keep it cheap. */
  cnikit_status (*ready)(cnikit_backend* b);
  /* The instance's options changed: apply them live, or return CNIKIT_ERR_UNSUPPORTED and
   * the host recreates the instance (shutdown KEEP_DATAPATH, destroy, create, start, sync). */
  cnikit_status (*config_update)(cnikit_backend* b, const char* options_json);
  /* Every pod the host holds for this instance on this node (mark and sweep): remove what no
   * pod owns (orphans of a crash), repair what is missing. */
  cnikit_status (*pods_sync)(cnikit_backend* b, const cnikit_pod_request* const* pods, size_t n_pods);
  /* This node as the other nodes see it (its subnets in this instance's pools, labels,
   * underlay): make what a node needs before its first pod (bridge, tunnel device, NAT). */
  cnikit_status (*local_node_update)(cnikit_backend* b, const cnikit_node_info* self);
} cnikit_lifecycle_ops;

/* The function table a backend returns from its entry symbol. Static storage. */
typedef struct cnikit_backend_api {
  size_t size;
  uint32_t abi_major;          /* must equal the host's CNIKIT_ABI_MAJOR */
  uint32_t abi_minor;          /* the minor the backend was built for; host minor must be >= */
  const char* name;            /* backend kind, e.g. "flannel-like" */
  const char* version;         /* backend's own version, e.g. "0.1.0" */

  cnikit_status (*create)(const cnikit_create_args* args, cnikit_backend** out);
  void (*destroy)(cnikit_backend* b);
  /* Message of the last failed call on b; valid until the next call on b. With b == NULL:
   * the message of the last failed create on the calling thread (create has no handle). */
  const char* (*last_error)(cnikit_backend* b);
  /* Health and details as JSON text for `cnikitctl status`; valid until the next call on b. */
  const char* (*status_json)(cnikit_backend* b);

  /* Optional capabilities: NULL = unsupported. policy, service, encryption and flows are
   * reserved and must be NULL (see above). */
  const cnikit_pod_ops* pod;
  const cnikit_node_ops* node;
  const cnikit_policy_ops* policy;
  const cnikit_service_ops* service;
  const cnikit_encryption_ops* encryption;
  const cnikit_flow_ops* flows;

  /* ---- 1.1 ---- */
  const cnikit_lifecycle_ops* lifecycle;
  /* JSON Schema (draft 7) of options_json; the agent validates an instance's options with it
   * before create and `cnikitctl backend describe` prints it. NULL = any JSON object. */
  const char* options_schema_json;
} cnikit_backend_api;

/* The one symbol a backend exports. */
typedef const cnikit_backend_api* (*cnikit_backend_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor);

/* Helper for receivers: 1 when every byte of a struct beyond the `known` size is zero. */
static inline int cnikit_struct_tail_is_zero(const void* s, size_t known) {
  const unsigned char* p = (const unsigned char*)s;
  size_t sent = *(const size_t*)s;
  for (size_t i = known; i < sent; ++i)
    if (p[i] != 0) return 0;
  return 1;
}

#ifdef __cplusplus
}
#endif

#endif /* CNIKIT_BACKEND_H */
