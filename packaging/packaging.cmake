# Installation layout and the Debian package (CPack): the binary, the systemd unit and its
# companions, the maintainer scripts. `cpack -G DEB` in a build directory writes
# rockllm_<version>_<arch>.deb.
include(GNUInstallDirs)

install(TARGETS rockllm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The simulated NPU device (ROCKLLM_NPU_SIMULATE), found by rockllm at ../lib/rockllm/.
install(TARGETS rockllm_fake_npu LIBRARY DESTINATION lib/rockllm)
install(FILES systemd/rockllm.service DESTINATION lib/systemd/system)
install(FILES systemd/rockllm.sysusers DESTINATION lib/sysusers.d RENAME rockllm.conf)
install(FILES systemd/rockllm.tmpfiles DESTINATION lib/tmpfiles.d RENAME rockllm.conf)
install(FILES systemd/70-rockllm-npu.rules DESTINATION lib/udev/rules.d)
install(FILES systemd/rockllm.default DESTINATION /etc/default RENAME rockllm)
install(FILES packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_BINARY_DIR}/rockllm.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES packaging/debian/lintian-overrides DESTINATION share/lintian/overrides RENAME rockllm)

# Debian wants a compressed changelog in the doc directory (changelog.gz: a native package).
file(WRITE ${CMAKE_BINARY_DIR}/changelog
     "rockllm (${PROJECT_VERSION}) unstable; urgency=medium\n\n  * Built from the rockllm sources.\n\n -- rockllm developers <rockllm@localhost>  Mon, 23 Nov 2026 00:00:00 +0000\n")
execute_process(COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/changelog)
execute_process(COMMAND sh -c "gzip -9nc '${PROJECT_SOURCE_DIR}/packaging/rockllm.1' > '${CMAKE_BINARY_DIR}/rockllm.1.gz'")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rockllm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "rockllm developers <rockllm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Ollama-compatible LLM server for Rockchip RK3588 boards")
set(CPACK_PACKAGE_DESCRIPTION "rockllm speaks the Ollama REST API and its OpenAI-compatible
routes on port 11434 and runs GGUF language models from an Ollama-compatible
model store. It is built for RK3588 boards (Rock 5B, Orange Pi 5) and runs
as a systemd service.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # rockllm_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the shared libraries the binary links
if(CMAKE_CROSSCOMPILING AND ROCKLLM_ARM64_SYSROOT)
  # sentencepiece comes extracted, not installed, so dpkg has no shlibs entry to derive its
  # dependency from: name it here, at the version the build used.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${ROCKLLM_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libsentencepiece0 (>= ${SENTENCEPIECE_VERSION})")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
