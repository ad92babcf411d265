/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as a Set-Cookie value the upstream sends, its
 * Path rewritten as the route filter does, and read for the session cookie as
 * a renewal reads it. The first byte picks one of a few realistic prefix
 * pairs (the filter only calls this when they differ, root prefixes
 * included); the rest is the header value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "authjs_cookie.h"
#include "authproxy_util.h"
#include "fuzz_pool.h"

#define SESSION_COOKIE "authjs.session-token"

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


static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* The Path attributes of `value` as RFC 6265 5.2 reads them ("; Path = v ;",
 * the name in any case, SP and HTAB around), in order: calls `each` with the
 * value's offset and length; returns the count. */
static int each_path(const char *value, void (*each)(void *ctx, size_t at, size_t len),
                     void *ctx)
{
    const char *attr;
    int count = 0;

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
        each(ctx, v - value, end - v);
        count++;
    }
    return count;
}

/* What the header's contract asks, built on its own: every Path equal to
 * `from` becomes `to`, every other byte stays. */
typedef struct {
    apr_pool_t *p;
    const char *value, *from, *to;
    const char *out;       /* so far */
    size_t copied;         /* bytes of value in it */
    int replaced;
    const char *last;      /* the last Path's value, the one a browser keeps */
} expect_t;

static void expect_path(void *ctx, size_t at, size_t len)
{
    expect_t *e = ctx;

    e->last = apr_pstrmemdup(e->p, e->value + at, len);
    if (len == strlen(e->from) && !memcmp(e->value + at, e->from, len)) {
        e->out = apr_pstrcat(e->p, e->out, apr_pstrmemdup(e->p, e->value + e->copied,
                                                          at - e->copied), e->to, NULL);
        e->copied = at + len;
        e->replaced++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cookie_path_config *c;
    apr_pool_t *p;
    const char *value, *result, *pair;
    expect_t expect;

    if (size == 0) {
        return 0;
    }
    c = &configs[data[0] % (sizeof(configs) / sizeof(configs[0]))];
    apr_pool_create(&p, fuzz_pool);
    value = apr_pstrmemdup(p, (const char *)data + 1, size - 1);

    result = authproxy_rewrite_cookie_path(p, value, c->target, c->local);
    expect.p = p;
    expect.value = value;
    expect.from = c->target;
    expect.to = c->local;
    expect.out = "";
    expect.copied = 0;
    expect.replaced = 0;
    expect.last = NULL;
    each_path(value, expect_path, &expect);
    if (!expect.replaced != !result
        || (result && strcmp(result, apr_pstrcat(p, expect.out, value + expect.copied, NULL)))) {
        abort();
    }
    /* a session pair is the value's own first pair, of the session cookie */
    pair = authjs_set_cookie_pair(p, value, SESSION_COOKIE);
    if (pair && (strncmp(pair, SESSION_COOKIE, sizeof(SESSION_COOKIE) - 1) != 0
                 || !strchr(pair, '=') || strchr(pair, ';') || strchr(pair, ','))) {
        abort();
    }
    /* the browser ends up with the local prefix wherever the upstream's was */
    if (expect.last && !strcmp(expect.last, c->target)) {
        expect_t after = { p, result, "", "", "", 0, 0, NULL };

        each_path(result, expect_path, &after);
        if (!after.last || strcmp(after.last, c->local) != 0) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
