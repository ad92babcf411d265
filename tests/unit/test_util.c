/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the pure helpers in src/authproxy_util.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <check.h>
#include <apr_general.h>

#include "authproxy_util.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(normalize_paths)
{
    ck_assert_str_eq(authproxy_path_normalize(pool, "/api/auth"), "/api/auth");
    ck_assert_str_eq(authproxy_path_normalize(pool, "/api/auth/"), "/api/auth");
    ck_assert_str_eq(authproxy_path_normalize(pool, "api/auth"), "/api/auth");
    ck_assert_str_eq(authproxy_path_normalize(pool, "auth/"), "/auth");
    ck_assert_str_eq(authproxy_path_normalize(pool, "/"), "/");
    ck_assert_str_eq(authproxy_path_normalize(pool, ""), "/");
    /* one trailing slash only */
    ck_assert_str_eq(authproxy_path_normalize(pool, "/a//"), "/a/");
}
END_TEST

START_TEST(clean_paths)
{
    ck_assert(authproxy_path_is_clean("/api/auth"));
    ck_assert(authproxy_path_is_clean("/"));
    ck_assert(authproxy_path_is_clean("/a.b/..c"));
    ck_assert(!authproxy_path_is_clean("/api/../x"));
    ck_assert(!authproxy_path_is_clean("/api/.."));
    ck_assert(!authproxy_path_is_clean("/./api"));
    ck_assert(!authproxy_path_is_clean(".."));
    ck_assert(!authproxy_path_is_clean("/a b"));
    ck_assert(!authproxy_path_is_clean("/a?b"));
    ck_assert(!authproxy_path_is_clean("/a#b"));
    ck_assert(!authproxy_path_is_clean("/a\tb"));
}
END_TEST

START_TEST(match_prefix)
{
    ck_assert_int_eq(authproxy_path_match("/api/auth", "/api/auth"), 9);
    ck_assert_int_eq(authproxy_path_match("/api/auth", "/api/auth/"), 9);
    ck_assert_int_eq(authproxy_path_match("/api/auth", "/api/auth/session"), 9);
    ck_assert_int_eq(authproxy_path_match("/api/auth", "/api/authx"), -1);
    ck_assert_int_eq(authproxy_path_match("/api/auth", "/api/aut"), -1);
    ck_assert_int_eq(authproxy_path_match("/api/auth", "/API/auth"), -1);
    ck_assert_int_eq(authproxy_path_match("/api/auth", "api/auth"), -1);
    ck_assert_int_eq(authproxy_path_match("/", "/anything"), 0);
    ck_assert_int_eq(authproxy_path_match("/", "/"), 0);
}
END_TEST

START_TEST(join_paths)
{
    ck_assert_str_eq(authproxy_path_join(pool, "/auth", "/session"), "/auth/session");
    ck_assert_str_eq(authproxy_path_join(pool, "/auth", ""), "/auth");
    ck_assert_str_eq(authproxy_path_join(pool, "/auth", "/"), "/auth/");
    ck_assert_str_eq(authproxy_path_join(pool, "/", "/session"), "/session");
    ck_assert_str_eq(authproxy_path_join(pool, "/", ""), "/");
}
END_TEST

START_TEST(header_names_and_values)
{
    ck_assert(authproxy_header_name_valid("X-Api-Key"));
    ck_assert(authproxy_header_name_valid("x_weird!#$%&'*+.^`|~1"));
    ck_assert(!authproxy_header_name_valid(""));
    ck_assert(!authproxy_header_name_valid("X Api"));
    ck_assert(!authproxy_header_name_valid("X-Api:"));
    ck_assert(!authproxy_header_name_valid("X\r\nEvil"));
    ck_assert(!authproxy_header_name_valid("Caf\xc3\xa9"));
    ck_assert(authproxy_header_value_valid("abc def\tghi"));
    ck_assert(authproxy_header_value_valid(""));
    ck_assert(!authproxy_header_value_valid("abc\r\nX-Evil: 1"));
    ck_assert(!authproxy_header_value_valid("abc\n"));
    ck_assert(!authproxy_header_value_valid("a\x7f"));
    ck_assert(authproxy_header_bytes_valid("ab\tc", 4));
    ck_assert(!authproxy_header_bytes_valid("ab\0c", 4));
    ck_assert(authproxy_header_bytes_valid("ab\0c", 2));
    ck_assert(authproxy_header_is_reserved("host"));
    ck_assert(authproxy_header_is_reserved("Content-Length"));
    ck_assert(authproxy_header_is_reserved("TRANSFER-ENCODING"));
    ck_assert(authproxy_header_is_reserved("Connection"));
    ck_assert(!authproxy_header_is_reserved("X-Api-Key"));
    ck_assert(!authproxy_header_is_reserved("Authorization"));
}
END_TEST

