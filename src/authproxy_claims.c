/* SPDX-License-Identifier: Apache-2.0 */
/* AuthProxyPublishClaims' filter, and AuthProxyClaimHeader's headers: each
 * claim's bytes are the client's, as far as this file is concerned (a token
 * of the right secret can still carry anything its issuer was given). */
#include <stdlib.h>
#include <string.h>

#include <apr_encode.h>
#include <apr_fnmatch.h>
#include <apr_strings.h>

#include "authproxy.h"
#include "authproxy_claims.h"
#include "authproxy_config.h"

int authproxy_claim_published(void *rules, const char *name, int nested)
{
    const apr_array_header_t *list = rules;
    int i, credential = authjs_claim_is_credential(name), publish = !credential;

    /* a nested member: only credentials are withheld there, as at the top,
     * unless an entry publishes them (`-*` is no reason to empty objects) */
    if (nested && !credential) {
        return 1;
    }
    for (i = 0; list && i < list->nelts; i++) {
        const authproxy_claim_rule_t *rule = &APR_ARRAY_IDX(list, i, authproxy_claim_rule_t);

        if (apr_fnmatch(rule->pattern, name, APR_FNM_CASE_BLIND) == APR_SUCCESS) {
            publish = rule->publish;
        }
    }
    return publish;
}

/* A value's text and its length (a JSON string may hold NUL bytes). */
static const char *text_of(apr_pool_t *p, json_t *v, apr_size_t *len)
{
    const char *text;

    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    }
    else {
        char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

        text = apr_pstrdup(p, dump ? dump : "");
        free(dump);
    }
    *len = strlen(text);
    return text;
}

/* One value's text as the header carries it, appended at *out (room for
 * 3 bytes per byte: enough for either form); `element`: in an array, where
 * '%' and ',' are percent-encoded. NULL where raw text holds a control
 * character. */
static char *encode(apr_pool_t *p, char *out, const char *text, apr_size_t len, int encoding,
                    int element)
{
    apr_size_t i, n = 0;

    if (encoding == AUTHPROXY_ENCODING_BASE64URL) {
        const char *b64 = len ? apr_pencode_base64_binary(p, (const unsigned char *)text, len,
                                                          APR_ENCODE_BASE64URL
                                                          | APR_ENCODE_NOPADDING, &n) : "";

        memcpy(out, b64 ? b64 : "", b64 ? n : 0);
        return out + (b64 ? n : 0);
    }
    /* HTTP trims the blanks at a value's ends: " admin" would arrive as another name */
    if (!authproxy_header_bytes_valid(text, len)
        || (len && (text[0] == ' ' || text[0] == '\t' || text[len - 1] == ' '
                    || text[len - 1] == '\t'))) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        if (element && (text[i] == '%' || text[i] == ',')) {
            *out++ = '%';
            *out++ = '2';
            *out++ = text[i] == '%' ? '5' : 'C';
        }
        else {
            *out++ = text[i];
        }
    }
    return out;
}

const char *authproxy_claim_header_value(apr_pool_t *p, json_t *value, int encoding)
{
    apr_array_header_t *texts;
    apr_size_t *lens, total = 0, len, i;
    json_t *item;
    char *buf, *end;
    int n, k;

    if (!value || json_is_null(value)) {
        return NULL;
    }
    if (!json_is_array(value)) {
        const char *text = text_of(p, value, &len);

        buf = apr_palloc(p, 3 * len + 1);
        end = encode(p, buf, text, len, encoding, 0);
        if (!end) {
            return NULL;
        }
        *end = '\0';
        return buf;
    }
    n = (int)json_array_size(value);
    texts = apr_array_make(p, n ? n : 1, sizeof(const char *));
    lens = apr_palloc(p, (n ? n : 1) * sizeof(*lens));
    json_array_foreach(value, i, item) {
        APR_ARRAY_PUSH(texts, const char *) = text_of(p, item, &lens[i]);
        total += lens[i] + 1;
    }
    buf = end = apr_palloc(p, 3 * total + 1);
    for (k = 0; k < n; k++) {
        if (k) {
            *end++ = ',';
        }
        end = encode(p, end, APR_ARRAY_IDX(texts, k, const char *), lens[k], encoding, 1);
        if (!end) {
            return NULL;
        }
    }
    *end = '\0';
    return buf;
}

