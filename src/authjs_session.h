/* SPDX-License-Identifier: Apache-2.0 */
/* One session shape, whether it came from a token's claims or from the
 * upstream's /session answer, and its flat NAME=value form. Knows Auth.js,
 * not httpd. */
#ifndef AUTHJS_SESSION_H
#define AUTHJS_SESSION_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

/* Largest /session answer taken. */
#define AUTHJS_SESSION_MAX_ANSWER (64 * 1024)

typedef struct {
    const char *id, *name, *email, *image;   /* NULL when absent */
    apr_time_t expires;                      /* 0 when unknown */
    const char *expires_iso;                 /* ISO 8601 UTC, NULL when unknown */
    json_t *claims;     /* the token's payload, or the /session object; released with the pool */
    const char *json;   /* compact JSON in the shape of Auth.js /session */
    int from_token;     /* claims are a token payload */
} authjs_session_t;

/* From a decoded token's payload (sub, name, email, picture, exp, ...). Takes
 * over the reference to `claims`. */
authjs_session_t *authjs_session_from_claims(apr_pool_t *p, json_t *claims);

/* From a /session answer: a JSON object with a "user" object whose id, name,
 * email and image are strings (or null), and an "expires" that Auth.js's
 * toISOString() form gives and that lies after `now`. NULL and *out set, or
 * why there is no session (null, {}, not JSON, too large, wrong types,
 * expired). */
const char *authjs_session_from_answer(apr_pool_t *p, const char *body, apr_size_t len,
                                       apr_time_t now, authjs_session_t **out);

/* Adds AUTHJS_USER_ID, _NAME, _EMAIL, _IMAGE, AUTHJS_EXPIRES, AUTHJS_SESSION
 * and AUTHJS_CLAIM_<NAME> for every other claim (a token's claims other than
 * sub, name, email, picture; a /session object's members other than user and
 * expires). Names: upper case, anything but A-Z and 0-9 becomes '_'. Values:
 * strings as they are, arrays joined with ',', objects as compact JSON. */
void authjs_session_vars(apr_pool_t *p, const authjs_session_t *s, apr_table_t *vars);

/* Claims that are credentials (the provider's accessToken, refreshToken,
 * idToken, access_token, refresh_token, id_token; password, client_secret),
 * compared ignoring case and every character but letters and digits
 * (access-token, Access_Token): withheld by default. */
int authjs_claim_is_credential(const char *name);

/* Whether a claim, by its own top-level name (a token's `sub`, `email`, ...;
 * a /session answer's members, and the members of its `user` by their own
 * names), is published; `nested`: a member, at any depth, of a claim's
 * object (or of an object in its array), kept or dropped from its JSON. */
typedef int authjs_claim_filter_fn(void *ctx, const char *name, int nested);

/* `v` without the members, at any depth, that `publish` withholds as
 * nested ones: a new reference, `v` itself where none goes. */
json_t *authjs_claim_strip_nested(json_t *v, authjs_claim_filter_fn *publish, void *ctx);

/* authjs_session_vars, with only the claims `publish` lets through:
 * AUTHJS_USER_* of a withheld claim are not set, AUTHJS_SESSION is written
 * again without the withheld claims (a withheld member goes with everything
 * nested in it), and the objects of AUTHJS_SESSION and AUTHJS_CLAIM_* lose
 * the nested members it withholds. AUTHJS_EXPIRES is always set.
 * authjs_session_vars is this with the default filter (credentials
 * withheld, at any depth). */
void authjs_session_vars_filtered(apr_pool_t *p, const authjs_session_t *s,
                                  authjs_claim_filter_fn *publish, void *ctx,
                                  apr_table_t *vars);

/* The claim at a dotted path ("email", "org.role", "user.email"): looked up in
 * the token's payload or the /session object, and, so that the same Require
 * line works both ways, "user.X" of a token falls back to X and X of a
 * /session answer to user.X. NULL when absent. */
json_t *authjs_session_claim(const authjs_session_t *s, const char *path);

/* The texts a claim value offers for comparison: a string itself, numbers and
 * booleans as JSON, each element of an array the same way; objects and null
 * offer none. */
apr_array_header_t *authjs_claim_texts(apr_pool_t *p, json_t *value);

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", as JavaScript's toISOString() writes it. */
const char *authjs_iso8601(apr_pool_t *p, apr_time_t t);

/* Parses the ISO 8601 UTC forms Auth.js writes; 0 when it cannot. */
apr_time_t authjs_parse_iso8601(const char *s);

#endif
