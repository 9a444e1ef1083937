// A backend written against the raw C ABI (no wrapper), built several times with compile
// definitions to exercise the host's ABI negotiation:
//   TEST_ABI_MAJOR / TEST_ABI_MINOR  the version the table claims
//   TEST_NO_ENTRY                    export no entry symbol
//   TEST_NULL_TABLE                  the entry returns NULL
//   TEST_RESERVED_TABLE              sets the reserved policy table
//   TEST_NULL_LIFECYCLE_ENTRY        offers a lifecycle table with a NULL function
#include <cnikit/backend.h>

#include <new>

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR CNIKIT_ABI_MAJOR
#endif
#ifndef TEST_ABI_MINOR
#define TEST_ABI_MINOR CNIKIT_ABI_MINOR
#endif

namespace {

struct State {
  int unused = 0;
};

cnikit_status create(const cnikit_create_args*, cnikit_backend** out) {
  *out = reinterpret_cast<cnikit_backend*>(new (std::nothrow) State);
  return *out ? CNIKIT_OK : CNIKIT_ERR_INTERNAL;
}
void destroy(cnikit_backend* b) { delete reinterpret_cast<State*>(b); }
const char* lastError(cnikit_backend*) { return ""; }
cnikit_status policySet(cnikit_backend*, const char*, const char*) { return CNIKIT_OK; }
cnikit_status policyClear(cnikit_backend*, const char*) { return CNIKIT_OK; }
cnikit_status start(cnikit_backend*) { return CNIKIT_OK; }

[[maybe_unused]] const cnikit_policy_ops kPolicy = {sizeof(cnikit_policy_ops), policySet, policyClear};
[[maybe_unused]] const cnikit_lifecycle_ops kLifecycle = {
    sizeof(cnikit_lifecycle_ops), start, nullptr, nullptr, nullptr, nullptr, nullptr};

[[maybe_unused]] const cnikit_backend_api kApi = {
    sizeof(cnikit_backend_api),
    TEST_ABI_MAJOR,
    TEST_ABI_MINOR,
    "abi-test",
    "0.0.1",
    create,
    destroy,
    lastError,
    nullptr,
    nullptr,
    nullptr,
#ifdef TEST_RESERVED_TABLE
    &kPolicy,
#else
    nullptr,
#endif
    nullptr,
    nullptr,
    nullptr,
#ifdef TEST_NULL_LIFECYCLE_ENTRY
    &kLifecycle,
#else
    nullptr,
#endif
    nullptr,
};

}  // namespace

#ifndef TEST_NO_ENTRY
extern "C" CNIKIT_EXPORT const cnikit_backend_api* cnikit_backend_entry(uint32_t, uint32_t) {
#ifdef TEST_NULL_TABLE
  return nullptr;
#else
  return &kApi;
#endif
}
#else
// Something else is exported, just not the entry point.
extern "C" CNIKIT_EXPORT const cnikit_backend_api* cnikit_backend_entry_v0(uint32_t, uint32_t) { return &kApi; }
#endif
