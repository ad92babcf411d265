/* SPDX-License-Identifier: Apache-2.0 */
/* Signed JWTs (JWS compact form) for backends, and the public keys that
 * verify them as a JWK set: EC P-256 keys sign ES256 (the signature is R||S,
 * 64 bytes, as RFC 7518 wants), Ed25519 keys sign EdDSA (RFC 8037). A key's
 * kid is its RFC 7638 thumbprint. Knows OpenSSL and JSON, not httpd. */
#ifndef AUTHJS_JWS_H
#define AUTHJS_JWS_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct authjs_jws_key authjs_jws_key_t;

/* Reads the PEM private key in `path` (unencrypted: nobody is asked for a
 * passphrase). NULL and *out set, freed with `p`; or why not (the file
 * cannot be read, holds no private key, or a key of another kind). */
const char *authjs_jws_key_load(apr_pool_t *p, const char *path, authjs_jws_key_t **out);
/* "ES256" or "EdDSA". */
const char *authjs_jws_key_alg(const authjs_jws_key_t *key);
/* The RFC 7638 thumbprint: base64url of the SHA-256 of the canonical JWK. */
const char *authjs_jws_key_kid(const authjs_jws_key_t *key);
/* The public key as a JWK (kty, crv, x[, y], kid, alg, use "sig"): a new reference. */
json_t *authjs_jws_key_jwk(const authjs_jws_key_t *key);

/* header.payload.signature of `payload` (the JSON text of the claims), the
 * header {"alg","kid","typ":"JWT"}; NULL when OpenSSL fails. */
const char *authjs_jws_sign(apr_pool_t *p, const authjs_jws_key_t *key, const char *payload,
                            apr_size_t len);

#endif
