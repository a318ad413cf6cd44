// SPDX-License-Identifier: MIT
/// @file version.hpp
/// seqnet's version: the one place it is written (CMake's project() version is read from these lines).
#pragma once

#define SEQNET_VERSION_MAJOR 0
#define SEQNET_VERSION_MINOR 1
#define SEQNET_VERSION_PATCH 0

#define SEQNET_VERSION_STRINGIZE_(x) #x
#define SEQNET_VERSION_STRINGIZE(x) SEQNET_VERSION_STRINGIZE_(x)
/// "MAJOR.MINOR.PATCH", built from the three numbers above.
#define SEQNET_VERSION_STRING                                                                    \
  SEQNET_VERSION_STRINGIZE(SEQNET_VERSION_MAJOR) "." SEQNET_VERSION_STRINGIZE(SEQNET_VERSION_MINOR) "." \
      SEQNET_VERSION_STRINGIZE(SEQNET_VERSION_PATCH)
