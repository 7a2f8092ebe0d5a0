# DuckDB is fetched at configure time from the npm registry (never committed):
#   duckdb@1.4.4                              -> duckdb.h (C API header)
#   @duckdb/node-bindings-linux-x64@1.4.4-r.4 -> libduckdb.so
# Both tarballs are pinned by SHA-256. A local mirror can be given with
# -DBQX_DUCKDB_CACHE=/dir containing the two .tgz files.
set(BQX_DUCKDB_VERSION 1.4.4)
set(_duck_dir ${CMAKE_BINARY_DIR}/_deps/duckdb)
set(_duck_src_tgz duckdb-1.4.4.tgz)
set(_duck_src_url https://registry.npmjs.org/duckdb/-/duckdb-1.4.4.tgz)
set(_duck_src_sha 5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed)
set(_duck_lib_tgz node-bindings-linux-x64-1.4.4-r.4.tgz)
set(_duck_lib_url https://registry.npmjs.org/@duckdb/node-bindings-linux-x64/-/node-bindings-linux-x64-1.4.4-r.4.tgz)
set(_duck_lib_sha 732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b)
set(BQX_DUCKDB_CACHE "" CACHE PATH "Directory holding pre-downloaded DuckDB npm tarballs")

function(_bqx_fetch_tgz name url sha)
  set(dest ${_duck_dir}/${name})
  if(BQX_DUCKDB_CACHE AND EXISTS ${BQX_DUCKDB_CACHE}/${name})
    file(COPY ${BQX_DUCKDB_CACHE}/${name} DESTINATION ${_duck_dir})
  endif()
  if(EXISTS ${dest})
    file(SHA256 ${dest} have)
    if(NOT have STREQUAL sha)
      file(REMOVE ${dest})
    endif()
  endif()
  if(NOT EXISTS ${dest})
    message(STATUS "Downloading ${url}")
    file(DOWNLOAD ${url} ${dest} EXPECTED_HASH SHA256=${sha} STATUS st TLS_VERIFY ON)
    list(GET st 0 code)
    if(NOT code EQUAL 0)
      message(FATAL_ERROR "DuckDB download failed: ${url}: ${st}")
    endif()
  endif()
endfunction()

if(NOT EXISTS ${_duck_dir}/include/duckdb.h OR NOT EXISTS ${_duck_dir}/lib/libduckdb.so)
  file(MAKE_DIRECTORY ${_duck_dir})
  _bqx_fetch_tgz(${_duck_src_tgz} ${_duck_src_url} ${_duck_src_sha})
  _bqx_fetch_tgz(${_duck_lib_tgz} ${_duck_lib_url} ${_duck_lib_sha})
  file(ARCHIVE_EXTRACT INPUT ${_duck_dir}/${_duck_src_tgz} DESTINATION ${_duck_dir}/src
       PATTERNS package/src/duckdb/src/include/duckdb.h)
  file(ARCHIVE_EXTRACT INPUT ${_duck_dir}/${_duck_lib_tgz} DESTINATION ${_duck_dir}/bin
       PATTERNS package/libduckdb.so)
  file(MAKE_DIRECTORY ${_duck_dir}/include ${_duck_dir}/lib)
  file(COPY ${_duck_dir}/src/package/src/duckdb/src/include/duckdb.h DESTINATION ${_duck_dir}/include)
  file(COPY ${_duck_dir}/bin/package/libduckdb.so DESTINATION ${_duck_dir}/lib)
endif()

add_library(duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb PROPERTIES
  IMPORTED_LOCATION ${_duck_dir}/lib/libduckdb.so
  IMPORTED_NO_SONAME TRUE)
# duckdb.h is third-party: include it as a system header so -Werror does not apply to it.
target_include_directories(duckdb SYSTEM INTERFACE ${_duck_dir}/include)
