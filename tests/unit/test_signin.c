/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/authjs_signin.c: a sign-in's identifiers read as
 * Auth.js reads its body, and what its answer says (test_linear times
 * the reading). */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "authjs_signin.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

/* The identifiers joined by "|", "" for none, "(refused)" for a body refused. */
static const char *ids(const char *type, const char *body, apr_size_t len)
{
    const char *why = NULL;
    apr_array_header_t *a = authjs_signin_identifiers(pool, type, body, len, &why);

    ck_assert(!a == !!why);
    return a ? apr_array_pstrcat(pool, a, '|') : "(refused)";
}

#define IDS(type, body) ids(type, body, sizeof(body) - 1)

START_TEST(form_bodies)
{
    ck_assert_str_eq(IDS(FORM, "csrfToken=x&email=alice%40example.com&password=p"),
                     "alice@example.com");
    /* '+' is a space, then trimmed; case folded */
    ck_assert_str_eq(IDS(FORM, "email=++Alice%40Example.COM+"), "alice@example.com");
    /* every value of repeated fields: Object.fromEntries takes the last, qs
     * with its parameterLimit may keep the first */
    ck_assert_str_eq(IDS(FORM, "email=bob&email=alice&email=Bob"), "bob|alice");
    /* qs's brackets (Express) name the field too */
    ck_assert_str_eq(IDS(FORM, "email[]=a&email[0]=b&email%5Bx%5D=c&emails=d&email.x=e"),
                     "a|b|c");
    /* a form naming many: refused */
    ck_assert_str_eq(IDS(FORM, "email=1&email=2&username=3&email=4"), "1|2|3|4");
    ck_assert_str_eq(IDS(FORM, "email=1&email=2&username=3&email=4&email=5"), "(refused)");
    /* an encoded name is the name */
    ck_assert_str_eq(IDS(FORM, "%65mail=alice"), "alice");
    /* broken escapes are themselves */
    ck_assert_str_eq(IDS(FORM, "email=a%zz%4"), "a%zz%4");
    ck_assert_str_eq(IDS(FORM, "email=%"), "%");
    /* a name without '=' is an empty value */
    ck_assert_str_eq(IDS(FORM, "email&x=1"), "");
    /* both fields, each once */
    ck_assert_str_eq(IDS(FORM, "email=a&username=b"), "a|b");
    ck_assert_str_eq(IDS(FORM, "email=a&username=A"), "a");
    /* none */
    ck_assert_str_eq(IDS(FORM, "password=x&&&=&"), "");
    ck_assert_str_eq(IDS(FORM, ""), "");
    /* a byte order mark goes, as UTF-8 decoding drops it */
    ck_assert_str_eq(IDS(FORM, "\xEF\xBB\xBF" "email=a"), "a");
}
END_TEST

START_TEST(json_bodies)
{
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"Alice@Example.com\",\"password\":\"p\"}"),
                     "alice@example.com");
    ck_assert_str_eq(IDS("application/json; charset=utf-8", "{\"username\":\"\\u0041b\"}"),
                     "ab");
    /* duplicates: the last, as JSON.parse */
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"a\",\"email\":\"b\"}"), "b");
    /* brackets are a form's */
    ck_assert_str_eq(IDS(JSON, "{\"email[]\":\"a\"}"), "");
    /* not a string: its JSON form */
    ck_assert_str_eq(IDS(JSON, "{\"email\":[\"A\",{\"b\":1}]}"), "[\"a\",{\"b\":1}]");
    ck_assert_str_eq(IDS(JSON, "{\"email\":null}"), "null");
    /* not an object: none; not JSON jansson reads (JSON.parse takes a lone
     * surrogate, a deeper nesting): refused, never read otherwise */
    ck_assert_str_eq(IDS(JSON, "[\"email\"]"), "");
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"a\""), "(refused)");
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"v@x,\\ud800\"}"), "(refused)");
    ck_assert_str_eq(IDS(JSON, ""), "(refused)");
    /* a NUL is JSON: the address before it */
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"v@x.com,\\u0000\"}"), "v@x.com");
    ck_assert_str_eq(IDS(JSON, "\xEF\xBB\xBF{\"email\":\"a\"}"), "a");
}
END_TEST

