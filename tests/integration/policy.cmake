# The iptables/ipset NetworkPolicy provider and the agent's policy controller against the
# real kernel, in test-made namespaces (root). Included from tests/integration/CMakeLists.txt.
set(policy_test_dir ${CMAKE_CURRENT_LIST_DIR})

if(TARGET cnikit_policy_iptables AND TARGET cnikit_agent)
  add_executable(policy_iptables_test ${policy_test_dir}/policy_iptables_test.cpp)
  target_link_libraries(policy_iptables_test PRIVATE cnikit_agent cnikit_policy_iptables cnikit_test_support
                                                     spdlog::spdlog GTest::gtest_main Threads::Threads)
  gtest_discover_tests(policy_iptables_test TEST_PREFIX "integration." PROPERTIES LABELS root TIMEOUT 300
                       DISCOVERY_TIMEOUT 30)
endif()
