/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "authjs_session.h"

static apr_status_t release_json(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* A string member's text, NULL when it is not a string. No copy: the JSON
 * it lives in is released with the pool that holds the session. */
static const char *string_member(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)

/* A value as compact JSON, written once into the pool: a string's text is
 * at most six bytes (\u00XX) for each of its own, plus the quotes. */
static const char *json_compact(apr_pool_t *p, json_t *v)
{
    size_t size = json_is_string(v) ? 6 * json_string_length(v) + 2
                                    : json_dumpb(v, NULL, 0, DUMP_FLAGS);
    char *text = apr_palloc(p, size + 1);
    size_t len = json_dumpb(v, text, size, DUMP_FLAGS);

    text[len <= size ? len : 0] = '\0';
    return text;
}

/* A value's text for a variable or a comparison: a string itself, an
 * integer in decimal (as JSON writes it), anything else as compact JSON. */
static const char *json_text(apr_pool_t *p, json_t *v)
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_integer(v)) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    }
    return json_compact(p, v);
}

const char *authjs_iso8601(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        tm.tm_usec / 1000);
}

apr_time_t authjs_parse_iso8601(const char *s)
{
    apr_time_exp_t tm;
    apr_time_t t;
    int year, mon, day, hour, min, sec, n = 0, ms = 0;
    const char *rest;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec, &n) != 6
        || n != 19) {
        return 0;
    }
    rest = s + n;
    if (*rest == '.') {
        int digits = 0;

        for (rest++; apr_isdigit(*rest); rest++, digits++) {
            if (digits < 3) {
                ms = ms * 10 + (*rest - '0');
            }
        }
        for (; digits > 0 && digits < 3; digits++) {
            ms *= 10;
        }
    }
    if (strcmp(rest, "Z") != 0) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60
        || apr_time_exp_gmt_get(&t, &tm) != APR_SUCCESS) {
        return 0;
    }
    return t + apr_time_from_msec(ms);
}

static void add_part(struct iovec *part, int *n, const char *text)
{
    part[*n].iov_base = (void *)text;
    part[(*n)++].iov_len = strlen(text);
}

/* The session JSON Auth.js's /session would give for these claims:
 * {"user":{"name":..,"email":..,"image":..,"id":..},"expires":".."}, each
 * user member there when its claim is a string. Written from the claims'
 * own values, without building a second JSON document. */
static const char *session_json_of(apr_pool_t *p, json_t *claims, const char *expires_iso,
                                   authjs_claim_filter_fn *publish, void *ctx)
{
    static const char *const user[][2] = {
        { "name", "name" }, { "email", "email" }, { "image", "picture" }, { "id", "sub" }
    };
    struct iovec part[4 * 4 + 4];
    int i, n = 0, members = 0;

    add_part(part, &n, "{\"user\":{");
    for (i = 0; i < 4; i++) {
        json_t *v = json_object_get(claims, user[i][1]);

        if (json_is_string(v) && (!publish || publish(ctx, user[i][1], 0))) {
            add_part(part, &n, members++ ? ",\"" : "\"");
            add_part(part, &n, user[i][0]);
            add_part(part, &n, "\":");
            add_part(part, &n, json_compact(p, v));
        }
    }
    if (expires_iso) {
        /* an ISO 8601 date needs no escaping */
        add_part(part, &n, "},\"expires\":\"");
        add_part(part, &n, expires_iso);
        add_part(part, &n, "\"}");
    }
    else {
        add_part(part, &n, "}}");
    }
    return apr_pstrcatv(p, part, n, NULL);
}

authjs_session_t *authjs_session_from_claims(apr_pool_t *p, json_t *claims)
{
    authjs_session_t *s = apr_pcalloc(p, sizeof(*s));
    json_t *exp = json_object_get(claims, "exp");

    apr_pool_cleanup_register(p, claims, release_json, apr_pool_cleanup_null);
    s->claims = claims;
    s->from_token = 1;
    s->id = string_member(claims, "sub");
    s->name = string_member(claims, "name");
    s->email = string_member(claims, "email");
    s->image = string_member(claims, "picture");
    if (json_is_number(exp) && json_number_value(exp) > 0
        && json_number_value(exp) < 253402300800.0 /* year 10000 */) {
        s->expires = apr_time_from_sec((apr_time_t)json_number_value(exp));
        s->expires_iso = authjs_iso8601(p, s->expires);
    }
    s->json = session_json_of(p, claims, s->expires_iso, NULL, NULL);
    return s;
}

