/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <apr_atomic.h>
#include <apr_encode.h>
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "authjs_token.h"

/* A number constant as a string, for a message. */
#define STR(n) STR_(n)
#define STR_(n) #n

const char *authjs_token_status_text(authjs_token_status_e status)
{
    static const char *const texts[AUTHJS_TOKEN_STATUSES] = {
        [AUTHJS_TOKEN_VALID] = "valid",
        [AUTHJS_TOKEN_EXPIRED] = "expired",
        [AUTHJS_TOKEN_NOT_YET_VALID] = "not valid yet (nbf)",
        [AUTHJS_TOKEN_EMPTY] = "empty token",
        [AUTHJS_TOKEN_TOO_LARGE] = "token larger than " STR(AUTHJS_TOKEN_MAX_KIB) " KiB",
        [AUTHJS_TOKEN_NOT_FIVE_PARTS] = "not five dot-separated parts",
        [AUTHJS_TOKEN_ENCRYPTED_KEY] = "encrypted key is not empty, as alg \"dir\" wants",
        [AUTHJS_TOKEN_PART_NOT_BASE64URL] = "a part is not base64url",
        [AUTHJS_TOKEN_HEADER_NOT_BASE64URL] = "header is not base64url",
        [AUTHJS_TOKEN_HEADER_NOT_OBJECT] = "header is not a JSON object",
        [AUTHJS_TOKEN_ALG_NOT_DIR] = "alg is not \"dir\"",
        [AUTHJS_TOKEN_ENC_MISSING] = "enc is missing",
        [AUTHJS_TOKEN_ENC_UNKNOWN] = "enc is neither A256CBC-HS512 nor A256GCM",
        [AUTHJS_TOKEN_EXTENSIONS] = "header asks for zip or crit extensions",
        [AUTHJS_TOKEN_KID_NOT_STRING] = "kid is not a string",
        [AUTHJS_TOKEN_NO_CONTEXT] = "OpenSSL could not make a context",
        [AUTHJS_TOKEN_KID_KEY_FAILS] = "no key matches or the kid's key does not decrypt it",
        [AUTHJS_TOKEN_NO_KEY] = "no key decrypts it",
        [AUTHJS_TOKEN_PAYLOAD_NOT_OBJECT] = "payload is not a JSON object",
        [AUTHJS_TOKEN_NAMED_CLAIM_TYPE] = ("sub, name, email or picture is neither a string "
                                           "nor null"),
        [AUTHJS_TOKEN_EXP_NOT_NUMBER] = "exp is not a number",
        [AUTHJS_TOKEN_NBF_NOT_NUMBER] = "nbf is not a number",
    };

    return texts[status];
}

typedef enum { ENC_CBC = 1, ENC_GCM } enc_e;
#define CBC_KEY_LEN 64
#define GCM_KEY_LEN 32
#define CBC_IV_LEN 16
#define GCM_IV_LEN 12
#define CBC_TAG_LEN 32
#define GCM_TAG_LEN 16
/* base64url of a SHA-512 digest is 86 characters */
#define KID_MAX 96

typedef struct {
    enc_e enc;
    unsigned char key[CBC_KEY_LEN];
    apr_size_t len;
    apr_uint32_t serial;        /* unique in the process: what a thread's contexts are keyed with */
    char kid[KID_MAX];          /* empty for next-auth v4 keys, which carry no kid */
    const char *header;         /* the protected header Auth.js writes with it, base64url */
    apr_size_t header_len;
} authjs_key_t;

struct authjs_keyring {
    apr_array_header_t *keys;   /* of authjs_key_t, in the order they are tried */
    EVP_CIPHER *cbc;
    EVP_CIPHER *gcm;
};

/* Each thread keeps its HMAC and cipher contexts from token to token, keyed
 * with the key it used last: setting a context up and keying it costs as
 * much as a fifth of a decode. Keys are told apart by serial, not by
 * address, which a later keyring may reuse. (So a thread holds its last
 * key's schedule until it ends, after the keyring is gone.) */
typedef struct {
    EVP_MAC_CTX *hmac;
    apr_uint32_t hmac_key;      /* serial of the key it holds; 0 for none */
    EVP_CIPHER_CTX *cipher;
    apr_uint32_t cipher_key;
} thread_ctx_t;

