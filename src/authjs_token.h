/* SPDX-License-Identifier: Apache-2.0 */
/* Auth.js session tokens: keys from secrets, compact JWE decryption, claims
 * check. Knows Auth.js, not httpd: APR, OpenSSL and jansson only. */
#ifndef AUTHJS_TOKEN_H
#define AUTHJS_TOKEN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

/* Larger tokens are refused before any work. */
#define AUTHJS_TOKEN_MAX_KIB 16
#define AUTHJS_TOKEN_MAX_LEN (AUTHJS_TOKEN_MAX_KIB * 1024)
/* Seconds of clock skew allowed on exp and nbf, as Auth.js's decode() allows. */
#define AUTHJS_CLOCK_TOLERANCE 15

typedef struct authjs_keyring authjs_keyring_t;

/* Derives, once, every key a session cookie named `salt` (as sent, with any
 * __Secure- prefix) may be encrypted with, for each of `secrets` (const char *,
 * newest first): Auth.js's A256CBC-HS512 and A256GCM keys
 * (HKDF-SHA256, salt = cookie name, info "Auth.js Generated Encryption Key
 * (<salt>)") with their JWK thumbprints, and next-auth v4's A256GCM key
 * (empty salt, info "NextAuth.js Generated Encryption Key"). Keys are wiped
 * when `p` is cleared. NULL and *out set, or why it failed. */
const char *authjs_keyring_create(apr_pool_t *p, const apr_array_header_t *secrets,
                                  const char *salt, authjs_keyring_t **out);

/* Auth.js asks for a secret of at least 32 random characters
 * (https://authjs.dev/getting-started/deployment): its bytes, as the key
 * derivation takes them. */
#define AUTHJS_SECRET_MIN_LEN 32

/* HKDF-SHA256 of a secret (salt and info may be ""): `len` bytes at `out`,
 * as Auth.js derives its keys, or another key of the same secret for another
 * use. 0 when OpenSSL fails. */
int authjs_hkdf_sha256(const char *secret, const char *salt, const char *info,
                       unsigned char *out, apr_size_t len);

/* Why `secret` is weak: shorter than AUTHJS_SECRET_MIN_LEN bytes ("is too
 * short"), or a value
 * published as an example or placeholder, which anyone can try; NULL when
 * neither. Says nothing of the secret itself. */
const char *authjs_secret_weakness(const char *secret);

/* Why `secret` looks like more than a secret, which is taken whole: several
 * lines ("spans several lines": a .env file named by file:), a variable's
 * assignment ("is a NAME=value assignment": AUTH_SECRET=...) or a value in
 * quotes ("is in quotes", as a .env writes it); NULL when none. Says nothing
 * of the secret itself. */
const char *authjs_secret_misshapen(const char *secret);

/* What authjs_token_decode made of a token: its claims, or why it is
 * refused (a token past its exp is told from an invalid one). */
typedef enum {
    AUTHJS_TOKEN_VALID = 0,
    AUTHJS_TOKEN_EXPIRED,
    AUTHJS_TOKEN_NOT_YET_VALID,
    AUTHJS_TOKEN_EMPTY,
    AUTHJS_TOKEN_TOO_LARGE,
    AUTHJS_TOKEN_NOT_FIVE_PARTS,
    AUTHJS_TOKEN_ENCRYPTED_KEY,
    AUTHJS_TOKEN_PART_NOT_BASE64URL,
    AUTHJS_TOKEN_HEADER_NOT_BASE64URL,
    AUTHJS_TOKEN_HEADER_NOT_OBJECT,
    AUTHJS_TOKEN_ALG_NOT_DIR,
    AUTHJS_TOKEN_ENC_MISSING,
    AUTHJS_TOKEN_ENC_UNKNOWN,
    AUTHJS_TOKEN_EXTENSIONS,
    AUTHJS_TOKEN_KID_NOT_STRING,
    AUTHJS_TOKEN_NO_CONTEXT,
    AUTHJS_TOKEN_KID_KEY_FAILS,
    AUTHJS_TOKEN_NO_KEY,
    AUTHJS_TOKEN_PAYLOAD_NOT_OBJECT,
    AUTHJS_TOKEN_NAMED_CLAIM_TYPE,
    AUTHJS_TOKEN_EXP_NOT_NUMBER,
    AUTHJS_TOKEN_NBF_NOT_NUMBER,
    AUTHJS_TOKEN_STATUSES
} authjs_token_status_e;

/* A status as a sentence for the log. */
const char *authjs_token_status_text(authjs_token_status_e status);

/* Decrypts a compact JWE (alg "dir") with the keyring and checks exp and nbf
 * against `now` (Unix seconds). AUTHJS_TOKEN_VALID with *claims set to the
 * payload object (the caller owns the reference), or why the token is
 * refused, *claims NULL. Never reads past `len`. */
authjs_token_status_e authjs_token_decode(const authjs_keyring_t *ring, const char *token,
                                          apr_size_t len, apr_int64_t now, apr_pool_t *p,
                                          json_t **claims);

/* The IV length authjs_token_encode takes. */
#define AUTHJS_TOKEN_IV_LEN 16

/* Encrypts `payload` (a JSON object's text) as Auth.js's encode() does, with
 * the keyring's first key (the newest secret's A256CBC-HS512 key): compact
 * JWE, alg "dir", its kid in the header. `iv` is AUTHJS_TOKEN_IV_LEN bytes,
 * fresh and random for each token (a fixed one only in tests). NULL and
 * *token set, or why it failed. */
const char *authjs_token_encode(const authjs_keyring_t *ring, const char *payload,
                                const unsigned char *iv, apr_pool_t *p, const char **token);

/* base64url without padding, strictly: only the canonical encoding of the
 * bytes decodes (no '=', '+', '/', or stray low bits). NULL when invalid. */
unsigned char *authjs_b64url_decode(apr_pool_t *p, const char *src, apr_size_t len,
                                    apr_size_t *out_len);

#endif
