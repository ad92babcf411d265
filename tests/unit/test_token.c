/* SPDX-License-Identifier: Apache-2.0 */
/* The decoder held to the real format: every token here was minted by
 * Auth.js's (or next-auth v4's) own encode(), at the fixed clock that the
 * golden file records (tests/unit/mint-golden.mjs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_encode.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <check.h>

#include "authjs_cookie.h"
#include "authjs_token.h"

#define SECRET "first-secret-0123456789abcdefghijklmnop"
#define OLD_SECRET "older-secret-0123456789abcdefghijklmnop"
#define OTHER_SECRET "someone-elses-secret-0123456789abcdefgh"
#define COOKIE "authjs.session-token"
#define SECURE_COOKIE "__Secure-authjs.session-token"

enum {
    T_CBC, T_GCM, T_V4, T_OLD_CBC, T_OLD_GCM, T_SECURE, T_EXPIRED, T_EXPIRED_IN_TOLERANCE,
    T_NBF_FUTURE, T_NBF_IN_TOLERANCE, T_FOREIGN, T_BIG, T_HUGE, T_EMAIL_NUMBER, T_SUB_OBJECT,
    T_NAME_NULL, T_COUNT
};
/* Their names in tokens.golden, in the order above. */
static const char *const token_names[T_COUNT] = {
    "cbc", "gcm", "v4", "old_cbc", "old_gcm", "secure", "expired", "expired_in_tolerance",
    "nbf_future", "nbf_in_tolerance", "foreign", "big", "huge", "email_number", "sub_object",
    "name_null"
};

static apr_pool_t *pool;
static const char *tokens[T_COUNT];
/* The clock the golden tokens were minted at, which the decoder is given. */
static apr_int64_t now;

static void die(const char *path, const char *what)
{
    fprintf(stderr, "%s: %s\n", path, what);
    exit(2);
}

/* A golden file's "NAME VALUE" lines ('#' starts a comment). */
static apr_table_t *read_golden(const char *path)
{
    apr_table_t *lines = apr_table_make(pool, 32);
    char *text, *line, *last;
    apr_file_t *f;
    apr_finfo_t info;
    apr_size_t len;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, pool) != APR_SUCCESS
        || apr_file_info_get(&info, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        die(path, "cannot be read");
    }
    len = (apr_size_t)info.size;
    text = apr_palloc(pool, len + 1);
    if (apr_file_read_full(f, text, len, NULL) != APR_SUCCESS) {
        die(path, "cannot be read");
    }
    text[len] = '\0';
    apr_file_close(f);
    for (line = apr_strtok(text, "\n", &last); line; line = apr_strtok(NULL, "\n", &last)) {
        char *value = strchr(line, ' ');

        if (line[0] == '#' || !value) {
            continue;
        }
        *value++ = '\0';
        apr_table_setn(lines, line, value);
    }
    return lines;
}

/* tokens.golden: "now SECONDS", then "NAME TOKEN" lines (mint-golden.mjs). */
static void load_tokens(void)
{
    apr_table_t *golden = read_golden(GOLDEN_TOKENS);
    const char *clock = apr_table_get(golden, "now");
    int i;

    for (i = 0; i < T_COUNT; i++) {
        if (!(tokens[i] = apr_table_get(golden, token_names[i]))) {
            die(GOLDEN_TOKENS, apr_psprintf(pool, "no token named %s (make golden-tokens)",
                                            token_names[i]));
        }
    }
    if (!clock || (now = apr_atoi64(clock)) <= 0) {
        die(GOLDEN_TOKENS, "no \"now\" line");
    }
}

static authjs_keyring_t *ring_of(const char *salt, const char *s1, const char *s2)
{
    apr_array_header_t *secrets = apr_array_make(pool, 2, sizeof(const char *));
    const char *error;
    authjs_keyring_t *ring;

    APR_ARRAY_PUSH(secrets, const char *) = s1;
    if (s2) {
        APR_ARRAY_PUSH(secrets, const char *) = s2;
    }
    error = authjs_keyring_create(pool, secrets, salt, &ring);
    ck_assert_msg(error == NULL, "%s", error);
    return ring;
}

