/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU cost of one local decode, for callgrind (bench/bench.py runs it).
 *
 *   decode_driver TOKEN SECRET [COOKIE_NAME] [WARM_DECODES]
 *
 * Builds the keyring (startup work in the module), decodes TOKEN once cold
 * (bench_cold_decode: the first decode of a process pays OpenSSL's lazy
 * set-up), WARM_DECODES more times (default 100) with the session and its
 * variables to reach the steady state (lazy set-up of OpenSSL, libc's time
 * zone, the dynamic linker's symbol lookups), then once more in
 * bench_one_decode: the decode every new cookie pays. Then, in
 * bench_one_session, one decode plus what the module does with the claims
 * (the session shape and the AUTHJS_* variables). Run it as
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_one_decode ./decode_driver ...
 *
 * and the Ir total is the instructions of one steady-state decode. Each
 * measured call gets a fresh pool, as a request does. Prints the decoded
 * email; exits 1 if any decode fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "authjs_session.h"
#include "authjs_token.h"

static authjs_keyring_t *ring;
static const char *token;
static apr_size_t token_len;

/* noinline so that callgrind's --toggle-collect finds each by name. */
__attribute__((noinline)) static authjs_token_status_e decode(apr_pool_t *p, json_t **claims)
{
    return authjs_token_decode(ring, token, token_len, apr_time_sec(apr_time_now()), p, claims);
}

__attribute__((noinline)) authjs_token_status_e bench_cold_decode(apr_pool_t *p, json_t **claims);
__attribute__((noinline)) authjs_token_status_e bench_one_decode(apr_pool_t *p, json_t **claims);
__attribute__((noinline)) authjs_token_status_e bench_one_session(apr_pool_t *p,
                                                                  apr_table_t **vars);

authjs_token_status_e bench_cold_decode(apr_pool_t *p, json_t **claims)
{
    return decode(p, claims);
}

authjs_token_status_e bench_one_decode(apr_pool_t *p, json_t **claims)
{
    return decode(p, claims);
}

/* A decode and the session's variables, as the module builds them. */
__attribute__((noinline)) static authjs_token_status_e session(apr_pool_t *p,
                                                               apr_table_t **vars)
{
    json_t *claims;
    authjs_token_status_e status = decode(p, &claims);
    authjs_session_t *s;

    if (status != AUTHJS_TOKEN_VALID) {
        return status;
    }
    s = authjs_session_from_claims(p, claims);
    *vars = apr_table_make(p, 16);
    authjs_session_vars(p, s, *vars);
    return AUTHJS_TOKEN_VALID;
}

authjs_token_status_e bench_one_session(apr_pool_t *p, apr_table_t **vars)
{
    return session(p, vars);
}

static void check(const char *what, authjs_token_status_e status)
{
    if (status != AUTHJS_TOKEN_VALID) {
        fprintf(stderr, "decode_driver: %s decode failed: %s\n", what,
                authjs_token_status_text(status));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    apr_pool_t *pool, *req;
    apr_array_header_t *secrets;
    const char *error = NULL, *email;
    json_t *claims;
    apr_table_t *vars;
    long warm, i;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s TOKEN SECRET [COOKIE_NAME] [WARM_DECODES]\n", argv[0]);
        return 2;
    }
    token = argv[1];
    token_len = strlen(token);
    warm = argc > 4 ? strtol(argv[4], NULL, 10) : 100;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    secrets = apr_array_make(pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(secrets, const char *) = argv[2];
    error = authjs_keyring_create(pool, secrets, argc > 3 ? argv[3] : "authjs.session-token",
                                  &ring);
    if (error) {
        fprintf(stderr, "decode_driver: keyring: %s\n", error);
        return 1;
    }

    apr_pool_create(&req, pool);
    check("cold", bench_cold_decode(req, &claims));
    json_decref(claims);
    apr_pool_clear(req);
    for (i = 0; i < warm; i++) {
        check("warm-up", session(req, &vars));
        apr_pool_clear(req);
    }
    check("measured", bench_one_decode(req, &claims));
    email = json_string_value(json_object_get(claims, "email"));
    printf("decoded: email=%s\n", email ? email : "(none)");
    json_decref(claims);
    apr_pool_clear(req);

    check("session", bench_one_session(req, &vars));
    email = apr_table_get(vars, "AUTHJS_USER_EMAIL");
    printf("session: AUTHJS_USER_EMAIL=%s, %d variables\n", email ? email : "(none)",
           apr_table_elts(vars)->nelts);
    apr_pool_clear(req);

    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
