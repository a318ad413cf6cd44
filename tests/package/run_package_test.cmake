# Builds a tiny consumer of seqnet from scratch. MODE=find_package installs seqnet into a scratch prefix
# first and consumes it through find_package(seqnet CONFIG REQUIRED); MODE=add_subdirectory points the
# consumer at the source tree; MODE=find_package_cuda installs seqnet with SEQNET_CUDA=ON (CUDA_COMPILER
# names nvcc) and builds a .cu consumer of seqnet::cuda. The consumer program is run at the end and must exit 0.
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
if(MODE MATCHES "^find_package")
  run_step(${CMAKE_COMMAND} -S ${SEQNET_SOURCE_DIR} -B ${WORK_DIR}/seqnet-build
           -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix -DSEQNET_BUILD_TESTS=OFF -DSEQNET_BUILD_EXAMPLES=OFF
           -DSEQNET_BUILD_BENCH=OFF -DSEQNET_INSTALL=ON ${seqnet_args})
  run_step(${CMAKE_COMMAND} --install ${WORK_DIR}/seqnet-build)
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
else()
  list(APPEND consumer_args -DSEQNET_SOURCE_DIR=${SEQNET_SOURCE_DIR})
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
