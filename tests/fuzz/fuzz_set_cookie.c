/* libFuzzer: arbitrary bytes as a Set-Cookie value the upstream sends, its
 * Path rewritten as the route filter does. The first byte picks one of a few
 * realistic prefix pairs (the filter only calls this when they differ, root
 * prefixes included); the rest is the header value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "authproxy_util.h"

struct cookie_path_config {
    const char *target; /* AuthProxyTargetPath: the Path the upstream sets */
    const char *local;  /* AuthProxyLocalPath: the Path the browser should get */
};

static const struct cookie_path_config configs[] = {
    { "/auth", "/api/auth" },
    { "/api/auth", "/auth" },
    { "/", "/api/auth" },
    { "/auth", "/" },
};

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* The `len` bytes at `value + at` are the whole value of a Path attribute
 * (RFC 6265 5.2: "; Path = value ;", names in any case, SP and HTAB around). */
static int is_path_value(const char *value, size_t at, size_t len)
{
    size_t i = at, end = at + len;

    while (i > 0 && is_wsp(value[i - 1])) {
        i--;
    }
    if (i == 0 || value[--i] != '=') {
        return 0;
    }
    while (i > 0 && is_wsp(value[i - 1])) {
        i--;
    }
    if (i < 4 || strncasecmp(value + i - 4, "path", 4) != 0) {
        return 0;
    }
    i -= 4;
    while (i > 0 && is_wsp(value[i - 1])) {
        i--;
    }
    if (i == 0 || value[i - 1] != ';') {
        return 0;
    }
    while (is_wsp(value[end])) {
        end++;
    }
    return value[end] == '\0' || value[end] == ';';
}

/* `result` is `value` with one Path attribute's value `from` replaced by `to`
 * and every other byte kept. Only offsets where both the common prefix and the
 * common suffix of the two strings reach can be that value's start. */
static int only_path_replaced(const char *value, const char *result, const char *from,
                              const char *to)
{
    size_t vlen = strlen(value), rlen = strlen(result);
    size_t flen = strlen(from), tlen = strlen(to);
    size_t prefix = 0, suffix = 0, at;

    if (vlen < flen || rlen != vlen - flen + tlen) {
        return 0;
    }
    while (prefix < vlen && prefix < rlen && value[prefix] == result[prefix]) {
        prefix++;
    }
    while (suffix < vlen && suffix < rlen
           && value[vlen - 1 - suffix] == result[rlen - 1 - suffix]) {
        suffix++;
    }
    for (at = vlen - flen > suffix ? vlen - flen - suffix : 0; at <= prefix && at <= vlen - flen;
         at++) {
        if (!memcmp(value + at, from, flen) && !memcmp(result + at, to, tlen)
            && is_path_value(value, at, flen)) {
            return 1;
        }
    }
    return 0;
}

/* Auth.js's own spelling, "; Path=<from>" ending the value or an attribute:
 * a value holding it must be rewritten. */
static int has_plain_path(const char *value, const char *from)
{
    size_t len = strlen(from);
    const char *at;

    for (at = strstr(value, "; Path="); at; at = strstr(at + 1, "; Path=")) {
        if (!strncmp(at + 7, from, len) && (at[7 + len] == '\0' || at[7 + len] == ';')) {
            return 1;
        }
    }
    return 0;
}

/* The value of the last Path attribute, the one browsers keep (RFC 6265 5.3,
 * step 7); NULL without one. */
static const char *effective_path(apr_pool_t *p, const char *value)
{
    const char *attr, *path = NULL;

    for (attr = strchr(value, ';'); attr; attr = strchr(attr + 1, ';')) {
        const char *name = attr + 1, *end = strchr(name, ';'), *v;

        if (!end) {
            end = name + strlen(name);
        }
        while (name < end && is_wsp(*name)) {
            name++;
        }
        if (end - name < 4 || strncasecmp(name, "path", 4) != 0) {
            continue;
        }
        for (v = name + 4; v < end && is_wsp(*v); v++) {
        }
        if (v == end || *v != '=') {
            continue;
        }
        for (v++; v < end && is_wsp(*v); v++) {
        }
        while (end > v && is_wsp(end[-1])) {
            end--;
        }
        path = apr_pstrmemdup(p, v, end - v);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cookie_path_config *c;
    apr_pool_t *p;
    const char *value, *result, *path;

    if (size == 0) {
        return 0;
    }
    c = &configs[data[0] % (sizeof(configs) / sizeof(configs[0]))];
    apr_pool_create(&p, pool);
    value = apr_pstrmemdup(p, (const char *)data + 1, size - 1);

    result = authproxy_rewrite_cookie_path(p, value, c->target, c->local);
    if (result ? !only_path_replaced(value, result, c->target, c->local)
               : has_plain_path(value, c->target)) {
        abort();
    }
    /* the browser ends up with the local prefix wherever the upstream's was */
    path = effective_path(p, value);
    if (path && !strcmp(path, c->target)
        && (!result || strcmp(effective_path(p, result), c->local) != 0)) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