START_TEST(content_types)
{
    /* JSON is tested first, anywhere in the header, in any case */
    ck_assert_str_eq(IDS("text/plain, application/json", "{\"email\":\"a\"}"), "a");
    ck_assert_str_eq(IDS("Application/JSON", "{\"email\":\"a\"}"), "a");
    ck_assert_str_eq(IDS(FORM "; application/json", "email=a"), "(refused)");
    ck_assert_str_eq(IDS("APPLICATION/X-WWW-FORM-URLENCODED", "email=a"), "a");
    /* no body Auth.js reads */
    ck_assert_str_eq(IDS("text/plain", "email=a"), "");
    ck_assert_str_eq(ids(NULL, "email=a", 7), "");
    ck_assert_str_eq(IDS("multipart/form-data", "email=a"), "");
}
END_TEST

/* Spellings Auth.js's e-mail provider takes for one address are one */
START_TEST(spellings)
{
    /* JavaScript's trim(): U+00A0, U+3000, U+FEFF, U+2028, U+1680 too */
    ck_assert_str_eq(IDS(FORM, "email=%C2%A0%E3%80%80Victim%40Example.com%EF%BB%BF%E2%80%A8"
                               "%E1%9A%80+%09"), "victim@example.com");
    /* a domain ends at its first ',' */
    ck_assert_str_eq(IDS(FORM, "email=victim%40example.com%2Cother&username=v%40x%2C"),
                     "victim@example.com|v@x");
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"victim@example.com,\\u3000\"}"),
                     "victim@example.com");
    /* not where the local part has it, or two '@' (Auth.js refuses those) */
    ck_assert_str_eq(IDS(FORM, "email=a%2Cb%40x&username=a%40b%40c%2Cd"), "a,b@x|a@b@c,d");
    /* NFKC's full-width and small forms of ASCII, '@' and ',' among them */
    ck_assert_str_eq(IDS(FORM, "email=%EF%BD%96ictim%EF%BC%A0Example.com%EF%BC%8Cx"),
                     "victim@example.com");
    ck_assert_str_eq(IDS(FORM, "email=victim%EF%B9%ABexample.com%EF%B9%90x&username=%EF%BC%81"
                               "%EF%BD%9E%EF%B8%90"), "victim@example.com|!~,");
    /* and every other character NFKC makes ASCII: mathematical bold v,
     * circled V, the Kelvin sign, the fi ligature, a one dot leader */
    ck_assert_str_eq(IDS(FORM, "email=%F0%9D%90%AFictim%40example.com&username=%E2%93%8B%E2%84%AA"
                               "%EF%AC%81%E2%80%A4"), "victim@example.com|vkfi.");
    /* not a broken or cut sequence */
    ck_assert_str_eq(IDS(FORM, "email=%F0%9D%90v&username=%F0%9D%90"),
                     "\xF0\x9D\x90v|\xF0\x9D\x90");
    /* a NUL is no part of it */
    ck_assert_str_eq(IDS(FORM, "email=%00victim%40example.com%00"), "victim@example.com");
    ck_assert_str_eq(IDS(JSON, "{\"email\":\"\\u0000v@x.com\"}"), "v@x.com");
    /* one inbox: +tags, dots of the local part, trailing dots of the domain */
    ck_assert_str_eq(IDS(FORM, "email=V.ictim%2Bx%2By%40example.com.."), "victim@example.com");
    ck_assert_str_eq(IDS(FORM, "email=.%2B%40.&username=%40"), "@");
    ck_assert_str_eq(IDS(FORM, "email=john.doe"), "john.doe");
    /* a space inside stays; other bytes beyond ASCII stay */
    ck_assert_str_eq(IDS(FORM, "email=a+b%C2%A1"), "a b\xC2\xA1");
    ck_assert_str_eq(IDS(FORM, "email=%E3%80"), "\xE3\x80");
}
END_TEST

