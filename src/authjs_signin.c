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
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_strmatch.h>
#include <jansson.h>

#include "authjs_cookie.h"
#include "authjs_nfkc_ascii.h"
#include "authjs_signin.h"

/* The fields an identifier is read from: a body naming one field and
 * signing in with the other is counted under both, and under every value
 * of a repeated one. */
static const char *const identifier_fields[] = { "email", "username" };
#define FIELDS (sizeof(identifier_fields) / sizeof(identifier_fields[0]))

/* A form component decoded as URLSearchParams does: '+' is a space, a %
 * with two hex digits a byte, any other % itself; but no NUL, which would
 * end the identifier here (and which a mailer may drop). */
static char *form_decode(apr_pool_t *p, const char *at, const char *end)
{
    char *out = apr_palloc(p, end - at + 1), *to = out;

    while (at < end) {
        if (*at == '+') {
            *to++ = ' ';
            at++;
        }
        else if (*at == '%' && end - at >= 3 && apr_isxdigit(at[1]) && apr_isxdigit(at[2])) {
            *to = (char)(authjs_hex_value(at[1]) << 4 | authjs_hex_value(at[2]));
            to += *to != '\0';
            at += 3;
        }
        else {
            *to = *at++;
            to += *to != '\0';
        }
    }
    *to = '\0';
    return out;
}

/* A code point's place in nfkc_ascii, for bsearch(). */
static int by_code(const void *key, const void *row)
{
    unsigned int code = *(const unsigned int *)key, at = ((const authjs_nfkc_t *)row)->code;

    return code < at ? -1 : code > at;
}

/* The code point of the UTF-8 character at `u` and its length in `*n`; 0
 * where none is (overlong forms are taken: more spellings counted as one). */
static unsigned int code_at(const unsigned char *u, apr_size_t *n)
{
    unsigned int code;
    apr_size_t i;

    *n = u[0] >= 0xC2 && u[0] <= 0xDF ? 2 : u[0] >= 0xE0 && u[0] <= 0xEF ? 3
         : u[0] >= 0xF0 && u[0] <= 0xF4 ? 4 : 0;
    code = *n ? u[0] & (0x7F >> *n) : 0;
    for (i = 1; i < *n; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            return 0;
        }
        code = code << 6 | (u[i] & 0x3F);
    }
    return code;
}

/* `value` with every character NFKC makes ASCII made so (full-width and
 * mathematical letters, the small and full-width '@' and ','). */
static char *ascii_forms(apr_pool_t *p, const char *value)
{
    /* nfkc_ascii makes no character longer than twice its bytes */
    char *out = apr_palloc(p, 2 * strlen(value) + 1), *to = out;

    while (*value) {
        apr_size_t n;
        unsigned int code = code_at((const unsigned char *)value, &n);
        const authjs_nfkc_t *row = code ? bsearch(&code, nfkc_ascii,
                                                  sizeof(nfkc_ascii) / sizeof(nfkc_ascii[0]),
                                                  sizeof(nfkc_ascii[0]), by_code) : NULL;

        if (row) {
            apr_size_t len = strlen(row->ascii);

            memcpy(to, row->ascii, len);
            to += len;
            value += n;
        }
        else {
            *to++ = *value++;
        }
    }
    *to = '\0';
    return out;
}

/* What JavaScript's trim() takes for white space beyond ASCII's and NFKC
 * leaves as it is (U+00A0, U+3000 and the other spaces it makes ' '), in
 * UTF-8. */
static const char *const js_spaces[] = {
    "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xEF\xBB\xBF"
};

/* The length of the white space character at the start (at_end 0) or the
 * end of value[0..len), 0 where none is. */
static apr_size_t space_at(const char *value, apr_size_t len, int at_end)
{
    apr_size_t i, n;

    if (len && apr_isspace(at_end ? value[len - 1] : value[0])) {
        return 1;
    }
    for (i = 0; i < sizeof(js_spaces) / sizeof(js_spaces[0]); i++) {
        n = strlen(js_spaces[i]);
        if (len >= n && !memcmp(at_end ? value + len - n : value, js_spaces[i], n)) {
            return n;
        }
    }
    return 0;
}

/* The inbox of the address `out` (its '@' at `at`): mail providers deliver
 * victim+anything@, v.i.c.t.i.m@ (Gmail) and @example.com. to victim@: one
 * count, so that they flood no inbox. Users of an application whose
 * addresses differ so only share a count, which whoever can fail with one
 * of their addresses can exhaust anyway. */
static const char *inbox(apr_pool_t *p, char *out, char *at)
{
    apr_size_t local = strcspn(out, "+@"), end = strlen(at);
    char *c, *to;

    while (end > 1 && at[end - 1] == '.') {
        end--;
    }
    for (c = to = out; c < out + local; c++) {
        *to = *c;
        to += *c != '.';
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, out, to - out), apr_pstrmemdup(p, at, end), NULL);
}

/* Spellings one address has, as Auth.js's e-mail provider (its
 * defaultNormalizer) makes them one: NFKC (where it makes ASCII here),
 * trimmed, lowered (ASCII letters here), and a domain ended
 * at its first ',' ("victim@example.com,x" gets the e-mail); then its
 * inbox. */
