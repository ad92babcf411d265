/* SPDX-License-Identifier: Apache-2.0 */
/* AuthType authjs, the Require providers authjs-session and authjs-claim, and
 * what anonymous visitors get (AuthProxyUnauthAction; with AuthProxyBearer,
 * RFC 6750's challenge). */
#include <apr_strings.h>
#include <ap_provider.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>

#include "authproxy.h"
#include "authproxy_authz.h"
#include "authproxy_config.h"
#include "authproxy_metrics.h"
#include "authproxy_private.h"
#include "authproxy_session.h"

#define AUTH_TYPE "authjs"
/* set while the Require evaluation runs inside authproxy_authz_check */
#define NOTE_EVALUATING "authproxy-authz-evaluating"
/* drops the body of a passed preflight's answer */
#define PREFLIGHT_FILTER "AUTHPROXY_PREFLIGHT"

typedef struct {
    const char *claim;
    const char *value;          /* equality, or */
    ap_regex_t *regex;          /* a match, compiled at startup */
} claim_require_t;

/* AuthType authjs is in force for this request. */
static int authtype_is_authjs(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type && !strcasecmp(type, AUTH_TYPE);
}

/* The longest user name a substitution makes. */
#define USER_NAME_MAX 1024

/* REMOTE_USER: the configured claim, else the email, else the id. With a
 * regular expression, the substitution of the claim's own text (one string),
 * and NULL where there is none: no match, an empty or overlong result, or
 * no such claim. */
static const char *user_name(request_rec *r, const authjs_session_t *s)
{
    const authproxy_dir_conf *dconf = authproxy_dconf(r);
    json_t *claim = authjs_session_claim(s, authproxy_remote_user_claim(dconf));
    apr_array_header_t *texts = claim ? authjs_claim_texts(r->pool, claim) : NULL;
    const char *text = texts && texts->nelts == 1 ? APR_ARRAY_IDX(texts, 0, const char *) : NULL;
    ap_regmatch_t match[AP_MAX_REG_MATCH];
    char *user = NULL;

    if (dconf->remote_user_regex) {
        if (!text || ap_regexec(dconf->remote_user_regex, text, AP_MAX_REG_MATCH, match, 0)
            || ap_pregsub_ex(r->pool, &user, dconf->remote_user_subst, text, AP_MAX_REG_MATCH,
                             match, USER_NAME_MAX) != APR_SUCCESS
            || !*user) {
            return NULL;
        }
        return user;
    }
    if (text && *text) {
        return text;
    }
    return s->email ? s->email : s->id ? s->id : "";
}

/* A browser loading a page, as opposed to a script that wants a status. */
static int is_navigation(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    const char *mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");

    return r->method_number == M_GET
           && accept && ap_strcasestr(accept, "text/html")
           && !apr_table_get(r->headers_in, "X-Requested-With")
           && (!mode || !strcasecmp(mode, "navigate"));
}

/* The sign-in page, coming back to the path and query the visitor asked for:
 * taken from the request line only, so never a redirect elsewhere. */
static const char *sign_in_url(request_rec *r)
{
    const authproxy_server_conf *conf = authproxy_sconf(r->server);
    const char *target = authproxy_original(r)->unparsed_uri;

    if (target[0] != '/') {
        /* absolute-form request target: keep the path and query */
        const char *scheme_end = ap_strstr_c(target, "://");

        target = scheme_end ? ap_strchr_c(scheme_end + 3, '/') : NULL;
        if (!target) {
            target = "/";
        }
    }
    /* one '/' before the path: browsers read "//host" and "/\host" alike as
     * another host */
    while (target[0] == '/' || target[0] == '\\') {
        target++;
    }
    return apr_pstrcat(r->pool, authproxy_path_join(r->pool, authproxy_local_path(conf),
                                                    "/signin"),
                       "?callbackUrl=",
                       ap_escape_urlencoded(r->pool, apr_pstrcat(r->pool, "/", target, NULL)),
                       NULL);
}

/* The realm of this module's challenges: AuthName, else the server's name. */
static const char *realm(request_rec *r)
{
    return ap_auth_name(r) ? ap_auth_name(r) : ap_get_server_name(r);
}