START_TEST(header_spellings)
{
    ck_assert(authproxy_header_same("X-Api-Key", "x_api_key"));
    ck_assert(authproxy_header_same("X-Api-Key", "X_API-KEY"));
    ck_assert(authproxy_header_same("X-Forwarded-Host", "x-forwarded_host"));
    ck_assert(!authproxy_header_same("X-Api-Key", "X-Api-Keys"));
    ck_assert(!authproxy_header_same("X-Api-Key", "XApiKey"));
    ck_assert(!authproxy_header_same("X-Api-Key", "X-Api-Ke"));
    ck_assert(authproxy_header_is_authjs("X-Authjs-User-Email"));
    ck_assert(authproxy_header_is_authjs("x_authjs_user_email"));
    ck_assert(authproxy_header_is_authjs("X-AUTHJS-CLAIM-ROLE"));
    ck_assert(authproxy_header_is_authjs("XAuthjs"));
    ck_assert(authproxy_header_is_authjs("x--authjs__"));
    ck_assert(!authproxy_header_is_authjs("X-Auth"));
    ck_assert(!authproxy_header_is_authjs("X-Authorization"));
    ck_assert(!authproxy_header_is_authjs("Authjs-User"));
}
END_TEST

static int starts_with(const char *key, const char *prefix)
{
    return !strncasecmp(key, prefix, strlen(prefix));
}

static int starts_with_case(const char *key, const char *prefix)
{
    return !strncmp(key, prefix, strlen(prefix));
}

START_TEST(unset_where)
{
    apr_table_t *t = apr_table_make(pool, 4);
    apr_array_header_t *gone;

    apr_table_add(t, "AUTHJS_X", "1");
    apr_table_add(t, "AUTHJS_Z", "2");
    apr_table_add(t, "keep", "3");
    apr_table_add(t, "authjs_x", "4");
    apr_table_add(t, "AUTHJS_Y", "5");
    apr_table_add(t, "later", "6");
    apr_table_add(t, "keep", "7");
    gone = authproxy_table_unset_where(pool, t, starts_with, "AUTHJS_");
    ck_assert_ptr_nonnull(gone);
    ck_assert_int_eq(gone->nelts, 4);
    ck_assert_str_eq(APR_ARRAY_IDX(gone, 3, const char *), "AUTHJS_Y");
    /* the others in their order, still found */
    ck_assert_int_eq(apr_table_elts(t)->nelts, 3);
    ck_assert_str_eq(((apr_table_entry_t *)apr_table_elts(t)->elts)[1].key, "later");
    ck_assert_str_eq(apr_table_get(t, "keep"), "3");
    ck_assert_str_eq(apr_table_get(t, "LATER"), "6");
    ck_assert_ptr_null(apr_table_get(t, "AUTHJS_X"));
    ck_assert_ptr_null(authproxy_table_unset_where(pool, t, starts_with, "AUTHJS_"));
    /* only what `match` takes: another case of a key it took stays */
    apr_table_add(t, "AUTHJS_Q", "8");
    apr_table_add(t, "authjs_q", "9");
    gone = authproxy_table_unset_where(pool, t, starts_with_case, "AUTHJS_");
    ck_assert_int_eq(gone->nelts, 1);
    ck_assert_str_eq(apr_table_get(t, "AUTHJS_Q"), "9");
}
END_TEST