static apr_uint32_t last_serial;
static pthread_key_t thread_ctx_key;
static pthread_once_t thread_ctx_once = PTHREAD_ONCE_INIT;
static int thread_ctx_ready;

static void thread_ctx_free(void *data)
{
    thread_ctx_t *t = data;

    EVP_MAC_CTX_free(t->hmac);
    EVP_CIPHER_CTX_free(t->cipher);
    OPENSSL_free(t);
}

static void thread_ctx_init(void)
{
    thread_ctx_ready = pthread_key_create(&thread_ctx_key, thread_ctx_free) == 0;
}

static thread_ctx_t *thread_ctx(void)
{
    thread_ctx_t *t;
    EVP_MAC *hmac;

    pthread_once(&thread_ctx_once, thread_ctx_init);
    if (!thread_ctx_ready) {
        return NULL;
    }
    if ((t = pthread_getspecific(thread_ctx_key))) {
        return t;
    }
    if (!(t = OPENSSL_zalloc(sizeof(*t)))) {
        return NULL;
    }
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    t->hmac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    EVP_MAC_free(hmac);     /* the context holds its own reference */
    t->cipher = EVP_CIPHER_CTX_new();
    if (!t->hmac || !t->cipher || pthread_setspecific(thread_ctx_key, t) != 0) {
        thread_ctx_free(t);
        return NULL;
    }
    return t;
}

#define B64_SIX(c, v) [(unsigned char)(c)] = (v) + 1
#define B64_RANGE8(c, v) B64_SIX(c, v), B64_SIX(c + 1, v + 1), B64_SIX(c + 2, v + 2), \
    B64_SIX(c + 3, v + 3), B64_SIX(c + 4, v + 4), B64_SIX(c + 5, v + 5), \
    B64_SIX(c + 6, v + 6), B64_SIX(c + 7, v + 7)

/* A base64url character's value plus one; 0 for any other byte. */
static const unsigned char b64url_value[256] = {
    B64_RANGE8('A', 0), B64_RANGE8('I', 8), B64_RANGE8('Q', 16), B64_SIX('Y', 24),
    B64_SIX('Z', 25), B64_RANGE8('a', 26), B64_RANGE8('i', 34), B64_RANGE8('q', 42),
    B64_SIX('y', 50), B64_SIX('z', 51), B64_RANGE8('0', 52), B64_SIX('8', 60),
    B64_SIX('9', 61), B64_SIX('-', 62), B64_SIX('_', 63)
};
#undef B64_RANGE8
#undef B64_SIX

/* APR's decoder also takes '+', '/', '=' and non-zero spare bits: a token
 * must be the one canonical encoding of its bytes, so that no changed
 * character goes unnoticed. */
static int b64url_canonical(const char *src, apr_size_t len)
{
    /* the bits of the last character that carry no data, by len % 4 */
    static const int spare[4] = { 0, 0, 0x0f, 0x03 };
    const unsigned char *c = (const unsigned char *)src, *end = c + len;
    unsigned int all = 1;

    if (len % 4 == 1) {
        return 0;
    }
    for (; c < end; c++) {
        all &= b64url_value[*c] != 0;
    }
    return all && (len == 0 || !((b64url_value[end[-1]] - 1) & spare[len % 4]));
}

unsigned char *authjs_b64url_decode(apr_pool_t *p, const char *src, apr_size_t len,
                                    apr_size_t *out_len)
{
    unsigned char *out;

    if (!b64url_canonical(src, len)) {
        return NULL;
    }
    out = apr_palloc(p, len / 4 * 3 + 3);
    if (apr_decode_base64_binary(out, src, len, APR_ENCODE_BASE64URL, out_len)
        != APR_SUCCESS) {
        return NULL;
    }
    return out;
}

static apr_status_t keyring_cleanup(void *data)
{
    authjs_keyring_t *ring = data;
    int i;

    for (i = 0; i < ring->keys->nelts; i++) {
        authjs_key_t *key = &APR_ARRAY_IDX(ring->keys, i, authjs_key_t);

        OPENSSL_cleanse(key->key, CBC_KEY_LEN);
    }
    EVP_CIPHER_free(ring->cbc);
    EVP_CIPHER_free(ring->gcm);
    return APR_SUCCESS;
}

