# The toolkit's own tests live next to it (sdk/toolkit/tests) and are registered here, after
# enable_testing() and GoogleTest are set up. Included from tests/integration/CMakeLists.txt.
set(toolkit_test_dir ${PROJECT_SOURCE_DIR}/sdk/toolkit/tests)
add_executable(toolkit_unit_test ${toolkit_test_dir}/ToolkitUnitTest.cpp ${toolkit_test_dir}/ToolkitIpTest.cpp)
target_link_libraries(toolkit_unit_test PRIVATE cnikit::toolkit GTest::gtest_main)
gtest_discover_tests(toolkit_unit_test TEST_PREFIX "toolkit." DISCOVERY_TIMEOUT 30)

add_executable(toolkit_netns_test ${toolkit_test_dir}/ToolkitNetnsTest.cpp)
target_link_libraries(toolkit_netns_test PRIVATE cnikit::toolkit cnikit_test_support GTest::gtest_main Threads::Threads)
gtest_discover_tests(toolkit_netns_test TEST_PREFIX "toolkit." PROPERTIES LABELS root DISCOVERY_TIMEOUT 30)

if(TARGET cnikit_toolkit_iptables)
  add_executable(toolkit_iptables_test ${toolkit_test_dir}/ToolkitIptablesTest.cpp)
  target_link_libraries(toolkit_iptables_test PRIVATE cnikit::toolkit_iptables cnikit_test_support GTest::gtest_main
                                                      Threads::Threads)
  gtest_discover_tests(toolkit_iptables_test TEST_PREFIX "toolkit." PROPERTIES LABELS root DISCOVERY_TIMEOUT 30)
endif()

add_executable(toolkit_process_test ${toolkit_test_dir}/ToolkitProcessTest.cpp)
target_link_libraries(toolkit_process_test PRIVATE cnikit::toolkit cnikit_test_support GTest::gtest_main)
gtest_discover_tests(toolkit_process_test TEST_PREFIX "toolkit." PROPERTIES LABELS root DISCOVERY_TIMEOUT 30)

add_executable(toolkit_overlay_test ${toolkit_test_dir}/ToolkitOverlayTest.cpp)
target_link_libraries(toolkit_overlay_test PRIVATE cnikit::toolkit cnikit_test_support GTest::gtest_main Threads::Threads)
gtest_discover_tests(toolkit_overlay_test TEST_PREFIX "toolkit." PROPERTIES LABELS root DISCOVERY_TIMEOUT 30)
