/* SPDX-License-Identifier: Apache-2.0 */
/* Work linear in what a client or the upstream sends: every function that
 * reads a Cookie header, a header table, a Set-Cookie, a Location or a
 * session's claims is fed the largest such input httpd admits (and more),
 * and must take well under LIMIT_MS and LIMIT_BYTES; twice the input must
 * not take much more than twice the time. A loop that re-copies what it has
 * built so far costs seconds and hundreds of MB at these sizes. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <check.h>

#include "authjs_cookie.h"
#include "authjs_session.h"
#include "authjs_signin.h"
#include "authproxy_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Per call. The sanitizers slow every access and keep freed memory aside:
 * there only time is bounded, ten times looser. */
#define LIMIT_MS (SANITIZED ? 500.0 : 50.0)
#define LIMIT_BYTES (2 * 1024 * 1024)
/* time(2n) < SCALE * time(n) + SLACK_MS, and the same of bytes: linear
 * work gives about 2. The slack is for a loaded machine's noise on calls of a
 * few ms (a quadratic one takes hundreds at these sizes, and LIMIT_MS holds
 * it first) */
#define SCALE 3.5
#define SLACK_MS (SANITIZED ? 20.0 : 5.0)
#define SLACK_BYTES (64 * 1024)
/* the best of: other work on the machine only ever adds */
#define REPEAT 5

#define NAME "authjs.session-token"
/* LimitRequestFieldSize raised as far as a site would */
#define FIELD_BYTES (64 * 1024)

typedef struct {
    const char *what;
    /* the input of size n, in p */
    void *(*make)(apr_pool_t *p, int n);
    /* the work measured, in p */
    void (*run)(apr_pool_t *p, void *input);
    int n;
} case_t;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What the process has mapped for data, in bytes: APR maps each pool block
 * itself, which malloc's statistics never see. */
static apr_size_t data_bytes(void)
{
    unsigned long size, resident, shared, text, lib, data;
    FILE *f = fopen("/proc/self/statm", "r");
    int got = f ? fscanf(f, "%lu %lu %lu %lu %lu %lu", &size, &resident, &shared, &text,
                         &lib, &data) : 0;

    if (f) {
        fclose(f);
    }
    ck_assert_int_eq(got, 6);
    return (apr_size_t)data * (apr_size_t)sysconf(_SC_PAGESIZE);
}

/* Bytes taken: what was mapped (APR's blocks among it) less the growth of
 * malloc's heap, plus what malloc has in use (jansson's). */
typedef struct {
    apr_size_t mapped, heap, in_use;
} memory_t;

static memory_t memory(void)
{
    struct mallinfo2 m = mallinfo2();
    memory_t now = { data_bytes(), m.arena, m.uordblks };

    return now;
}

static apr_size_t taken(const memory_t *before)
{
    memory_t after = memory();
    long bytes = ((long)after.mapped - (long)before->mapped)
                 - ((long)after.heap - (long)before->heap)
                 + ((long)after.in_use - (long)before->in_use);

    return bytes > 0 ? (apr_size_t)bytes : 0;
}

typedef struct {
    double ms;          /* the best of REPEAT */
    apr_size_t bytes;   /* the most of REPEAT */
} cost_t;

/* One case at size n: each time on fresh input, in a pool of an allocator of
 * its own, so that every block the work takes is mapped anew and counted. */
static cost_t cost_of(const case_t *c, int n)
{
    cost_t cost = { 1e9, 0 };
    int i;

    /* a call far over the limit fails whatever the next ones take */
    for (i = 0; i < REPEAT && (i == 0 || cost.ms < 10 * LIMIT_MS); i++) {
        apr_pool_t *in, *p;
        apr_allocator_t *allocator;
        memory_t before;
        apr_size_t bytes;
        void *input;
        double start, ms;

        apr_pool_create(&in, NULL);
        input = c->make(in, n);
        ck_assert_int_eq(apr_allocator_create(&allocator), APR_SUCCESS);
        ck_assert_int_eq(apr_pool_create_ex(&p, NULL, NULL, allocator), APR_SUCCESS);
        apr_allocator_owner_set(allocator, p);
        before = memory();
        start = now_ms();
        c->run(p, input);
        ms = now_ms() - start;
        if (ms < cost.ms) {
            cost.ms = ms;
        }
        bytes = taken(&before);
        if (bytes > cost.bytes) {
            cost.bytes = bytes;
        }
        apr_pool_destroy(p);
        apr_pool_destroy(in);
    }
    return cost;
}