int authjs_hkdf_sha256(const char *secret, const char *salt, const char *info,
                       unsigned char *out, apr_size_t len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t outlen = len;
    int ok = ctx
        && EVP_PKEY_derive_init(ctx) > 0
        && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0
        && (!*salt || EVP_PKEY_CTX_set1_hkdf_salt(ctx, (const unsigned char *)salt,
                                                  (int)strlen(salt)) > 0)
        && EVP_PKEY_CTX_set1_hkdf_key(ctx, (const unsigned char *)secret,
                                      (int)strlen(secret)) > 0
        && EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info,
                                       (int)strlen(info)) > 0
        && EVP_PKEY_derive(ctx, out, &outlen) > 0
        && outlen == len;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* RFC 7638 thumbprint of the key as an "oct" JWK, hashed as Auth.js does:
 * SHA-256 for a 32-byte key, SHA-512 for a 64-byte one. */
static int thumbprint(apr_pool_t *p, const unsigned char *key, apr_size_t len, char *kid)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    const char *k = apr_pencode_base64_binary(p, key, len, APR_ENCODE_BASE64URL, NULL);
    const char *jwk = apr_pstrcat(p, "{\"k\":\"", k, "\",\"kty\":\"oct\"}", NULL);
    const char *b64;

    if (!EVP_Digest(jwk, strlen(jwk), digest, &dlen, len == GCM_KEY_LEN ? EVP_sha256()
                    : EVP_sha512(), NULL)) {
        return 0;
    }
    b64 = apr_pencode_base64_binary(p, digest, dlen, APR_ENCODE_BASE64URL, NULL);
    apr_cpystrn(kid, b64, KID_MAX);
    return 1;
}

static int add_key(authjs_keyring_t *ring, apr_pool_t *p, enc_e enc, apr_size_t len,
                   const char *secret, const char *salt, const char *info, int with_kid)
{
    authjs_key_t *key = apr_array_push(ring->keys);

    memset(key, 0, sizeof(*key));
    key->enc = enc;
    key->len = len;
    key->serial = apr_atomic_inc32(&last_serial) + 1;
    if (!authjs_hkdf_sha256(secret, salt, info, key->key, len)
        || (with_kid && !thumbprint(p, key->key, len, key->kid))) {
        return 0;
    }
    if (with_kid) {
        const char *json = apr_psprintf(p, "{\"alg\":\"dir\",\"enc\":\"%s\",\"kid\":\"%s\"}",
                                        enc == ENC_CBC ? "A256CBC-HS512" : "A256GCM", key->kid);

        key->header = apr_pencode_base64(p, json, APR_ENCODE_STRING, APR_ENCODE_BASE64URL,
                                         &key->header_len);
    }
    return 1;
}

const char *authjs_keyring_create(apr_pool_t *p, const apr_array_header_t *secrets,
                                  const char *salt, authjs_keyring_t **out)
{
    authjs_keyring_t *ring = apr_pcalloc(p, sizeof(*ring));
    const char *info = apr_psprintf(p, "Auth.js Generated Encryption Key (%s)", salt);
    EVP_MAC *hmac;
    int i, have_hmac;

    *out = NULL;
    ring->keys = apr_array_make(p, secrets->nelts * 3, sizeof(authjs_key_t));
    apr_pool_cleanup_register(p, ring, keyring_cleanup, apr_pool_cleanup_null);
    ring->cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    ring->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);   /* each thread fetches its own */
    have_hmac = hmac != NULL;
    EVP_MAC_free(hmac);
    if (!ring->cbc || !ring->gcm || !have_hmac) {
        return "OpenSSL lacks HMAC, AES-256-CBC or AES-256-GCM";
    }
    for (i = 0; i < secrets->nelts; i++) {
        const char *secret = APR_ARRAY_IDX(secrets, i, const char *);

        if (!add_key(ring, p, ENC_CBC, CBC_KEY_LEN, secret, salt, info, 1)
            || !add_key(ring, p, ENC_GCM, GCM_KEY_LEN, secret, salt, info, 1)
            || !add_key(ring, p, ENC_GCM, GCM_KEY_LEN, secret, "",
                        "NextAuth.js Generated Encryption Key", 0)) {
            return "HKDF key derivation failed";
        }
    }
    *out = ring;
    return NULL;
}