START_TEST(plain_hosts)
{
    ck_assert(authproxy_host_is_plain("app.example.com"));
    ck_assert(authproxy_host_is_plain("a-1.wild.test"));
    ck_assert(authproxy_host_is_plain("127.0.0.1"));
    ck_assert(authproxy_host_is_plain("[::1]"));
    ck_assert(authproxy_host_is_plain("[2001:db8::1]"));
    ck_assert(!authproxy_host_is_plain(""));
    ck_assert(!authproxy_host_is_plain("x@evil.example#.wild.test"));
    ck_assert(!authproxy_host_is_plain("evil.example/.wild.test"));
    ck_assert(!authproxy_host_is_plain("evil.example?.wild.test"));
    ck_assert(!authproxy_host_is_plain("a b.test"));
    ck_assert(!authproxy_host_is_plain("[::1"));
    ck_assert(!authproxy_host_is_plain("[]"));
    ck_assert(!authproxy_host_is_plain("[::1]x"));
    ck_assert(!authproxy_host_is_plain("::1"));
    ck_assert(!authproxy_host_is_plain("a%2ab.test"));
}
END_TEST

START_TEST(loopback_hosts)
{
    ck_assert(authproxy_host_is_loopback("localhost"));
    ck_assert(authproxy_host_is_loopback("LocalHost"));
    ck_assert(authproxy_host_is_loopback("auth.localhost"));
    ck_assert(authproxy_host_is_loopback("127.0.0.1"));
    ck_assert(authproxy_host_is_loopback("127.8.9.10"));
    ck_assert(authproxy_host_is_loopback("::1"));
    ck_assert(authproxy_host_is_loopback("[::1]"));
    ck_assert(!authproxy_host_is_loopback("128.0.0.1"));
    ck_assert(!authproxy_host_is_loopback("10.0.0.1"));
    ck_assert(!authproxy_host_is_loopback("localhost.example.com"));
    ck_assert(!authproxy_host_is_loopback("auth.example.com"));
    ck_assert(!authproxy_host_is_loopback("::2"));
}
END_TEST

static apr_array_header_t *origins_of(const char *a, const char *b)
{
    apr_array_header_t *o = apr_array_make(pool, 2, sizeof(const char *));

    APR_ARRAY_PUSH(o, const char *) = a;
    APR_ARRAY_PUSH(o, const char *) = b;
    return o;
}

START_TEST(rewrite_locations)
{
    apr_array_header_t *o = origins_of("http://127.0.0.1:3000", "https://app.example");
    const char *to = "https://app.example";

#define RW(url) authproxy_rewrite_url(pool, url, o, "/auth", to, "/api/auth")
    ck_assert_str_eq(RW("http://127.0.0.1:3000/auth/signin?x=1"),
                     "https://app.example/api/auth/signin?x=1");
    ck_assert_str_eq(RW("HTTP://127.0.0.1:3000/auth"), "https://app.example/api/auth");
    ck_assert_str_eq(RW("http://127.0.0.1:3000/auth?e=1"), "https://app.example/api/auth?e=1");
    ck_assert_str_eq(RW("http://127.0.0.1:3000/auth#f"), "https://app.example/api/auth#f");
    ck_assert_str_eq(RW("https://app.example/auth/error"), "https://app.example/api/auth/error");
    ck_assert_str_eq(RW("/auth/signin"), "/api/auth/signin");
    /* not the prefix at a boundary, another origin, another port, protocol-relative */
    ck_assert_ptr_null(RW("http://127.0.0.1:3000/authorize"));
    ck_assert_ptr_null(RW("https://idp.example/auth/realms/x"));
    ck_assert_ptr_null(RW("http://127.0.0.1:30001/auth/x"));
    ck_assert_ptr_null(RW("//127.0.0.1:3000/auth/x"));
    ck_assert_ptr_null(RW("/other"));
    ck_assert_ptr_null(RW("http://127.0.0.1:3000"));
#undef RW
    /* root prefixes on either side */
    ck_assert_str_eq(authproxy_rewrite_url(pool, "http://127.0.0.1:3000/session", o, "/",
                                           to, "/api/auth"),
                     "https://app.example/api/auth/session");
    ck_assert_str_eq(authproxy_rewrite_url(pool, "http://127.0.0.1:3000/auth/x", o, "/auth",
                                           to, "/"),
                     "https://app.example/x");
    ck_assert_str_eq(authproxy_rewrite_url(pool, "http://127.0.0.1:3000/auth", o, "/auth",
                                           to, "/"),
                     "https://app.example/");
    /* a path stays a path under a root local prefix, never another host's */
    ck_assert_str_eq(authproxy_rewrite_url(pool, "/auth//evil.example/x", o, "/auth", to, "/"),
                     "/.//evil.example/x");
    ck_assert_str_eq(authproxy_rewrite_url(pool, "/auth/\\evil.example/x", o, "/auth", to, "/"),
                     "/./\\evil.example/x");
    ck_assert_str_eq(authproxy_rewrite_url(pool, "/auth/\t/evil.example", o, "/auth", to, "/"),
                     "/./\t/evil.example");
    ck_assert_str_eq(authproxy_rewrite_url(pool, "http://127.0.0.1:3000/auth//evil.example", o,
                                           "/auth", to, "/"),
                     "https://app.example//evil.example");
}
END_TEST

