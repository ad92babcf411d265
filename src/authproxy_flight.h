/* SPDX-License-Identifier: Apache-2.0 */
/* One upstream fetch per key at a time in a process (authproxy_flight.c). */
#ifndef AUTHPROXY_FLIGHT_H
#define AUTHPROXY_FLIGHT_H

#include "authproxy_identity.h"

void authproxy_flight_register_hooks(apr_pool_t *p);
/* Concurrent misses for one key (of AUTHPROXY_KEY_LEN bytes): 1 for the
 * request that is to fetch (it calls authproxy_flight_land after storing), 0
 * for one that waited for that fetch to land, at most `timeout` from its
 * start, and looks again. */
int authproxy_flight_join(const unsigned char *key, apr_interval_time_t timeout);
/* The same without waiting: 1 for the request that is to go (it lands the
 * flight), 0 while another one is under way. */
int authproxy_flight_take(const unsigned char *key);
void authproxy_flight_land(const unsigned char *key);

#endif