/* Secrets published where people copy them from, each one seen in use
 * (in any case):
 * - "secret": next-auth's own example environment,
 *   https://github.com/nextauthjs/next-auth/blob/main/apps/dev/nextjs/.env.local.example
 * - the Supabase local development JWT secret, in that file too, and long
 *   enough to pass the length check;
 * - the commands that make a secret, pasted in place of their output, as
 *   https://authjs.dev/getting-started/deployment and the examples' env files
 *   (https://github.com/nextauthjs/next-auth/blob/main/apps/examples/nextjs/.env.local.example)
 *   give them;
 * - "changeme", the placeholder of many public .env examples. */
static const char *const published_secrets[] = {
    "secret",
    "changeme",
    "super-secret-jwt-token-with-at-least-32-characters-long",
    "openssl rand -base64 32",
    "openssl rand -base64 33",
    "openssl rand -hex 32",
    "npx auth secret",
    "npm exec auth secret",
    NULL
};

const char *authjs_secret_weakness(const char *secret)
{
    int i;

    for (i = 0; published_secrets[i]; i++) {
        if (!strcasecmp(secret, published_secrets[i])) {
            return "is a published example or placeholder, which anyone can try";
        }
    }
    if (strlen(secret) < AUTHJS_SECRET_MIN_LEN) {
        return "is too short";
    }
    return NULL;
}

const char *authjs_secret_misshapen(const char *secret)
{
    /* an environment variable's name, as Auth.js's (AUTH_SECRET,
     * NEXTAUTH_SECRET, AUTH_SECRET_1) */
    static const char word[] = "SECRET";
    apr_size_t name = strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), i;
    apr_size_t len = strlen(secret);

    if (strpbrk(secret, "\r\n")) {
        return "spans several lines";
    }
    /* a .env's AUTH_SECRET="..." copied whole: the quotes are dotenv's */
    if (len >= 2 && (secret[0] == '"' || secret[0] == '\'') && secret[len - 1] == secret[0]) {
        return "is in quotes";
    }
    for (i = 0; secret[name] == '=' && i + sizeof(word) - 1 <= name; i++) {
        if (!strncmp(secret + i, word, sizeof(word) - 1)) {
            return "is a NAME=value assignment";
        }
    }
    return NULL;
}

/* The five parts of a compact JWE, decoded. */
typedef struct {
    const char *protected_b64;  /* the AAD, as sent */
    apr_size_t protected_len;
    unsigned char *iv, *ciphertext, *tag;
    apr_size_t iv_len, ciphertext_len, tag_len;
    enc_e enc;
    const char *kid;
} jwe_t;

static authjs_token_status_e parse_header(apr_pool_t *p, jwe_t *jwe)
{
    apr_size_t len;
    unsigned char *raw = authjs_b64url_decode(p, jwe->protected_b64, jwe->protected_len, &len);
    json_t *header, *value;
    authjs_token_status_e why = AUTHJS_TOKEN_VALID;

    if (!raw) {
        return AUTHJS_TOKEN_HEADER_NOT_BASE64URL;
    }
    header = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(header)) {
        json_decref(header);
        return AUTHJS_TOKEN_HEADER_NOT_OBJECT;
    }
    value = json_object_get(header, "alg");
    if (!json_is_string(value) || strcmp(json_string_value(value), "dir") != 0) {
        why = AUTHJS_TOKEN_ALG_NOT_DIR;
    }
    else if (!json_is_string(value = json_object_get(header, "enc"))) {
        why = AUTHJS_TOKEN_ENC_MISSING;
    }
    else if (!strcmp(json_string_value(value), "A256CBC-HS512")) {
        jwe->enc = ENC_CBC;
    }
    else if (!strcmp(json_string_value(value), "A256GCM")) {
        jwe->enc = ENC_GCM;
    }
    else {
        why = AUTHJS_TOKEN_ENC_UNKNOWN;
    }
    if (!why && (json_object_get(header, "zip") || json_object_get(header, "crit"))) {
        why = AUTHJS_TOKEN_EXTENSIONS;
    }
    if (!why && (value = json_object_get(header, "kid"))) {
        if (json_is_string(value)) {
            jwe->kid = apr_pstrdup(p, json_string_value(value));
        }
        else {
            why = AUTHJS_TOKEN_KID_NOT_STRING;
        }
    }
    json_decref(header);
    return why;
}

