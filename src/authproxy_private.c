/* SPDX-License-Identifier: Apache-2.0 */
/* A response that carries or depends on one visitor's session (a refreshed
 * session cookie, a page with a session published to it, anything under
 * AuthType authjs) is that visitor's alone: httpd's cache never stores it
 * (r->no_cache, which mod_cache honours even with CacheStorePrivate), and its
 * Cache-Control tells every shared cache downstream the same. What is never
 * stored can never be served to another visitor, whether mod_cache's quick
 * handler runs before authentication or not. An anonymous answer of a place
 * that publishes sessions would have been another for a signed-in visitor: it
 * says Vary: Cookie (and Authorization where Bearer tokens count), so no
 * cache hands it to one. */
#include <apr_strings.h>
#include <http_protocol.h>
#include <http_request.h>

#include "authproxy.h"
#include "authproxy_origin.h"
#include "authproxy_private.h"

/* Last before the HTTP header filter: after mod_headers and mod_expires have
 * said their word on Cache-Control. */
#define PRIVATE_FILTER_TYPE (AP_FTYPE_PROTOCOL - 1)

void authproxy_private_response(request_rec *r)
{
    request_rec *each;

    authproxy_request(authproxy_original(r))->personal = 1;
    /* the request at hand and those it belongs to: whichever one's response
     * mod_cache would store */
    for (each = r; each; each = each->main ? each->main : each->prev) {
        each->no_cache = 1;
    }
}

void authproxy_private_vary_cookie(request_rec *r)
{
    /* before the handler: mod_cache keys what it stores by the Vary it sees */
    if (!r->main) {
        apr_table_mergen(r->err_headers_out, "Vary", "Cookie");
        if (authproxy_bearer(authproxy_dconf(authproxy_original(r)))) {
            apr_table_mergen(r->err_headers_out, "Vary", "Authorization");
        }
    }
}

/* One directive of a Cache-Control list, starting at *at: its name's span,
 * and *at moved past its ',' (commas inside a quoted argument do not count). */
static void next_directive(const char **at, const char **name, apr_size_t *name_len,
                           const char **end)
{
    const char *c = *at;
    int quoted = 0;

    while (*c == ' ' || *c == '\t' || *c == ',') {
        c++;
    }
    *name = c;
    *name_len = strcspn(c, "=, \t");
    for (; *c && (quoted || *c != ','); c++) {
        if (*c == '"') {
            quoted = !quoted;
        }
        else if (*c == '\\' && quoted && c[1]) {
            c++;
        }
    }
    *end = c;
    while (*end > *name && ((*end)[-1] == ' ' || (*end)[-1] == '\t')) {
        (*end)--;
    }
    *at = c;
}

static int named(const char *name, apr_size_t len, const char *want)
{
    return len == strlen(want) && !strncasecmp(name, want, len);
}

const char *authproxy_cache_control_private(apr_pool_t *p, const char *value)
{
    /* each directive kept takes at most two more bytes than its ',' took */
    char *out = apr_palloc(p, 2 * (value ? strlen(value) : 0) + sizeof(", private"));
    const char *at = value ? value : "", *name, *end;
    apr_size_t len, used = 0;
    int strict = 0;

    out[0] = '\0';
    while (*at) {
        next_directive(&at, &name, &len, &end);
        /* what lets a shared cache store it goes */
        if (len == 0 || named(name, len, "public") || named(name, len, "s-maxage")) {
            continue;
        }
        /* a bare private or no-store is as strict as it gets: kept */
        strict |= (named(name, len, "private") && *(name + len) != '=')
                  || named(name, len, "no-store");
        used += apr_snprintf(out + used, end - name + 3, "%s%.*s", used ? ", " : "",
                             (int)(end - name), name);
    }
    if (!strict) {
        apr_snprintf(out + used, sizeof(", private"), "%sprivate", used ? ", " : "");
    }
    return out;
}

/* Cache-Control may come in several lines and from both tables; it leaves
 * as one line in err_headers_out, which an error response keeps too. */
static void make_private(request_rec *r)
{
    const char *app = apr_table_getm(r->pool, r->headers_out, "Cache-Control");
    const char *err = apr_table_getm(r->pool, r->err_headers_out, "Cache-Control");
    const char *both = app && err ? apr_pstrcat(r->pool, app, ", ", err, NULL)
                                  : app ? app : err;

    apr_table_unset(r->headers_out, "Cache-Control");
    apr_table_setn(r->err_headers_out, "Cache-Control",
                   authproxy_cache_control_private(r->pool, both));
}

static apr_status_t authproxy_private_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    if (authproxy_request(authproxy_original(f->r))->personal) {
        f->r->no_cache = 1;
        make_private(f->r);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* The session cookie, or a Bearer token where the original request's
 * directory takes them: what a session not looked for yet would come from. */
static int carries_credential(request_rec *r)
{
    const char *name = authproxy_origin_cookie_name(r);
    authjs_cookie_t cookie;

    return authjs_cookie_find(r->pool, apr_table_get(r->headers_in, "Cookie"), name, &cookie)
               == AUTHJS_COOKIE_FOUND
           || (authproxy_bearer(authproxy_dconf(authproxy_original(r)))
               && authjs_cookie_bearer(r->pool, apr_table_get(r->headers_in, "Authorization"),
                                       name, &cookie) == AUTHJS_COOKIE_FOUND);
}

/* Right before the handler, on every response of a server where the module
 * is on (subrequests' headers never leave). A session that a subrequest may
 * yet resolve (an SSI include) would come after the headers have left: a
 * request that carries the session cookie, its session not looked for yet,
 * is taken for personal now. And mod_dir's and mod_negotiation's fast
 * redirect takes no_cache from a subrequest that may not have it: it is set
 * again on the request that answers. */
static void authproxy_private_insert_filter(request_rec *r)
{
    const authproxy_request_t *req;

    if (r->main || !authproxy_sconf(r->server)->upstream) {
        return;
    }
    req = authproxy_request(authproxy_original(r));
    if (req->personal || (!req->resolved && carries_credential(r))) {
        authproxy_private_response(r);
    }
    ap_add_output_filter(AUTHPROXY_PRIVATE_FILTER, NULL, r, r->connection);
}

void authproxy_private_register_hooks(apr_pool_t *p)
{
    ap_hook_insert_filter(authproxy_private_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(authproxy_private_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(AUTHPROXY_PRIVATE_FILTER, authproxy_private_filter, NULL,
                              PRIVATE_FILTER_TYPE);
}
