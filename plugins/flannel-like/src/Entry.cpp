// The one exported symbol of libcnikit-flannel-like.so.
#include <cnikit/backend.hpp>

#include "FlannelBackend.hpp"

CNIKIT_BACKEND(cnikit::flannel::FlannelBackend, "flannel-like", "0.1.0")