/* ---- inputs ---------------------------------------------------------------------- */

/* A Cookie header of `n` bytes: the shortest pairs ("a=;", some 21,000 in
 * 64 KiB, which "; " makes the most of), and the session cookie, whole and in
 * chunks, at the start, in the middle and at the end. */
static void *cookie_header(apr_pool_t *p, int n)
{
    char *h = apr_palloc(p, n + 64), *o = h;
    int i = 0;

    o += sprintf(o, NAME ".0=s0;");
    while (o - h < n - 64) {
        o += (i == 10000) ? sprintf(o, NAME "=whole;") : sprintf(o, "%c=;", 'a' + i % 26);
        i++;
    }
    sprintf(o, NAME ".1=s1");
    return h;
}

static void strip(apr_pool_t *p, void *header)
{
    const char *kept = authjs_cookie_strip(p, header, NAME);

    ck_assert_ptr_nonnull(kept);
    ck_assert_ptr_null(strstr(kept, NAME));
}

static void find(apr_pool_t *p, void *header)
{
    authjs_cookie_t c;

    ck_assert_int_eq(authjs_cookie_find(p, header, NAME, &c), AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.value, "whole");
}

/* A header of `n` bytes holding all 64 chunks, each stated many times. */
static void *chunked_header(apr_pool_t *p, int n)
{
    char *h = apr_palloc(p, n + 64), *o = h;
    int i = 0;

    while (o - h < n - 64) {
        o += sprintf(o, NAME ".%d=c; ", i++ % AUTHJS_COOKIE_MAX_CHUNKS);
    }
    *o = '\0';
    return h;
}

static void find_chunks(apr_pool_t *p, void *header)
{
    authjs_cookie_t c;

    ck_assert_int_eq(authjs_cookie_find(p, header, NAME, &c), AUTHJS_COOKIE_FOUND);
    ck_assert_int_eq(c.chunks, AUTHJS_COOKIE_MAX_CHUNKS);
}

/* An Authorization header of `n` bytes: a Bearer token, %-escapes all
 * along. */
static void *bearer_header(apr_pool_t *p, int n)
{
    char *h = apr_palloc(p, n + 64), *o = h;

    o += sprintf(o, "Bearer ");
    while (o - h < n - 64) {
        o += sprintf(o, "%%41b");
    }
    *o = '\0';
    return h;
}

static void find_bearer(apr_pool_t *p, void *header)
{
    authjs_cookie_t c;

    ck_assert_int_eq(authjs_cookie_bearer(p, header, NAME, &c), AUTHJS_COOKIE_FOUND);
    ck_assert_int_eq(c.value[0], 'A');
}

/* An upstream's Set-Cookie of `n` bytes: the session cookie, then Path
 * attributes, every other one the target prefix. */
static void *set_cookie(apr_pool_t *p, int n)
{
    char *h = apr_palloc(p, n + 64), *o = h;
    int i = 0;

    o += sprintf(o, NAME "=v");
    while (o - h < n - 64) {
        o += sprintf(o, (i++ & 1) ? "; Path=/auth" : "; path = /x");
    }
    *o = '\0';
    return h;
}

static void rewrite_paths(apr_pool_t *p, void *value)
{
    const char *out = authproxy_rewrite_cookie_path(p, value, "/auth", "/api/auth");

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_null(strstr(out, "Path=/auth"));
}

static void session_pair(apr_pool_t *p, void *value)
{
    ck_assert_str_eq(authjs_set_cookie_pair(p, value, NAME), NAME "=v");
}

/* A Location of `n` bytes on the upstream's origin. */
static void *location(apr_pool_t *p, int n)
{
    char *url = apr_palloc(p, n + 1);
    static const char head[] = "http://127.0.0.1:3000/auth/";

    memcpy(url, head, sizeof(head) - 1);
    memset(url + sizeof(head) - 1, 'x', n - (sizeof(head) - 1));
    url[n] = '\0';
    return url;
}

