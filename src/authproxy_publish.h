/* SPDX-License-Identifier: Apache-2.0 */
/* The session published to the app: subprocess_env, notes, headers (authproxy_publish.c). */
#ifndef AUTHPROXY_PUBLISH_H
#define AUTHPROXY_PUBLISH_H

#include "authproxy.h"

void authproxy_publish_register_hooks(apr_pool_t *p);

#endif