/* Auth.js writes the same header for every token of a key: that exact header
 * needs no parsing (it is authenticated data either way). */
static int known_header(const authjs_keyring_t *ring, jwe_t *jwe)
{
    int i;

    for (i = 0; i < ring->keys->nelts; i++) {
        const authjs_key_t *key = &APR_ARRAY_IDX(ring->keys, i, authjs_key_t);

        if (key->header && key->header_len == jwe->protected_len
            && !memcmp(key->header, jwe->protected_b64, jwe->protected_len)) {
            jwe->enc = key->enc;
            jwe->kid = key->kid;
            return 1;
        }
    }
    return 0;
}

static authjs_token_status_e split(apr_pool_t *p, const char *token, apr_size_t len, jwe_t *jwe)
{
    const char *part[5], *end = token + len;
    apr_size_t plen[5];
    int i;

    for (i = 0; i < 5; i++) {
        const char *dot = memchr(token, '.', end - token);

        if ((i < 4) != (dot != NULL)) {
            return AUTHJS_TOKEN_NOT_FIVE_PARTS;
        }
        part[i] = token;
        plen[i] = (dot ? dot : end) - token;
        token = dot ? dot + 1 : end;
    }
    jwe->protected_b64 = part[0];
    jwe->protected_len = plen[0];
    if (plen[1] != 0) {
        return AUTHJS_TOKEN_ENCRYPTED_KEY;
    }
    if (!(jwe->iv = authjs_b64url_decode(p, part[2], plen[2], &jwe->iv_len))
        || !(jwe->ciphertext = authjs_b64url_decode(p, part[3], plen[3], &jwe->ciphertext_len))
        || !(jwe->tag = authjs_b64url_decode(p, part[4], plen[4], &jwe->tag_len))) {
        return AUTHJS_TOKEN_PART_NOT_BASE64URL;
    }
    return AUTHJS_TOKEN_VALID;
}

/* The thread's cipher context, ready to decrypt with this key and iv. */
static EVP_CIPHER_CTX *cipher_for(thread_ctx_t *t, const EVP_CIPHER *cipher,
                                  const authjs_key_t *key, const unsigned char *key_bytes,
                                  const unsigned char *iv)
{
    int keyed = t->cipher_key == key->serial;

    t->cipher_key = 0;
    if (!EVP_DecryptInit_ex2(t->cipher, keyed ? NULL : cipher, keyed ? NULL : key_bytes, iv,
                             NULL)) {
        return NULL;
    }
    t->cipher_key = key->serial;
    return t->cipher;
}

/* The AAD's length in bits, 64-bit big-endian, as the tag covers it. */
static void aad_length(apr_size_t len, unsigned char al[8])
{
    apr_uint64_t bits = (apr_uint64_t)len * 8;
    int i;

    for (i = 7; i >= 0; i--, bits >>= 8) {
        al[i] = (unsigned char)(bits & 0xff);
    }
}

/* RFC 7518 5.2.2.2: the tag is the first half of HMAC-SHA-512 over
 * AAD || IV || ciphertext || AAD length in bits (64-bit big-endian), keyed
 * with the first half of the key. */
static int cbc_hs512_decrypt(const authjs_keyring_t *ring, const authjs_key_t *key,
                             thread_ctx_t *t, const jwe_t *jwe, unsigned char *out,
                             apr_size_t *out_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE], al[8];
    size_t mac_len = 0;
    int n1 = 0, n2 = 0, ok;
    EVP_CIPHER_CTX *cctx;
    OSSL_PARAM sha512[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA512", 0),
        OSSL_PARAM_construct_end()
    };
    int keyed = t->hmac_key == key->serial;

    if (jwe->iv_len != CBC_IV_LEN || jwe->tag_len != CBC_TAG_LEN
        || jwe->ciphertext_len == 0 || jwe->ciphertext_len % 16 != 0) {
        return 0;
    }
    aad_length(jwe->protected_len, al);
    t->hmac_key = 0;
    if (!(keyed ? EVP_MAC_init(t->hmac, NULL, 0, NULL)
                : EVP_MAC_init(t->hmac, key->key, CBC_KEY_LEN / 2, sha512))) {
        return 0;
    }
    t->hmac_key = key->serial;
    ok = EVP_MAC_update(t->hmac, (const unsigned char *)jwe->protected_b64, jwe->protected_len)
        && EVP_MAC_update(t->hmac, jwe->iv, jwe->iv_len)
        && EVP_MAC_update(t->hmac, jwe->ciphertext, jwe->ciphertext_len)
        && EVP_MAC_update(t->hmac, al, sizeof(al))
        && EVP_MAC_final(t->hmac, mac, &mac_len, sizeof(mac))
        && mac_len == 64
        && CRYPTO_memcmp(mac, jwe->tag, CBC_TAG_LEN) == 0;
    if (!ok) {
        return 0;
    }
    cctx = cipher_for(t, ring->cbc, key, key->key + CBC_KEY_LEN / 2, jwe->iv);
    ok = cctx
        && EVP_DecryptUpdate(cctx, out, &n1, jwe->ciphertext, (int)jwe->ciphertext_len)
        && EVP_DecryptFinal_ex(cctx, out + n1, &n2);
    *out_len = (apr_size_t)(n1 + n2);
    return ok;
}

