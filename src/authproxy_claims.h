/* SPDX-License-Identifier: Apache-2.0 */
/* Which claims are published (AuthProxyPublishClaims), and the headers set
 * from claims (AuthProxyClaimHeader, AuthProxyHeaderEncoding)
 * (authproxy_claims.c). */
#ifndef AUTHPROXY_CLAIMS_H
#define AUTHPROXY_CLAIMS_H

#include "authproxy.h"

/* An authjs_claim_filter_fn over an AuthProxyPublishClaims list (`rules`,
 * an apr_array_header_t of authproxy_claim_rule_t, may be NULL): the last
 * entry whose pattern matches the name decides; where none does, a
 * credential (authjs_claim_is_credential) is withheld and any other claim
 * published. A nested member is withheld only where it is a credential
 * that way. */
int authproxy_claim_published(void *rules, const char *name, int nested);

/* A claim's value as a header value: strings as they are, numbers and
 * booleans as JSON, objects as compact JSON; an array's elements so written,
 * each with '%' and ',' percent-encoded (%25, %2C), joined with ','. With
 * AUTHPROXY_ENCODING_BASE64URL, the UTF-8 bytes of that text (of each
 * element, for an array) in base64url without padding, joined with ','.
 * NULL for null, and, raw, for a value that holds a control character (CR,
 * LF, NUL, ...): never sent. */
const char *authproxy_claim_header_value(apr_pool_t *p, json_t *value, int encoding);

/* Removes the request's headers that AuthProxyClaimHeader names in this
 * directory, in every spelling (case, '_' for '-'), and what a handler made
 * of them in the environment (HTTP_*, REDIRECT_HTTP_*); the client's headers
 * (from_client) each logged at info. */
void authproxy_claim_headers_remove(request_rec *r, int from_client);

/* Sets the AuthProxyClaimHeader headers of this directory from the session;
 * the name of each one set is pushed onto `sent` (NULL: not kept). */
void authproxy_claim_headers_set(request_rec *r, const authjs_session_t *session,
                                 apr_array_header_t *sent);

/* Removes the headers that a pass of this request set (`sent`), and what a
 * handler made of them in the environment (HTTP_*, REDIRECT_HTTP_*):
 * headers_in is the whole request's, an internal redirect's target may name
 * other headers, or none, or another claim; a subrequest starts with a copy
 * of its main request's headers and environment, and may go to another
 * directory's backend. */
void authproxy_claim_headers_unsend(request_rec *r, const apr_array_header_t *sent);

#endif