static void rewrite_location(apr_pool_t *p, void *url)
{
    apr_array_header_t *origins = apr_array_make(p, 2, sizeof(const char *));

    APR_ARRAY_PUSH(origins, const char *) = "http://127.0.0.1:3000";
    APR_ARRAY_PUSH(origins, const char *) = "https://app.example";
    ck_assert_ptr_nonnull(authproxy_rewrite_url(p, url, origins, "/auth", "https://app.example",
                                                "/api/auth"));
}

/* A header table of `n` fields, every other one a spelling of X-Authjs-*;
 * all but a few start with 'X', as httpd's table index tells keys apart by
 * their first letter. */
static void *header_table(apr_pool_t *p, int n)
{
    apr_table_t *t = apr_table_make(p, n);
    int i;

    apr_table_setn(t, "Host", "app.example");
    for (i = 0; i < n; i++) {
        apr_table_addn(t, apr_psprintf(p, (i & 1) ? "X-Authjs-Claim-%d" : "X-Other-%d", i),
                       "v");
    }
    apr_table_setn(t, "Cookie", "a=1");
    return t;
}

static int is_authjs_header(const char *key, const char *unused)
{
    return authproxy_header_is_authjs(key);
}

static void unset_authjs(apr_pool_t *p, void *table)
{
    const apr_array_header_t *gone = authproxy_table_unset_where(p, table, is_authjs_header, NULL);
    const apr_array_header_t *kept = apr_table_elts(table);

    ck_assert_int_eq(gone->nelts, kept->nelts - 2);
    ck_assert_str_eq(apr_table_get(table, "Cookie"), "a=1");
}

/* A token's payload of `n` bytes: short claims of its own ("1f":0, some
 * 8,000 in 64 KiB). */
static void *many_claims(apr_pool_t *p, int n)
{
    char *text = apr_palloc(p, n + 64), *o = text;
    int i = 0;

    o += sprintf(o, "{\"sub\":\"u\",\"exp\":1800000000");
    while (o - text < n - 64) {
        o += sprintf(o, ",\"%x\":0", i);
        i++;
    }
    sprintf(o, "}");
    return json_loads(text, 0, NULL);
}

/* A payload with one array claim of `n` bytes, strings and numbers. */
static void *array_claim(apr_pool_t *p, int n)
{
    json_t *claims = json_pack("{s:s, s:[]}", "sub", "u", "roles");
    json_t *roles = json_object_get(claims, "roles");
    int i, bytes;

    for (i = 0, bytes = 0; bytes < n; i++) {
        json_array_append_new(roles, (i & 1) ? json_integer(i)
                                              : json_string(apr_psprintf(p, "r%d", i)));
        bytes += 6;
    }
    return claims;
}

/* A payload with one claim nested `n` deep, objects and arrays in turn
 * (jansson parses up to 2048). */
static void *deep_claim(apr_pool_t *p, int n)
{
    json_t *claims = json_pack("{s:s}", "sub", "u"), *v = json_string("core");
    int i;

    for (i = 0; i < n / 2; i++) {
        json_t *outer = json_array();

        json_array_append_new(outer, v);
        v = json_pack("{s:o}", "a", outer);
    }
    json_object_set_new(claims, "deep", v);
    return claims;
}

static void *kept(apr_pool_t *p, json_t *json);

/* deep_claim with a credential at the bottom: every level is copied to
 * withhold it. */
static void *deep_credential(apr_pool_t *p, int n)
{
    json_t *claims = json_pack("{s:s}", "sub", "u"), *v = json_pack("{s:s}", "accessToken", "x");
    int i;

    for (i = 0; i < n / 2; i++) {
        json_t *outer = json_array();

        json_array_append_new(outer, v);
        v = json_pack("{s:o}", "a", outer);
    }
    json_object_set_new(claims, "deep", v);
    return kept(p, claims);
}

/* An array claim of `n` bytes of objects that each hold a credential. */
static void *credentials_in_array(apr_pool_t *p, int n)
{
    json_t *claims = json_pack("{s:s, s:[]}", "sub", "u", "accounts");
    json_t *accounts = json_object_get(claims, "accounts");
    int i, bytes;

    for (i = 0, bytes = 0; bytes < n; i++, bytes += 40) {
        json_array_append_new(accounts, json_pack("{s:i, s:s}", "k", i, "refresh_token", "rt"));
    }
    return kept(p, claims);
}

/* The variables of a session from these claims; the pool of the input keeps
 * its own reference. */
