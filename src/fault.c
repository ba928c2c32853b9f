/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (vfc-fault.h). Placeholder: the interface is fixed so
 * that its users can be written against it; the rule engine replaces this.
 */
#include <errno.h>
#include <stdio.h>

#include "vfc-fault.h"

int vfc_fault_add(const char *rule, char *err, size_t err_len)
{
	if (err_len)
		snprintf(err, err_len, "fault injection is not built yet");
	return -ENOSYS;
}

int vfc_fault_remove(int id)
{
	return -ENOENT;
}

void vfc_fault_clear(void)
{
}

size_t vfc_fault_list(char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	return 0;
}