/* An AuthProxyClaimHeader name of the directory, as
 * authproxy_table_unset_where's match: `arg` is the list. */
static int is_claim_header(const char *key, const char *arg)
{
    const apr_array_header_t *list = (const apr_array_header_t *)arg;
    int i;

    for (i = 0; i < list->nelts; i++) {
        if (authproxy_header_same(key, APR_ARRAY_IDX(list, i, authproxy_claim_header_t).name)) {
            return 1;
        }
    }
    return 0;
}

/* What a handler of an earlier pass made of one of them in the environment
 * (HTTP_X_ROLE, REDIRECT_HTTP_X_ROLE): the client's where that pass's
 * directory named no such header, handed to this pass as a subrequest's copy
 * (mod_include's page) or an internal redirect's REDIRECT_*. */
static int is_env_of_claim_header(const char *key, const char *arg)
{
    const apr_array_header_t *list = (const apr_array_header_t *)arg;
    int i;

    for (i = 0; i < list->nelts; i++) {
        if (authproxy_env_of_header(key, APR_ARRAY_IDX(list, i, authproxy_claim_header_t).name)) {
            return 1;
        }
    }
    return 0;
}

void authproxy_claim_headers_remove(request_rec *r, int from_client)
{
    const apr_array_header_t *list = authproxy_dconf(r)->claim_headers;
    apr_array_header_t *removed;
    int i;

    if (!list) {
        return;
    }
    removed = authproxy_table_unset_where(r->pool, r->headers_in, is_claim_header,
                                          (const char *)list);
    authproxy_table_unset_where(r->pool, r->subprocess_env, is_env_of_claim_header,
                                (const char *)list);
    for (i = 0; from_client && removed && i < removed->nelts; i++) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AUTHPROXY_LOGNO(066)
                      "removed the client's header %s: AuthProxyClaimHeader sets it here",
                      APR_ARRAY_IDX(removed, i, const char *));
    }
}

/* Each name once: every subrequest of a page (mod_include's) sets its own. */
static int listed(const apr_array_header_t *names, const char *name)
{
    int i;

    for (i = 0; i < names->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(names, i, const char *), name)) {
            return 1;
        }
    }
    return 0;
}

void authproxy_claim_headers_unsend(request_rec *r, const apr_array_header_t *sent)
{
    int i;

    for (i = 0; i < sent->nelts; i++) {
        const char *name = APR_ARRAY_IDX(sent, i, const char *);

        authproxy_table_unset_where(r->pool, r->headers_in, authproxy_header_same, name);
        authproxy_table_unset_where(r->pool, r->subprocess_env, authproxy_env_of_header, name);
    }
}

void authproxy_claim_headers_set(request_rec *r, const authjs_session_t *session,
                                 apr_array_header_t *sent)
{
    const authproxy_dir_conf *dconf = authproxy_dconf(r);
    const apr_array_header_t *list = dconf->claim_headers;
    int i, encoding = authproxy_header_encoding(dconf);

    for (i = 0; list && i < list->nelts; i++) {
        const authproxy_claim_header_t *h = &APR_ARRAY_IDX(list, i, authproxy_claim_header_t);
        json_t *claim = authjs_session_claim(session, h->claim);
        /* named here, the claim goes; the credentials nested in it do not,
         * unless AuthProxyPublishClaims lets them through */
        json_t *published = claim ? authjs_claim_strip_nested(claim, authproxy_claim_published,
                                                              dconf->publish_claims) : NULL;
        const char *value = published ? authproxy_claim_header_value(r->pool, published,
                                                                     encoding) : NULL;

        json_decref(published);
        /* a later line for the same header wins, as in the configuration */
        authproxy_table_unset_where(r->pool, r->headers_in, authproxy_header_same, h->name);
        if (value) {
            apr_table_setn(r->headers_in, h->name, value);
            if (sent && !listed(sent, h->name)) {
                APR_ARRAY_PUSH(sent, const char *) = h->name;
            }
        }
        else if (claim && !json_is_null(claim)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(067)
                          "%s %s %s: the claim holds a control character: not sent (%s "
                          "base64url sends it)", AUTHPROXY_DIR_CLAIM_HEADER, h->name, h->claim,
                          AUTHPROXY_DIR_HEADER_ENCODING);
        }
    }
}