static void claims_to_vars(apr_pool_t *p, void *claims)
{
    authjs_session_t *s = authjs_session_from_claims(p, json_incref(claims));
    apr_table_t *vars = apr_table_make(p, 16);

    authjs_session_vars(p, s, vars);
    ck_assert_str_eq(apr_table_get(vars, "AUTHJS_USER_ID"), "u");
    ck_assert_int_ge(apr_table_elts(vars)->nelts, 3);
}

static void claim_texts(apr_pool_t *p, void *claims)
{
    json_t *roles = json_object_get(claims, "roles");

    ck_assert_int_eq(authjs_claim_texts(p, roles)->nelts, (int)json_array_size(roles));
}

static apr_status_t release(void *json)
{
    json_decref(json);
    return APR_SUCCESS;
}

/* The input pool releases what the makers of JSON return. */
static void *kept(apr_pool_t *p, json_t *json)
{
    ck_assert_ptr_nonnull(json);
    apr_pool_cleanup_register(p, json, release, apr_pool_cleanup_null);
    return json;
}

static void *many_claims_kept(apr_pool_t *p, int n)
{
    return kept(p, many_claims(p, n));
}

static void *array_claim_kept(apr_pool_t *p, int n)
{
    return kept(p, array_claim(p, n));
}

static void *deep_claim_kept(apr_pool_t *p, int n)
{
    return kept(p, deep_claim(p, n));
}

/* A /session answer of `n` bytes: some 2,500 members of its own with values
 * of 16 bytes. (8,000 short members would have jansson's parse alone take
 * about 1 MB; many short claims are the token's case, parsed elsewhere.) */
static void *session_answer(apr_pool_t *p, int n)
{
    char *text = apr_palloc(p, n + 128), *o = text;
    int i = 0;

    o += sprintf(o, "{\"user\":{\"id\":\"u\"},\"expires\":\"2999-01-01T00:00:00.000Z\"");
    while (o - text < n - 64) {
        o += sprintf(o, ",\"%x\":\"%016x\"", i, i);
        i++;
    }
    sprintf(o, "}");
    return text;
}

static void answer_to_vars(apr_pool_t *p, void *body)
{
    authjs_session_t *s;
    apr_table_t *vars = apr_table_make(p, 16);

    ck_assert_ptr_null(authjs_session_from_answer(p, body, strlen(body), 0, &s));
    authjs_session_vars(p, s, vars);
    ck_assert_str_eq(apr_table_get(vars, "AUTHJS_CLAIM_1F"), "000000000000001f");
}

/* A sign-in form of `n` bytes: short fields, the identifiers among them
 * again and again, every byte of their values escaped. */
static void *signin_form(apr_pool_t *p, int n)
{
    char *text = apr_palloc(p, n + 32), *o = text;

    while (o - text < n - 32) {
        o += sprintf(o, "x=1&email=%%41%%42&email%%5B%%5D=");
    }
    *o = '\0';
    return text;
}

static void form_identifiers(apr_pool_t *p, void *body)
{
    const char *why = NULL;
    apr_array_header_t *ids = authjs_signin_identifiers(p, "application/x-www-form-urlencoded",
                                                        body, strlen(body), &why);

    /* "ab", "", and perhaps a value the end cut */
    ck_assert(ids && ids->nelts >= 2);
}

/* A JSON sign-in whose identifier is an array nested `n` deep. */
static void *signin_json(apr_pool_t *p, int n)
{
    char *text = apr_palloc(p, 2 * n + 16);

    memcpy(text, "{\"email\":", 9);
    memset(text + 9, '[', n);
    memset(text + 9 + n, ']', n);
    strcpy(text + 9 + 2 * n, "}");
    return text;
}

static void json_identifiers(apr_pool_t *p, void *body)
{
    const char *why = NULL;

    authjs_signin_identifiers(p, "application/json", body, strlen(body), &why);
}

/* A sign-in form whose one identifier is wrapped in `n` bytes of white
 * space beyond ASCII's (U+3000, U+00A0), each side. */
static void *signin_spaces(apr_pool_t *p, int n)
{
    char *text = apr_palloc(p, 2 * n + 32), *o = text;

    o += sprintf(o, "email=");
    while (o - text < n) {
        o += sprintf(o, "\xE3\x80\x80\xC2\xA0");
    }
    *o++ = 'a';
    while (o - text < 2 * n) {
        o += sprintf(o, "\xC2\xA0\xE3\x80\x80");
    }
    *o = '\0';
    return text;
}

