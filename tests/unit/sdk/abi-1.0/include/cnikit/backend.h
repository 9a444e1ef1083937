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
 *    by a backend stays valid until the next call on the same cnikit_backend handle (or
 *    its destroy). A pointer the host passes in stays valid only for the duration of the
 *    call. Host callbacks that return data (store_get) keep it valid until the next
 *    store callback made with the same host context.
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
#define CNIKIT_ABI_MINOR 0

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
  CNIKIT_ERR_INTERNAL = 7          /* bug or unexpected exception inside the backend */
} cnikit_status;

typedef enum cnikit_log_level {
  CNIKIT_LOG_DEBUG = 0,
  CNIKIT_LOG_INFO = 1,
  CNIKIT_LOG_WARN = 2,
  CNIKIT_LOG_ERROR = 3
} cnikit_log_level;

typedef enum cnikit_metric_kind { CNIKIT_METRIC_COUNTER = 0, CNIKIT_METRIC_GAUGE = 1 } cnikit_metric_kind;

/* Opaque backend instance, created by the backend. */
typedef struct cnikit_backend cnikit_backend;

/* A network flow observed by a backend (flow-event capability). */
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

  /* Flow events go to the host's flow log (cnikitctl monitor). */
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
} cnikit_host_callbacks;

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
} cnikit_create_args;

/* One address of a pod, as IPAM allocated it. */
typedef struct cnikit_ip_config {
  size_t size;
  int32_t family;              /* AF_INET or AF_INET6 */
  const char* address;         /* "10.244.1.5/24": the address with its subnet prefix */
  const char* gateway;         /* "10.244.1.1"; NULL or "" when the subnet has none */
  const char* subnet;          /* "10.244.1.0/24": the node subnet it came from */
  const char* pool_cidr;       /* "10.244.0.0/16": the pool (cluster) CIDR it belongs to */
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
} cnikit_pod_request;

#define CNIKIT_IFNAME_MAX 16
#define CNIKIT_MAC_MAX 18

/* What pod_add reports back; filled by the backend into host-owned memory. */
typedef struct cnikit_pod_result {
  size_t size;
  char host_ifname[CNIKIT_IFNAME_MAX];      /* host side interface ("" if none) */
  char host_mac[CNIKIT_MAC_MAX];
  char container_ifname[CNIKIT_IFNAME_MAX]; /* as named in the pod */
  char container_mac[CNIKIT_MAC_MAX];       /* "aa:bb:cc:dd:ee:ff" */
  uint32_t mtu;                             /* MTU actually set */
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

/* Capability: network policy. The host compiles Kubernetes NetworkPolicy into a
 * datapath-independent rule set per endpoint and passes it as JSON (docs/policy.md). */
typedef struct cnikit_policy_ops {
  size_t size;
  cnikit_status (*endpoint_policy_set)(cnikit_backend* b, const char* endpoint_id, const char* rules_json);
  cnikit_status (*endpoint_policy_clear)(cnikit_backend* b, const char* endpoint_id);
} cnikit_policy_ops;

/* Capability: service load balancing (ClusterIP/NodePort), services as JSON. */
typedef struct cnikit_service_ops {
  size_t size;
  cnikit_status (*service_upsert)(cnikit_backend* b, const char* service_json);
  cnikit_status (*service_delete)(cnikit_backend* b, const char* service_key);
} cnikit_service_ops;

/* Capability: encryption between nodes. */
typedef struct cnikit_encryption_ops {
  size_t size;
  /* The local public key to publish (text), valid until the next call on the handle. */
  const char* (*local_public_key)(cnikit_backend* b);
  cnikit_status (*peer_key_set)(cnikit_backend* b, const char* node_name, const char* public_key);
} cnikit_encryption_ops;

/* Capability: flow events (emitted through cnikit_host_callbacks.flow_emit). */
typedef struct cnikit_flow_ops {
  size_t size;
  cnikit_status (*flows_enable)(cnikit_backend* b, int32_t enabled);
} cnikit_flow_ops;

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

  /* Optional capabilities: NULL = unsupported. */
  const cnikit_pod_ops* pod;
  const cnikit_node_ops* node;
  const cnikit_policy_ops* policy;
  const cnikit_service_ops* service;
  const cnikit_encryption_ops* encryption;
  const cnikit_flow_ops* flows;
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
