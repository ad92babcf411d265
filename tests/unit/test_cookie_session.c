/* SPDX-License-Identifier: Apache-2.0 */
/* Cookie parsing and the session's flat form (pure, no tokens needed). */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <check.h>

#include "authjs_cookie.h"
#include "authjs_session.h"

#define NAME "authjs.session-token"
/* a moment before every expires of the answers below */
#define BEFORE apr_time_from_sec(1700000000)

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static authjs_cookie_status_e find(const char *header, authjs_cookie_t *c)
{
    return authjs_cookie_find(pool, header, NAME, c);
}

START_TEST(whole_cookie)
{
    authjs_cookie_t c;

    ck_assert_int_eq(find("a=1; authjs.session-token=tok; b=2", &c), AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.name, NAME);
    ck_assert_str_eq(c.value, "tok");
    ck_assert_str_eq(c.pairs, "authjs.session-token=tok");
    ck_assert_int_eq(c.chunks, 0);
    ck_assert_int_eq(find("authjs.session-token = tok ;", &c), AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.value, "tok");
    /* folded headers */
    ck_assert_int_eq(find("a=1, authjs.session-token=tok", &c), AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.value, "tok");
    /* the first of two is the more specific path */
    ck_assert_int_eq(find("authjs.session-token=first; authjs.session-token=second", &c),
                     AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.value, "first");
}
END_TEST

START_TEST(one_name_per_origin)
{
    authjs_cookie_t c;
    const char *secure = "__Secure-" NAME;

    /* http: the plain name only; a __Secure- cookie, garbage or not, hides nothing */
    ck_assert_int_eq(find("__Secure-authjs.session-token=junk; authjs.session-token=plain", &c),
                     AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.name, NAME);
    ck_assert_str_eq(c.value, "plain");
    ck_assert_int_eq(find("__Secure-authjs.session-token=sec", &c), AUTHJS_COOKIE_NONE);
    /* https: the __Secure- name only, whole or in chunks */
    ck_assert_int_eq(authjs_cookie_find(pool, "authjs.session-token=junk; "
                                        "__Secure-authjs.session-token=sec", secure, &c),
                     AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.name, secure);
    ck_assert_str_eq(c.value, "sec");
    ck_assert_str_eq(c.pairs, "__Secure-authjs.session-token=sec");
    ck_assert_int_eq(authjs_cookie_find(pool, "__Secure-authjs.session-token.1=b; "
                                        "authjs.session-token.0=x; "
                                        "__Secure-authjs.session-token.0=a", secure, &c),
                     AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.value, "ab");
    ck_assert_str_eq(c.pairs, "__Secure-authjs.session-token.0=a; __Secure-authjs.session-token.1=b");
    ck_assert_int_eq(authjs_cookie_find(pool, "authjs.session-token=plain", secure, &c),
                     AUTHJS_COOKIE_NONE);
}
END_TEST

START_TEST(chunks_join_in_numeric_order)
{
    authjs_cookie_t c;
    char *header = "";
    char *want = "";
    int i;

    for (i = 11; i >= 0; i--) {
        header = apr_psprintf(pool, "%s%s%s.%d=v%d", header, *header ? "; " : "", NAME, i, i);
    }
    for (i = 0; i <= 11; i++) {
        want = apr_psprintf(pool, "%sv%d", want, i);
    }
    ck_assert_int_eq(find(header, &c), AUTHJS_COOKIE_FOUND);
    ck_assert_int_eq(c.chunks, 12);
    ck_assert_str_eq(c.value, want);
    /* a whole cookie wins over chunks */
    ck_assert_int_eq(find("authjs.session-token.0=x; authjs.session-token=whole", &c),
                     AUTHJS_COOKIE_FOUND);
    ck_assert_str_eq(c.value, "whole");
}
END_TEST

