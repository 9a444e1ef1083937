# cnikit_add_backend(<name> SOURCES <src>... [LINK_LIBRARIES <lib>...]
#                    [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>] [NO_INSTALL])
#
# Builds a cnikit backend: a MODULE library named libcnikit-<name>.so (target <name>),
# compiled with hidden visibility and linked with a version script so that
# cnikit_backend_entry is its only exported symbol, against cnikit::sdk.
# `cnikit_add_backend(NAME <name> SOURCES ...)` is accepted too.
#
# OUTPUT_DIRECTORY defaults to ${CNIKIT_BACKEND_OUTPUT_DIR} when set, INSTALL_DESTINATION to
# ${CNIKIT_INSTALL_BACKEND_DIR} when set, else ${CMAKE_INSTALL_LIBDIR}/cnikit/backends.
# Used both inside the cnikit tree and by projects that find_package(cnikit).
include_guard(GLOBAL)
include(GNUInstallDirs)

# Recorded at include time: inside the function CMAKE_CURRENT_LIST_DIR is the caller's.
set_property(GLOBAL PROPERTY CNIKIT_BACKEND_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/cnikit-backend.map")

function(cnikit_add_backend)
  if(ARGC GREATER 1 AND "${ARGV0}" STREQUAL "NAME")
    set(name "${ARGV1}")
    list(SUBLIST ARGN 2 -1 rest)
  elseif(ARGC GREATER 0)
    set(name "${ARGV0}")
    list(SUBLIST ARGN 1 -1 rest)
  else()
    message(FATAL_ERROR "cnikit_add_backend: missing the backend name")
  endif()
  cmake_parse_arguments(arg "NO_INSTALL" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LINK_LIBRARIES" ${rest})
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cnikit_add_backend(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "cnikit_add_backend(${name}): SOURCES is empty")
  endif()
  if(NOT TARGET cnikit::sdk)
    message(FATAL_ERROR "cnikit_add_backend(${name}): cnikit::sdk is not defined (find_package(cnikit) first)")
  endif()

  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE cnikit::sdk ${arg_LINK_LIBRARIES})
  get_property(version_script GLOBAL PROPERTY CNIKIT_BACKEND_VERSION_SCRIPT)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "cnikit-${name}"
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    LINK_DEPENDS "${version_script}")
  # Unresolved symbols fail at link time, not when the agent loads the backend.
  target_link_options(${name} PRIVATE "LINKER:--version-script=${version_script}" "LINKER:--no-undefined")

  if(arg_OUTPUT_DIRECTORY)
    set(out "${arg_OUTPUT_DIRECTORY}")
  elseif(DEFINED CNIKIT_BACKEND_OUTPUT_DIR)
    set(out "${CNIKIT_BACKEND_OUTPUT_DIR}")
  endif()
  if(DEFINED out)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${out}")
  endif()

  if(NOT arg_NO_INSTALL)
    if(arg_INSTALL_DESTINATION)
      set(dest "${arg_INSTALL_DESTINATION}")
    elseif(DEFINED CNIKIT_INSTALL_BACKEND_DIR)
      set(dest "${CNIKIT_INSTALL_BACKEND_DIR}")
    else()
      set(dest "${CMAKE_INSTALL_LIBDIR}/cnikit/backends")
    endif()
    # The agent refuses group/world-writable backends: install 0755 whatever the umask.
    install(TARGETS ${name} LIBRARY DESTINATION "${dest}"
            PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endif()
endfunction()
