/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <arpa/inet.h>

#include <apr_encode.h>
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

apr_array_header_t *authproxy_table_unset_where(apr_pool_t *p, apr_table_t *table,
                                                int (*match)(const char *key, const char *arg),
                                                const char *arg)
{
    const apr_array_header_t *elts = apr_table_elts(table);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts, *all;
    apr_array_header_t *keys = NULL;
    int i, n = elts->nelts;

    for (i = 0; i < n; i++) {
        if (e[i].key && match(e[i].key, arg)) {
            if (!keys) {
                keys = apr_array_make(p, 2, sizeof(const char *));
            }
            APR_ARRAY_PUSH(keys, const char *) = e[i].key;
        }
    }
    if (!keys) {
        return NULL;
    }
    /* apr_table_unset searches and shifts the whole table for each key: the
     * entries kept are added anew instead, in their order, to the same table */
    all = apr_pmemdup(p, e, n * sizeof(*e));
    apr_table_clear(table);
    for (i = 0; i < n; i++) {
        if (all[i].key && !match(all[i].key, arg)) {
            apr_table_addn(table, all[i].key, all[i].val);
        }
    }
    return keys;
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

int authproxy_header_bytes_valid(const char *text, apr_size_t len)
{
    const unsigned char *c = (const unsigned char *)text, *end = c + len;

    for (; c < end; c++) {
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int authproxy_header_value_valid(const char *value)
{
    return authproxy_header_bytes_valid(value, strlen(value));
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

int authproxy_env_of_header(const char *key, const char *name)
{
    while (!strncmp(key, "REDIRECT_", 9)) {
        key += 9;
    }
    return !strncmp(key, "HTTP_", 5) && authproxy_header_same(key + 5, name);
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

int authproxy_url_is_network_path(const char *url)
{
    int slashes = 0;

    for (; *url && slashes < 2; url++) {
        if (*url == '\t' || *url == '\r' || *url == '\n') {
            continue;
        }
        if (*url != '/' && *url != '\\') {
            return 0;
        }
        slashes++;
    }
    return slashes == 2;
}

const char *authproxy_rewrite_url(apr_pool_t *p, const char *url,
                                  const apr_array_header_t *origins,
                                  const char *from_prefix,
                                  const char *to_origin, const char *to_prefix)
{
    const char *rest = NULL, *path;
    int path_only = 0, i;

    if (url[0] == '/' && url[1] != '/') {
        rest = after_prefix(from_prefix, url);
        if (!rest) {
            return NULL;
        }
        path_only = 1;
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
    path = (*rest == '\0' || *rest == '/') ? authproxy_path_join(p, to_prefix, rest)
                                            : apr_pstrcat(p, to_prefix, rest, NULL);
    if (!path_only) {
        return apr_pstrcat(p, to_origin, path, NULL);
    }
    /* "/auth//evil.example" under a root local prefix would be "//evil.example",
     * another host to a browser: "/./" says the same path and stays a path */
    return authproxy_url_is_network_path(path) ? apr_pstrcat(p, "/.", path, NULL) : path;
}

/* Where a cookie attribute's name and value begin and end. */
typedef struct {
    const char *name, *value, *value_end, *end;
} cookie_attr_t;

/* The attribute after the ';' at `semi`. */
static void cookie_attr_at(const char *semi, cookie_attr_t *a)
{
    const char *eq;

    a->name = semi + 1;
    while (*a->name == ' ' || *a->name == '\t') {
        a->name++;
    }
    a->end = strchr(a->name, ';');
    if (!a->end) {
        a->end = a->name + strlen(a->name);
    }
    a->value = a->value_end = NULL;
    for (eq = a->name; eq < a->end && *eq != '='; eq++) {
    }
    if (eq < a->end) {
        a->value = eq + 1;
        while (a->value < a->end && (*a->value == ' ' || *a->value == '\t')) {
            a->value++;
        }
        a->value_end = a->end;
        while (a->value_end > a->value && (a->value_end[-1] == ' ' || a->value_end[-1] == '\t')) {
            a->value_end--;
        }
    }
}

static int is_path_attr(const cookie_attr_t *a)
{
    const char *n = a->name + 4;

    if (!a->value || a->end - a->name < 4 || strncasecmp(a->name, "path", 4) != 0) {
        return 0;
    }
    while (*n == ' ' || *n == '\t') {
        n++;
    }
    return *n == '=';
}

/* The next Path attribute after `from` that equals `path`, NULL when none is
 * left; *a is that attribute. */
static const char *next_path_equal(const char *from, const char *path, apr_size_t path_len,
                                   cookie_attr_t *a)
{
    const char *semi;

    /* cppcheck-suppress ctuuninitvar ; cookie_attr_at() sets *a before the step reads it */
    for (semi = strchr(from, ';'); semi; semi = *a->end ? a->end : NULL) {
        cookie_attr_at(semi, a);
        if (is_path_attr(a) && (apr_size_t)(a->value_end - a->value) == path_len
            && !strncmp(a->value, path, path_len)) {
            return a->value;
        }
    }
    return NULL;
}

const char *authproxy_rewrite_cookie_path(apr_pool_t *p, const char *set_cookie,
                                          const char *from, const char *to)
{
    apr_size_t from_len = strlen(from), to_len = strlen(to), count = 0;
    const char *at, *copied = set_cookie;
    char *out, *o;
    cookie_attr_t a;

    /* every Path equal to `from` (a browser keeps the last one), counted
     * first so that the result is written once, however many there are */
    for (at = next_path_equal(set_cookie, from, from_len, &a); at;
         at = next_path_equal(a.end, from, from_len, &a)) {
        count++;
    }
    if (!count) {
        return NULL;
    }
    o = out = apr_palloc(p, strlen(set_cookie) - count * from_len + count * to_len + 1);
    for (at = next_path_equal(set_cookie, from, from_len, &a); at;
         at = next_path_equal(a.end, from, from_len, &a)) {
        memcpy(o, copied, at - copied);
        o += at - copied;
        memcpy(o, to, to_len);
        o += to_len;
        copied = a.value_end;
    }
    strcpy(o, copied);
    return out;
}

/* traceparent's fields (version 00): 2-32-16-2 lower-hex digits and dashes */
#define TRACEPARENT_LEN 55
#define TRACE_ID_AT 3
#define PARENT_ID_AT 36
#define PARENT_ID_HEX 16
#define FLAGS_AT 53

/* `len` lower-hex digits (the specification's HEXDIGLC) */
static int lower_hex(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (!apr_isdigit(s[i]) && (s[i] < 'a' || s[i] > 'f')) {
            return 0;
        }
    }
    return 1;
}

/* an id: lower hex, and not all zeros, which the specification calls invalid */
static int trace_id_valid(const char *s, apr_size_t len)
{
    return lower_hex(s, len) && len > strspn(s, "0");
}

static unsigned hex_digit(char c)
{
    return apr_isdigit(c) ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

int authproxy_traceparent_parse(const char *value, authproxy_trace_t *trace)
{
    if (!value || strlen(value) < TRACEPARENT_LEN || !lower_hex(value, 2)
        || !strncmp(value, "ff", 2) || value[2] != '-' || value[PARENT_ID_AT - 1] != '-'
        || value[FLAGS_AT - 1] != '-'
        || !trace_id_valid(value + TRACE_ID_AT, AUTHPROXY_TRACE_ID_HEX)
        || !trace_id_valid(value + PARENT_ID_AT, PARENT_ID_HEX)
        || !lower_hex(value + FLAGS_AT, 2)) {
        return 0;
    }
    /* version 00 ends there; a later one may add fields after a '-' */
    if (value[TRACEPARENT_LEN]
        && (!strncmp(value, "00", 2) || value[TRACEPARENT_LEN] != '-')) {
        return 0;
    }
    memcpy(trace->trace_id, value + TRACE_ID_AT, AUTHPROXY_TRACE_ID_HEX);
    trace->trace_id[AUTHPROXY_TRACE_ID_HEX] = '\0';
    trace->sampled = hex_digit(value[FLAGS_AT + 1]) & 1;
    return 1;
}

const char *authproxy_traceparent_make(apr_pool_t *p, const authproxy_trace_t *trace,
                                       const unsigned char *span_id)
{
    const char *span = apr_pencode_base16_binary(p, span_id, AUTHPROXY_SPAN_ID_BYTES,
                                                 APR_ENCODE_LOWER, NULL);

    if (!span || !trace_id_valid(span, PARENT_ID_HEX)) {
        return NULL;
    }
    return apr_pstrcat(p, "00-", trace->trace_id, "-", span, trace->sampled ? "-01" : "-00",
                       NULL);
}
