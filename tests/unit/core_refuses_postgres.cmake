# Compiles tests/unit/core_with_postgres.cpp.in with the core's flags; it must fail on abx's guard.
execute_process(
  COMMAND ${CXX} -std=c++20 -DABX_CORE_BUILD -I${SRC}/include -I${PG_INCLUDE} -fsyntax-only
          -x c++ ${SRC}/tests/unit/core_with_postgres.cpp.in
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0)
  message(FATAL_ERROR "a core header compiled together with postgres.h; the guard does not work")
endif()
if(NOT err MATCHES "abx core must not include PostgreSQL headers")
  message(FATAL_ERROR "compile failed, but not on abx's guard:\n${err}")
endif()
message(STATUS "core header refused postgres.h as it should")
