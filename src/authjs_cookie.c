/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "authjs_cookie.h"

const char *authjs_cookie_status_text(authjs_cookie_status_e status)
{
    static const char *const texts[AUTHJS_COOKIE_STATUSES] = {
        [AUTHJS_COOKIE_FOUND] = "session cookie found",
        [AUTHJS_COOKIE_NONE] = "no session cookie",
        [AUTHJS_COOKIE_EMPTY] = "session cookie is empty",
        [AUTHJS_COOKIE_CHUNK_EMPTY] = "a session cookie chunk is empty",
        [AUTHJS_COOKIE_CHUNKS_MISSING] = "session cookie chunks are incomplete",
        [AUTHJS_COOKIE_BEARER_MALFORMED] = "Bearer token is malformed",
    };

    return texts[status];
}

#define SECURE_PREFIX AUTHJS_COOKIE_SECURE_PREFIX
#define SECURE_PREFIX_LEN (sizeof(SECURE_PREFIX) - 1)

typedef struct {
    const char *name, *value;
    apr_size_t name_len, value_len;
} pair_t;

/* Next "name=value" pair from *cursor; 0 at the end. */
static int next_pair(const char **cursor, pair_t *pair)
{
    const char *s = *cursor, *end, *eq;

    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ';' || *s == ',') {
            s++;
        }
        end = s + strcspn(s, ";,");
        *cursor = end;
        eq = memchr(s, '=', end - s);
        if (eq && eq > s) {
            const char *name_end = eq, *value = eq + 1, *value_end = end;

            while (name_end > s && (name_end[-1] == ' ' || name_end[-1] == '\t')) {
                name_end--;
            }
            while (value < value_end && (*value == ' ' || *value == '\t')) {
                value++;
            }
            while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t')) {
                value_end--;
            }
            pair->name = s;
            pair->name_len = name_end - s;
            pair->value = value;
            pair->value_len = value_end - value;
            return 1;
        }
        s = end;
    }
    *cursor = s;
    return 0;
}

/* Which chunk (-1 whole) of the cookie `name` a pair is; 0 when it is another
 * cookie. */
static int chunk_of(const pair_t *pair, const char *name, apr_size_t name_len, long *chunk)
{
    const char *n = pair->name + name_len, *end = pair->name + pair->name_len;

    if (pair->name_len < name_len || strncmp(pair->name, name, name_len) != 0) {
        return 0;
    }
    if (n == end) {
        *chunk = -1;
        return 1;
    }
    if (*n != '.' || n + 1 == end || end - n > 4) {
        return 0;
    }
    for (*chunk = 0, n++; n < end; n++) {
        if (!apr_isdigit(*n)) {
            return 0;
        }
        *chunk = *chunk * 10 + (*n - '0');
    }
    return *chunk < AUTHJS_COOKIE_MAX_CHUNKS;
}

/* A pair of the session cookie `name` in either family (plain or __Secure-),
 * whole or a chunk. */
static int is_session_pair(const pair_t *pair, const char *name, apr_size_t name_len)
{
    pair_t bare = *pair;
    long chunk;

    if (pair->name_len > SECURE_PREFIX_LEN
        && !strncmp(pair->name, SECURE_PREFIX, SECURE_PREFIX_LEN)) {
        bare.name += SECURE_PREFIX_LEN;
        bare.name_len -= SECURE_PREFIX_LEN;
    }
    return chunk_of(&bare, name, name_len, &chunk);
}

authjs_cookie_status_e authjs_cookie_find(apr_pool_t *p, const char *header, const char *name,
                                          authjs_cookie_t *out)
{
    /* [0] whole, [1 + i] chunk i */
    const pair_t *found[AUTHJS_COOKIE_MAX_CHUNKS + 1];
    pair_t pairs[AUTHJS_COOKIE_MAX_CHUNKS + 1];
    apr_size_t name_len = strlen(name);
    const char *cursor = header;
    pair_t pair;
    int count, i;
    struct iovec value[AUTHJS_COOKIE_MAX_CHUNKS], sent[AUTHJS_COOKIE_MAX_CHUNKS];

    memset(found, 0, sizeof(found));
    while (header && next_pair(&cursor, &pair)) {
        long chunk;

        /* the first of two same-named cookies is the more specific one */
        if (chunk_of(&pair, name, name_len, &chunk) && !found[chunk + 1]) {
            pairs[chunk + 1] = pair;
            found[chunk + 1] = &pairs[chunk + 1];
        }
    }
    out->name = name;
    if (found[0]) {
        if (found[0]->value_len == 0) {
            return AUTHJS_COOKIE_EMPTY;
        }
        out->value = apr_pstrmemdup(p, found[0]->value, found[0]->value_len);
        out->pairs = apr_pstrcat(p, out->name, "=", out->value, NULL);
        out->chunks = 0;
        return AUTHJS_COOKIE_FOUND;
    }
    if (!found[1]) {
        return AUTHJS_COOKIE_NONE;
    }
    for (count = 0; count < AUTHJS_COOKIE_MAX_CHUNKS && found[count + 1]; count++) {
        const pair_t *c = found[count + 1];

        if (c->value_len == 0) {
            return AUTHJS_COOKIE_CHUNK_EMPTY;
        }
        value[count].iov_base = (void *)c->value;
        value[count].iov_len = c->value_len;
        sent[count].iov_base = (void *)apr_psprintf(p, "%s%s.%d=%.*s", count ? "; " : "",
                                                    out->name, count, (int)c->value_len,
                                                    c->value);
        sent[count].iov_len = strlen(sent[count].iov_base);
    }
    for (i = count + 1; i <= AUTHJS_COOKIE_MAX_CHUNKS; i++) {
        if (found[i]) {
            return AUTHJS_COOKIE_CHUNKS_MISSING;
        }
    }
    out->value = apr_pstrcatv(p, value, count, NULL);
    out->pairs = apr_pstrcatv(p, sent, count, NULL);
    out->chunks = count;
    return AUTHJS_COOKIE_FOUND;
}

