/* SPDX-License-Identifier: Apache-2.0 */
/* What Auth.js reads of a sign-in request and what its answer says
 * (authjs_signin.c): the identifiers a Credentials or e-mail sign-in names,
 * and whether the answer refused the credentials or sent an e-mail. */
#ifndef AUTHJS_SIGNIN_H
#define AUTHJS_SIGNIN_H

#include <apr_pools.h>
#include <apr_tables.h>

/* The most identifiers one sign-in may name (a form has one). */
#define AUTHJS_SIGNIN_MAX_IDENTIFIERS 4

/* Why a sign-in's body cannot be read as every upstream may read it, from
 * its headers (each as the upstream gets it, repeated ones joined): a
 * Content-Encoding other than identity (Express inflates gzip, deflate and
 * br), a charset other than UTF-8 (Express decodes UTF-16, UTF-7 and
 * Latin-1), or a Content-Type naming both JSON and a form in any case
 * (@auth/core tests for each in lower case, Express for the media type).
 * NULL when it can be read. */
const char *authjs_signin_unreadable(apr_pool_t *p, const char *content_type,
                                     const char *content_encoding);

/* The identifiers of a sign-in request's body as Auth.js (or the framework
 * in front of it) may read it: JSON where the Content-Type names
 * application/json, else a form where it names
 * application/x-www-form-urlencoded. Every value of the "email" and
 * "username" fields (in a form also email[...], as qs reads it), each once,
 * spelt as Auth.js's e-mail provider spells an address: white space as
 * JavaScript's trim() knows it trimmed, ASCII letters lowered, and where
 * one '@' divides it, its domain ended at a ','. None when the body names
 * none; NULL, with `why`, when a form names more than
 * AUTHJS_SIGNIN_MAX_IDENTIFIERS or a body named JSON is not JSON that
 * jansson reads (JSON.parse may read more). Linear in `len`. */
apr_array_header_t *authjs_signin_identifiers(apr_pool_t *p, const char *content_type,
                                              const char *body, apr_size_t len,
                                              const char **why);

typedef enum {
    AUTHJS_SIGNIN_OTHER = 0,        /* signed in, an error of another kind, a redirect */
    AUTHJS_SIGNIN_REFUSED,          /* the credentials were wrong (error=CredentialsSignin) */
    AUTHJS_SIGNIN_EMAIL_SENT        /* a sign-in e-mail went out (verify-request?type=email) */
} authjs_signin_outcome_e;

/* What the URL of an answer (its Location, or the "url" of the JSON form
 * X-Auth-Return-Redirect asks for) says of the sign-in. */
authjs_signin_outcome_e authjs_signin_outcome(const char *url);

/* The "url" of a JSON answer ({"url": "..."}); NULL when it has none. */
const char *authjs_signin_answer_url(apr_pool_t *p, const char *body, apr_size_t len);

#endif
