/* SPDX-License-Identifier: Apache-2.0 */
/* A sign-in as Auth.js (@auth/core) sees it. Its body is read as its
 * getBody() does: JSON where the Content-Type names application/json, a
 * form (URLSearchParams) where it names the urlencoded type, else none. Of
 * a form every value of an identifier's field is taken: Object.fromEntries
 * keeps the last of repeated fields, Express's qs (with its parameter
 * limit) may keep the first, and makes email[] an "email".
 * A refused Credentials sign-in answers a redirect (or, with
 * X-Auth-Return-Redirect, {"url": ...}) whose query holds
 * error=CredentialsSignin; an e-mail sign-in that sent its e-mail, one to
 * <basePath>/verify-request?provider=...&type=email. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_strmatch.h>
#include <jansson.h>

#include "authjs_cookie.h"
#include "authjs_signin.h"

/* The fields an identifier is read from: a body naming one field and
 * signing in with the other is counted under both, and under every value
 * of a repeated one. */
static const char *const identifier_fields[] = { "email", "username" };
#define FIELDS (sizeof(identifier_fields) / sizeof(identifier_fields[0]))

/* A form component decoded as URLSearchParams does: '+' is a space, a %
 * with two hex digits a byte, any other % itself. */
static char *form_decode(apr_pool_t *p, const char *at, const char *end)
{
    char *out = apr_palloc(p, end - at + 1), *to = out;

    while (at < end) {
        if (*at == '+') {
            *to++ = ' ';
            at++;
        }
        else if (*at == '%' && end - at >= 3 && apr_isxdigit(at[1]) && apr_isxdigit(at[2])) {
            *to++ = (char)(authjs_hex_value(at[1]) << 4 | authjs_hex_value(at[2]));
            at += 3;
        }
        else {
            *to++ = *at++;
        }
    }
    *to = '\0';
    return out;
}

/* Spellings one address has: without surrounding white space, ASCII case
 * folded (Auth.js's e-mail provider lowers the address too). */
static const char *normalised(apr_pool_t *p, const char *value)
{
    apr_size_t len;
    char *out, *c;

    while (apr_isspace(*value)) {
        value++;
    }
    len = strlen(value);
    while (len && apr_isspace(value[len - 1])) {
        len--;
    }
    out = apr_pstrmemdup(p, value, len);
    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

/* Adds an identifier once; 0 when it would be one too many. */
static int add(apr_pool_t *p, apr_array_header_t *ids, const char *value)
{
    const char *id = normalised(p, value);
    int i;

    for (i = 0; i < ids->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(ids, i, const char *), id)) {
            return 1;
        }
    }
    if (ids->nelts == AUTHJS_SIGNIN_MAX_IDENTIFIERS) {
        return 0;
    }
    APR_ARRAY_PUSH(ids, const char *) = id;
    return 1;
}

/* A form field's name is an identifier's: as it is, or in the brackets of
 * qs (Express's parser), which make email[] or email[0] an "email" too. */
static int is_identifier(const char *name)
{
    apr_size_t i, n;

    for (i = 0; i < FIELDS; i++) {
        n = strlen(identifier_fields[i]);
        if (!strncmp(name, identifier_fields[i], n) && (!name[n] || name[n] == '[')) {
            return 1;
        }
    }
    return 0;
}

/* Every value of the identifier fields in a form body: a framework may
 * take the first or the last of repeated ones. */
static int form_fields(apr_pool_t *p, const char *body, apr_size_t len, apr_array_header_t *ids)
{
    const char *at = body, *end = body + len;

    while (at < end) {
        const char *amp = memchr(at, '&', end - at), *stop = amp ? amp : end;
        const char *eq = memchr(at, '=', stop - at);

        if (is_identifier(form_decode(p, at, eq ? eq : stop))
            && !add(p, ids, eq ? form_decode(p, eq + 1, stop) : "")) {
            return 0;
        }
        at = amp ? amp + 1 : end;
    }
    return 1;
}

/* The fields' values in a JSON body: a string as it is, anything else in
 * its JSON form (what a provider's authorize() would be given). */
static void json_fields(apr_pool_t *p, const char *body, apr_size_t len, apr_array_header_t *ids)
{
    /* duplicate names: the last one, as JSON.parse() */
    json_t *root = json_loadb(body, len, 0, NULL);
    apr_size_t i;

    for (i = 0; json_is_object(root) && i < FIELDS; i++) {
        json_t *v = json_object_get(root, identifier_fields[i]);
        char *text;

        if (json_is_string(v)) {
            add(p, ids, apr_pstrmemdup(p, json_string_value(v), json_string_length(v)));
        }
        else if (v && (text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS))) {
            add(p, ids, apr_pstrdup(p, text));
            free(text);
        }
    }
    json_decref(root);
}

/* Whether a Content-Type holds `type` anywhere, in any case. */
static int names(apr_pool_t *p, const char *content_type, const char *type)
{
    return content_type
           && apr_strmatch(apr_strmatch_precompile(p, type, 0), content_type,
                           strlen(content_type));
}

apr_array_header_t *authjs_signin_identifiers(apr_pool_t *p, const char *content_type,
                                              const char *body, apr_size_t len)
{
    apr_array_header_t *ids = apr_array_make(p, AUTHJS_SIGNIN_MAX_IDENTIFIERS,
                                             sizeof(const char *));

    /* the body is decoded as UTF-8 first, which drops a byte order mark */
    if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3)) {
        body += 3;
        len -= 3;
    }
    /* what getBody() tests, in its order; any case, as framework parsers take it */
    if (names(p, content_type, "application/json")) {
        json_fields(p, body, len, ids);
    }
    else if (names(p, content_type, "application/x-www-form-urlencoded")
             && !form_fields(p, body, len, ids)) {
        return NULL;
    }
    return ids;
}

/* Whether the query part of `url` holds the parameter `pair` ("name=value") as written. */
static int has_parameter(const char *url, const char *pair)
{
    apr_size_t path = strcspn(url, "?#"), n = strlen(pair);
    const char *at = url[path] == '?' ? url + path : NULL;

    while (at && *at && *at != '#') {
        at++;
        if (!strncmp(at, pair, n) && (!at[n] || at[n] == '&' || at[n] == '#')) {
            return 1;
        }
        at += strcspn(at, "&#");
    }
    return 0;
}

authjs_signin_outcome_e authjs_signin_outcome(const char *url)
{
    static const char verify[] = "/verify-request";
    apr_size_t path = url ? strcspn(url, "?#") : 0;

    if (!url) {
        return AUTHJS_SIGNIN_OTHER;
    }
    if (has_parameter(url, "error=CredentialsSignin")) {
        return AUTHJS_SIGNIN_REFUSED;
    }
    if (path >= sizeof(verify) - 1 && !strncmp(url + path - (sizeof(verify) - 1), verify,
                                                sizeof(verify) - 1)
        && has_parameter(url, "type=email")) {
        return AUTHJS_SIGNIN_EMAIL_SENT;
    }
    return AUTHJS_SIGNIN_OTHER;
}

const char *authjs_signin_answer_url(apr_pool_t *p, const char *body, apr_size_t len)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *url = json_object_get(root, "url");
    const char *out = json_is_string(url) ? apr_pstrdup(p, json_string_value(url)) : NULL;

    json_decref(root);
    return out;
}
