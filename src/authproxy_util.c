#include <string.h>
#include <arpa/inet.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "authproxy_util.h"

const char *authproxy_path_normalize(apr_pool_t *p, const char *path)
{
    size_t len = strlen(path);
    const char *lead = (path[0] == '/') ? "" : "/";

    if (len > 1 && path[len - 1] == '/') {
        len--;
    }
    if (len == 0) {
        return "/";
    }
    return apr_pstrcat(p, lead, apr_pstrmemdup(p, path, len), NULL);
}

int authproxy_path_is_clean(const char *path)
{
    const unsigned char *c;
    const char *seg = path;

    for (c = (const unsigned char *)path; *c; c++) {
        if (*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#') {
            return 0;
        }
    }
    while (seg) {
        size_t len;

        seg += (*seg == '/');
        len = strcspn(seg, "/");
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
            return 0;
        }
        seg = strchr(seg, '/');
    }
    return 1;
}

long authproxy_path_match(const char *prefix, const char *path)
{
    size_t len;

    if (path[0] != '/') {
        return -1;
    }
    if (prefix[0] == '/' && prefix[1] == '\0') {
        return 0;
    }
    len = strlen(prefix);
    if (strncmp(prefix, path, len) != 0) {
        return -1;
    }
    return (path[len] == '\0' || path[len] == '/') ? (long)len : -1;
}

const char *authproxy_path_join(apr_pool_t *p, const char *prefix, const char *rest)
{
    if (prefix[0] == '/' && prefix[1] == '\0' && rest[0] == '/') {
        return apr_pstrdup(p, rest);
    }
    return apr_pstrcat(p, prefix, rest, NULL);
}

static int is_tchar(unsigned char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int authproxy_header_name_valid(const char *name)
{
    const unsigned char *c = (const unsigned char *)name;

    if (!*c) {
        return 0;
    }
    for (; *c; c++) {
        if (!is_tchar(*c)) {
            return 0;
        }
    }
    return 1;
}

int authproxy_header_value_valid(const char *value)
{
    const unsigned char *c;

    for (c = (const unsigned char *)value; *c; c++) {
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int authproxy_header_is_reserved(const char *name)
{
    static const char *const reserved[] = {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
        "Proxy-Connection", "TE", "Trailer", "Upgrade", "Expect", NULL
    };
    int i;

    for (i = 0; reserved[i]; i++) {
        if (!strcasecmp(name, reserved[i])) {
            return 1;
        }
    }
    return 0;
}

static int folded(unsigned char c)
{
    return c == '_' ? '-' : apr_tolower(c);
}

int authproxy_header_same(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (folded(*a) != folded(*b)) {
            return 0;
        }
    }
    return *a == *b;
}

int authproxy_header_is_authjs(const char *name)
{
    static const char want[] = "xauthjs";
    const char *w = want;

    for (; *name && *w; name++) {
        if (*name == '-' || *name == '_') {
            continue;
        }
        if (apr_tolower(*name) != *w++) {
            return 0;
        }
    }
    return *w == '\0';
}

int authproxy_host_is_plain(const char *host)
{
    const char *c = host;
    int v6 = (*c == '[');

    if (!*c) {
        return 0;
    }
    for (c += v6; *c && !(v6 && *c == ']'); c++) {
        if (!(apr_isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || (v6 && *c == ':'))) {
            return 0;
        }
    }
    return v6 ? (c[0] == ']' && c[1] == '\0' && c > host + 1) : 1;
}

int authproxy_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    size_t len = strlen(host);
    char buf[64];

    if (!strcasecmp(host, "localhost")
        || (len > 10 && !strcasecmp(host + len - 10, ".localhost"))) {
        return 1;
    }
    if (inet_pton(AF_INET, host, &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    if (host[0] == '[' && len > 2 && len - 2 < sizeof(buf)) {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        host = buf;
    }
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* The part of `path` after `prefix`, when the prefix ends at a path boundary. */
static const char *after_prefix(const char *prefix, const char *path)
{
    size_t len;

    if (prefix[0] == '/' && prefix[1] == '\0') {
        return path[0] == '/' ? path : NULL;
    }
    len = strlen(prefix);
    if (strncmp(prefix, path, len) != 0) {
        return NULL;
    }
    path += len;
    return (*path == '\0' || *path == '/' || *path == '?' || *path == '#') ? path : NULL;
}

const char *authproxy_rewrite_url(apr_pool_t *p, const char *url,
                                  const apr_array_header_t *origins,
                                  const char *from_prefix,
                                  const char *to_origin, const char *to_prefix)
{
    const char *rest = NULL;
    int i;

    if (url[0] == '/' && url[1] != '/') {
        rest = after_prefix(from_prefix, url);
        if (!rest) {
            return NULL;
        }
        to_origin = "";
    }
    for (i = 0; !rest && i < origins->nelts; i++) {
        const char *origin = APR_ARRAY_IDX(origins, i, const char *);
        size_t len = strlen(origin);

        if (!strncasecmp(url, origin, len) && url[len] == '/') {
            rest = after_prefix(from_prefix, url + len);
        }
    }
    if (!rest) {
        return NULL;
    }
    if (*rest == '\0' || *rest == '/') {
        return apr_pstrcat(p, to_origin, authproxy_path_join(p, to_prefix, rest), NULL);
    }
    return apr_pstrcat(p, to_origin, to_prefix, rest, NULL);
}

const char *authproxy_rewrite_cookie_path(apr_pool_t *p, const char *set_cookie,
                                          const char *from, const char *to)
{
    const char *attr = strchr(set_cookie, ';');

    while (attr) {
        const char *name = attr + 1, *value, *end;

        while (*name == ' ' || *name == '\t') {
            name++;
        }
        end = strchr(name, ';');
        if (!end) {
            end = name + strlen(name);
        }
        if (!strncasecmp(name, "path", 4)) {
            value = name + 4;
            while (*value == ' ' || *value == '\t') {
                value++;
            }
            if (*value == '=') {
                const char *vend = end;

                value++;
                while (*value == ' ' || *value == '\t') {
                    value++;
                }
                while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t')) {
                    vend--;
                }
                if ((size_t)(vend - value) == strlen(from)
                    && !strncmp(value, from, vend - value)) {
                    return apr_pstrcat(p, apr_pstrmemdup(p, set_cookie, value - set_cookie),
                                       to, vend, NULL);
                }
            }
        }
        attr = *end ? end : NULL;
    }
    return NULL;
}