/* Members a /session answer's user may have: a string, or null or absent. */
static const char *const user_strings[] = { "id", "name", "email", "image", NULL };

static const char *check_user(apr_pool_t *p, json_t *user)
{
    const char *const *key;

    if (!json_is_object(user)) {
        return "answer holds no user object";
    }
    for (key = user_strings; *key; key++) {
        json_t *v = json_object_get(user, *key);

        if (v && !json_is_string(v) && !json_is_null(v)) {
            return apr_psprintf(p, "user.%s is neither a string nor null", *key);
        }
    }
    return NULL;
}

const char *authjs_session_from_answer(apr_pool_t *p, const char *body, apr_size_t len,
                                       apr_time_t now, authjs_session_t **out)
{
    authjs_session_t *s;
    json_t *answer, *user;
    const char *expires, *why;
    apr_time_t end;

    *out = NULL;
    if (len > AUTHJS_SESSION_MAX_ANSWER) {
        return apr_psprintf(p, "answer larger than %d KiB", AUTHJS_SESSION_MAX_ANSWER / 1024);
    }
    answer = json_loadb(body, len, JSON_DECODE_ANY, NULL);
    if (!answer) {
        return "answer is not JSON";
    }
    apr_pool_cleanup_register(p, answer, release_json, apr_pool_cleanup_null);
    user = json_object_get(answer, "user");
    if ((why = check_user(p, user))) {
        return why;
    }
    /* an answer proves no more than it says: without a valid end, no session */
    expires = json_string_value(json_object_get(answer, "expires"));
    end = expires ? authjs_parse_iso8601(expires) : 0;
    if (!end) {
        return "answer has no valid expires";
    }
    if (end <= now) {
        return "answer's expires has passed";
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->expires = end;
    s->claims = answer;
    s->id = string_member(user, "id");
    s->name = string_member(user, "name");
    s->email = string_member(user, "email");
    s->image = string_member(user, "image");
    s->expires_iso = authjs_iso8601(p, s->expires);
    s->json = json_text(p, answer);
    *out = s;
    return NULL;
}

static const char *claim_var_name(apr_pool_t *p, const char *claim)
{
    char *name = apr_pstrcat(p, "AUTHJS_CLAIM_", claim, NULL);
    char *c;

    for (c = name + sizeof("AUTHJS_CLAIM_") - 1; *c; c++) {
        *c = apr_isalnum(*c) && apr_isascii(*c) ? (char)apr_toupper(*c) : '_';
    }
    return name;
}

static const char *claim_value(apr_pool_t *p, json_t *v)
{
    apr_array_header_t *texts;
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        return json_text(p, v);
    }
    /* joined once, not re-copied for each element */
    texts = apr_array_make(p, (int)json_array_size(v), sizeof(const char *));
    json_array_foreach(v, i, item) {
        APR_ARRAY_PUSH(texts, const char *) = json_text(p, item);
    }
    return apr_array_pstrcat(p, texts, ',');
}

static int is_named_claim(const authjs_session_t *s, const char *key)
{
    static const char *const token_named[] = { "sub", "name", "email", "picture", NULL };
    static const char *const answer_named[] = { "user", "expires", NULL };
    const char *const *named = s->from_token ? token_named : answer_named;

    for (; *named; named++) {
        if (!strcmp(key, *named)) {
            return 1;
        }
    }
    return 0;
}

int authjs_claim_is_credential(const char *name)
{
    /* as folded: lower case, only letters and digits (access-token,
     * Access_Token and accessToken are one name) */
    static const char *const credentials[] = {
        "accesstoken", "refreshtoken", "idtoken", "password", "clientsecret", NULL
    };
    char folded[16];
    const char *const *c;
    apr_size_t n = 0;

    for (; *name; name++) {
        if (apr_isalnum(*name)) {
            if (n == sizeof(folded) - 1) {
                return 0;   /* longer than any of them */
            }
            folded[n++] = (char)apr_tolower(*name);
        }
    }
    folded[n] = '\0';
    for (c = credentials; *c; c++) {
        if (!strcmp(folded, *c)) {
            return 1;
        }
    }
    return 0;
}

