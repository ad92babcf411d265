/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_encode.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "authjs_jws.h"

/* P-256's coordinates and scalars, and Ed25519's public key. */
#define COORD_LEN 32

struct authjs_jws_key {
    EVP_PKEY *pkey;
    int is_ec;                 /* ES256; else EdDSA */
    const char *kid;
    const char *header_b64;    /* the JWS header, encoded once */
    const char *x, *y;         /* base64url; y only for EC */
};

static const char *b64url(apr_pool_t *p, const void *data, apr_size_t len)
{
    return apr_pencode_base64_binary(p, data, len, APR_ENCODE_BASE64URL | APR_ENCODE_NOPADDING,
                                     NULL);
}

static apr_status_t key_cleanup(void *data)
{
    EVP_PKEY_free(((authjs_jws_key_t *)data)->pkey);
    return APR_SUCCESS;
}

/* Never prompts: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

static const char *ec_coordinates(apr_pool_t *p, authjs_jws_key_t *key)
{
    char group[64];
    BIGNUM *x = NULL, *y = NULL;
    unsigned char bx[COORD_LEN], by[COORD_LEN];
    const char *err = NULL;

    if (!EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), NULL)
        || (strcmp(group, "prime256v1") && strcmp(group, "P-256"))) {
        return "an EC key not on P-256 (only P-256 signs ES256)";
    }
    if (!EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x)
        || !EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y)
        || BN_bn2binpad(x, bx, COORD_LEN) != COORD_LEN
        || BN_bn2binpad(y, by, COORD_LEN) != COORD_LEN) {
        err = "an EC key whose public point OpenSSL cannot give";
    }
    else {
        key->x = b64url(p, bx, COORD_LEN);
        key->y = b64url(p, by, COORD_LEN);
    }
    BN_free(x);
    BN_free(y);
    return err;
}

static const char *ed25519_public(apr_pool_t *p, authjs_jws_key_t *key)
{
    unsigned char raw[COORD_LEN];
    size_t len = sizeof(raw);

    if (!EVP_PKEY_get_raw_public_key(key->pkey, raw, &len) || len != COORD_LEN) {
        return "an Ed25519 key whose public key OpenSSL cannot give";
    }
    key->x = b64url(p, raw, len);
    return NULL;
}

/* The members RFC 7638 hashes, in its order (lexicographic). */
static json_t *required_members(const authjs_jws_key_t *key)
{
    return key->is_ec
        ? json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", key->x, "y", key->y)
        : json_pack("{s:s, s:s, s:s}", "crv", "Ed25519", "kty", "OKP", "x", key->x);
}

static const char *thumbprint(apr_pool_t *p, const authjs_jws_key_t *key)
{
    json_t *jwk = required_members(key);
    char *canonical = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    unsigned char digest[32];
    unsigned int len = 0;
    const char *kid = NULL;

    if (canonical && EVP_Digest(canonical, strlen(canonical), digest, &len, EVP_sha256(), NULL)
        && len == sizeof(digest)) {
        kid = b64url(p, digest, len);
    }
    free(canonical);
    json_decref(jwk);
    return kid;
}

const char *authjs_jws_key_load(apr_pool_t *p, const char *path, authjs_jws_key_t **out)
{
    BIO *bio = BIO_new_file(path, "r");
    authjs_jws_key_t *key;
    const char *err;
    char *header;

    if (!bio) {
        return apr_psprintf(p, "cannot read %s", path);
    }
    key = apr_pcalloc(p, sizeof(*key));
    key->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!key->pkey) {
        return apr_psprintf(p, "%s holds no unencrypted PEM private key", path);
    }
    apr_pool_cleanup_register(p, key, key_cleanup, apr_pool_cleanup_null);
    if (EVP_PKEY_is_a(key->pkey, "EC")) {
        key->is_ec = 1;
        err = ec_coordinates(p, key);
    }
    else if (EVP_PKEY_is_a(key->pkey, "ED25519")) {
        err = ed25519_public(p, key);
    }
    else {
        err = apr_psprintf(p, "a %s key: only EC P-256 and Ed25519 keys sign assertions",
                           EVP_PKEY_get0_type_name(key->pkey));
    }
    if (err) {
        return apr_psprintf(p, "%s holds %s", path, err);
    }
    if (!(key->kid = thumbprint(p, key))) {
        return apr_psprintf(p, "%s: its thumbprint cannot be made", path);
    }
    header = apr_psprintf(p, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                          authjs_jws_key_alg(key), key->kid);
    key->header_b64 = b64url(p, header, strlen(header));
    *out = key;
    return NULL;
}

const char *authjs_jws_key_alg(const authjs_jws_key_t *key)
{
    return key->is_ec ? "ES256" : "EdDSA";
}

const char *authjs_jws_key_kid(const authjs_jws_key_t *key)
{
    return key->kid;
}

json_t *authjs_jws_key_jwk(const authjs_jws_key_t *key)
{
    json_t *jwk = required_members(key);

    if (jwk) {
        json_object_set_new(jwk, "kid", json_string(key->kid));
        json_object_set_new(jwk, "alg", json_string(authjs_jws_key_alg(key)));
        json_object_set_new(jwk, "use", json_string("sig"));
    }
    return jwk;
}

/* OpenSSL's DER ECDSA-Sig-Value as JWS's R||S. */
static int der_to_raw(const unsigned char *der, size_t len, unsigned char raw[2 * COORD_LEN])
{
    const unsigned char *in = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &in, (long)len);
    const BIGNUM *r = NULL, *s = NULL;
    int ok;

    if (!sig) {
        return 0;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, COORD_LEN) == COORD_LEN
         && BN_bn2binpad(s, raw + COORD_LEN, COORD_LEN) == COORD_LEN;
    ECDSA_SIG_free(sig);
    return ok;
}

const char *authjs_jws_sign(apr_pool_t *p, const authjs_jws_key_t *key, const char *payload,
                            apr_size_t len)
{
    const char *input = apr_pstrcat(p, key->header_b64, ".", b64url(p, payload, len), NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[256], raw[2 * COORD_LEN];
    size_t sig_len = sizeof(sig);
    const char *jws = NULL;

    if (ctx
        && EVP_DigestSignInit(ctx, NULL, key->is_ec ? EVP_sha256() : NULL, NULL, key->pkey) == 1
        && EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)) == 1) {
        if (!key->is_ec) {
            jws = apr_pstrcat(p, input, ".", b64url(p, sig, sig_len), NULL);
        }
        else if (der_to_raw(sig, sig_len, raw)) {
            jws = apr_pstrcat(p, input, ".", b64url(p, raw, sizeof(raw)), NULL);
        }
    }
    EVP_MD_CTX_free(ctx);
    return jws;
}