/* Bodies the upstream may read otherwise than the module: refused. */
START_TEST(unreadable)
{
    ck_assert_ptr_null(authjs_signin_unreadable(pool, FORM, NULL));
    ck_assert_ptr_null(authjs_signin_unreadable(pool, NULL, NULL));
    ck_assert_ptr_null(authjs_signin_unreadable(pool, JSON "; charset=UTF-8", " identity "));
    ck_assert_ptr_null(authjs_signin_unreadable(pool, JSON "; charset=\"utf-8\"", ""));
    ck_assert_ptr_null(authjs_signin_unreadable(pool, "multipart/form-data; boundary=x", NULL));
    /* Express inflates them */
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, FORM, "gzip"));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, FORM, "br"));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, FORM, "identity, gzip"));
    /* and decodes them */
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, JSON "; charset=utf-16le", NULL));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, JSON ";CHARSET = utf-7", NULL));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, FORM "; charset=iso-8859-1", NULL));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, FORM "; charset=utf-8x", NULL));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, JSON "; charset=utf-8, "
                                                         JSON "; charset=utf-16", NULL));
    /* @auth/core reads a form where Express reads JSON, or JSON where it reads none */
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, FORM "; x=APPLICATION/JSON", NULL));
    ck_assert_ptr_nonnull(authjs_signin_unreadable(pool, JSON ", " FORM, NULL));
}
END_TEST

START_TEST(outcomes)
{
    ck_assert_int_eq(authjs_signin_outcome("http://app/api/auth/signin?error=CredentialsSignin"
                                           "&code=credentials"), AUTHJS_SIGNIN_REFUSED);
    ck_assert_int_eq(authjs_signin_outcome("/login?x=1&error=CredentialsSignin"),
                     AUTHJS_SIGNIN_REFUSED);
    ck_assert_int_eq(authjs_signin_outcome("/login?error=CredentialsSignin#top"),
                     AUTHJS_SIGNIN_REFUSED);
    /* a custom page with a query of its own: Auth.js adds "?error=..." */
    ck_assert_int_eq(authjs_signin_outcome("/login?from=app?error=CredentialsSignin&code=c"),
                     AUTHJS_SIGNIN_REFUSED);
    /* another error, another parameter, the path, the fragment */
    ck_assert_int_eq(authjs_signin_outcome("/api/auth/signin?error=MissingCSRF"),
                     AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome("/?error=CredentialsSigninX"), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome("/?xerror=CredentialsSignin"), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome("/error=CredentialsSignin"), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome("/#?error=CredentialsSignin"), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome("/x?a=1#&error=CredentialsSignin"),
                     AUTHJS_SIGNIN_OTHER);
    /* an e-mail sent */
    ck_assert_int_eq(authjs_signin_outcome("http://app/api/auth/verify-request?provider=email"
                                           "&type=email"), AUTHJS_SIGNIN_EMAIL_SENT);
    ck_assert_int_eq(authjs_signin_outcome("/verify-request?type=webauthn"), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome("/verify-request/x?type=email"), AUTHJS_SIGNIN_OTHER);
    /* signed in, or nothing */
    ck_assert_int_eq(authjs_signin_outcome("http://app/"), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome(""), AUTHJS_SIGNIN_OTHER);
    ck_assert_int_eq(authjs_signin_outcome(NULL), AUTHJS_SIGNIN_OTHER);
}
END_TEST

START_TEST(answer_urls)
{
    const char *answer = "{\"url\":\"http://app/api/auth/signin?error=CredentialsSignin\"}";

    ck_assert_str_eq(authjs_signin_answer_url(pool, answer, strlen(answer)),
                     "http://app/api/auth/signin?error=CredentialsSignin");
    ck_assert_ptr_null(authjs_signin_answer_url(pool, "{\"url\":1}", 9));
    ck_assert_ptr_null(authjs_signin_answer_url(pool, "[]", 2));
    ck_assert_ptr_null(authjs_signin_answer_url(pool, "{\"url\":", 7));
    ck_assert_ptr_null(authjs_signin_answer_url(pool, "", 0));
}
END_TEST

static Suite *signin_suite(void)
{
    Suite *s = suite_create("authjs_signin");
    TCase *tc = tcase_create("signin");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, form_bodies);
    tcase_add_test(tc, json_bodies);
    tcase_add_test(tc, content_types);
    tcase_add_test(tc, spellings);
    tcase_add_test(tc, unreadable);
    tcase_add_test(tc, outcomes);
    tcase_add_test(tc, answer_urls);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(signin_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
