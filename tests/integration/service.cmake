# The iptables service proxy against the real kernel, in test-made namespaces (root).
# Included from tests/integration/CMakeLists.txt.
if(TARGET cnikit_service_iptables)
  add_executable(service_iptables_test ${CMAKE_CURRENT_LIST_DIR}/service_iptables_test.cpp)
  target_link_libraries(service_iptables_test PRIVATE cnikit_service_iptables cnikit_test_support
                                                      GTest::gtest_main Threads::Threads)
  gtest_discover_tests(service_iptables_test TEST_PREFIX "integration." PROPERTIES LABELS root TIMEOUT 300
                       DISCOVERY_TIMEOUT 30)
endif()