/* Where the original request's directory takes Bearer tokens, RFC 6750's
 * challenge: a token the module took that resolved to no session is an
 * invalid one. NULL elsewhere. */
static const char *bearer_challenge(request_rec *r)
{
    request_rec *orig = authproxy_original(r);

    if (!authproxy_bearer(authproxy_dconf(orig))) {
        return NULL;
    }
    return apr_psprintf(r->pool, "Bearer realm=\"%s\"%s", realm(r),
                        authproxy_request(orig)->bearer ? ", error=\"invalid_token\"" : "");
}

/* What a browser's preflight never carries: the headers by which an
 * application takes a request for another method (one that takes them
 * whatever the method would run a preflight as a DELETE), and credentials
 * in Authorization (a backend behind AuthProxyBearer may take a token that
 * reaches it for one the module verified). */
static const char *const never_on_preflights[] = {
    "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "Authorization", NULL
};

/* The Fetch standard's preflight, as a browser sends it: OPTIONS with an
 * Origin and a method token in Access-Control-Request-Method, no body, none
 * of never_on_preflights. */
static int is_preflight(request_rec *r)
{
    const char *method = apr_table_get(r->headers_in, "Access-Control-Request-Method");
    const char *length = apr_table_get(r->headers_in, "Content-Length");
    const char *const *name;

    if (r->method_number != M_OPTIONS || !apr_table_get(r->headers_in, "Origin")
        /* a method is a token, as a header's name is */
        || !method || !authproxy_header_name_valid(method)
        || apr_table_get(r->headers_in, "Transfer-Encoding") || (length && strcmp(length, "0"))) {
        return 0;
    }
    for (name = never_on_preflights; *name; name++) {
        if (apr_table_get(r->headers_in, *name)) {
            return 0;
        }
    }
    return 1;
}

/* A CORS preflight (the Fetch standard's: OPTIONS with an Origin and an
 * Access-Control-Request-Method), which browsers send without credentials,
 * that AuthProxyPreflight pass lets through: it reaches the application
 * without a session, none being asked of it nor resolved (a cookie it comes
 * with is not taken; nothing is published). Anything else is a request as
 * any other. (An internal redirect that makes a GET of it, an ErrorDocument's
 * or a CGI's local Location, makes the original request's method GET too.) */
static int preflight_passes(request_rec *r)
{
    request_rec *orig = authproxy_original(r);

    if (authproxy_preflight(authproxy_dconf(r)) != AUTHPROXY_PREFLIGHT_PASS
        || !is_preflight(orig)) {
        return 0;
    }
    authproxy_request(orig)->preflight = 1;
    return 1;
}

/* A passed preflight's answer keeps its status and headers (the CORS ones a
 * browser reads of it) and loses its body: the application answered a
 * request anyone can send without a session, and a page that it writes
 * whatever the method is no one's to read. */