static authjs_token_status_e decode(const authjs_keyring_t *ring, const char *token,
                                    json_t **claims)
{
    json_t *ignored = NULL;
    authjs_token_status_e status = authjs_token_decode(ring, token, strlen(token), now, pool,
                                                       claims ? claims : &ignored);

    json_decref(ignored);
    return status;
}

static int refused(const authjs_keyring_t *ring, const char *token)
{
    return decode(ring, token, NULL) != AUTHJS_TOKEN_VALID;
}

static void assert_alice(const authjs_keyring_t *ring, const char *token)
{
    json_t *claims = NULL;
    authjs_token_status_e status = decode(ring, token, &claims);

    ck_assert_msg(status == AUTHJS_TOKEN_VALID, "refused: %s", authjs_token_status_text(status));
    ck_assert_str_eq(json_string_value(json_object_get(claims, "email")), "alice@example.com");
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "u-alice");
    ck_assert(json_is_number(json_object_get(claims, "exp")));
    ck_assert_int_eq(json_array_size(json_object_get(claims, "role")), 2);
    json_decref(claims);
}

START_TEST(a256cbc_hs512_with_kid)
{
    ck_assert(strstr(tokens[T_CBC], "..") != NULL);   /* empty encrypted key */
    assert_alice(ring_of(COOKIE, SECRET, NULL), tokens[T_CBC]);
}
END_TEST

START_TEST(a256gcm_of_older_auth_core)
{
    assert_alice(ring_of(COOKIE, SECRET, NULL), tokens[T_GCM]);
}
END_TEST

START_TEST(next_auth_v4)
{
    /* v4 keys ignore the cookie name */
    assert_alice(ring_of(COOKIE, SECRET, NULL), tokens[T_V4]);
    assert_alice(ring_of("next-auth.session-token", SECRET, NULL), tokens[T_V4]);
}
END_TEST

START_TEST(rotation_with_kid)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, OLD_SECRET);

    assert_alice(ring, tokens[T_CBC]);
    assert_alice(ring, tokens[T_OLD_CBC]);
    ck_assert(refused(ring_of(COOKIE, SECRET, NULL), tokens[T_OLD_CBC]));
}
END_TEST

/* The token's protected header names a kid (the rest is random bytes, in
 * which "kid" may well stand). */
static int header_has_kid(const char *token)
{
    apr_size_t len;
    unsigned char *header = authjs_b64url_decode(pool, token, strcspn(token, "."), &len);

    ck_assert_ptr_nonnull(header);
    return strstr(apr_pstrmemdup(pool, (const char *)header, len), "\"kid\"") != NULL;
}

START_TEST(rotation_without_kid)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, OLD_SECRET);

    ck_assert(!header_has_kid(tokens[T_OLD_GCM]));
    assert_alice(ring, tokens[T_OLD_GCM]);
    assert_alice(ring, tokens[T_GCM]);
    assert_alice(ring_of(COOKIE, OLD_SECRET, SECRET), tokens[T_GCM]);
}
END_TEST

START_TEST(secure_prefix_is_the_salt)
{
    assert_alice(ring_of(SECURE_COOKIE, SECRET, NULL), tokens[T_SECURE]);
    ck_assert(refused(ring_of(COOKIE, SECRET, NULL), tokens[T_SECURE]));
    ck_assert(refused(ring_of(SECURE_COOKIE, SECRET, NULL), tokens[T_CBC]));
}
END_TEST