START_TEST(no_session_cases)
{
    authjs_cookie_t c;

    ck_assert_int_eq(find(NULL, &c), AUTHJS_COOKIE_NONE);
    ck_assert_int_eq(find("", &c), AUTHJS_COOKIE_NONE);
    ck_assert_int_eq(find("a=1; authjs.session-tokenx=1; xauthjs.session-token=2", &c),
                     AUTHJS_COOKIE_NONE);
    ck_assert_int_eq(find("authjs.session-token=", &c), AUTHJS_COOKIE_EMPTY);
    ck_assert_int_eq(find("authjs.session-token.1=a", &c), AUTHJS_COOKIE_NONE);
    ck_assert_int_eq(find("authjs.session-token.0=a; authjs.session-token.2=c", &c),
                     AUTHJS_COOKIE_CHUNKS_MISSING);
    ck_assert_int_eq(find("authjs.session-token.0=a; authjs.session-token.1=", &c),
                     AUTHJS_COOKIE_CHUNK_EMPTY);
    /* not chunk names */
    ck_assert_int_eq(find("authjs.session-token.x=a; authjs.session-token.=b; "
                          "authjs.session-token.99999=c; authjs.session-token.-1=d", &c),
                     AUTHJS_COOKIE_NONE);
    ck_assert_int_eq(find(";;; ,,, =x; novalue; ", &c), AUTHJS_COOKIE_NONE);
}
END_TEST

/* An Authorization header as getToken() reads it: the scheme exactly
 * "Bearer", the token the next space-separated part, %-decoded; a token
 * holds nothing a cookie value may not. */
