/* SPDX-License-Identifier: Apache-2.0 */
/* Answers of the upstream's /session, kept in httpd's shared-object cache
 * (shmcb by default; memcache or redis share them across servers).
 *
 * Keys are made from the credential's identity (authproxy_identity.h): a hash
 * of all that a record depends on, never a raw token. Values are the session
 * JSON, or a refresh record (authproxy_refresh.c). A failing cache is the
 * server's trouble, not a request's: it is logged for the server. Only real
 * sessions write here ("no session" answers stay in the child that
 * heard them): anonymous traffic cannot evict what sessions need. Servers
 * with the same cache setting share one instance. */
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <http_main.h>
#include <openssl/evp.h>
#include <util_mutex.h>

#include "authproxy_cache.h"
#include "authproxy_config.h"
#include "authproxy_metrics.h"

#define MUTEX_TYPE "authproxy-cache"

struct authproxy_cache {
    const char *spec;                 /* as configured, for messages */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;        /* only for providers that need one, */
    apr_status_t mutex_rv;            /* and its child_init's failure: no cache in this child */
    apr_uint32_t *evictions;          /* sign-outs so far, in memory all children share */
};

static apr_hash_t *caches;            /* spec -> authproxy_cache_t, per configuration */

static int authproxy_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    caches = NULL;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t destroy_cache(void *data)
{
    authproxy_cache_t *cache = data;

    cache->provider->destroy(cache->instance, ap_server_conf);
    return APR_SUCCESS;
}

/* The provider a setting names; NULL for "none", and *missing for none loaded. */
static const ap_socache_provider_t *provider_of(apr_pool_t *p, const char *spec,
                                                const char **name, const char **args)
{
    const char *colon = ap_strchr_c(spec, ':');

    *name = colon ? apr_pstrmemdup(p, spec, colon - spec) : spec;
    *args = colon ? colon + 1 : NULL;
    return ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, *name, AP_SOCACHE_PROVIDER_VERSION);
}

/* What a provider is told of the entries: keys of AUTHPROXY_KEY_LEN
 * bytes, answers of about 512, kept for the server's TTL. */
static struct ap_socache_hints hints_for(const authproxy_server_conf *conf)
{
    struct ap_socache_hints hints = { AUTHPROXY_KEY_LEN, 512, 0 };

    hints.expiry_interval = apr_time_from_sec(authproxy_cache_ttl(conf));
    return hints;
}

/* Whether startup gives the server a cache: it asks the upstream, refreshes
 * sessions, keeps revocations or counts failed sign-ins. */
static int uses_cache(const authproxy_server_conf *conf)
{
    int decodes = conf->secrets && authproxy_strategy(conf) == AUTHPROXY_STRATEGY_JWT;

    return conf->upstream
           && (!decodes || authproxy_session_refresh(conf) || authproxy_revocation(conf)
               || authproxy_signin_limit(conf));
}

/* Providers whose init() may run at configtest, beside a running server or
 * while a graceful restart reads its new configuration. Read in httpd 2.4's
 * mod_socache_*.c, their init() makes state of its own in the pool it is
 * given and touches nothing a running server holds: memcache and redis parse
 * their server list (into client objects that connect on first use); dc
 * makes a context that connects per operation; shmcb maps an anonymous
 * segment where APR has them (else it would remove and create the file at
 * its configured path: the running server's). Not dbm: its init() creates
 * and expires the configured file, and destroy() unlinks it. Nor a provider
 * not read here. */
static int init_is_harmless(const char *name)
{
    static const char *const harmless[] = {
        "memcache", "redis", "dc",
#if APR_USE_SHMEM_MMAP_ANON || APR_USE_SHMEM_MMAP_ZERO || APR_USE_SHMEM_SHMGET_ANON
        "shmcb",
#endif
    };
    apr_size_t i;

    for (i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++) {
        if (!strcasecmp(name, harmless[i])) {
            return 1;
        }
    }
    return 0;
}

/* dbm's init() cannot run here: what it would refuse of a path that create()
 * took is a file in a directory that is not there. */