static void spaced_identifier(apr_pool_t *p, void *body)
{
    const char *why = NULL;
    apr_array_header_t *ids = authjs_signin_identifiers(p, "application/x-www-form-urlencoded",
                                                        body, strlen(body), &why);

    ck_assert(ids && ids->nelts == 1 && !strcmp(APR_ARRAY_IDX(ids, 0, const char *), "a"));
}

static const case_t cases[] = {
    { "authjs_signin_identifiers, 16 KiB form", signin_form, form_identifiers, 16 * 1024 },
    { "authjs_signin_identifiers, JSON nested 2,000 deep", signin_json, json_identifiers, 2000 },
    { "authjs_signin_identifiers, 16 KiB of white space", signin_spaces, spaced_identifier,
      16 * 1024 },
    { "authjs_cookie_strip, 64 KiB Cookie", cookie_header, strip, FIELD_BYTES },
    { "authjs_cookie_find, 64 KiB Cookie", cookie_header, find, FIELD_BYTES },
    { "authjs_cookie_find, 64 KiB of chunks", chunked_header, find_chunks, FIELD_BYTES },
    { "authjs_cookie_bearer, 64 KiB Authorization", bearer_header, find_bearer, FIELD_BYTES },
    { "authproxy_rewrite_cookie_path, 64 KiB Set-Cookie", set_cookie, rewrite_paths,
      FIELD_BYTES },
    { "authjs_set_cookie_pair, 64 KiB Set-Cookie", set_cookie, session_pair, FIELD_BYTES },
    { "authproxy_rewrite_url, 64 KiB Location", location, rewrite_location, FIELD_BYTES },
    { "authproxy_table_unset_where, 10,000 fields", header_table, unset_authjs, 10000 },
    { "authjs_session_vars, 64 KiB of claims", many_claims_kept, claims_to_vars,
      FIELD_BYTES },
    { "authjs_session_vars, 16 KiB array claim", array_claim_kept, claims_to_vars,
      16 * 1024 },
    { "authjs_session_vars, claim nested 2,000 deep", deep_claim_kept, claims_to_vars, 2000 },
    { "authjs_claim_texts, 16 KiB array claim", array_claim_kept, claim_texts, 16 * 1024 },
    { "authjs_session_vars, credential nested 2,000 deep", deep_credential, claims_to_vars,
      2000 },
    { "authjs_session_vars, 64 KiB array of credentials", credentials_in_array, claims_to_vars,
      FIELD_BYTES },
    { "authjs_session_from_answer and vars, 64 KiB answer", session_answer, answer_to_vars,
      AUTHJS_SESSION_MAX_ANSWER - 128 },
};

START_TEST(largest_input_is_cheap)
{
    const case_t *c = &cases[_i];
    cost_t cost = cost_of(c, c->n);

    ck_assert_msg(cost.ms < LIMIT_MS, "%s: %.1f ms", c->what, cost.ms);
    if (!SANITIZED) {
        ck_assert_msg(cost.bytes < LIMIT_BYTES, "%s: %zu bytes", c->what, cost.bytes);
    }
}
END_TEST

START_TEST(twice_the_input_twice_the_time)
{
    const case_t *c = &cases[_i];
    cost_t half = cost_of(c, c->n / 2), full = cost_of(c, c->n);

    ck_assert_msg(full.ms < SCALE * half.ms + SLACK_MS, "%s: %.2f ms, %.2f ms for half",
                  c->what, full.ms, half.ms);
    if (!SANITIZED) {
        ck_assert_msg(full.bytes < SCALE * half.bytes + SLACK_BYTES,
                      "%s: %zu bytes, %zu for half", c->what, full.bytes, half.bytes);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linear");
    TCase *tc = tcase_create("linear");
    SRunner *sr;
    int failed, n = (int)(sizeof(cases) / sizeof(cases[0]));

    apr_initialize();
    /* what a quadratic loop takes before it fails, rather than a timeout */
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, largest_input_is_cheap, 0, n);
    tcase_add_loop_test(tc, twice_the_input_twice_the_time, 0, n);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
