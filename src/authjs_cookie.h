/* SPDX-License-Identifier: Apache-2.0 */
/* The Auth.js session cookie in a Cookie header: NAME (http origins) or
 * __Secure-NAME (https), whole or in chunks NAME.0, NAME.1, ... (Auth.js
 * splits tokens too large for one cookie); and a token sent as
 * `Authorization: Bearer`, which getToken() reads as that cookie. Knows
 * Auth.js, not httpd. */
#ifndef AUTHJS_COOKIE_H
#define AUTHJS_COOKIE_H

#include <apr_pools.h>

/* Chunk indexes beyond this are not Auth.js's: the header would be too big. */
#define AUTHJS_COOKIE_MAX_CHUNKS 64
/* What Auth.js puts before the cookie names on an https origin. */
#define AUTHJS_COOKIE_SECURE_PREFIX "__Secure-"

typedef struct {
    const char *name;     /* as sent, with any __Secure- prefix: the key's salt */
    const char *value;    /* the token, chunks joined in numeric order */
    const char *pairs;    /* the cookie(s) as sent, "NAME=v" or "NAME.0=v0; NAME.1=v1" */
    int chunks;           /* 0 when whole */
} authjs_cookie_t;

/* What authjs_cookie_find made of a Cookie header: the session cookie, or
 * why there is none (no cookie at all is told from a broken one). */
typedef enum {
    AUTHJS_COOKIE_FOUND = 0,
    AUTHJS_COOKIE_NONE,
    AUTHJS_COOKIE_EMPTY,
    AUTHJS_COOKIE_CHUNK_EMPTY,
    AUTHJS_COOKIE_CHUNKS_MISSING,
    AUTHJS_COOKIE_BEARER_MALFORMED,
    AUTHJS_COOKIE_STATUSES
} authjs_cookie_status_e;

/* A status as a sentence for the log. */
const char *authjs_cookie_status_text(authjs_cookie_status_e status);

/* Finds the session cookie `name`, exactly as named (the caller adds the
 * __Secure- prefix where Auth.js would read it), in a Cookie header (pairs
 * separated by ';', or ',' where a client or proxy folded several headers).
 * Cookies of other names, a __Secure- one among them, never count: Auth.js
 * reads one name per origin, and so does this. A whole cookie wins over
 * chunks. AUTHJS_COOKIE_FOUND with *out filled, or why there is no session:
 * no cookie, empty, a chunk empty or missing. */
authjs_cookie_status_e authjs_cookie_find(apr_pool_t *p, const char *header, const char *name,
                                          authjs_cookie_t *out);

/* The token of an Authorization header as getToken() reads it where no
 * cookie holds one, taken for the session cookie `name`: the header's part
 * before its first space is exactly "Bearer" (a "bearer" is not), and the
 * token is the part after it up to the next space, %-decoded. FOUND with
 * *out filled ("name=token" its pairs, for the /session fetch); NONE where
 * the header is absent, of another scheme or its token empty (two spaces);
 * BEARER_MALFORMED where no token follows "Bearer", a %-escape is broken, or
 * the decoded token holds a byte that no cookie value may (a NUL, a space, a
 * ';' that would add cookies of its own to the fetch, anything not ASCII):
 * no Auth.js token or session id holds one. Linear in the header. */
authjs_cookie_status_e authjs_cookie_bearer(apr_pool_t *p, const char *authorization,
                                            const char *name, authjs_cookie_t *out);

/* The Cookie header without the session cookie(s) (NAME, __Secure-NAME and
 * their chunks); NULL when nothing else is left. */
const char *authjs_cookie_strip(apr_pool_t *p, const char *header, const char *name);

/* "NAME=value" when a Set-Cookie header value sets the session cookie `name`
 * (exactly as named) or one of its chunks, with an empty value when it removes
 * it; NULL when it sets another cookie. */
const char *authjs_set_cookie_pair(apr_pool_t *p, const char *set_cookie, const char *name);

/* The value of a hex digit, one apr_isxdigit takes (%-escapes). */
unsigned char authjs_hex_value(char c);

#endif