static int has_directory(apr_pool_t *p, const char *path)
{
    const char *full = ap_server_root_relative(p, path);
    const char *slash = full ? strrchr(full, '/') : NULL;
    apr_finfo_t finfo;

    return slash && apr_stat(&finfo, slash == full ? "/" : apr_pstrmemdup(p, full, slash - full),
                             APR_FINFO_TYPE, p) == APR_SUCCESS
           && finfo.filetype == APR_DIR;
}

/* What startup does with a setting, at configtest: create() with its
 * arguments and, where that is harmless, init(), which is where some
 * providers first look at them (memcache's server list), in ptemp and a
 * namespace of its own, and destroy() at once. */
static int check_setting(apr_pool_t *ptemp, server_rec *s, const authproxy_server_conf *conf,
                         const ap_socache_provider_t *provider, const char *name,
                         const char *args)
{
    const char *spec = authproxy_cache_spec(conf);
    struct ap_socache_hints hints = hints_for(conf);
    ap_socache_instance_t *instance;
    const char *err = provider->create(&instance, args, ptemp, ptemp);
    apr_status_t rv;

    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(031)
                     "%s %s: %s", AUTHPROXY_DIR_CACHE, spec, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!strcasecmp(name, "dbm") && args && *args && !has_directory(ptemp, args)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(032)
                     "%s %s: the DBM file's directory does not "
                     "exist", AUTHPROXY_DIR_CACHE, spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!init_is_harmless(name)) {
        return OK;
    }
    /* memcache's keys begin with the namespace: at most 14 characters */
    rv = provider->init(instance, "authproxy-chk", &hints, s, ptemp);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, AUTHPROXY_LOGNO(033)
                     "%s %s: cannot initialise the cache",
                     AUTHPROXY_DIR_CACHE, spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    provider->destroy(instance, s);
    return OK;
}

/* At configtest already: a provider named explicitly where an upstream is set
 * must be loaded, and each setting a server will use must pass what startup
 * does with it (a graceful restart that fails there stops httpd). */
