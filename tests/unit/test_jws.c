/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/authjs_jws.c: keys from PEM, their JWKs and RFC 7638
 * thumbprints (RFC 8037's Ed25519 example), signatures that OpenSSL's own
 * verification takes (ES256 as R||S), keys refused with their file named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include <apr_encode.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "authjs_jws.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/authproxy-jws-XXXXXX";

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *path_of(const char *name)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

/* `key` as a PEM file `name`; encrypted under a passphrase when `encrypt`. */
static const char *write_key(const char *name, EVP_PKEY *key, int encrypt)
{
    const char *path = path_of(name);
    BIO *bio = BIO_new_file(path, "w");

    ck_assert_ptr_nonnull(bio);
    ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key, encrypt ? EVP_aes_128_cbc() : NULL,
                                              encrypt ? (unsigned char *)"pw" : NULL,
                                              encrypt ? 2 : 0, NULL, NULL), 1);
    BIO_free(bio);
    EVP_PKEY_free(key);
    return path;
}

static unsigned char *b64d(const char *text, apr_size_t *len)
{
    return (unsigned char *)apr_pdecode_base64_binary(pool, text, APR_ENCODE_STRING,
                                                      APR_ENCODE_BASE64URL, len);
}

/* The JWS's signature over its first two parts, checked by OpenSSL with
 * the key in `path`. */
static void verifies(const char *jws, const char *path, int is_ec)
{
    const char *dot = strrchr(jws, '.');
    apr_size_t sig_len = 0;
    unsigned char *sig = b64d(dot + 1, &sig_len), *der = NULL;
    BIO *bio = BIO_new_file(path, "r");
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int der_len = 0;

    BIO_free(bio);
    ck_assert_ptr_nonnull(key);
    if (is_ec) {
        ECDSA_SIG *ecdsa = ECDSA_SIG_new();

        ck_assert_uint_eq(sig_len, 64);
        ECDSA_SIG_set0(ecdsa, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        der_len = i2d_ECDSA_SIG(ecdsa, &der);
        ECDSA_SIG_free(ecdsa);
        ck_assert_int_gt(der_len, 0);
    }
    else {
        ck_assert_uint_eq(sig_len, 64);
    }
    ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, is_ec ? EVP_sha256() : NULL, NULL, key), 1);
    ck_assert_int_eq(EVP_DigestVerify(ctx, is_ec ? der : sig, is_ec ? (size_t)der_len : sig_len,
                                      (const unsigned char *)jws, (size_t)(dot - jws)), 1);
    /* one byte changed: refused */
    EVP_MD_CTX_reset(ctx);
    ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, is_ec ? EVP_sha256() : NULL, NULL, key), 1);
    ck_assert_int_ne(EVP_DigestVerify(ctx, is_ec ? der : sig, is_ec ? (size_t)der_len : sig_len,
                                      (const unsigned char *)jws + 1, (size_t)(dot - jws) - 1),
                     1);
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
}

static const char *header_of(const char *jws)
{
    apr_size_t len = 0;
    const char *dot = strchr(jws, '.');
    unsigned char *raw = b64d(apr_pstrmemdup(pool, jws, dot - jws), &len);

    return apr_pstrmemdup(pool, (const char *)raw, len);
}

/* RFC 8037, A.1 and A.3. */
START_TEST(ed25519_rfc8037)
{
    apr_size_t len = 0;
    const unsigned char *d = b64d("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", &len);
    const char *path = write_key("ed.pem", EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
                                                                         d, len), 0);
    authjs_jws_key_t *key = NULL;
    json_t *jwk;
    const char *jws;

    ck_assert_ptr_null(authjs_jws_key_load(pool, path, &key));
    ck_assert_str_eq(authjs_jws_key_alg(key), "EdDSA");
    ck_assert_str_eq(authjs_jws_key_kid(key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    jwk = authjs_jws_key_jwk(key);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "OKP");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), "Ed25519");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "x")),
                     "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    ck_assert_ptr_null(json_object_get(jwk, "d"));
    ck_assert_ptr_null(json_object_get(jwk, "y"));
    json_decref(jwk);
    jws = authjs_jws_sign(pool, key, "{\"sub\":\"u1\"}", 12);
    ck_assert_ptr_nonnull(jws);
    ck_assert_str_eq(header_of(jws), "{\"alg\":\"EdDSA\",\"kid\":"
                     "\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\",\"typ\":\"JWT\"}");
    ck_assert_ptr_nonnull(strstr(jws, ".eyJzdWIiOiJ1MSJ9."));
    verifies(jws, path, 0);
}
END_TEST