START_TEST(network_paths)
{
    ck_assert(authproxy_url_is_network_path("//evil.example"));
    ck_assert(authproxy_url_is_network_path("/\\evil.example"));
    ck_assert(authproxy_url_is_network_path("\\\\evil.example"));
    ck_assert(authproxy_url_is_network_path("/\t/evil.example"));
    ck_assert(authproxy_url_is_network_path("\n//evil.example"));
    ck_assert(!authproxy_url_is_network_path("/evil.example"));
    ck_assert(!authproxy_url_is_network_path("/./evil.example"));
    ck_assert(!authproxy_url_is_network_path("/"));
    ck_assert(!authproxy_url_is_network_path("https://app.example//x"));
}
END_TEST

START_TEST(rewrite_cookie_paths)
{
    ck_assert_str_eq(authproxy_rewrite_cookie_path(pool, "b=2; Path=/auth; HttpOnly", "/auth",
                                                   "/api/auth"),
                     "b=2; Path=/api/auth; HttpOnly");
    ck_assert_str_eq(authproxy_rewrite_cookie_path(pool, "b=2;path = /auth", "/auth", "/x"),
                     "b=2;path = /x");
    ck_assert_str_eq(authproxy_rewrite_cookie_path(pool, "b=2; Secure; PATH=/auth", "/auth", "/x"),
                     "b=2; Secure; PATH=/x");
    ck_assert_ptr_null(authproxy_rewrite_cookie_path(pool, "a=1; Path=/", "/auth", "/x"));
    ck_assert_ptr_null(authproxy_rewrite_cookie_path(pool, "a=1; Path=/auth/x", "/auth", "/x"));
    ck_assert_ptr_null(authproxy_rewrite_cookie_path(pool, "a=1; Pathx=/auth", "/auth", "/x"));
    ck_assert_ptr_null(authproxy_rewrite_cookie_path(pool, "path=/auth", "/auth", "/x"));
    ck_assert_ptr_null(authproxy_rewrite_cookie_path(pool, "a=1", "/auth", "/x"));
    /* every such Path: a browser keeps the last one */
    ck_assert_str_eq(authproxy_rewrite_cookie_path(pool, "a=b; Path=/auth; HttpOnly; path=/auth",
                                                   "/auth", "/api/auth"),
                     "a=b; Path=/api/auth; HttpOnly; path=/api/auth");
    ck_assert_str_eq(authproxy_rewrite_cookie_path(pool, "a=b; Path=/; Path=/auth", "/auth", "/x"),
                     "a=b; Path=/; Path=/x");
}
END_TEST

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static int trace_of(const char *value, authproxy_trace_t *trace)
{
    memset(trace, 'x', sizeof(*trace));
    return authproxy_traceparent_parse(value, trace);
}