START_TEST(expiry_and_not_before_with_tolerance)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);

    ck_assert_int_eq(decode(ring, tokens[T_EXPIRED], NULL), AUTHJS_TOKEN_EXPIRED);
    ck_assert_int_eq(decode(ring, tokens[T_EXPIRED_IN_TOLERANCE], NULL), AUTHJS_TOKEN_VALID);
    ck_assert_int_eq(decode(ring, tokens[T_NBF_FUTURE], NULL), AUTHJS_TOKEN_NOT_YET_VALID);
    ck_assert_int_eq(decode(ring, tokens[T_NBF_IN_TOLERANCE], NULL), AUTHJS_TOKEN_VALID);
}
END_TEST

START_TEST(named_claims_must_be_strings)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);

    ck_assert_int_eq(decode(ring, tokens[T_EMAIL_NUMBER], NULL), AUTHJS_TOKEN_NAMED_CLAIM_TYPE);
    ck_assert(refused(ring, tokens[T_SUB_OBJECT]));
    ck_assert_int_eq(decode(ring, tokens[T_NAME_NULL], NULL), AUTHJS_TOKEN_VALID);
}
END_TEST

START_TEST(wrong_secret)
{
    ck_assert(refused(ring_of(COOKIE, SECRET, OLD_SECRET), tokens[T_FOREIGN]));
}
END_TEST

START_TEST(every_truncation_is_refused)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);
    const char *token = tokens[T_CBC];
    size_t len = strlen(token), i;

    for (i = 0; i < len; i++) {
        json_t *claims = NULL;
        authjs_token_status_e status = authjs_token_decode(ring, token, i, now, pool, &claims);

        ck_assert_msg(status != AUTHJS_TOKEN_VALID && claims == NULL, "prefix of %zu accepted",
                      i);
    }
}
END_TEST

START_TEST(every_altered_byte_is_refused)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    const char *tok[] = { tokens[T_CBC], tokens[T_GCM], tokens[T_V4] };
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);
    size_t t, i, tried = 0;

    for (t = 0; t < 3; t++) {
        char *copy = apr_pstrdup(pool, tok[t]);
        size_t len = strlen(copy);

        for (i = 0; i < len; i++) {
            char orig = copy[i];
            const char *pos = strchr(alphabet, orig);
            /* the next character of the alphabet, and one that flips the low bit */
            char subst[2] = { alphabet[((pos ? pos - alphabet : 0) + 1) % 65], (char)(orig ^ 1) };
            int k;

            for (k = 0; k < 2; k++) {
                copy[i] = subst[k];
                ck_assert_msg(refused(ring, copy),
                              "token %zu accepted with byte %zu changed to %c", t, i, subst[k]);
                tried++;
            }
            copy[i] = orig;
        }
        ck_assert_int_eq(decode(ring, copy, NULL), AUTHJS_TOKEN_VALID);
    }
    ck_assert(tried > 1000);
}
END_TEST

START_TEST(oversize_is_refused_before_work)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);
    char *junk = apr_palloc(pool, AUTHJS_TOKEN_MAX_LEN + 2);

    ck_assert(strlen(tokens[T_HUGE]) > AUTHJS_TOKEN_MAX_LEN);
    ck_assert_int_eq(decode(ring, tokens[T_HUGE], NULL), AUTHJS_TOKEN_TOO_LARGE);
    memset(junk, 'A', AUTHJS_TOKEN_MAX_LEN + 1);
    junk[AUTHJS_TOKEN_MAX_LEN + 1] = '\0';
    ck_assert_int_eq(decode(ring, junk, NULL), AUTHJS_TOKEN_TOO_LARGE);
}
END_TEST

