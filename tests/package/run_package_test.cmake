# Builds a tiny consumer of seqnet from scratch. MODE=find_package installs seqnet into a scratch prefix
# first and consumes it through find_package(seqnet CONFIG REQUIRED); MODE=add_subdirectory points the
# consumer at the source tree; MODE=find_package_cuda installs seqnet with SEQNET_CUDA=ON (CUDA_COMPILER
# names nvcc) and builds a .cu consumer of seqnet::cuda; MODE=fetch_content packs the library's files into a
# source archive and the consumer pulls it in with FetchContent. The consumer program is run at the end and
# must exit 0. MODE=find_package_missing_cuda installs seqnet without CUDA and expects the consumer's
# find_package(seqnet REQUIRED COMPONENTS cuda) to stop the configure with seqnet's reason.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "step failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

set(consumer_args -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release)
set(seqnet_args)
if(MODE STREQUAL "find_package_cuda")
  set(seqnet_args -DSEQNET_CUDA=ON -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER})
  list(APPEND consumer_args -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER})
endif()
if(MODE STREQUAL "fetch_content")
  set(archive ${WORK_DIR}/seqnet-src.tar.gz)
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${archive} -- CMakeLists.txt cmake include LICENSE
                  WORKING_DIRECTORY ${SEQNET_SOURCE_DIR} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "could not pack seqnet's sources into ${archive}")
  endif()
  file(SHA256 ${archive} archive_sha256)
  list(APPEND consumer_args -DSEQNET_ARCHIVE=${archive} -DSEQNET_ARCHIVE_SHA256=${archive_sha256}
       -DFETCHCONTENT_BASE_DIR=${WORK_DIR}/deps)
elseif(MODE MATCHES "^find_package")
  run_step(${CMAKE_COMMAND} -S ${SEQNET_SOURCE_DIR} -B ${WORK_DIR}/seqnet-build
           -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix -DSEQNET_BUILD_TESTS=OFF -DSEQNET_BUILD_EXAMPLES=OFF
           -DSEQNET_BUILD_BENCH=OFF -DSEQNET_INSTALL=ON ${seqnet_args})
  run_step(${CMAKE_COMMAND} --install ${WORK_DIR}/seqnet-build)
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  list(APPEND consumer_args -DSEQNET_SOURCE_DIR=${SEQNET_SOURCE_DIR})
endif()
if(MODE STREQUAL "find_package_missing_cuda")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer-build ${consumer_args}
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(expected "seqnet component 'cuda' was asked for, but this seqnet was installed without its CUDA backend")
  string(REGEX REPLACE "[ \n]+" " " said "${out}${err}")  # CMake wraps the reason's lines
  if(result EQUAL 0 OR NOT said MATCHES "${expected}")
    message(FATAL_ERROR "expected the configure to fail with \"${expected}\"; exit ${result}:\n${out}\n${err}")
  endif()
  message(STATUS "${MODE}: find_package(seqnet REQUIRED COMPONENTS cuda) failed as it should")
  return()
endif()
run_step(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer-build ${consumer_args})
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
if(WIN32)
  set(exe ${WORK_DIR}/consumer-build/Debug/consumer.exe)
else()
  set(exe ${WORK_DIR}/consumer-build/consumer)
endif()
run_step(${exe})
message(STATUS "${MODE} consumer built and ran")