static apr_status_t preflight_body_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_bucket *b, *next;

    if (!f->ctx) {
        f->ctx = f;
        apr_table_unset(f->r->headers_out, "Content-Length");
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!APR_BUCKET_IS_METADATA(b)) {
            apr_bucket_delete(b);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

/* On every pass of a request whose preflight passed: an internal
 * redirect's target starts with no filters of its own. */
static void authproxy_authz_insert_filter(request_rec *r)
{
    if (authproxy_request(authproxy_original(r))->preflight) {
        ap_add_output_filter(PREFLIGHT_FILTER, NULL, r, r->connection);
    }
}

static int signed_in_as(request_rec *r, const char *user)
{
    r->user = (char *)user;
    r->ap_auth_type = (char *)AUTH_TYPE;
    return OK;
}

static int authproxy_authz_authenticate(request_rec *r)
{
    const authjs_session_t *session;
    const char *challenge;
    int bearer, status;

    if (!authtype_is_authjs(r)) {
        return DECLINED;
    }
    if (!authproxy_sconf(r->server)->upstream) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, AUTHPROXY_LOGNO(001)
                      "AuthType %s needs %s in this server", AUTH_TYPE, AUTHPROXY_DIR_UPSTREAM);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* whoever the visitor is, the answer here is for them alone */
    authproxy_private_response(r);
    if (preflight_passes(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(070)
                      "CORS preflight: to the application without a session (%s pass)",
                      AUTHPROXY_DIR_PREFLIGHT);
        return signed_in_as(r, "");
    }
    if ((session = authproxy_session_get(r))) {
        const char *user = user_name(r, session);

        if (!user) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AUTHPROXY_LOGNO(068)
                          "%s %s: the session's claim gives no user name here (absent, or "
                          "no match for the regular expression): 403",
                          AUTHPROXY_DIR_USER_CLAIM, authproxy_remote_user_claim(authproxy_dconf(r)));
            authproxy_metrics_decision(r, AUTHPROXY_DECISION_DENIED);
            return HTTP_FORBIDDEN;
        }
        return signed_in_as(r, user);
    }
    if ((status = authproxy_session_refused(r)) != OK) {
        return status;
    }
    bearer = authproxy_request(authproxy_original(r))->bearer;
    switch (authproxy_unauth_action(authproxy_dconf(r))) {
    case AUTHPROXY_UNAUTH_PASS:
        return signed_in_as(r, "");
    case AUTHPROXY_UNAUTH_REDIRECT:
        /* a client that sent a token is a script: never sent to sign in */
        if (is_navigation(r) && !bearer) {
            apr_table_setn(r->headers_out, "Location", sign_in_url(r));
            if ((challenge = bearer_challenge(r))) {
                apr_table_setn(r->err_headers_out, "WWW-Authenticate", challenge);
            }
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(002)
                          "anonymous: sent to sign in");
            authproxy_metrics_decision(r, AUTHPROXY_DECISION_REDIRECT);
            return HTTP_MOVED_TEMPORARILY;
        }
        /* scripts and API clients get a status they can act on */
        /* fall through */
    default:
        if (bearer) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(064)
                          "Bearer token resolved to no session: 401");
        }
        ap_note_auth_failure(r);
        authproxy_metrics_decision(r, AUTHPROXY_DECISION_UNAUTHORIZED);
        return HTTP_UNAUTHORIZED;
    }
}

static int authproxy_authz_note_failure(request_rec *r, const char *auth_type)
{
    const char *challenge;

    if (strcasecmp(auth_type, AUTH_TYPE) != 0) {
        return DECLINED;
    }
    challenge = bearer_challenge(r);
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, AUTH_TYPE " realm=\"%s\"", realm(r)));
    if (challenge) {
        apr_table_addn(r->err_headers_out, "WWW-Authenticate", challenge);
    }
    return OK;
}

/* mod_authz_core answers 401 when an authenticated user fails Require (unless
 * AuthzSendForbiddenOnFailure); a signed-in visitor is told 403 instead, and
 * kept from a sign-in loop. So this runs the whole Require evaluation itself,
 * once, and adjusts its answer. */
static int authproxy_authz_check(request_rec *r)
{
    int status;

    if (!authtype_is_authjs(r) || apr_table_get(r->notes, NOTE_EVALUATING)) {
        return DECLINED;
    }
    apr_table_setn(r->notes, NOTE_EVALUATING, "1");
    status = ap_run_auth_checker(r);
    apr_table_unset(r->notes, NOTE_EVALUATING);
    if (status == HTTP_UNAUTHORIZED && authproxy_session_get(r)) {
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, AUTHPROXY_LOGNO(003)
                      "user '%s' is signed in but refused by Require: 403", r->user ? r->user : "");
        status = HTTP_FORBIDDEN;
    }
    if (status == OK) {
        authproxy_metrics_decision(r, AUTHPROXY_DECISION_GRANTED);
    }
    else if (status == HTTP_FORBIDDEN || status == HTTP_UNAUTHORIZED) {
        authproxy_metrics_decision(r, status == HTTP_FORBIDDEN ? AUTHPROXY_DECISION_DENIED
                                                               : AUTHPROXY_DECISION_UNAUTHORIZED);
    }
    return status;
}

/* Before authentication ran, ask for it where AuthType authjs will set the
 * user; elsewhere the session alone decides. A preflight that passes is
 * granted: it never has a session to show. */
static authz_status without_user(request_rec *r, const authjs_session_t **session)
{
    if (preflight_passes(r)) {
        return AUTHZ_GRANTED;
    }
    if (!r->user && authtype_is_authjs(r)) {
        return AUTHZ_DENIED_NO_USER;
    }
    *session = authproxy_session_get(r);
    return *session ? AUTHZ_NEUTRAL : (r->user ? AUTHZ_DENIED : AUTHZ_DENIED_NO_USER);
}

