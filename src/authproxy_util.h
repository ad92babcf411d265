/* SPDX-License-Identifier: Apache-2.0 */
/* Pure helpers of the httpd glue: paths, header checks, URL rewriting.
 * APR only, no httpd header, so unit tests link them alone. */
#ifndef AUTHPROXY_UTIL_H
#define AUTHPROXY_UTIL_H

#include <apr_network_io.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* A leading '/' added, one trailing '/' removed; "/" stays "/". */
const char *authproxy_path_normalize(apr_pool_t *p, const char *path);

/* No space, control character, '?' or '#', and no "." or ".." segment. */
int authproxy_path_is_clean(const char *path);

/* Where the rest of `path` starts when it equals `prefix` or continues it at
 * a '/', else -1. Prefix "/" matches every absolute path (rest = path). */
long authproxy_path_match(const char *prefix, const char *path);

/* `prefix` followed by `rest` (empty or starting with '/'), without "//". */
const char *authproxy_path_join(apr_pool_t *p, const char *prefix, const char *rest);

/* An origin as the upstream is told it: "https", "app.example.com:8443" and
 * "https://app.example.com:8443" (no default port); authproxy_origin.h makes
 * them. */
typedef struct {
    const char *scheme;
    const char *hostport;
    const char *origin;
    int https;
} authproxy_origin_t;

/* Removes the entries of `table` whose key `match` takes (with `arg`), and
 * only those (apr_table_unset would take every case of a key), in time
 * linear in the table, the others kept in their order; returns the keys
 * removed, NULL for none. */
apr_array_header_t *authproxy_table_unset_where(apr_pool_t *p, apr_table_t *table,
                                                int (*match)(const char *key, const char *arg),
                                                const char *arg);

/* An HTTP token (RFC 9110 5.6.2), the form of a header name. */
int authproxy_header_name_valid(const char *name);

/* No control character but HTAB: CR and LF would split the header. */
int authproxy_header_value_valid(const char *value);
/* The same of `len` bytes, which may hold a NUL (that fails, as a control
 * character: it would cut the value short). */
int authproxy_header_bytes_valid(const char *text, apr_size_t len);

/* Headers that frame the message or describe the connection: httpd and
 * mod_proxy own them, configuration may not set them. */
int authproxy_header_is_reserved(const char *name);

/* Two header names that a receiving stack may take for one: equal ignoring
 * case, with '-' and '_' the same (CGI, PHP, WSGI and nginx's
 * underscores_in_headers fold them all to one variable). */
int authproxy_header_same(const char *a, const char *b);

/* An environment variable that a handler made of header `name` (CGI's
 * HTTP_X_EMAIL of X-Email), or that an internal redirect made of one
 * (REDIRECT_HTTP_X_EMAIL, ...). */
int authproxy_env_of_header(const char *key, const char *name);

/* X-Authjs-*, the headers this module sends a backend, however a client
 * spells it: case, '-' and '_' do not count. */
int authproxy_header_is_authjs(const char *name);

/* A host name (letters, digits, '-', '.', '_') or a bracketed IPv6 literal:
 * nothing that could make a URL built on it name another host ('@', '#',
 * '/', '?', ...). */
int authproxy_host_is_plain(const char *host);

/* An http(s) URL's origin is a loopback address or "localhost". */
int authproxy_host_is_loopback(const char *host);

/* A browser takes `url` for a network-path reference (another host's): two
 * of '/' and '\\' first, TAB, CR and LF left out as browsers drop them. */
int authproxy_url_is_network_path(const char *url);

/* Rewrites `url` when it names `from_prefix` (at a '/', '?' or '#' boundary)
 * at one of `origins` (each "scheme://host[:port]", compared case-insensitively)
 * or as an absolute path: the result is `to_origin` + `to_prefix` + the rest
 * (a path-only url stays path-only, "/./" before a path that would read as
 * another host's). Returns NULL when `url` does not match. */
const char *authproxy_rewrite_url(apr_pool_t *p, const char *url,
                                  const apr_array_header_t *origins,
                                  const char *from_prefix,
                                  const char *to_origin, const char *to_prefix);

/* The Set-Cookie value with each Path attribute that equals `from` replaced by
 * `to`; NULL when there is no such Path. */
const char *authproxy_rewrite_cookie_path(apr_pool_t *p, const char *set_cookie,
                                          const char *from, const char *to);

/* W3C Trace Context (https://www.w3.org/TR/trace-context/): what of a
 * traceparent header this module carries to the upstream. */
#define AUTHPROXY_TRACE_ID_HEX 32
#define AUTHPROXY_SPAN_ID_BYTES 8
typedef struct {
    char trace_id[AUTHPROXY_TRACE_ID_HEX + 1];    /* lower hex, never all zero */
    int sampled;                                  /* the flags' sampled bit */
} authproxy_trace_t;

/* A traceparent value as the specification's section 3.2 reads it: version
 * 00 exactly "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower
 * hex, neither id all zeros; a later version (not ff) read as 00 when its
 * first 55 characters are that, followed by nothing or '-'. 1 and *trace set
 * when valid, else 0. */
int authproxy_traceparent_parse(const char *value, authproxy_trace_t *trace);

/* The version 00 traceparent of `trace` for a call made in the span
 * `span_id` (AUTHPROXY_SPAN_ID_BYTES random bytes); flags other than sampled
 * are not passed on (the specification has them zero). NULL when the span id
 * is all zeros, which is no span. */
const char *authproxy_traceparent_make(apr_pool_t *p, const authproxy_trace_t *trace,
                                       const unsigned char *span_id);

#endif