int authproxy_cache_check_config(apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *checked = apr_hash_make(ptemp);

    for (; s; s = s->next) {
        const authproxy_server_conf *conf = authproxy_sconf(s);
        const char *spec = authproxy_cache_spec(conf), *name, *args;
        const ap_socache_provider_t *provider;

        if (!conf->upstream || !strcasecmp(spec, "none")) {
            continue;
        }
        provider = provider_of(ptemp, spec, &name, &args);
        if (!provider && conf->cache_spec) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(034)
                         "%s %s: no socache provider '%s' is "
                         "loaded: enable it with 'a2enmod socache_%s'", AUTHPROXY_DIR_CACHE,
                         spec, name, name);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* the default missing, startup runs without a cache and says so */
        if (!provider || !uses_cache(conf) || apr_hash_get(checked, spec, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(checked, spec, APR_HASH_KEY_STRING, spec);
        if (check_setting(ptemp, s, conf, provider, name, args) != OK) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* The cache a server's setting names, created on first use; NULL for none. */
static int cache_for(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                     authproxy_cache_t **out)
{
    const authproxy_server_conf *conf = authproxy_sconf(s);
    const char *spec = authproxy_cache_spec(conf);
    const char *name, *args, *err;
    struct ap_socache_hints hints = hints_for(conf);
    authproxy_cache_t *cache;
    apr_shm_t *shm;
    apr_status_t rv;

    *out = NULL;
    if (!strcasecmp(spec, "none")) {
        return OK;
    }
    if ((*out = apr_hash_get(caches, spec, APR_HASH_KEY_STRING))) {
        return OK;
    }
    cache = apr_pcalloc(pconf, sizeof(*cache));
    cache->spec = spec;
    cache->provider = provider_of(ptemp, spec, &name, &args);
    if (!cache->provider) {
        /* only the default can be missing here (check_config refused the rest):
         * run without, and say how to get it */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, AUTHPROXY_LOGNO(035)
                     "no session cache: the socache "
                     "provider %s is not loaded (a2enmod socache_%s, or %s none)",
                     name, name, AUTHPROXY_DIR_CACHE);
        return OK;
    }
    rv = apr_shm_create(&shm, sizeof(*cache->evictions), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, AUTHPROXY_LOGNO(036)
                     "%s %s: no shared memory for it",
                     AUTHPROXY_DIR_CACHE, spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    cache->evictions = apr_shm_baseaddr_get(shm);
    apr_atomic_set32(cache->evictions, 0);
    err = cache->provider->create(&cache->instance, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, AUTHPROXY_LOGNO(037)
                     "%s %s: %s", AUTHPROXY_DIR_CACHE, spec, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache->mutex, NULL, MUTEX_TYPE,
                                    apr_psprintf(ptemp, "%u", apr_hash_count(caches)),
                                    s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, AUTHPROXY_LOGNO(038)
                         "%s %s: cannot create its mutex",
                         AUTHPROXY_DIR_CACHE, spec);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    rv = cache->provider->init(cache->instance,
                               apr_psprintf(pconf, "authproxy-%u", apr_hash_count(caches)),
                               &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, AUTHPROXY_LOGNO(039)
                     "%s %s: cannot initialise the cache",
                     AUTHPROXY_DIR_CACHE, spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, cache, destroy_cache, apr_pool_cleanup_null);
    apr_hash_set(caches, spec, APR_HASH_KEY_STRING, cache);
    *out = cache;
    return OK;
}

/* Servers that ask the upstream keep its answers; servers that refresh sessions
 * keep their refresh records. Local decoding alone needs no cache. */
int authproxy_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s)
{
    caches = apr_hash_make(pconf);
    for (; s; s = s->next) {
        authproxy_server_conf *conf = authproxy_sconf(s);
        int rc;

        if (!uses_cache(conf)) {
            continue;
        }
        if ((rc = cache_for(pconf, ptemp, s, &conf->cache)) != OK) {
            return rc;
        }
    }
    return OK;
}

static void authproxy_cache_child_init(apr_pool_t *p, server_rec *s)
{
    apr_hash_index_t *hi;

    for (hi = caches ? apr_hash_first(p, caches) : NULL; hi; hi = apr_hash_next(hi)) {
        authproxy_cache_t *cache = apr_hash_this_val(hi);

        if (!cache->mutex) {
            continue;
        }
        cache->mutex_rv = apr_global_mutex_child_init(&cache->mutex,
                                                      apr_global_mutex_lockfile(cache->mutex), p);
        if (cache->mutex_rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, cache->mutex_rv, s, AUTHPROXY_LOGNO(040)
                         "%s %s: its mutex does not "
                         "open in this child: every lookup and store fails here",
                         AUTHPROXY_DIR_CACHE, cache->spec);
        }
    }
}

/* The records' key prefixes: the kind of record comes first. */
static const char *const record_names[AUTHPROXY_RECORDS] = { "session", "refresh" };

/* SHA-256 of `parts`, each ended by a NUL (none holds one) but the last,
 * into `key`: 0 when OpenSSL fails. */
static int digest(const char *const *parts, int n, unsigned char *key)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = AUTHPROXY_KEY_LEN;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int i;

    for (i = 0; ok && i < n; i++) {
        ok = EVP_DigestUpdate(md, parts[i], strlen(parts[i]) + (i < n - 1));
    }
    ok = ok && EVP_DigestFinal_ex(md, key, &len);
    EVP_MD_CTX_free(md);
    return ok;
}

const unsigned char *authproxy_cache_key(authproxy_identity_t *id, authproxy_record_e record)
{
    /* a refresh and a sign-out hold under every origin of the server */
    const char *parts[5] = { record_names[record], id->conf->cache_scope, id->origin->origin,
                             id->cookie.name, id->cookie.value };
    int skip_origin = record == AUTHPROXY_RECORD_REFRESH;

    if (id->key_made[record]) {
        return id->keys[record];
    }
    if (skip_origin) {
        parts[2] = parts[3];
        parts[3] = parts[4];
    }
    if (!(id->key_made[record] = digest(parts, 5 - skip_origin, id->keys[record]))) {
        return NULL;
    }
    if (record == AUTHPROXY_RECORD_SESSION) {
        authproxy_identity_none_key(id, id->keys[record]);
    }
    return id->keys[record];
}