static const struct {
    const char *header;
    authjs_cookie_status_e status;
    const char *token;
} bearer_cases[] = {
    { NULL, AUTHJS_COOKIE_NONE, NULL },
    { "", AUTHJS_COOKIE_NONE, NULL },
    { "Basic YWxpY2U6cHc=", AUTHJS_COOKIE_NONE, NULL },
    { "bearer tok", AUTHJS_COOKIE_NONE, NULL },
    { "BEARER tok", AUTHJS_COOKIE_NONE, NULL },
    { "Bearertok", AUTHJS_COOKIE_NONE, NULL },
    { "Bearer\ttok", AUTHJS_COOKIE_NONE, NULL },
    /* two spaces: the token is the empty part between them */
    { "Bearer  tok", AUTHJS_COOKIE_NONE, NULL },
    { "Bearer ", AUTHJS_COOKIE_NONE, NULL },
    { "Bearer", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer tok", AUTHJS_COOKIE_FOUND, "tok" },
    { "Bearer a.b-c_d.e", AUTHJS_COOKIE_FOUND, "a.b-c_d.e" },
    { "Bearer tok more parts", AUTHJS_COOKIE_FOUND, "tok" },
    { "Bearer %41%62c", AUTHJS_COOKIE_FOUND, "Abc" },
    { "Bearer a%2fb%2Fc%25", AUTHJS_COOKIE_FOUND, "a/b/c%" },
    /* a second Authorization header, which httpd joins with ", " */
    { "Bearer tok, Bearer other", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer %", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%4", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%zz", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%00b", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%0D%0Ab", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%20b", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%3Bother%3D1", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%22b", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a%5Cb", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer %C3%A9", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
    { "Bearer a\x7f", AUTHJS_COOKIE_BEARER_MALFORMED, NULL },
};

START_TEST(bearer_as_gettoken_reads_it)
{
    int i;

    for (i = 0; i < (int)(sizeof(bearer_cases) / sizeof(bearer_cases[0])); i++) {
        authjs_cookie_t c;
        authjs_cookie_status_e status = authjs_cookie_bearer(pool, bearer_cases[i].header,
                                                             NAME, &c);

        ck_assert_msg(status == bearer_cases[i].status, "case %d: status %d, want %d", i,
                      status, bearer_cases[i].status);
        if (status == AUTHJS_COOKIE_FOUND) {
            ck_assert_str_eq(c.name, NAME);
            ck_assert_str_eq(c.value, bearer_cases[i].token);
            ck_assert_str_eq(c.pairs, apr_pstrcat(pool, NAME "=", bearer_cases[i].token, NULL));
            ck_assert_int_eq(c.chunks, 0);
        }
    }
}
END_TEST

/* Each status has a sentence of its own for the log. */
START_TEST(cookie_status_texts)
{
    int i, j;

    for (i = 0; i < AUTHJS_COOKIE_STATUSES; i++) {
        const char *text = authjs_cookie_status_text(i);

        ck_assert_msg(text && *text, "status %d has no text", i);
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(text, authjs_cookie_status_text(j));
        }
    }
    ck_assert_str_eq(authjs_cookie_status_text(AUTHJS_COOKIE_NONE), "no session cookie");
    ck_assert_str_eq(authjs_cookie_status_text(AUTHJS_COOKIE_CHUNKS_MISSING),
                     "session cookie chunks are incomplete");
}
END_TEST

START_TEST(strip_session_cookies)
{
    ck_assert_str_eq(authjs_cookie_strip(pool, "a=1; authjs.session-token=t; b=2", NAME),
                     "a=1; b=2");
    ck_assert_str_eq(authjs_cookie_strip(pool, "authjs.session-token.0=x; __Secure-"
                                         "authjs.session-token=y; keep=me; "
                                         "authjs.session-token.1=z", NAME), "keep=me");
    ck_assert_ptr_null(authjs_cookie_strip(pool, "authjs.session-token=t", NAME));
    ck_assert_str_eq(authjs_cookie_strip(pool, "authjs.csrf-token=c", NAME),
                     "authjs.csrf-token=c");
    /* the most the result can outgrow the header by: shortest pairs, one
     * separator each */
    ck_assert_str_eq(authjs_cookie_strip(pool, "a=;b=,c=;d=", NAME), "a=; b=; c=; d=");
    ck_assert_str_eq(authjs_cookie_strip(pool, "a=;authjs.session-token=t;b=", NAME),
                     "a=; b=");
    ck_assert_ptr_null(authjs_cookie_strip(pool, "", NAME));
    ck_assert_ptr_null(authjs_cookie_strip(pool, " ;, novalue", NAME));
}
END_TEST

static apr_table_t *vars_of(authjs_session_t *s)
{
    apr_table_t *vars = apr_table_make(pool, 8);

    authjs_session_vars(pool, s, vars);
    return vars;
}

START_TEST(set_cookie_of_the_session)
{
    const char *N = "authjs.session-token";
    struct { const char *set_cookie, *pair; } cases[] = {
        { "authjs.session-token=abc; Path=/; Expires=Wed, 01 Jan 2027 00:00:00 GMT; HttpOnly",
          "authjs.session-token=abc" },
        { "authjs.session-token.0=ab; Path=/", "authjs.session-token.0=ab" },
        { "authjs.session-token.12=c", "authjs.session-token.12=c" },
        { "authjs.session-token=; Max-Age=0", "authjs.session-token=" },
        { " authjs.session-token = abc ;Path=/", "authjs.session-token=abc" },
        { "authjs.csrf-token=x; Path=/", NULL },
        { "__Secure-authjs.session-token=abc", NULL },
        { "authjs.session-tokens=abc", NULL },
        { "authjs.session-token.x=abc", NULL },
        { "authjs.session-token.64=abc", NULL },
        { "authjs.session-token=a,b; Path=/", NULL },
        { "theme=dark, authjs.session-token=abc", NULL },
        { "authjs.session-token", NULL },
        { "", NULL },
        { "; authjs.session-token=abc", NULL },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *pair = authjs_set_cookie_pair(pool, cases[i].set_cookie, N);

        if (cases[i].pair) {
            ck_assert_msg(pair && !strcmp(pair, cases[i].pair), "case %zu: '%s'", i,
                          pair ? pair : "(none)");
        }
        else {
            ck_assert_msg(pair == NULL, "case %zu: '%s' taken", i, pair);
        }
    }
    ck_assert_str_eq(authjs_set_cookie_pair(pool, "__Secure-authjs.session-token=z; Secure",
                                            "__Secure-authjs.session-token"),
                     "__Secure-authjs.session-token=z");
}
END_TEST

START_TEST(session_from_token_claims)
{
    json_t *claims = json_loads("{\"name\":\"Alice\",\"email\":\"a@example.com\",\"sub\":\"u1\","
                                "\"picture\":\"https://i/a.png\",\"exp\":1800000000,"
                                "\"iat\":1700000000,\"roles\":[\"admin\",\"dev\",3],"
                                "\"org\":{\"id\":7,\"name\":\"x\"},\"is-staff\":true,"
                                "\"nothing\":null,\"ratio\":0.5}", 0, NULL);
    authjs_session_t *s = authjs_session_from_claims(pool, claims);
    apr_table_t *v = vars_of(s);

    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_ID"), "u1");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_NAME"), "Alice");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_EMAIL"), "a@example.com");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_IMAGE"), "https://i/a.png");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_EXPIRES"), "2027-01-15T08:00:00.000Z");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_SESSION"),
                     "{\"user\":{\"name\":\"Alice\",\"email\":\"a@example.com\","
                     "\"image\":\"https://i/a.png\",\"id\":\"u1\"},"
                     "\"expires\":\"2027-01-15T08:00:00.000Z\"}");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ROLES"), "admin,dev,3");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ORG"), "{\"id\":7,\"name\":\"x\"}");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_IS_STAFF"), "true");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_NOTHING"), "null");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_RATIO"), "0.5");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_IAT"), "1700000000");
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_SUB"));
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_EMAIL"));
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_PICTURE"));
}
END_TEST