const char *authjs_token_encode(const authjs_keyring_t *ring, const char *payload,
                                const unsigned char *iv, apr_pool_t *p, const char **token)
{
    const authjs_key_t *key = ring->keys->nelts ? &APR_ARRAY_IDX(ring->keys, 0, authjs_key_t)
                                                : NULL;
    apr_size_t len = strlen(payload), ct_len, signed_len;
    unsigned char *ct, *signed_part, mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    int n1 = 0, n2 = 0, ok;
    EVP_CIPHER_CTX *cctx;

    *token = NULL;
    if (!key || key->enc != ENC_CBC || !key->header) {
        return "the keyring has no A256CBC-HS512 key";
    }
    if (len > AUTHJS_TOKEN_MAX_LEN) {
        return "the payload is larger than a token may be";
    }
    /* PKCS#7 padding adds at most one block */
    ct = apr_palloc(p, len + CBC_IV_LEN);
    cctx = EVP_CIPHER_CTX_new();
    ok = cctx
        && EVP_EncryptInit_ex2(cctx, ring->cbc, key->key + CBC_KEY_LEN / 2, iv, NULL)
        && EVP_EncryptUpdate(cctx, ct, &n1, (const unsigned char *)payload, (int)len)
        && EVP_EncryptFinal_ex(cctx, ct + n1, &n2);
    EVP_CIPHER_CTX_free(cctx);
    if (!ok) {
        return "AES-256-CBC encryption failed";
    }
    ct_len = (apr_size_t)(n1 + n2);
    /* what cbc_hs512_decrypt checks the tag over: AAD || IV || ciphertext || AL */
    signed_len = key->header_len + CBC_IV_LEN + ct_len + 8;
    signed_part = apr_palloc(p, signed_len);
    memcpy(signed_part, key->header, key->header_len);
    memcpy(signed_part + key->header_len, iv, CBC_IV_LEN);
    memcpy(signed_part + key->header_len + CBC_IV_LEN, ct, ct_len);
    aad_length(key->header_len, signed_part + signed_len - 8);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA512", NULL, key->key, CBC_KEY_LEN / 2, signed_part,
                   signed_len, mac, sizeof(mac), &mac_len)
        || mac_len != 64) {
        return "HMAC-SHA-512 failed";
    }
    *token = apr_pstrcat(p, key->header, "..",
                         apr_pencode_base64_binary(p, iv, CBC_IV_LEN, APR_ENCODE_BASE64URL, NULL),
                         ".",
                         apr_pencode_base64_binary(p, ct, ct_len, APR_ENCODE_BASE64URL, NULL),
                         ".",
                         apr_pencode_base64_binary(p, mac, CBC_TAG_LEN, APR_ENCODE_BASE64URL,
                                                   NULL), NULL);
    return NULL;
}

