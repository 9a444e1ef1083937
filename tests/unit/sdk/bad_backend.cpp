// Backend classes the wrapper must reject at compile time (sdk.wrapper_signature_*), picked
// by BAD_CASE; BAD_CASE=0 is a correct class, the control that the harness compiles at all.
#include <cnikit/backend.hpp>

using namespace cnikit::sdk;

class Backend : public LifecycleDefaults {
 public:
#if BAD_CASE == 8  // a misspelt capability
  CNIKIT_PODZ;
#elif BAD_CASE != 6  // 6: pod methods without CNIKIT_PODS
  CNIKIT_PODS;
#endif
#if BAD_CASE == 3
  CNIKIT_NODES;
#endif
#if BAD_CASE == 7
  CNIKIT_LIFECYCLE;
  void start(int) {}  // hides LifecycleDefaults::start with a wrong signature
#endif
  explicit Backend(const CreateArgs&) {}
#if BAD_CASE == 1  // podAdd with a wrong return type
  bool podAdd(const PodRequest&) { return true; }
#else
  PodResult podAdd(const PodRequest&) { return {}; }
#endif
#if BAD_CASE != 2  // 2: the pod capability without podCheck
  void podCheck(const PodRequest&) {}
#endif
  void podDel(const PodRequest&) {}
#if BAD_CASE == 3  // nodeUpsert with a wrong parameter
  std::string localNodeData() { return "{}"; }
  void nodeUpsert(const std::string&) {}
  void nodeRemove(const std::string&) {}
#endif
#if BAD_CASE == 4  // statusJson returning something that is not text
  int statusJson() { return 0; }
#endif
};

#if BAD_CASE == 5  // no constructor from CreateArgs
struct NoCtor {};
CNIKIT_BACKEND(NoCtor, "bad", "0")
#else
CNIKIT_BACKEND(Backend, "bad", "0")
#endif
