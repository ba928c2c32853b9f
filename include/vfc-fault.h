/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for test harnesses: rules, from the configuration file
 * or changed at runtime (vfio-cusectl), that fail matching ioctls with a
 * given errno, fail device DMA as an IOMMU fault would, drop or delay
 * interrupts, fail resets, make a group non-viable, or raise a device's
 * ERR and REQ interrupts. Deterministic (counts and seeds), and every
 * injection shows in the trace (vfc-trace.h) as a "fault" event.
 */
#pragma once

#include <stddef.h>

/**
 * vfc_fault_add() - parse and add one rule (syntax: docs/harness.md).
 * @rule: the rule's text.
 * @err: a buffer for a message saying what is wrong with @rule.
 * @err_len: its size.
 * Return: the rule's id (> 0); -EINVAL for a bad rule, -ENOSPC when too
 * many rules exist, -ENOMEM.
 */
int vfc_fault_add(const char *rule, char *err, size_t err_len);

/**
 * vfc_fault_remove() - remove rule @id.
 * Return: 0, -ENOENT.
 */
int vfc_fault_remove(int id);

/** vfc_fault_clear() - remove every rule. */
void vfc_fault_clear(void);

/**
 * vfc_fault_list() - the rules, one per line ("ID: RULE (matched N, injected M)").
 * @buf: where to write; always NUL-terminated when @len > 0.
 * @len: its size.
 * Return: the length the whole list needs, without the NUL, like snprintf.
 */
size_t vfc_fault_list(char *buf, size_t len);