static int default_filter(void *ctx, const char *name, int nested)
{
    return !authjs_claim_is_credential(name);
}

/* Copies only the objects and arrays on the way to what goes, each once. */

/* The copy of `v` that authjs_claim_strip_nested changes, made on first need. */
static json_t *copy_of(json_t *v, json_t **copy)
{
    if (!*copy) {
        *copy = json_copy(v);
    }
    return *copy;
}

/* The stripped `item` (authjs_claim_strip_nested) put at `key` or `index` of the copy
 * where it changed. */
static void put_stripped(json_t *v, json_t **copy, const char *key, size_t index, json_t *item,
                         authjs_claim_filter_fn *publish, void *ctx)
{
    json_t *stripped = authjs_claim_strip_nested(item, publish, ctx);

    if (stripped == item) {
        json_decref(stripped);
    }
    else if (key) {
        json_object_set_new(copy_of(v, copy), key, stripped);
    }
    else {
        json_array_set_new(copy_of(v, copy), index, stripped);
    }
}

json_t *authjs_claim_strip_nested(json_t *v, authjs_claim_filter_fn *publish, void *ctx)
{
    json_t *copy = NULL, *item;
    const char *key;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (!publish(ctx, key, 1)) {
                json_object_del(copy_of(v, &copy), key);
            }
            else {
                put_stripped(v, &copy, key, 0, item, publish, ctx);
            }
        }
    }
    else if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            put_stripped(v, &copy, NULL, i, item, publish, ctx);
        }
    }
    return copy ? copy : json_incref(v);
}

/* A claim's variable value without the nested members withheld. */
static const char *filtered_value(apr_pool_t *p, json_t *v, authjs_claim_filter_fn *publish,
                                  void *ctx)
{
    json_t *stripped;
    const char *text;

    if (!json_is_object(v) && !json_is_array(v)) {
        return claim_value(p, v);
    }
    stripped = authjs_claim_strip_nested(v, publish, ctx);
    text = claim_value(p, stripped);
    json_decref(stripped);
    return text;
}

/* A copy of `obj` without the members `publish` withholds (but those named
 * in `keep`), or `obj` itself when it withholds none: one pass to look, one
 * more only where something goes. */
static json_t *without_withheld(json_t *obj, authjs_claim_filter_fn *publish, void *ctx,
                                const char *keep, json_t **copy)
{
    const char *key;
    json_t *value;

    *copy = NULL;
    json_object_foreach(obj, key, value) {
        if ((!keep || strcmp(key, keep)) && !publish(ctx, key, 0)) {
            if (!*copy) {
                *copy = json_copy(obj);
            }
            json_object_del(*copy, key);
        }
    }
    return *copy ? *copy : obj;
}

/* A /session answer's JSON without the withheld members, its user's
 * included; its own text where nothing is withheld. */
static const char *answer_json(apr_pool_t *p, const authjs_session_t *s,
                               authjs_claim_filter_fn *publish, void *ctx)
{
    json_t *answer_copy, *user_copy, *answer, *user;
    const char *json;

    answer = without_withheld(s->claims, publish, ctx, "expires", &answer_copy);
    user = json_object_get(answer, "user");
    if (json_is_object(user)) {
        without_withheld(user, publish, ctx, NULL, &user_copy);
        if (user_copy) {
            if (!answer_copy) {
                answer = answer_copy = json_copy(s->claims);
            }
            json_object_set_new(answer_copy, "user", user_copy);
        }
    }
    answer = authjs_claim_strip_nested(answer, publish, ctx);
    if (answer == s->claims) {
        json_decref(answer);
        return s->json;
    }
    json = json_text(p, answer);
    json_decref(answer);
    json_decref(answer_copy);
    return json;
}

/* A token's session JSON without the withheld user claims; the one written
 * with the session where it withholds none. */