static authz_status session_check(request_rec *r, const char *line, const void *parsed)
{
    const authjs_session_t *session = NULL;
    authz_status status = without_user(r, &session);

    return status == AUTHZ_NEUTRAL ? AUTHZ_GRANTED : status;
}

static authz_status claim_check(request_rec *r, const char *line, const void *parsed)
{
    const claim_require_t *req = parsed;
    const authjs_session_t *session = NULL;
    authz_status status = without_user(r, &session);
    apr_array_header_t *texts;
    json_t *claim;
    int i;

    if (status != AUTHZ_NEUTRAL) {
        return status;
    }
    claim = authjs_session_claim(session, req->claim);
    texts = claim ? authjs_claim_texts(r->pool, claim) : NULL;
    for (i = 0; texts && i < texts->nelts; i++) {
        const char *text = APR_ARRAY_IDX(texts, i, const char *);

        if (req->regex ? ap_regexec(req->regex, text, 0, NULL, 0) == 0
                       : strcmp(text, req->value) == 0) {
            return AUTHZ_GRANTED;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, AUTHPROXY_LOGNO(004)
                  "Require authjs-claim %s: no match for '%s'", line, r->user ? r->user : "");
    return AUTHZ_DENIED;
}

static const char *claim_parse(cmd_parms *cmd, const char *line, const void **parsed)
{
    claim_require_t *req = apr_pcalloc(cmd->pool, sizeof(*req));
    const char *args = line, *op;

    req->claim = ap_getword_conf(cmd->pool, &args);
    op = ap_getword_conf(cmd->pool, &args);
    if (!*req->claim || !*op) {
        return "Require authjs-claim: give a claim and a value (NAME VALUE), or a regular "
               "expression (NAME ~ REGEX)";
    }
    if (!strcmp(op, "~")) {
        const char *pattern = ap_getword_conf(cmd->pool, &args);

        if (!*pattern) {
            return apr_psprintf(cmd->pool, "Require authjs-claim %s ~: the regular "
                                "expression is missing", req->claim);
        }
        if (!(req->regex = ap_pregcomp(cmd->pool, pattern, AP_REG_EXTENDED))) {
            return apr_psprintf(cmd->pool, "Require authjs-claim %s: '%s' is not a valid "
                                "regular expression", req->claim, pattern);
        }
    }
    else {
        req->value = op;
    }
    if (*args) {
        return apr_psprintf(cmd->pool, "Require authjs-claim %s: unexpected '%s' (quote a "
                            "value or expression that holds spaces)", req->claim, args);
    }
    *parsed = req;
    return NULL;
}

static const authz_provider session_provider = { session_check, NULL };
static const authz_provider claim_provider = { claim_check, claim_parse };

/* Whatever decided access (a Require met without a user skips
 * authentication), an answer under AuthType authjs depends on who asks. */
static int authproxy_authz_fixups(request_rec *r)
{
    if (authtype_is_authjs(r)) {
        authproxy_private_response(r);
    }
    return DECLINED;
}

/* The routes stand outside every authorization decision, of this module's
 * providers and anyone else's (a `Require not ...` would turn a grant into a
 * refusal): a visitor must reach the sign-in to sign in. Granting access
 * here skips authentication and Require altogether. */
static int authproxy_authz_routes(request_rec *r)
{
    return authproxy_is_route(r) ? OK : DECLINED;
}

void authproxy_authz_register_hooks(apr_pool_t *p)
{
    ap_hook_check_access_ex(authproxy_authz_routes, NULL, NULL, APR_HOOK_FIRST,
                            AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(authproxy_authz_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_authn(authproxy_authz_authenticate, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authz(authproxy_authz_check, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(authproxy_authz_note_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(authproxy_authz_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_output_filter(PREFLIGHT_FILTER, preflight_body_filter, NULL,
                              AP_FTYPE_CONTENT_SET);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "authjs-session",
                              AUTHZ_PROVIDER_VERSION, &session_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "authjs-claim",
                              AUTHZ_PROVIDER_VERSION, &claim_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

