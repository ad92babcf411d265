/* SPDX-License-Identifier: Apache-2.0 */
/* SetHandler authproxy-health: readiness for load balancers (authproxy_health.c). */
#ifndef AUTHPROXY_HEALTH_H
#define AUTHPROXY_HEALTH_H

#include "authproxy.h"

#define AUTHPROXY_HEALTH_HANDLER "authproxy-health"

void authproxy_health_register_hooks(apr_pool_t *p);

#endif