START_TEST(three_chunks)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);
    const char *token = tokens[T_BIG];
    size_t len = strlen(token), third = len / 3;
    const char *c0 = apr_pstrndup(pool, token, third);
    const char *c1 = apr_pstrndup(pool, token + third, third);
    const char *c2 = token + 2 * third;
    authjs_cookie_t cookie;
    json_t *claims = NULL;
    const char *header = apr_psprintf(pool, "theme=dark; %s.2=%s; %s.0=%s; other=1; %s.1=%s",
                                      COOKIE, c2, COOKIE, c0, COOKIE, c1);

    ck_assert(len > 8192);
    ck_assert_int_eq(authjs_cookie_find(pool, header, COOKIE, &cookie), AUTHJS_COOKIE_FOUND);
    ck_assert_int_eq(cookie.chunks, 3);
    ck_assert_str_eq(cookie.value, token);
    ck_assert_int_eq(authjs_token_decode(ring, cookie.value, strlen(cookie.value), now, pool,
                                         &claims), AUTHJS_TOKEN_VALID);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "email")), "big@example.com");
    json_decref(claims);

    header = apr_psprintf(pool, "%s.0=%s; %s.2=%s", COOKIE, c0, COOKIE, c2);
    ck_assert_int_eq(authjs_cookie_find(pool, header, COOKIE, &cookie),
                     AUTHJS_COOKIE_CHUNKS_MISSING);
}
END_TEST

/* Each status has a sentence of its own for the log; the sizes in them are
 * the limits'. */
START_TEST(status_texts)
{
    int i, j;

    for (i = 0; i < AUTHJS_TOKEN_STATUSES; i++) {
        const char *text = authjs_token_status_text(i);

        ck_assert_msg(text && *text, "status %d has no text", i);
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(text, authjs_token_status_text(j));
        }
    }
    ck_assert_str_eq(authjs_token_status_text(AUTHJS_TOKEN_EXPIRED), "expired");
    ck_assert_str_eq(authjs_token_status_text(AUTHJS_TOKEN_TOO_LARGE),
                     apr_psprintf(pool, "token larger than %d KiB", AUTHJS_TOKEN_MAX_LEN / 1024));
}
END_TEST

/* Hand-made tokens: every structural defect is refused with its reason. */
static const char *b64(const char *text)
{
    return apr_pencode_base64(pool, text, APR_ENCODE_STRING, APR_ENCODE_BASE64URL, NULL);
}

START_TEST(malformed_tokens)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);
    const char *dir_cbc = b64("{\"alg\":\"dir\",\"enc\":\"A256CBC-HS512\"}");
    const char *rest = "..AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    struct {
        const char *token;
        authjs_token_status_e status;
    } cases[] = {
        { "", AUTHJS_TOKEN_EMPTY },
        { "a.b.c.d", AUTHJS_TOKEN_NOT_FIVE_PARTS },
        { "a.b.c.d.e.f", AUTHJS_TOKEN_NOT_FIVE_PARTS },
        { apr_pstrcat(pool, "e30", rest, NULL), AUTHJS_TOKEN_ALG_NOT_DIR },
        { apr_pstrcat(pool, "!!!", rest, NULL), AUTHJS_TOKEN_HEADER_NOT_BASE64URL },
        { apr_pstrcat(pool, "eyJ=", rest, NULL), AUTHJS_TOKEN_HEADER_NOT_BASE64URL },
        { apr_pstrcat(pool, b64("not json"), rest, NULL), AUTHJS_TOKEN_HEADER_NOT_OBJECT },
        { apr_pstrcat(pool, b64("[1]"), rest, NULL), AUTHJS_TOKEN_HEADER_NOT_OBJECT },
        { apr_pstrcat(pool, b64("{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}"), rest, NULL),
          AUTHJS_TOKEN_ALG_NOT_DIR },
        { apr_pstrcat(pool, b64("{\"alg\":\"dir\",\"enc\":\"A128GCM\"}"), rest, NULL),
          AUTHJS_TOKEN_ENC_UNKNOWN },
        { apr_pstrcat(pool, b64("{\"alg\":\"dir\"}"), rest, NULL), AUTHJS_TOKEN_ENC_MISSING },
        { apr_pstrcat(pool, b64("{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}"), rest,
                      NULL), AUTHJS_TOKEN_EXTENSIONS },
        { apr_pstrcat(pool, b64("{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"kid\":7}"), rest, NULL),
          AUTHJS_TOKEN_KID_NOT_STRING },
        { apr_pstrcat(pool, b64("{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"alg\":\"dir\"}"), rest,
                      NULL), AUTHJS_TOKEN_HEADER_NOT_OBJECT },
        { apr_pstrcat(pool, dir_cbc, ".QUFB.AAAA.AAAA.AAAA", NULL),
          AUTHJS_TOKEN_ENCRYPTED_KEY },
        { apr_pstrcat(pool, dir_cbc, "..A+AA.AAAA.AAAA", NULL), AUTHJS_TOKEN_PART_NOT_BASE64URL },
        { apr_pstrcat(pool, dir_cbc, "..AAAA.AAAA.AAA=", NULL), AUTHJS_TOKEN_PART_NOT_BASE64URL },
        { apr_pstrcat(pool, dir_cbc, "..AAAA.AAAA.A", NULL), AUTHJS_TOKEN_PART_NOT_BASE64URL },
        { apr_pstrcat(pool, dir_cbc, rest, NULL), AUTHJS_TOKEN_NO_KEY },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        authjs_token_status_e status = decode(ring, cases[i].token, NULL);

        ck_assert_msg(status == cases[i].status, "case %zu: '%s', wanted '%s'", i,
                      authjs_token_status_text(status), authjs_token_status_text(cases[i].status));
    }
}
END_TEST