/* RFC 6265's cookie-octet: what a cookie value may hold. */
static int is_cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A)
           || (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

unsigned char authjs_hex_value(char c)
{
    return (unsigned char)(apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10);
}

authjs_cookie_status_e authjs_cookie_bearer(apr_pool_t *p, const char *authorization,
                                            const char *name, authjs_cookie_t *out)
{
    static const char scheme[] = "Bearer";
    const char *at, *end;
    char *token, *to;

    if (!authorization || strncmp(authorization, scheme, sizeof(scheme) - 1)
        || (authorization[sizeof(scheme) - 1] && authorization[sizeof(scheme) - 1] != ' ')) {
        return AUTHJS_COOKIE_NONE;
    }
    /* "Bearer" alone: getToken() decodes the word "undefined", which is no token */
    if (!authorization[sizeof(scheme) - 1]) {
        return AUTHJS_COOKIE_BEARER_MALFORMED;
    }
    at = authorization + sizeof(scheme);
    end = at + strcspn(at, " ");
    if (at == end) {
        return AUTHJS_COOKIE_NONE;
    }
    token = to = apr_palloc(p, end - at + 1);
    while (at < end) {
        unsigned char c = (unsigned char)*at++;

        if (c == '%') {
            if (end - at < 2 || !apr_isxdigit(at[0]) || !apr_isxdigit(at[1])) {
                return AUTHJS_COOKIE_BEARER_MALFORMED;
            }
            c = (unsigned char)(authjs_hex_value(at[0]) << 4 | authjs_hex_value(at[1]));
            at += 2;
        }
        if (!is_cookie_octet(c)) {
            return AUTHJS_COOKIE_BEARER_MALFORMED;
        }
        *to++ = (char)c;
    }
    *to = '\0';
    out->name = name;
    out->value = token;
    out->pairs = apr_pstrcat(p, name, "=", token, NULL);
    out->chunks = 0;
    return AUTHJS_COOKIE_FOUND;
}

const char *authjs_cookie_strip(apr_pool_t *p, const char *header, const char *name)
{
    apr_size_t name_len = strlen(name), len = strlen(header);
    const char *cursor = header;
    pair_t pair;
    /* One buffer, written once: a pair takes at least two bytes ("n=") and a
     * separator before the next, for which "; " puts at most one byte more,
     * so the kept pairs need less than a third more than the header. */
    char *kept = apr_palloc(p, len + len / 3 + 2), *end = kept;

    while (next_pair(&cursor, &pair)) {
        if (!is_session_pair(&pair, name, name_len)) {
            apr_size_t item = pair.value + pair.value_len - pair.name;

            if (end > kept) {
                memcpy(end, "; ", 2);
                end += 2;
            }
            memcpy(end, pair.name, item);
            end += item;
        }
    }
    *end = '\0';
    return end > kept ? kept : NULL;
}

const char *authjs_set_cookie_pair(apr_pool_t *p, const char *set_cookie, const char *name)
{
    /* the pair ends at the first ';' (an Expires date after it holds a ',') */
    const char *segment = apr_pstrmemdup(p, set_cookie, strcspn(set_cookie, ";"));
    const char *cursor = segment;
    pair_t pair;
    long chunk;

    if (strchr(segment, ',') || !next_pair(&cursor, &pair)
        || !chunk_of(&pair, name, strlen(name), &chunk)) {
        return NULL;
    }
    return apr_psprintf(p, "%.*s=%.*s", (int)pair.name_len, pair.name, (int)pair.value_len,
                        pair.value);
}