static const char *normalised(apr_pool_t *p, const char *given)
{
    const char *value = ascii_forms(p, given);
    apr_size_t len = strlen(value), n;
    char *out, *c, *at;

    while ((n = space_at(value, len, 0))) {
        value += n;
        len -= n;
    }
    while ((n = space_at(value, len, 1))) {
        len -= n;
    }
    out = apr_pstrmemdup(p, value, len);
    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    if (!(at = strchr(out, '@')) || strchr(at + 1, '@')) {
        return out;
    }
    at[strcspn(at, ",")] = '\0';
    return inbox(p, out, at);
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
 * its JSON form (what a provider's authorize() would be given). 0 when it
 * is not JSON jansson reads. */
static int json_fields(apr_pool_t *p, const char *body, apr_size_t len, apr_array_header_t *ids)
{
    /* duplicate names: the last one, as JSON.parse(); "\u0000" is JSON too */
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    int read = root != NULL;
    apr_size_t i;

    for (i = 0; json_is_object(root) && i < FIELDS; i++) {
        json_t *v = json_object_get(root, identifier_fields[i]);
        char *text;

        if (json_is_string(v)) {
            /* without NULs, as a form's */
            char *copy = apr_pstrmemdup(p, json_string_value(v), json_string_length(v));
            apr_size_t j, k;

            for (j = k = 0; j < json_string_length(v); j++) {
                copy[k] = copy[j];
                k += copy[j] != '\0';
            }
            copy[k] = '\0';
            add(p, ids, copy);
        }
        else if (v && (text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS))) {
            add(p, ids, apr_pstrdup(p, text));
            free(text);
        }
    }
    json_decref(root);
    return read;
}

/* Whether a Content-Type holds `type` anywhere, in any case. */
static int names(apr_pool_t *p, const char *content_type, const char *type)
{
    return content_type
           && apr_strmatch(apr_strmatch_precompile(p, type, 0), content_type,
                           strlen(content_type));
}

#define JSON_TYPE "application/json"
#define FORM_TYPE "application/x-www-form-urlencoded"

/* Whether every charset parameter `content_type` holds is UTF-8. */
static int utf8_only(apr_pool_t *p, const char *content_type)
{
    const apr_strmatch_pattern *charset = apr_strmatch_precompile(p, "charset", 0);
    const char *at = content_type, *end = content_type + strlen(content_type);

    while ((at = apr_strmatch(charset, at, end - at))) {
        at += 7;
        at += strspn(at, " \t");
        if (*at != '=') {
            continue;
        }
        at += 1 + strspn(at + 1, " \t");
        at += *at == '"';
        if (strncasecmp(at, "utf-8", 5) || (at[5] && !strchr("\"; \t,", at[5]))) {
            return 0;
        }
    }
    return 1;
}

const char *authjs_signin_unreadable(apr_pool_t *p, const char *content_type,
                                     const char *content_encoding)
{
    char *coding = content_encoding ? apr_pstrdup(p, content_encoding) : NULL;

    /* (apr_collapse_spaces() returns the end of what it wrote) */
    if (coding && (apr_collapse_spaces(coding, content_encoding), *coding)
        && strcasecmp(coding, "identity")) {
        return "its body has a Content-Encoding";
    }
    if (names(p, content_type, JSON_TYPE) && names(p, content_type, FORM_TYPE)) {
        return "its Content-Type names both JSON and a form";
    }
    if (content_type && !utf8_only(p, content_type)) {
        return "its Content-Type names a charset other than UTF-8";
    }
    return NULL;
}

apr_array_header_t *authjs_signin_identifiers(apr_pool_t *p, const char *content_type,
                                              const char *body, apr_size_t len,
                                              const char **why)
{
    apr_array_header_t *ids = apr_array_make(p, AUTHJS_SIGNIN_MAX_IDENTIFIERS,
                                             sizeof(const char *));

    /* the body is decoded as UTF-8 first, which drops a byte order mark */
    if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3)) {
        body += 3;
        len -= 3;
    }
    /* what getBody() tests, in its order; any case, as framework parsers take it */
    if (names(p, content_type, JSON_TYPE)) {
        if (!json_fields(p, body, len, ids)) {
            *why = "its body is named JSON but is not JSON the module reads";
            return NULL;
        }
    }
    else if (names(p, content_type, FORM_TYPE) && !form_fields(p, body, len, ids)) {
        *why = apr_psprintf(p, "its body names more than %d identifiers",
                            AUTHJS_SIGNIN_MAX_IDENTIFIERS);
        return NULL;
    }
    return ids;
}

/* Whether the query part of `url` holds the parameter `pair` ("name=value")
 * as written; a '?' in the query parts too: a custom page's URL with a
 * query of its own gets Auth.js's "?error=..." after it. */
static int has_parameter(const char *url, const char *pair)
{
    apr_size_t path = strcspn(url, "?#"), n = strlen(pair);
    const char *at = url[path] == '?' ? url + path : NULL;

    while (at && *at && *at != '#') {
        at++;
        if (!strncmp(at, pair, n) && strchr("&#?", at[n])) {
            return 1;
        }
        at += strcspn(at, "&#?");
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
