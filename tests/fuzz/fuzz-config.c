// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: vfio-cused's configuration parser (cuse/config.c), as
 * vfc_config_load() feeds it: the input is split into lines of at most
 * 1022 bytes, each parsed with vfc_config_parse_line() (past a failed
 * line too, which the loader would not do, so that one bad line does not
 * hide the rest), then vfc_config_finish() and vfc_config_clear(). The configuration file
 * is root's, but the parser must still never crash, leak or overrun.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vfc-fault.h"
#include "vfc-log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vfc_log_set_max_level(getenv("FUZZ_VERBOSE") ? 7 : 2);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct vfc_config cfg = { 0 };
	char line[1024];
	size_t i = 0;
	int r = 0;

	while (i < n && r != -ENOMEM) {
		size_t k = 0;

		while (i < n && k < sizeof(line) - 2 && data[i] != '\n')
			line[k++] = (char)data[i++];
		if (i < n && data[i] == '\n')
			line[k++] = (char)data[i++];
		line[k] = '\0';
		r = vfc_config_parse_line(&cfg, line, "fuzz:1");
	}
	vfc_config_finish(&cfg);
	vfc_config_clear(&cfg);
	vfc_fault_clear();	/* "fault" lines add rules: each input starts empty */
	return 0;
}
