#pragma once
// The kit drives the lab (nodes, agents, pods, probes) through its public headers. They are
// included here only, so that a move of the lab touches one file.
#include "core/rpc/AgentClient.hpp"
#include "core/rpc/AgentMethods.hpp"
#include "tools/lab/Command.hpp"
#include "tools/lab/Lab.hpp"
#include "tools/lab/LabEtcd.hpp"
#include "tools/lab/LabNodes.hpp"
#include "tools/lab/LabPaths.hpp"
#include "tools/lab/LabPods.hpp"
#include "tools/lab/LabSpec.hpp"
#include "tools/lab/LabState.hpp"
#include "tools/lab/Netns.hpp"
#include "tools/lab/Probe.hpp"
#include "tools/lab/Process.hpp"
