/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxySignInLimit: failed sign-ins counted in the shared cache, and
 * sign-ins over the limit refused with 429 (authproxy_signin.c). */
#ifndef AUTHPROXY_SIGNIN_H
#define AUTHPROXY_SIGNIN_H

#include "authproxy.h"

void authproxy_signin_register_hooks(apr_pool_t *p);

#endif
