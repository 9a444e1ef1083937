#pragma once
// The kit drives the lab (nodes, agents, pods, probes) through its public headers. They are
// included here only, so that the lab's move (core/lab -> tools/lab) touches one file.
#include "core/lab/AgentClient.hpp"
#include "core/lab/Command.hpp"
#include "core/lab/Lab.hpp"
#include "core/lab/LabEtcd.hpp"
#include "core/lab/LabNodes.hpp"
#include "core/lab/LabPaths.hpp"
#include "core/lab/LabPods.hpp"
#include "core/lab/LabSpec.hpp"
#include "core/lab/LabState.hpp"
#include "core/lab/Netns.hpp"
#include "core/lab/Probe.hpp"
#include "core/lab/Process.hpp"