/* A provider that needs the mutex is never used without it: a failure to
 * lock is the cache's. */
static apr_status_t lock(const authproxy_cache_t *cache)
{
    if (!cache->mutex) {
        return APR_SUCCESS;
    }
    return cache->mutex_rv != APR_SUCCESS ? cache->mutex_rv : apr_global_mutex_lock(cache->mutex);
}

static void unlock(const authproxy_cache_t *cache)
{
    if (cache->mutex) {
        apr_global_mutex_unlock(cache->mutex);
    }
}

/* What a record may hold, and what a request does when it cannot be read. */
static const struct {
    unsigned int capacity;
    const char *instead;
} records[AUTHPROXY_RECORDS] = {
    { AUTHJS_SESSION_MAX_ANSWER, "asking the upstream" },
    /* a time or "out" */
    { 32, "no refresh now" },
};

/* The entry under `key`, of at most `capacity` bytes; a failure is logged with
 * what the request does `instead`. */
static apr_status_t retrieve(const authproxy_server_conf *conf, server_rec *s, apr_pool_t *p,
                             const unsigned char *key, unsigned int capacity,
                             const char *instead, const char **value, apr_size_t *len)
{
    const authproxy_cache_t *cache = conf->cache;
    unsigned int got = capacity;
    unsigned char *buf = apr_palloc(p, capacity + 1);
    apr_status_t rv = key ? lock(cache) : APR_ENOMEM;

    *value = NULL;
    if (rv == APR_SUCCESS) {
        rv = cache->provider->retrieve(cache->instance, s, key, AUTHPROXY_KEY_LEN, buf, &got, p);
        unlock(cache);
    }
    if (rv == APR_SUCCESS) {
        buf[got] = '\0';
        *value = (const char *)buf;
        *len = got;
    }
    else if (key && APR_STATUS_IS_ENOMEM(rv)) {
        /* what a provider says of an entry larger than the buffer */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, AUTHPROXY_LOGNO(042)
                     "session cache %s holds an entry "
                     "larger than %u bytes: %s", cache->spec, capacity, instead);
    }
    else if (!APR_STATUS_IS_NOTFOUND(rv)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(043)
                     "session cache %s failed: %s", cache->spec, instead);
    }
    return rv;
}

apr_status_t authproxy_cache_get(authproxy_identity_t *id, authproxy_record_e record,
                                 const char **value, apr_size_t *len)
{
    apr_status_t rv = retrieve(id->conf, id->server, id->pool, authproxy_cache_key(id, record),
                               records[record].capacity, records[record].instead, value, len);

    if (record == AUTHPROXY_RECORD_SESSION) {
        authproxy_metrics_lookup(id->conf, rv == APR_SUCCESS ? AUTHPROXY_LOOKUP_HIT
                                           : APR_STATUS_IS_NOTFOUND(rv) ? AUTHPROXY_LOOKUP_MISS
                                           : AUTHPROXY_LOOKUP_ERROR);
    }
    return rv;
}

/* memcached takes a lifetime longer than 30 days for a date, in the past:
 * the entry would be gone as it is stored, and the store said to succeed. */
#define MAX_LIFETIME apr_time_from_sec(30 * 86400)

/* Keeps `value` under `key` until `expiry`; a failure is logged. */
static apr_status_t store(const authproxy_server_conf *conf, server_rec *s, apr_pool_t *p,
                          const unsigned char *key, const char *value, apr_time_t expiry)
{
    const authproxy_cache_t *cache = conf->cache;
    apr_time_t latest = apr_time_now() + MAX_LIFETIME;
    apr_status_t rv = key ? lock(cache) : APR_ENOMEM;

    if (expiry > latest) {
        expiry = latest;
    }
    if (rv == APR_SUCCESS) {
        rv = cache->provider->store(cache->instance, s, key, AUTHPROXY_KEY_LEN, expiry,
                                    (unsigned char *)value, (unsigned int)strlen(value), p);
        unlock(cache);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(044)
                     "session cache %s: cannot store", cache->spec);
    }
    return rv;
}

