/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as a Location or Content-Location the upstream
 * sends, rewritten as the route filter does. The first byte picks one of a few
 * realistic configurations (root prefixes on either side); the rest is the
 * header value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "authproxy_util.h"
#include "fuzz_pool.h"

struct location_config {
    const char *upstream;      /* AuthProxyUpstream, as the config keeps it */
    const char *public_origin; /* the app's origin, as httpd constructs it */
    const char *target;        /* AuthProxyTargetPath */
    const char *local;         /* AuthProxyLocalPath */
};

static const struct location_config configs[] = {
    { "http://127.0.0.1:3000", "https://app.example", "/api/auth", "/api/auth" },
    { "http://127.0.0.1:3000", "https://app.example", "/auth", "/api/auth" },
    { "https://auth.example.com:8443", "http://127.0.0.1:8080", "/", "/api/auth" },
    { "http://localhost:3000", "https://shop.example.com", "/auth", "/" },
};


/* What the header's contract says, written out on its own: where `url` goes
 * on after naming the target prefix (at a '/', '?' or '#' boundary) on one of
 * the two origins or as an absolute path; NULL when it names none. */
static const char *rest_after_target(const char *url, int path_only,
                                     const struct location_config *c)
{
    const char *origins[] = { c->upstream, c->public_origin };
    const char *path = path_only ? url : NULL;
    size_t i, len;

    for (i = 0; !path && i < sizeof(origins) / sizeof(origins[0]); i++) {
        len = strlen(origins[i]);
        if (!strncasecmp(url, origins[i], len) && url[len] == '/') {
            path = url + len;
        }
    }
    if (!path || !strcmp(c->target, "/")) {
        return path;
    }
    len = strlen(c->target);
    if (strncmp(path, c->target, len) != 0) {
        return NULL;
    }
    path += len;
    return (*path == '\0' || *path == '/' || *path == '?' || *path == '#') ? path : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct location_config *c;
    apr_pool_t *p;
    apr_array_header_t *origins;
    const char *url, *rest, *result, *head, *tail;
    int path_only;

    if (size == 0) {
        return 0;
    }
    c = &configs[data[0] % (sizeof(configs) / sizeof(configs[0]))];
    apr_pool_create(&p, fuzz_pool);
    url = apr_pstrmemdup(p, (const char *)data + 1, size - 1);
    origins = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(origins, const char *) = c->upstream;
    APR_ARRAY_PUSH(origins, const char *) = c->public_origin;

    result = authproxy_rewrite_url(p, url, origins, c->target, c->public_origin, c->local);
    path_only = url[0] == '/' && url[1] != '/';
    rest = rest_after_target(url, path_only, c);
    if (!rest != !result) {
        abort();
    }
    if (result) {
        /* the app's origin (none for a path-only url) and local prefix, then
         * the url's own rest, so no byte (CR, LF) enters that was not sent */
        head = apr_pstrcat(p, path_only ? "" : c->public_origin, c->local, NULL);
        if (strncmp(result, head, strlen(head)) != 0) {
            abort();
        }
        /* a path on the upstream stays a path on the app, not another host;
         * "/." keeps one that would read as a host's the same path */
        if (path_only && authproxy_url_is_network_path(result)) {
            abort();
        }
        tail = result + strlen(head);
        /* under a root local prefix a path is the rest itself, "/." before it
         * where it would read as a host's */
        if (path_only && !strcmp(c->local, "/") && rest[0] == '/') {
            if (strcmp(result, authproxy_url_is_network_path(rest)
                               ? apr_pstrcat(p, "/.", rest, NULL) : rest) != 0) {
                abort();
            }
        }
        /* a root local prefix takes the place of the rest's leading '/' */
        else if (strcmp(tail, rest) != 0
            && !(!strcmp(c->local, "/") && rest[0] == '/' && !strcmp(tail, rest + 1))) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