/* AUTHJS_SESSION is written from the claims' own values: it must be what
 * jansson writes for the same document, whatever the strings hold. */
static const char *reference_session_json(json_t *claims, const char *expires)
{
    static const char *const user[][2] = {
        { "name", "name" }, { "email", "email" }, { "image", "picture" }, { "id", "sub" }
    };
    json_t *u = json_object(), *doc = json_object();
    char *text;
    const char *copy;
    int i;

    for (i = 0; i < 4; i++) {
        json_t *v = json_object_get(claims, user[i][1]);

        if (json_is_string(v)) {
            json_object_set(u, user[i][0], v);
        }
    }
    json_object_set_new(doc, "user", u);
    if (expires) {
        json_object_set_new(doc, "expires", json_string(expires));
    }
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    copy = apr_pstrdup(pool, text);
    free(text);
    json_decref(doc);
    return copy;
}

START_TEST(session_json_is_what_jansson_writes)
{
    static const char *const documents[] = {
        "{\"name\":\"Zo\\u00eb \\\"Q\\\" \\\\ back\",\"email\":\"a@example.com\",\"exp\":1800000000}",
        "{\"name\":\"tab\\tnew\\nline\\u0001\\u001f\\u007f\",\"sub\":\"\"}",
        "{\"name\":\"\\u2603 \\ud83d\\ude00 </script> \\/\",\"picture\":\"https://i/?a=1&b=<2>\"}",
        "{\"name\":null,\"email\":7,\"sub\":\"u\",\"exp\":-1}",
        "{}",
    };
    size_t i;

    for (i = 0; i < sizeof(documents) / sizeof(*documents); i++) {
        json_error_t error;
        json_t *claims = json_loads(documents[i], 0, &error);
        authjs_session_t *s;

        ck_assert_msg(claims != NULL, "document %zu: %s", i, error.text);
        s = authjs_session_from_claims(pool, claims);
        ck_assert_str_eq(s->json, reference_session_json(claims, s->expires_iso));
    }
}
END_TEST

START_TEST(integer_claims_as_json_writes_them)
{
    json_t *claims = json_loads("{\"a\":-5,\"b\":0,\"c\":9223372036854775807,"
                                "\"d\":-9223372036854775808,\"e\":[1,-2,3]}", 0, NULL);
    apr_table_t *v = vars_of(authjs_session_from_claims(pool, claims));

    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_A"), "-5");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_B"), "0");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_C"), "9223372036854775807");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_D"), "-9223372036854775808");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_E"), "1,-2,3");
}
END_TEST

/* Claims whose names give one variable: the last in the payload wins, in the
 * place of the first. */
START_TEST(claims_of_one_variable_name)
{
    json_t *claims = json_loads("{\"sub\":\"u\",\"a-b\":\"1\",\"x\":[],\"a_b\":\"2\","
                                "\"a.b\":[\"3\",4]}", 0, NULL);
    apr_table_t *v = vars_of(authjs_session_from_claims(pool, claims));
    const apr_array_header_t *elts = apr_table_elts(v);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    int i, a_b = -1, x = -1, count = 0;

    for (i = 0; i < elts->nelts; i++) {
        if (!strcmp(e[i].key, "AUTHJS_CLAIM_A_B")) {
            a_b = i;
            count++;
        }
        else if (!strcmp(e[i].key, "AUTHJS_CLAIM_X")) {
            x = i;
        }
    }
    ck_assert_int_eq(count, 1);
    ck_assert_int_lt(a_b, x);
    ck_assert_str_eq(e[a_b].val, "3,4");
    ck_assert_str_eq(e[x].val, "");
}
END_TEST

