# Installing and packaging (docs/OPERATIONS.md "Install as a service"):
#   cmake --install build [--prefix P]   (make install, DESTDIR honoured)
#   cmake --build build --target deb     (make deb: build/storyloom_<version>_<arch>.deb, CPack)
# What goes where, for the prefix /usr (the package) and any other (default /usr/local):
#   bin/storyloom, share/man/man1/storyloom.1.gz, share/bash-completion/completions/storyloom,
#   share/zsh/vendor-completions/_storyloom, lib/sysusers.d/storyloom.conf,
#   lib/tmpfiles.d/storyloom.conf, share/doc/storyloom/{README.md,OPERATIONS.md,...};
#   /etc/storyloom/storyloom.toml and /lib/systemd/system/storyloom.service under /usr (as
#   Debian 12 puts them), <prefix>/etc/storyloom and <prefix>/lib/systemd/system otherwise.
# Paths that depend on the prefix are worked out when installing, not when configuring, so
# one build tree installs to any prefix and packages for /usr.
include(GNUInstallDirs)

set(PKG_SRC ${PROJECT_SOURCE_DIR}/packaging)
set(PKG_OUT ${CMAKE_CURRENT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${PKG_OUT})

# Generated from the built binary: the man page (help2man) and the shell completions
# (`storyloom completion bash|zsh`). Not in the sanitizer builds: their binaries are for tests.
set(STORYLOOM_PACKAGE_FILES OFF)
if(NOT STORYLOOM_SANITIZE AND NOT STORYLOOM_TSAN)
  find_program(HELP2MAN help2man)
  if(HELP2MAN)
    set(STORYLOOM_PACKAGE_FILES ON)
  else()
    message(STATUS "help2man not found (scripts/install-deps installs it): no man page, "
                   "no make install, no make deb")
  endif()
endif()

if(STORYLOOM_PACKAGE_FILES)
  add_custom_command(
    OUTPUT ${PKG_OUT}/storyloom.1.gz
    COMMAND ${PKG_SRC}/make-manpage $<TARGET_FILE:storyloom> ${PKG_OUT}/storyloom.1.gz
    DEPENDS storyloom ${PKG_SRC}/make-manpage ${PKG_SRC}/storyloom.h2m
    COMMENT "Generating storyloom.1 with help2man")
  add_custom_command(
    OUTPUT ${PKG_OUT}/storyloom.bash ${PKG_OUT}/_storyloom
    COMMAND $<TARGET_FILE:storyloom> completion bash > ${PKG_OUT}/storyloom.bash
    COMMAND $<TARGET_FILE:storyloom> completion zsh > ${PKG_OUT}/_storyloom
    DEPENDS storyloom
    COMMENT "Generating the bash and zsh completions")
  add_custom_command(
    OUTPUT ${PKG_OUT}/changelog.gz
    COMMAND gzip -9n < ${PKG_SRC}/changelog > ${PKG_OUT}/changelog.gz
    DEPENDS ${PKG_SRC}/changelog)
  add_custom_target(storyloom_package_files ALL
    DEPENDS ${PKG_OUT}/storyloom.1.gz ${PKG_OUT}/storyloom.bash ${PKG_OUT}/_storyloom
            ${PKG_OUT}/changelog.gz)

  # Symbols bound at start-up, so the GOT can be read-only (with the default -z relro).
  target_link_options(storyloom PRIVATE -Wl,-z,now)

  install(TARGETS storyloom RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${PKG_OUT}/storyloom.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${PKG_OUT}/storyloom.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME storyloom)
  install(FILES ${PKG_OUT}/_storyloom DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
  install(FILES ${PKG_SRC}/storyloom.sysusers DESTINATION lib/sysusers.d RENAME storyloom.conf)
  install(FILES ${PKG_SRC}/storyloom.tmpfiles DESTINATION lib/tmpfiles.d RENAME storyloom.conf)
  install(FILES ${PKG_OUT}/changelog.gz ${PKG_SRC}/copyright
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/storyloom)
  install(FILES ${PKG_SRC}/storyloom.lintian-overrides
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME storyloom)
  # The configuration and the unit: their directories, and the unit's text, follow the prefix
  # given at install time (CMAKE_INSTALL_PREFIX inside cmake_install.cmake); the unit is
  # written per prefix, so a make install beside CPack's (prefix /usr) writes another file.
  install(CODE "
    if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
      set(STORYLOOM_SYSCONFDIR /etc)
      set(STORYLOOM_UNITDIR /lib/systemd/system)
    else()
      set(STORYLOOM_SYSCONFDIR \"\${CMAKE_INSTALL_PREFIX}/etc\")
      set(STORYLOOM_UNITDIR \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
    endif()
    set(STORYLOOM_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    configure_file(${PKG_SRC}/storyloom.service.in ${PKG_OUT}/unit\${CMAKE_INSTALL_PREFIX}/storyloom.service @ONLY)
    file(INSTALL ${PKG_OUT}/unit\${CMAKE_INSTALL_PREFIX}/storyloom.service DESTINATION \"\${STORYLOOM_UNITDIR}\"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    file(INSTALL ${PKG_SRC}/storyloom.toml DESTINATION \"\${STORYLOOM_SYSCONFDIR}/storyloom\"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  ")

  # The Debian package. CPack installs the rules above into its staging directory with
  # DESTDIR and the prefix /usr, then adds the maintainer scripts and the conffiles list.
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE STORYLOOM_DEB_ARCH
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT STORYLOOM_DEB_ARCH)
    set(STORYLOOM_DEB_ARCH amd64)
  endif()
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME storyloom)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_PACKAGE_CONTACT "Storyloom maintainers <maintainers@users.noreply.b-seed-bd085039.example>")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted story generation server")
  set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Storyloom turns a prompt into a story, a scene breakdown, a picture and
narration per scene, and a storyboard page, through an offline provider or any
OpenAI-compatible service. Every phase, file, API call and its cost is kept in
a database (SQLite, or PostgreSQL for several instances); a restart or crash
loses nothing.

This package runs it as storyloom.service (a hardened systemd unit, as the
storyloom system user) with its settings in /etc/storyloom/storyloom.toml and
its data in /var/lib/storyloom.")
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${STORYLOOM_DEB_ARCH})
  set(CPACK_DEBIAN_PACKAGE_SECTION net)
  set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # espeak-ng: the default (offline) provider's narration; systemd-sysusers: the user.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "espeak-ng, systemd | systemd-standalone-sysusers")
  set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
      ${PKG_SRC}/postinst ${PKG_SRC}/prerm ${PKG_SRC}/postrm ${PKG_SRC}/conffiles)
  set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
  set(CPACK_SET_DESTDIR ON)
  set(CPACK_INSTALL_PREFIX /usr)
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_STRIP_FILES ON)
  set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
      GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_CURRENT_BINARY_DIR})
  include(CPack)

  set(STORYLOOM_DEB ${CMAKE_CURRENT_BINARY_DIR}/storyloom_${PROJECT_VERSION}_${STORYLOOM_DEB_ARCH}.deb)
  file(GLOB PKG_SOURCES ${PKG_SRC}/*)
  add_custom_command(
    OUTPUT ${STORYLOOM_DEB}
    COMMAND ${CMAKE_CPACK_COMMAND} -G DEB --config ${CMAKE_CURRENT_BINARY_DIR}/CPackConfig.cmake
    DEPENDS storyloom storyloom_package_files ${PKG_SOURCES}
            ${PROJECT_SOURCE_DIR}/cmake/packaging.cmake
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
    COMMENT "Building ${STORYLOOM_DEB}")
  add_custom_target(deb DEPENDS ${STORYLOOM_DEB})
endif()

# The package test (tests/package/test-deb.sh) runs in the test build's ctest, against the
# Release tree that `make test` builds first (make deb); not in the TSan tree's ctest, which
# would only run it a second time.
set(STORYLOOM_RELEASE_DIR ${PROJECT_SOURCE_DIR}/build CACHE PATH
    "The Release build tree whose package the package test checks (the Makefile's RELEASE_DIR)")
if(STORYLOOM_TESTS AND NOT STORYLOOM_TSAN)
  add_test(NAME package_deb COMMAND ${PROJECT_SOURCE_DIR}/tests/package/test-deb.sh
                                    ${STORYLOOM_RELEASE_DIR})
  set_tests_properties(package_deb PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