static const char *token_json(apr_pool_t *p, const authjs_session_t *s,
                              authjs_claim_filter_fn *publish, void *ctx)
{
    if (publish(ctx, "sub", 0) && publish(ctx, "name", 0) && publish(ctx, "email", 0)
        && publish(ctx, "picture", 0)) {
        return s->json;
    }
    return session_json_of(p, s->claims, s->expires_iso, publish, ctx);
}

/* AUTHJS_USER_<var> from the token's claim `claim` or the answer's
 * user.<member>, where published. */
static void user_var(const authjs_session_t *s, apr_table_t *vars, const char *var,
                     const char *value, const char *claim, const char *member,
                     authjs_claim_filter_fn *publish, void *ctx)
{
    if (!value) {
        return;
    }
    if (s->from_token ? publish(ctx, claim, 0)
                      : publish(ctx, "user", 0) && publish(ctx, member, 0)) {
        apr_table_setn(vars, var, value);
    }
}

void authjs_session_vars(apr_pool_t *p, const authjs_session_t *s, apr_table_t *vars)
{
    authjs_session_vars_filtered(p, s, default_filter, NULL, vars);
}

void authjs_session_vars_filtered(apr_pool_t *p, const authjs_session_t *s,
                                  authjs_claim_filter_fn *publish, void *ctx,
                                  apr_table_t *vars)
{
    const char *key;
    json_t *value;

    user_var(s, vars, "AUTHJS_USER_ID", s->id, "sub", "id", publish, ctx);
    user_var(s, vars, "AUTHJS_USER_NAME", s->name, "name", "name", publish, ctx);
    user_var(s, vars, "AUTHJS_USER_EMAIL", s->email, "email", "email", publish, ctx);
    user_var(s, vars, "AUTHJS_USER_IMAGE", s->image, "picture", "image", publish, ctx);
    if (s->expires_iso) {
        apr_table_setn(vars, "AUTHJS_EXPIRES", s->expires_iso);
    }
    apr_table_setn(vars, "AUTHJS_SESSION",
                   s->from_token ? token_json(p, s, publish, ctx) : answer_json(p, s, publish, ctx));
    /* Setting searches the table, where APR tells keys apart by their first
     * four bytes, "AUTH" for all of these: k claims would cost k * k. Added,
     * then made unique once (the last of two claims that give one name
     * wins, as setting did). */
    json_object_foreach(s->claims, key, value) {
        if (!is_named_claim(s, key) && publish(ctx, key, 0)) {
            apr_table_addn(vars, claim_var_name(p, key), filtered_value(p, value, publish, ctx));
        }
    }
    apr_table_compress(vars, APR_OVERLAP_TABLES_SET);
}

static json_t *lookup(json_t *obj, const char *path)
{
    const char *dot;

    while (obj && (dot = strchr(path, '.'))) {
        char key[256];
        apr_size_t len = dot - path;

        if (len >= sizeof(key)) {
            return NULL;
        }
        memcpy(key, path, len);
        key[len] = '\0';
        obj = json_object_get(obj, key);
        path = dot + 1;
    }
    return obj ? json_object_get(obj, path) : NULL;
}

json_t *authjs_session_claim(const authjs_session_t *s, const char *path)
{
    json_t *v = lookup(s->claims, path);

    if (v) {
        return v;
    }
    if (s->from_token) {
        return strncmp(path, "user.", 5) ? NULL : lookup(s->claims, path + 5);
    }
    return lookup(json_object_get(s->claims, "user"), path);
}

static void add_text(apr_pool_t *p, apr_array_header_t *texts, json_t *v)
{
    if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
        APR_ARRAY_PUSH(texts, const char *) = json_text(p, v);
    }
}

apr_array_header_t *authjs_claim_texts(apr_pool_t *p, json_t *value)
{
    apr_array_header_t *texts = apr_array_make(p, 4, sizeof(const char *));
    size_t i;
    json_t *item;

    if (json_is_array(value)) {
        json_array_foreach(value, i, item) {
            add_text(p, texts, item);
        }
    }
    else {
        add_text(p, texts, value);
    }
    return texts;
}