START_TEST(es256_raw_signature)
{
    const char *path = write_key("ec.pem", EVP_EC_gen("P-256"), 0);
    authjs_jws_key_t *key = NULL;
    apr_size_t len = 0;
    json_t *jwk;
    int i;

    ck_assert_ptr_null(authjs_jws_key_load(pool, path, &key));
    ck_assert_str_eq(authjs_jws_key_alg(key), "ES256");
    jwk = authjs_jws_key_jwk(key);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "EC");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), "P-256");
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "alg")), "ES256");
    b64d(json_string_value(json_object_get(jwk, "x")), &len);
    ck_assert_uint_eq(len, 32);
    b64d(json_string_value(json_object_get(jwk, "y")), &len);
    ck_assert_uint_eq(len, 32);
    ck_assert_str_eq(json_string_value(json_object_get(jwk, "kid")), authjs_jws_key_kid(key));
    ck_assert_uint_eq(strlen(authjs_jws_key_kid(key)), 43);
    json_decref(jwk);
    /* ECDSA's r and s are shorter than 32 bytes now and then: each is padded */
    for (i = 0; i < 64; i++) {
        const char *payload = apr_psprintf(pool, "{\"n\":%d}", i);
        const char *jws = authjs_jws_sign(pool, key, payload, strlen(payload));

        ck_assert_ptr_nonnull(jws);
        verifies(jws, path, 1);
    }
}
END_TEST

/* A coordinate, r or s below 2^248 (one time in 128 or so) keeps its 32
 * bytes: the JWK's x and y and the signature's halves are fixed-width. */
START_TEST(leading_zeros_kept)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *x = NULL, *y = NULL;
    unsigned char bx[32], by[32];
    authjs_jws_key_t *key = NULL;
    const unsigned char *raw;
    const char *path, *jws = NULL;
    apr_size_t len = 0;
    json_t *jwk;
    int i, short_sig = 0;

    for (i = 0; i < 8192; i++) {
        pkey = EVP_EC_gen("P-256");
        ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
        ck_assert_int_eq(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
        if (BN_num_bytes(x) < 32 || BN_num_bytes(y) < 32) {
            break;
        }
        BN_free(x);
        BN_free(y);
        x = y = NULL;
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    ck_assert_ptr_nonnull(pkey);
    BN_bn2binpad(x, bx, 32);
    BN_bn2binpad(y, by, 32);
    BN_free(x);
    BN_free(y);
    path = write_key("ec0.pem", pkey, 0);
    ck_assert_ptr_null(authjs_jws_key_load(pool, path, &key));
    jwk = authjs_jws_key_jwk(key);
    raw = b64d(json_string_value(json_object_get(jwk, "x")), &len);
    ck_assert_uint_eq(len, 32);
    ck_assert_mem_eq(raw, bx, 32);
    raw = b64d(json_string_value(json_object_get(jwk, "y")), &len);
    ck_assert_uint_eq(len, 32);
    ck_assert_mem_eq(raw, by, 32);
    json_decref(jwk);
    for (i = 0; i < 8192 && !short_sig; i++) {
        jws = authjs_jws_sign(pool, key, "{}", 2);
        ck_assert_ptr_nonnull(jws);
        raw = b64d(strrchr(jws, '.') + 1, &len);
        ck_assert_uint_eq(len, 64);
        short_sig = !raw[0] || !raw[32];
    }
    ck_assert(short_sig);
    verifies(jws, path, 1);
}
END_TEST

START_TEST(refused_keys)
{
    const char *rsa = write_key("rsa.pem", EVP_RSA_gen(1024), 0);
    const char *p384 = write_key("p384.pem", EVP_EC_gen("P-384"), 0);
    const char *encrypted = write_key("enc.pem", EVP_EC_gen("P-256"), 1);
    const char *junk = path_of("junk.pem");
    FILE *f = fopen(junk, "w");
    authjs_jws_key_t *key = NULL;
    const char *err;

    ck_assert_ptr_nonnull(f);
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    err = authjs_jws_key_load(pool, rsa, &key);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, rsa));
    ck_assert_ptr_nonnull(strstr(err, "RSA"));
    err = authjs_jws_key_load(pool, p384, &key);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, p384));
    ck_assert_ptr_nonnull(strstr(err, "P-256"));
    err = authjs_jws_key_load(pool, encrypted, &key);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, encrypted));
    err = authjs_jws_key_load(pool, junk, &key);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, junk));
    err = authjs_jws_key_load(pool, path_of("missing.pem"), &key);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "missing.pem"));
    ck_assert_ptr_null(key);
}
END_TEST

static Suite *jws_suite(void)
{
    Suite *s = suite_create("authjs_jws");
    TCase *tc = tcase_create("jws");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ed25519_rfc8037);
    tcase_add_test(tc, es256_raw_signature);
    tcase_add_test(tc, leading_zeros_kept);
    tcase_add_test(tc, refused_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *const names[] = { "ed.pem", "ec.pem", "rsa.pem", "p384.pem", "enc.pem",
                                  "junk.pem", "ec0.pem" };
    SRunner *sr;
    int failed;
    size_t i;

    apr_initialize();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    sr = srunner_create(jws_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[sizeof(dir) + 16];

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
