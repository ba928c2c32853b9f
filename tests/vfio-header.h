/* SPDX-License-Identifier: MIT */
/* Preprocessed by tests/meson.build for the list of VFIO ioctls (test-trace). */
#include <linux/vfio.h>
