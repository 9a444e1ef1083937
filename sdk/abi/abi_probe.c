/*
 * ABI probe: a shared library that exists only so that its debug info describes every type
 * of the backend boundary (backend.h). abidw/abidiff read the types reachable from exported
 * functions, so the one exported function below takes a pointer to a struct that names
 * each of them. It is never loaded by cnikit.
 */
#include <cnikit/backend.h>

/* Pointers, not values: a struct that grows then shows up as that struct's change alone,
 * instead of also moving every later member of this one. */
typedef struct cnikit_abi_everything {
  cnikit_status status;
  cnikit_log_level log_level;
  cnikit_metric_kind metric_kind;
  cnikit_backend* backend;
  cnikit_flow_event* flow_event;
  cnikit_host_callbacks* host_callbacks;
  cnikit_create_args* create_args;
  cnikit_ip_config* ip_config;
  cnikit_pod_request* pod_request;
  cnikit_pod_result* pod_result;
  cnikit_pod_ops* pod_ops;
  cnikit_node_info* node_info;
  cnikit_node_ops* node_ops;
  cnikit_policy_ops* policy_ops;
  cnikit_service_ops* service_ops;
  cnikit_encryption_ops* encryption_ops;
  cnikit_flow_ops* flow_ops;
  cnikit_backend_api* backend_api;
  cnikit_backend_entry_fn entry;
  unsigned abi_major;
  unsigned abi_minor;
  /* 1.1 */
  cnikit_shutdown_mode shutdown_mode;
  cnikit_restart_policy restart_policy;
  cnikit_store_event_type store_event_type;
  cnikit_store_event* store_event;
  cnikit_metric_spec* metric_spec;
  cnikit_helper_spec* helper_spec;
  cnikit_pool_info* pool_info;
  cnikit_route* route;
  cnikit_interface* interface;
  cnikit_lifecycle_ops* lifecycle_ops;
} cnikit_abi_everything;

__attribute__((visibility("default"))) size_t cnikit_abi_probe(cnikit_abi_everything* all) {
  all->abi_major = CNIKIT_ABI_MAJOR;
  all->abi_minor = CNIKIT_ABI_MINOR;
  return sizeof(*all);
}