static int gcm_decrypt(const authjs_keyring_t *ring, const authjs_key_t *key, thread_ctx_t *t,
                       const jwe_t *jwe, unsigned char *out, apr_size_t *out_len)
{
    int n1 = 0, n2 = 0, aad_len = 0, ok;
    EVP_CIPHER_CTX *cctx;

    if (jwe->iv_len != GCM_IV_LEN || jwe->tag_len != GCM_TAG_LEN) {
        return 0;
    }
    cctx = cipher_for(t, ring->gcm, key, key->key, jwe->iv);
    ok = cctx
        && EVP_DecryptUpdate(cctx, NULL, &aad_len, (const unsigned char *)jwe->protected_b64,
                             (int)jwe->protected_len)
        && EVP_DecryptUpdate(cctx, out, &n1, jwe->ciphertext, (int)jwe->ciphertext_len)
        && EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, jwe->tag)
        && EVP_DecryptFinal_ex(cctx, out + n1, &n2) > 0;
    *out_len = (apr_size_t)(n1 + n2);
    return ok;
}

/* The claims a session is named by: strings (or null) where present. */
static const char *const string_claims[] = { "sub", "name", "email", "picture", NULL };

static authjs_token_status_e check_claims(json_t *claims, apr_int64_t now)
{
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
    const char *const *key;

    for (key = string_claims; *key; key++) {
        json_t *v = json_object_get(claims, *key);

        if (v && !json_is_string(v) && !json_is_null(v)) {
            return AUTHJS_TOKEN_NAMED_CLAIM_TYPE;
        }
    }

    if (exp && !json_is_number(exp)) {
        return AUTHJS_TOKEN_EXP_NOT_NUMBER;
    }
    if (nbf && !json_is_number(nbf)) {
        return AUTHJS_TOKEN_NBF_NOT_NUMBER;
    }
    if (exp && (double)now > json_number_value(exp) + AUTHJS_CLOCK_TOLERANCE) {
        return AUTHJS_TOKEN_EXPIRED;
    }
    if (nbf && (double)now < json_number_value(nbf) - AUTHJS_CLOCK_TOLERANCE) {
        return AUTHJS_TOKEN_NOT_YET_VALID;
    }
    return AUTHJS_TOKEN_VALID;
}

authjs_token_status_e authjs_token_decode(const authjs_keyring_t *ring, const char *token,
                                          apr_size_t len, apr_int64_t now, apr_pool_t *p,
                                          json_t **claims)
{
    jwe_t jwe;
    authjs_token_status_e why;
    unsigned char *plain;
    apr_size_t plain_len = 0;
    int i, decrypted = 0;
    json_t *payload;
    thread_ctx_t *t;

    *claims = NULL;
    if (len == 0) {
        return AUTHJS_TOKEN_EMPTY;
    }
    if (len > AUTHJS_TOKEN_MAX_LEN) {
        return AUTHJS_TOKEN_TOO_LARGE;
    }
    memset(&jwe, 0, sizeof(jwe));
    if ((why = split(p, token, len, &jwe))
        || (!known_header(ring, &jwe) && (why = parse_header(p, &jwe)))) {
        return why;
    }
    if (!(t = thread_ctx())) {
        return AUTHJS_TOKEN_NO_CONTEXT;
    }
    /* CBC padding and the GCM tag make room for at most one block more */
    plain = apr_palloc(p, jwe.ciphertext_len + 32);
    for (i = 0; i < ring->keys->nelts && !decrypted; i++) {
        const authjs_key_t *key = &APR_ARRAY_IDX(ring->keys, i, authjs_key_t);

        if (key->enc != jwe.enc || (jwe.kid && strcmp(jwe.kid, key->kid) != 0)) {
            continue;
        }
        decrypted = jwe.enc == ENC_CBC ? cbc_hs512_decrypt(ring, key, t, &jwe, plain, &plain_len)
                                       : gcm_decrypt(ring, key, t, &jwe, plain, &plain_len);
    }
    if (!decrypted) {
        return jwe.kid ? AUTHJS_TOKEN_KID_KEY_FAILS : AUTHJS_TOKEN_NO_KEY;
    }
    /* authenticated: only the secret's holder wrote it. A repeated member
     * keeps its last value, as JSON.parse() in Auth.js does. */
    payload = json_loadb((const char *)plain, plain_len, 0, NULL);
    explicit_bzero(plain, plain_len);
    if (!json_is_object(payload)) {
        json_decref(payload);
        return AUTHJS_TOKEN_PAYLOAD_NOT_OBJECT;
    }
    if ((why = check_claims(payload, now))) {
        json_decref(payload);
        return why;
    }
    *claims = payload;
    return AUTHJS_TOKEN_VALID;
}