apr_status_t authproxy_cache_put(authproxy_identity_t *id, authproxy_record_e record,
                                 const char *value, apr_time_t expiry)
{
    return store(id->conf, id->server, id->pool, authproxy_cache_key(id, record), value, expiry);
}

/* A named record's key: its purpose, the scope and its name. */
static const unsigned char *named_key(const authproxy_server_conf *conf, apr_pool_t *p,
                                      const char *purpose, const char *name)
{
    const char *parts[3] = { purpose, conf->cache_scope, name };
    unsigned char *key = apr_palloc(p, AUTHPROXY_KEY_LEN);

    return digest(parts, 3, key) ? key : NULL;
}

apr_status_t authproxy_cache_get_named(const authproxy_server_conf *conf, server_rec *s,
                                       apr_pool_t *p, const char *purpose, const char *name,
                                       const char *instead, const char **value)
{
    apr_size_t len;

    return retrieve(conf, s, p, named_key(conf, p, purpose, name), AUTHPROXY_NAMED_CAPACITY,
                    instead, value, &len);
}

apr_status_t authproxy_cache_put_named(const authproxy_server_conf *conf, server_rec *s,
                                       apr_pool_t *p, const char *purpose, const char *name,
                                       const char *value, apr_time_t expiry)
{
    return store(conf, s, p, named_key(conf, p, purpose, name), value, expiry);
}

apr_status_t authproxy_cache_put_session(authproxy_identity_t *id,
                                         const authjs_session_t *session)
{
    apr_time_t now = apr_time_now();
    apr_time_t expiry = now + apr_time_from_sec(authproxy_cache_ttl(id->conf));

    /* never past the session's own end */
    if (session->expires && session->expires < expiry) {
        expiry = session->expires;
    }
    /* a session at its end is none */
    return expiry > now ? authproxy_cache_put(id, AUTHPROXY_RECORD_SESSION, session->json, expiry)
                        : APR_EGENERAL;
}

/* Removes the entry under `key`; an absent one is no failure. */
static apr_status_t discard(const authproxy_cache_t *cache, server_rec *s, apr_pool_t *p,
                            const unsigned char *key)
{
    apr_status_t rv = key ? lock(cache) : APR_ENOMEM;

    if (rv == APR_SUCCESS) {
        rv = cache->provider->remove(cache->instance, s, key, AUTHPROXY_KEY_LEN, p);
        unlock(cache);
    }
    return APR_STATUS_IS_NOTFOUND(rv) ? APR_SUCCESS : rv;
}

apr_status_t authproxy_cache_remove_named(const authproxy_server_conf *conf, server_rec *s,
                                          apr_pool_t *p, const char *purpose, const char *name)
{
    apr_status_t rv = discard(conf->cache, s, p, named_key(conf, p, purpose, name));

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(089)
                     "session cache %s: cannot remove a %s record", conf->cache->spec, purpose);
    }
    return rv;
}

apr_status_t authproxy_cache_forget(authproxy_identity_t *id)
{
    const authproxy_cache_t *cache = id->conf->cache;
    apr_status_t rv = discard(cache, id->server, id->pool,
                              authproxy_cache_key(id, AUTHPROXY_RECORD_SESSION));

    apr_atomic_inc32(cache->evictions);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, id->server, AUTHPROXY_LOGNO(045)
                     "session cache %s: cannot remove "
                     "a signed-out session", cache->spec);
        return rv;
    }
    return APR_SUCCESS;
}

apr_uint32_t authproxy_cache_evictions(const authproxy_server_conf *conf)
{
    return apr_atomic_read32(conf->cache->evictions);
}

void authproxy_cache_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(authproxy_cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(authproxy_cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
