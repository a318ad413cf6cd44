# Runs PROGRAM and checks that it exits 0 and that every line of EXPECTED appears in its standard output,
# in order, as a whole line (the output may have extra lines in between). Blank expected lines count too.
#   cmake -DPROGRAM=<executable> [-DPROGRAM_ARGS=<arg;arg>] -DEXPECTED=<file> -P check_output.cmake
# Lines are matched with string(FIND), never through CMake lists, so brackets and semicolons are safe.
cmake_minimum_required(VERSION 3.16)

# Prints its arguments joined, verbatim (FATAL_ERROR would re-wrap and indent them), then fails.
function(fail)
  set(text "")
  math(EXPR last "${ARGC} - 1")
  foreach(i RANGE ${last})
    string(APPEND text "${ARGV${i}}")  # one by one: ${ARGV} would split the text at semicolons
  endforeach()
  message("check_output: ${text}")
  message(FATAL_ERROR "check_output: FAILED")
endfunction()

if(NOT DEFINED PROGRAM OR NOT DEFINED EXPECTED)
  fail("usage: cmake -DPROGRAM=<executable> [-DPROGRAM_ARGS=<arg;arg>] -DEXPECTED=<file>"
       " -P check_output.cmake")
endif()
if(NOT EXISTS "${EXPECTED}" OR IS_DIRECTORY "${EXPECTED}")
  fail("expected output file missing: ${EXPECTED}")
endif()

file(READ "${EXPECTED}" expected)
string(REPLACE "\r" "" expected "${expected}")
string(STRIP "${expected}" stripped)
if(stripped STREQUAL "")
  fail("expected output file is empty: ${EXPECTED}")
endif()

execute_process(COMMAND "${PROGRAM}" ${PROGRAM_ARGS}
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
string(REPLACE "\r" "" output "${output}")
if(NOT status STREQUAL "0")
  fail("${PROGRAM} failed (exit status: ${status})\n--- stdout ---\n${output}--- stderr ---\n${errors}")
endif()

# Each output line sits between two newlines in `haystack`; `position` is always at the newline that
# ends the last matched line, so the next match must start after it.
set(haystack "\n${output}")
if(NOT haystack MATCHES "\n$")
  string(APPEND haystack "\n")
endif()
if(NOT expected MATCHES "\n$")
  string(APPEND expected "\n")
endif()
set(position 0)
set(line_number 0)
while(NOT expected STREQUAL "")
  string(FIND "${expected}" "\n" eol)
  string(SUBSTRING "${expected}" 0 ${eol} line)
  math(EXPR next "${eol} + 1")
  string(SUBSTRING "${expected}" ${next} -1 expected)
  math(EXPR line_number "${line_number} + 1")

  string(SUBSTRING "${haystack}" ${position} -1 rest)
  string(FIND "${rest}" "\n${line}\n" found)
  if(found EQUAL -1)
    fail("${EXPECTED}:${line_number}: line not found in order in the output of ${PROGRAM}:\n"
         "  expected: '${line}'\n--- output ---\n${output}")
  endif()
  string(LENGTH "${line}" length)
  math(EXPR position "${position} + ${found} + ${length} + 1")
endwhile()
message(STATUS "check_output: all ${line_number} expected lines found in order")