START_TEST(traceparents)
{
    static const char *const invalid[] = {
        NULL, "", "00", "00-" TID "-" PID,                  /* short */
        "00-" TID "-" PID "-01-",                           /* 00 has no more fields */
        "00-" TID "-" PID "-01 ", "00-" TID "-" PID "-011",
        "00-" TID "-" PID "-01, 00-" TID "-" PID "-01",     /* two headers, joined */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01",   /* upper hex */
        "00-" TID "-00F067AA0BA902B7-01", "00-" TID "-" PID "-0A", "0A-" TID "-" PID "-01",
        "00-00000000000000000000000000000000-" PID "-01",   /* all-zero ids */
        "00-" TID "-0000000000000000-01",
        "ff-" TID "-" PID "-01",                            /* the invalid version */
        "cc-" TID "-" PID "-01x",                           /* a later one: '-' next */
        "00_" TID "-" PID "-01", "00-" TID "_" PID "-01", "00-" TID "-" PID "_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01", "00-" TID "-00f067aa0ba902bz-01",
        "00-" TID "-" PID "-0g", " 00-" TID "-" PID "-01", "00-" TID "-" PID "-\x01",
        "00-" TID "x-" PID "-01", "00-4bf92f3577b34da6a3ce929d0e0e47-" PID "-01",
    };
    authproxy_trace_t trace;
    unsigned char span[AUTHPROXY_SPAN_ID_BYTES] = { 0xa0, 1, 2, 3, 4, 5, 6, 0xff };
    static const unsigned char zero[AUTHPROXY_SPAN_ID_BYTES] = { 0 };
    apr_size_t i;

    for (i = 0; i < sizeof(invalid) / sizeof(*invalid); i++) {
        ck_assert_msg(!trace_of(invalid[i], &trace), "taken: %s", invalid[i] ? invalid[i] : "NULL");
    }
    ck_assert(trace_of("00-" TID "-" PID "-01", &trace));
    ck_assert_str_eq(trace.trace_id, TID);
    ck_assert_int_eq(trace.sampled, 1);
    /* other flags are no sample; only the lowest bit is */
    ck_assert(trace_of("00-" TID "-" PID "-fe", &trace));
    ck_assert_int_eq(trace.sampled, 0);
    ck_assert(trace_of("00-" TID "-" PID "-03", &trace));
    ck_assert_int_eq(trace.sampled, 1);
    /* a later version is read as 00, whatever follows a '-' */
    ck_assert(trace_of("01-" TID "-" PID "-01", &trace));
    ck_assert(trace_of("cc-" TID "-" PID "-00-what-the-future-holds", &trace));
    ck_assert_str_eq(trace.trace_id, TID);
    ck_assert_int_eq(trace.sampled, 0);

    /* the same trace in a span of the module's, sampled as it came */
    ck_assert(trace_of("00-" TID "-" PID "-09", &trace));
    ck_assert_str_eq(authproxy_traceparent_make(pool, &trace, span),
                     "00-" TID "-a0010203040506ff-01");
    trace.sampled = 0;
    ck_assert_str_eq(authproxy_traceparent_make(pool, &trace, span),
                     "00-" TID "-a0010203040506ff-00");
    ck_assert_ptr_null(authproxy_traceparent_make(pool, &trace, zero));
    /* what goes out reads back */
    ck_assert(trace_of(authproxy_traceparent_make(pool, &trace, span), &trace));
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("authproxy_util");
    TCase *tc = tcase_create("util");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, normalize_paths);
    tcase_add_test(tc, clean_paths);
    tcase_add_test(tc, match_prefix);
    tcase_add_test(tc, join_paths);
    tcase_add_test(tc, header_names_and_values);
    tcase_add_test(tc, header_spellings);
    tcase_add_test(tc, plain_hosts);
    tcase_add_test(tc, unset_where);
    tcase_add_test(tc, loopback_hosts);
    tcase_add_test(tc, rewrite_locations);
    tcase_add_test(tc, rewrite_cookie_paths);
    tcase_add_test(tc, network_paths);
    tcase_add_test(tc, traceparents);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(util_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
