// SPDX-License-Identifier: MIT
#pragma once

#define SEQNET_VERSION_MAJOR 0
#define SEQNET_VERSION_MINOR 1
#define SEQNET_VERSION_PATCH 0
#define SEQNET_VERSION_STRING "0.1.0"