START_TEST(session_from_upstream_answer)
{
    const char *body = "{\"user\":{\"name\":\"Bob\",\"email\":\"b@example.org\",\"image\":null,"
                       "\"id\":\"u-bob\"},\"expires\":\"2026-12-22T15:06:04.123Z\",\"role\":\"ops\"}";
    authjs_session_t *s = NULL;
    const char *why = authjs_session_from_answer(pool, body, strlen(body), BEFORE, &s);
    apr_table_t *v;

    ck_assert_msg(why == NULL, "refused: %s", why);
    ck_assert_ptr_nonnull(s);
    v = vars_of(s);
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_ID"), "u-bob");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_EMAIL"), "b@example.org");
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_USER_IMAGE"));
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_EXPIRES"), "2026-12-22T15:06:04.123Z");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ROLE"), "ops");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_SESSION"), body);
    ck_assert_int_eq(s->expires, apr_time_from_sec(1797951964) + apr_time_from_msec(123));
}
END_TEST

/* A filter that withholds the claims named in ctx (a NULL-ended list). */
static int withhold_named(void *ctx, const char *name, int nested)
{
    const char *const *n;

    for (n = ctx; *n; n++) {
        if (!strcmp(*n, name)) {
            return 0;
        }
    }
    return 1;
}

START_TEST(credentials_withheld_by_default)
{
    const char *body = "{\"user\":{\"email\":\"b@example.org\",\"id\":\"u-bob\","
                       "\"accessToken\":\"at-user\"},\"expires\":\"2026-12-22T15:06:04.123Z\","
                       "\"accessToken\":\"at\",\"Refresh_Token\":\"rt\",\"role\":\"ops\","
                       "\"account\":[{\"provider\":\"gh\",\"id_token\":\"it\"}]}";
    authjs_session_t *s = NULL;
    apr_table_t *v;

    ck_assert_ptr_null(authjs_session_from_answer(pool, body, strlen(body), BEFORE, &s));
    v = vars_of(s);
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_ACCESSTOKEN"));
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_REFRESH_TOKEN"));
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ROLE"), "ops");
    /* written again without them, the user's own included */
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_SESSION"),
                     "{\"user\":{\"email\":\"b@example.org\",\"id\":\"u-bob\"},"
                     "\"expires\":\"2026-12-22T15:06:04.123Z\",\"role\":\"ops\","
                     "\"account\":[{\"provider\":\"gh\"}]}");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ACCOUNT"), "{\"provider\":\"gh\"}");
    /* the session itself keeps them */
    ck_assert_str_eq(s->json, body);
    ck_assert(authjs_claim_is_credential("ID_TOKEN"));
    ck_assert(authjs_claim_is_credential("idToken"));
    ck_assert(!authjs_claim_is_credential("accessTokenExpires"));
}
END_TEST

START_TEST(filtered_vars)
{
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:{s:s}}", "sub", "u-1", "name",
                               "Zoë", "email", "z@example.com", "accessToken", "at", "exp",
                               1797951964, "role", "ops", "org", "accessToken", "nested");
    authjs_session_t *s = authjs_session_from_claims(pool, claims);
    const char *email_role[] = { "email", "role", NULL };
    const char *none[] = { NULL };
    apr_table_t *v = apr_table_make(pool, 8);

    authjs_session_vars_filtered(pool, s, withhold_named, email_role, v);
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_USER_EMAIL"));
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_ROLE"));
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_NAME"), "Zoë");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ACCESSTOKEN"), "at");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ORG"), "{\"accessToken\":\"nested\"}");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_EXPIRES"), "2026-12-22T15:06:04.000Z");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_SESSION"),
                     "{\"user\":{\"name\":\"Zoë\",\"id\":\"u-1\"},"
                     "\"expires\":\"2026-12-22T15:06:04.000Z\"}");
    v = apr_table_make(pool, 8);
    authjs_session_vars_filtered(pool, s, withhold_named, none, v);
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_SESSION"), s->json);
    /* the default withholds credentials at every depth */
    v = vars_of(s);
    ck_assert_ptr_null(apr_table_get(v, "AUTHJS_CLAIM_ACCESSTOKEN"));
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_CLAIM_ORG"), "{}");
    ck_assert_str_eq(apr_table_get(v, "AUTHJS_USER_EMAIL"), "z@example.com");
}
END_TEST