START_TEST(strict_base64url)
{
    apr_size_t n;

    ck_assert_ptr_nonnull(authjs_b64url_decode(pool, "QUJD", 4, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_ptr_nonnull(authjs_b64url_decode(pool, "QUI", 3, &n));
    ck_assert_ptr_null(authjs_b64url_decode(pool, "QUJ", 3, &n));   /* spare bits set */
    ck_assert_ptr_null(authjs_b64url_decode(pool, "QUI=", 4, &n));
    ck_assert_ptr_null(authjs_b64url_decode(pool, "Q", 1, &n));
    ck_assert_ptr_null(authjs_b64url_decode(pool, "+/+/", 4, &n));
    ck_assert_ptr_nonnull(authjs_b64url_decode(pool, "-_-_", 4, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_ptr_nonnull(authjs_b64url_decode(pool, "QQ", 2, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_null(authjs_b64url_decode(pool, "QR", 2, &n));     /* spare bits set */
    ck_assert_ptr_null(authjs_b64url_decode(pool, "QUJD\n", 5, &n));
    ck_assert_ptr_null(authjs_b64url_decode(pool, "QU D", 4, &n));
    ck_assert_ptr_null(authjs_b64url_decode(pool, "QU\0D", 4, &n));
    ck_assert_ptr_nonnull(authjs_b64url_decode(pool, "", 0, &n));
    ck_assert_int_eq(n, 0);
}
END_TEST

/* Each thread keeps its OpenSSL contexts keyed from token to token: a key
 * of another keyring, or of one freed at the same address, is never used. */
static authjs_keyring_t *ring_in(apr_pool_t *p, const char *secret)
{
    apr_array_header_t *secrets = apr_array_make(p, 1, sizeof(const char *));
    authjs_keyring_t *ring;

    APR_ARRAY_PUSH(secrets, const char *) = secret;
    ck_assert_ptr_null(authjs_keyring_create(p, secrets, COOKIE, &ring));
    return ring;
}

START_TEST(thread_contexts_follow_the_key)
{
    authjs_keyring_t *first = ring_of(COOKIE, SECRET, NULL);
    authjs_keyring_t *older = ring_of(COOKIE, OLD_SECRET, NULL);
    int round, i;

    for (round = 0; round < 3; round++) {
        assert_alice(first, tokens[T_CBC]);
        assert_alice(older, tokens[T_OLD_CBC]);
        ck_assert(refused(older, tokens[T_CBC]));
        ck_assert(refused(first, tokens[T_OLD_CBC]));
        assert_alice(first, tokens[T_GCM]);
        assert_alice(older, tokens[T_OLD_GCM]);
        ck_assert(refused(older, tokens[T_GCM]));
    }
    /* a keyring made where a freed one was */
    for (i = 0; i < 4; i++) {
        apr_pool_t *p;

        apr_pool_create(&p, pool);
        if (i % 2) {
            ck_assert(refused(ring_in(p, OTHER_SECRET), tokens[T_CBC]));
            ck_assert(refused(ring_in(p, OTHER_SECRET), tokens[T_GCM]));
        }
        else {
            assert_alice(ring_in(p, SECRET), tokens[T_CBC]);
            assert_alice(ring_in(p, SECRET), tokens[T_GCM]);
        }
        apr_pool_destroy(p);
    }
}
END_TEST

/* A refusal half-way (a bad tag, bad padding) leaves the contexts ready. */
START_TEST(a_refusal_leaves_the_contexts_ready)
{
    authjs_keyring_t *ring = ring_of(COOKIE, SECRET, NULL);
    int which[] = { T_CBC, T_GCM, T_V4 };
    int i;

    for (i = 0; i < 3; i++) {
        char *bad = apr_pstrdup(pool, tokens[which[i]]);
        apr_size_t len = strlen(bad);

        bad[len - 2] = bad[len - 2] == 'A' ? 'B' : 'A';     /* the tag */
        ck_assert(refused(ring, bad));
        assert_alice(ring, tokens[which[i]]);
        bad = apr_pstrdup(pool, tokens[which[i]]);
        bad[strrchr(bad, '.') - bad - 2] ^= 1;               /* the ciphertext */
        ck_assert(refused(ring, bad));
        assert_alice(ring, tokens[which[i]]);
    }
}
END_TEST

typedef struct {
    const authjs_keyring_t *first, *older;
    int failures;
} threads_t;

static void *APR_THREAD_FUNC decode_in_thread(apr_thread_t *thread, void *data)
{
    threads_t *t = data;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 300; i++, apr_pool_clear(p)) {
        const authjs_keyring_t *ring = i % 2 ? t->older : t->first;
        const char *good = tokens[i % 2 ? T_OLD_CBC : (i % 3 ? T_CBC : T_GCM)];
        const char *bad = tokens[i % 2 ? T_CBC : T_OLD_CBC];
        json_t *claims = NULL;

        json_t *ignored = NULL;
        int right = authjs_token_decode(ring, good, strlen(good), now, p, &claims)
                        == AUTHJS_TOKEN_VALID
                    && json_is_object(claims)
                    && authjs_token_decode(ring, bad, strlen(bad), now, p, &ignored)
                           != AUTHJS_TOKEN_VALID;

        json_decref(claims);
        if (!right) {
            __atomic_add_fetch(&t->failures, 1, __ATOMIC_SEQ_CST);
        }
    }
    apr_pool_destroy(p);
    /* returns rather than apr_thread_exit(), which ASan cannot see does not
     * return: it would leave this frame's stack poisoned for the thread's end */
    return NULL;
}

START_TEST(threads_decode_at_once)
{
    threads_t t = { ring_of(COOKIE, SECRET, NULL), ring_of(COOKIE, OLD_SECRET, NULL), 0 };
    apr_thread_t *thread[4];
    apr_status_t rv;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_create(&thread[i], NULL, decode_in_thread, &t, pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, thread[i]);
    }
    ck_assert_int_eq(t.failures, 0);
}
END_TEST

/* The encoder makes its golden token (which Auth.js's decode() reads:
 * test_27_health.py) byte for byte, and the decoder reads it. */
START_TEST(encoder_makes_its_golden_token)
{
    apr_table_t *golden = read_golden(ENCODED_GOLDEN);
    const char *hex = apr_table_get(golden, "iv"), *token = NULL, *error;
    unsigned char iv[AUTHJS_TOKEN_IV_LEN];
    authjs_keyring_t *ring = ring_of(apr_table_get(golden, "salt"),
                                     apr_table_get(golden, "secret"), NULL);
    json_t *claims = NULL;
    int i;

    ck_assert(hex && strlen(hex) == 2 * AUTHJS_TOKEN_IV_LEN);
    for (i = 0; i < AUTHJS_TOKEN_IV_LEN; i++) {
        ck_assert(sscanf(hex + 2 * i, "%2hhx", &iv[i]) == 1);
    }
    error = authjs_token_encode(ring, apr_table_get(golden, "payload"), iv, pool, &token);
    ck_assert_msg(error == NULL, "%s", error);
    ck_assert_str_eq(token, apr_table_get(golden, "token"));
    ck_assert_int_eq(decode(ring, token, &claims), AUTHJS_TOKEN_VALID);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "authproxy-health");
    json_decref(claims);
}
END_TEST

/* The newest secret encrypts, under its kid; a ring without it, or of
 * another cookie name, refuses the token; each IV gives another token. */
START_TEST(encoder_uses_the_newest_secret)
{
    static const unsigned char iv1[AUTHJS_TOKEN_IV_LEN] = { 1 }, iv2[AUTHJS_TOKEN_IV_LEN] = { 2 };
    authjs_keyring_t *rotating = ring_of(COOKIE, SECRET, OLD_SECRET);
    const char *token, *other, *error;
    char *big;

    ck_assert(authjs_token_encode(rotating, "{\"sub\":\"x\"}", iv1, pool, &token) == NULL);
    ck_assert(authjs_token_encode(rotating, "{\"sub\":\"x\"}", iv2, pool, &other) == NULL);
    ck_assert_str_ne(token, other);
    ck_assert_int_eq(decode(rotating, token, NULL), AUTHJS_TOKEN_VALID);
    ck_assert_int_eq(decode(ring_of(COOKIE, SECRET, NULL), token, NULL), AUTHJS_TOKEN_VALID);
    ck_assert(refused(ring_of(COOKIE, OLD_SECRET, NULL), token));
    ck_assert(refused(ring_of(SECURE_COOKIE, SECRET, NULL), token));
    ck_assert(refused(ring_of(COOKIE, OTHER_SECRET, NULL), token));
    /* the same header Auth.js writes for the key: the decoder's fast path */
    ck_assert(strncmp(token, tokens[T_CBC], strchr(tokens[T_CBC], '.') - tokens[T_CBC]) == 0);
    /* a payload no token could carry is refused before any work */
    big = apr_palloc(pool, AUTHJS_TOKEN_MAX_LEN + 2);
    memset(big, 'a', AUTHJS_TOKEN_MAX_LEN + 1);
    big[AUTHJS_TOKEN_MAX_LEN + 1] = '\0';
    error = authjs_token_encode(rotating, big, iv1, pool, &token);
    ck_assert(error != NULL && token == NULL);
}
END_TEST

/* Weak secrets: the length in bytes as the key derivation takes them, and
 * the published ones whatever their length; the reason never holds the
 * secret. */
START_TEST(weak_secrets)
{
    const char *why;

    ck_assert_ptr_null(authjs_secret_weakness("0123456789abcdef0123456789abcdef"));
    ck_assert_ptr_null(authjs_secret_weakness("Ey7nTKnggBc0bRN8WUjyShw2qzOZ6KW4fUyqcKBePxY="));
    ck_assert_ptr_nonnull(why = authjs_secret_weakness("0123456789abcdef0123456789abcde"));
    ck_assert_str_eq(why, "is too short");
    /* bytes, not characters: 16 two-byte characters are 32 bytes */
    ck_assert_ptr_null(authjs_secret_weakness("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
    ck_assert_ptr_nonnull(authjs_secret_weakness("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
    ck_assert_ptr_nonnull(why = authjs_secret_weakness("secret"));
    ck_assert_ptr_nonnull(strstr(why, "published"));
    ck_assert_ptr_nonnull(authjs_secret_weakness("ChangeMe"));
    ck_assert_ptr_nonnull(why = authjs_secret_weakness(
        "super-secret-jwt-token-with-at-least-32-characters-long"));
    ck_assert_ptr_nonnull(strstr(why, "published"));
    ck_assert_ptr_nonnull(authjs_secret_weakness("openssl rand -base64 32"));
    /* a published one inside a longer secret is no longer it */
    ck_assert_ptr_null(authjs_secret_weakness(
        "super-secret-jwt-token-with-at-least-32-characters-long-and-more"));
}
END_TEST

START_TEST(misshapen_secrets)
{
    const char *why;

    ck_assert_ptr_null(authjs_secret_misshapen("Ey7nTKnggBc0bRN8WUjyShw2qzOZ6KW4fUyqcKBePxY="));
    ck_assert_ptr_null(authjs_secret_misshapen("SECRET"));
    ck_assert_ptr_null(authjs_secret_misshapen("KEY=0123456789abcdef0123456789abcdef"));
    ck_assert_ptr_null(authjs_secret_misshapen("a SECRET=b"));
    ck_assert_ptr_nonnull(why = authjs_secret_misshapen("AUTH_SECRET=Ey7nTKnggBc0bRN8WUjy"));
    ck_assert_str_eq(why, "is a NAME=value assignment");
    ck_assert_ptr_nonnull(authjs_secret_misshapen("NEXTAUTH_SECRET=x"));
    ck_assert_ptr_nonnull(authjs_secret_misshapen("SECRET="));
    ck_assert_ptr_nonnull(why = authjs_secret_misshapen("x=1\nAUTH_SECRET=y"));
    ck_assert_str_eq(why, "spans several lines");
    ck_assert_ptr_nonnull(authjs_secret_misshapen("abc\rdef"));
    ck_assert_ptr_nonnull(why = authjs_secret_misshapen("\"Ey7nTKnggBc0bRN8WUjy\""));
    ck_assert_str_eq(why, "is in quotes");
    ck_assert_ptr_nonnull(authjs_secret_misshapen("'x'"));
    ck_assert_ptr_null(authjs_secret_misshapen("\"x'"));
    ck_assert_ptr_null(authjs_secret_misshapen("\""));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("authjs_token");
    TCase *tc = tcase_create("decode");
    SRunner *sr;
    int failed;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    load_tokens();
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a256cbc_hs512_with_kid);
    tcase_add_test(tc, misshapen_secrets);
    tcase_add_test(tc, a256gcm_of_older_auth_core);
    tcase_add_test(tc, next_auth_v4);
    tcase_add_test(tc, rotation_with_kid);
    tcase_add_test(tc, rotation_without_kid);
    tcase_add_test(tc, secure_prefix_is_the_salt);
    tcase_add_test(tc, expiry_and_not_before_with_tolerance);
    tcase_add_test(tc, wrong_secret);
    tcase_add_test(tc, named_claims_must_be_strings);
    tcase_add_test(tc, every_truncation_is_refused);
    tcase_add_test(tc, every_altered_byte_is_refused);
    tcase_add_test(tc, oversize_is_refused_before_work);
    tcase_add_test(tc, three_chunks);
    tcase_add_test(tc, status_texts);
    tcase_add_test(tc, malformed_tokens);
    tcase_add_test(tc, strict_base64url);
    tcase_add_test(tc, thread_contexts_follow_the_key);
    tcase_add_test(tc, a_refusal_leaves_the_contexts_ready);
    tcase_add_test(tc, threads_decode_at_once);
    tcase_add_test(tc, encoder_makes_its_golden_token);
    tcase_add_test(tc, encoder_uses_the_newest_secret);
    tcase_add_test(tc, weak_secrets);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
