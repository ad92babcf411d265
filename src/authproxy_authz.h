/* SPDX-License-Identifier: Apache-2.0 */
/* AuthType authjs, the Require providers and the unauth action (authproxy_authz.c). */
#ifndef AUTHPROXY_AUTHZ_H
#define AUTHPROXY_AUTHZ_H

#include "authproxy.h"

void authproxy_authz_register_hooks(apr_pool_t *p);

#endif
