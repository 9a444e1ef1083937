# flannel-like backend and the toolkit against the real kernel, in test-made namespaces
# (root). Included from tests/integration/CMakeLists.txt.
set(flannel_test_dir ${CMAKE_CURRENT_LIST_DIR})

if(TARGET flannel-like AND TARGET cnikit_plugin)
  add_executable(flannel_backend_test ${flannel_test_dir}/flannel_backend_test.cpp)
  target_link_libraries(flannel_backend_test PRIVATE cnikit_plugin cnikit::toolkit cnikit_test_support
                                                     nlohmann_json::nlohmann_json GTest::gtest_main Threads::Threads)
  target_compile_definitions(flannel_backend_test PRIVATE FLANNEL_BACKEND_PATH="$<TARGET_FILE:flannel-like>")
  add_dependencies(flannel_backend_test flannel-like)
  gtest_discover_tests(flannel_backend_test TEST_PREFIX "flannel." PROPERTIES LABELS root DISCOVERY_TIMEOUT 30)

  # vxlan and host-gw between node namespaces joined by a fabric bridge.
  foreach(t flannel_cluster_test flannel_scale_test)
    if(EXISTS ${flannel_test_dir}/${t}.cpp)
      add_executable(${t} ${flannel_test_dir}/${t}.cpp)
      target_link_libraries(${t} PRIVATE cnikit_plugin cnikit_test_support nlohmann_json::nlohmann_json
                                         GTest::gtest_main Threads::Threads)
      target_compile_definitions(${t} PRIVATE FLANNEL_BACKEND_PATH="$<TARGET_FILE:flannel-like>")
      add_dependencies(${t} flannel-like)
      gtest_discover_tests(${t} TEST_PREFIX "flannel." PROPERTIES LABELS root TIMEOUT 300 DISCOVERY_TIMEOUT 30)
    endif()
  endforeach()
endif()

# The toolkit's own tests live next to it (sdk/toolkit/tests) and are registered here, after
# enable_testing() and GoogleTest are set up.
set(toolkit_test_dir ${PROJECT_SOURCE_DIR}/sdk/toolkit/tests)
add_executable(toolkit_unit_test ${toolkit_test_dir}/ToolkitUnitTest.cpp)
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