START_TEST(no_session_answers)
{
    /* not a session, or one that proves more than it says */
    const char *bodies[] = {
        "null", "{}", "", "[]", "{\"user\":null}", "{\"user\":\"x\"}", "<html>", "{",
        "{\"expires\":\"2026-12-22T15:06:04.123Z\"}",
        "{\"user\":{\"email\":\"a@x\"}}",
        "{\"user\":{\"email\":\"a@x\"},\"expires\":null}",
        "{\"user\":{\"email\":\"a@x\"},\"expires\":1797951964}",
        "{\"user\":{\"email\":\"a@x\"},\"expires\":\"tomorrow\"}",
        "{\"user\":{\"email\":\"a@x\"},\"expires\":\"2026-12-22T15:06:04.122Z\"}",
        "{\"user\":{\"email\":7},\"expires\":\"2027-01-01T00:00:00.000Z\"}",
        "{\"user\":{\"id\":[\"u\"]},\"expires\":\"2027-01-01T00:00:00.000Z\"}",
        "{\"user\":{\"name\":{}},\"expires\":\"2027-01-01T00:00:00.000Z\"}",
        "{\"user\":{\"image\":true},\"expires\":\"2027-01-01T00:00:00.000Z\"}",
        "{\"user\":[],\"expires\":\"2027-01-01T00:00:00.000Z\"}",
    };
    authjs_session_t *s;
    size_t i;
    char *big = apr_palloc(pool, AUTHJS_SESSION_MAX_ANSWER + 2);
    /* the moment the session of the 10th body ends */
    apr_time_t now = apr_time_from_sec(1797951964) + apr_time_from_msec(123);

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        ck_assert_msg(authjs_session_from_answer(pool, bodies[i], strlen(bodies[i]), now, &s),
                      "'%s' accepted", bodies[i]);
        ck_assert_ptr_null(s);
    }
    ck_assert_str_eq(authjs_session_from_answer(pool, bodies[13], strlen(bodies[13]), now, &s),
                     "answer's expires has passed");
    ck_assert_str_eq(authjs_session_from_answer(pool, bodies[14], strlen(bodies[14]), now, &s),
                     "user.email is neither a string nor null");
    memset(big, ' ', AUTHJS_SESSION_MAX_ANSWER + 1);
    ck_assert_str_eq(authjs_session_from_answer(pool, big, AUTHJS_SESSION_MAX_ANSWER + 1, now, &s),
                     "answer larger than 64 KiB");
}
END_TEST

START_TEST(iso8601)
{
    ck_assert_int_eq(authjs_parse_iso8601("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(authjs_parse_iso8601("2026-12-22T15:06:04Z"), apr_time_from_sec(1797951964));
    ck_assert_int_eq(authjs_parse_iso8601("2026-12-22T15:06:04.5Z"),
                     apr_time_from_sec(1797951964) + apr_time_from_msec(500));
    ck_assert_int_eq(authjs_parse_iso8601("2026-12-22T15:06:04+01:00"), 0);
    ck_assert_int_eq(authjs_parse_iso8601("2026-13-22T15:06:04Z"), 0);
    ck_assert_int_eq(authjs_parse_iso8601("yesterday"), 0);
    ck_assert_str_eq(authjs_iso8601(pool, apr_time_from_sec(1797951964)),
                     "2026-12-22T15:06:04.000Z");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("authjs_cookie_session");
    TCase *tc = tcase_create("cookie_session");
    SRunner *sr;
    int failed;

    apr_initialize();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, whole_cookie);
    tcase_add_test(tc, one_name_per_origin);
    tcase_add_test(tc, chunks_join_in_numeric_order);
    tcase_add_test(tc, no_session_cases);
    tcase_add_test(tc, bearer_as_gettoken_reads_it);
    tcase_add_test(tc, cookie_status_texts);
    tcase_add_test(tc, strip_session_cookies);
    tcase_add_test(tc, set_cookie_of_the_session);
    tcase_add_test(tc, session_from_token_claims);
    tcase_add_test(tc, session_json_is_what_jansson_writes);
    tcase_add_test(tc, integer_claims_as_json_writes_them);
    tcase_add_test(tc, claims_of_one_variable_name);
    tcase_add_test(tc, session_from_upstream_answer);
    tcase_add_test(tc, no_session_answers);
    tcase_add_test(tc, credentials_withheld_by_default);
    tcase_add_test(tc, filtered_vars);
    tcase_add_test(tc, iso8601);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
