/* SPDX-License-Identifier: Apache-2.0 */
/* The tokens a child has decoded, shared by its threads, and the cookies the
 * upstream said "no session" for: those stay in the child, never in the
 * shared cache, where anonymous traffic would evict real sessions. The connection's
 * memo (authproxy_memo.c) spares a kept-alive connection a second decode of
 * its cookie; this spares the next connection: a browser opens several, and
 * a front proxy may open one for every request. An entry lives in a pool of
 * its own and is counted: the memo holds it while it is listed, and every
 * request or connection that uses it holds it until it is done, so an entry
 * evicted in between is freed by its last holder. At most `limit` are
 * listed, the least recently used going first. The memo outlives every pool
 * of the child that may hold an entry: prefork destroys a child's pools from
 * its SIGTERM handler, in the middle of a request. */
#include <string.h>

#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <ap_mpm.h>

#include "authproxy.h"
#include "authproxy_decoded.h"
#include "authproxy_origin.h"

/* About 32 recent users for each of a child's threads, within bounds. */
#define ENTRIES_PER_THREAD 32
#define ENTRIES_MIN 64
#define ENTRIES_MAX 4096

typedef struct entry entry_t;
struct entry {
    authproxy_decoded_t decoded;   /* first: what the callers see */
    apr_pool_t *pool;
    const char *key;               /* settings, origin, cookie name and value */
    apr_size_t key_len;
    int refs;                      /* under memo.mutex */
    entry_t *newer, *older;
};

static struct {
    apr_thread_mutex_t *mutex;
    apr_pool_t *pool;      /* the entries' pools come from its own allocator */
    apr_hash_t *index;
    entry_t *newest, *oldest;
    int count, limit;
} memo;

/* The index hashes a key's last bytes, the token's authentication tag,
 * which tells tokens apart, instead of all of its half kilobyte or more. */
static unsigned int hash_tail(const char *key, apr_ssize_t *len)
{
    apr_ssize_t tail = *len < 48 ? *len : 48;

    return apr_hashfunc_default(key + *len - tail, &tail) ^ (unsigned int)*len;
}

/* After the child's pools (and their holds): entries not yet released go
 * with the memo's pool. */
static apr_status_t memo_gone(void *unused)
{
    apr_pool_t *pool = memo.pool;

    memo.mutex = NULL;
    memo.pool = NULL;
    apr_pool_destroy(pool);
    return APR_SUCCESS;
}

/* The memo's pools have no parent to take httpd's answer to running out of
 * memory from: they end the child, as httpd's own pools do. */
static int abort_on_oom(int retcode)
{
    ap_abort_on_oom();
}

static void authproxy_decoded_child_init(apr_pool_t *p, server_rec *s)
{
    apr_allocator_t *allocator;
    apr_thread_mutex_t *allocator_mutex;
    apr_status_t rv;
    int threads = 1;

    /* entries are built outside memo.mutex, on an allocator of their own;
     * without it, or the mutexes, the child shares no decoded token (memo.mutex
     * stays NULL) */
    if ((rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(047)
                     "no allocator for the decoded tokens: this child shares none between its "
                     "connections");
        return;
    }
    /* an evicted entry's memory goes back to the system beyond this */
    apr_allocator_max_free_set(allocator, 256 * 1024);
    apr_pool_create_unmanaged_ex(&memo.pool, abort_on_oom, allocator);
    apr_allocator_owner_set(allocator, memo.pool);
    apr_pool_cleanup_register(p, NULL, memo_gone, apr_pool_cleanup_null);
    rv = apr_thread_mutex_create(&allocator_mutex, APR_THREAD_MUTEX_DEFAULT, memo.pool);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&memo.mutex, APR_THREAD_MUTEX_DEFAULT, memo.pool);
    }
    if (rv != APR_SUCCESS) {
        memo.mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(048)
                     "no mutex for the decoded tokens: this child shares none between its "
                     "connections");
        return;
    }
    apr_allocator_mutex_set(allocator, allocator_mutex);
    memo.index = apr_hash_make_custom(memo.pool, hash_tail);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    memo.limit = threads * ENTRIES_PER_THREAD;
    memo.limit = memo.limit < ENTRIES_MIN ? ENTRIES_MIN
               : memo.limit > ENTRIES_MAX ? ENTRIES_MAX : memo.limit;
}

/* All that a decoded cookie depends on: the server's settings (its
 * keyrings), the public origin (which keyring), the cookie's name and value. */
static const char *key_of(apr_pool_t *p, request_rec *r, const authproxy_server_conf *conf,
                          const authjs_cookie_t *cookie, apr_size_t *len)
{
    const char *origin = authproxy_public_origin(r)->origin;
    apr_size_t origin_len = strlen(origin) + 1, name_len = strlen(cookie->name) + 1;
    apr_size_t value_len = strlen(cookie->value);
    char *key = apr_palloc(p, sizeof(conf) + origin_len + name_len + value_len), *at = key;

    memcpy(at, &conf, sizeof(conf));
    memcpy(at += sizeof(conf), origin, origin_len);
    memcpy(at += origin_len, cookie->name, name_len);
    memcpy(at += name_len, cookie->value, value_len);
    *len = sizeof(conf) + origin_len + name_len + value_len;
    return key;
}

/* Under memo.mutex. */
static void drop(entry_t *e)
{
    if (--e->refs == 0) {
        apr_pool_destroy(e->pool);
    }
}

static apr_status_t release(void *data)
{
    if (!memo.mutex) {      /* the child is gone, and its memo with it */
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(memo.mutex);
    drop(data);
    apr_thread_mutex_unlock(memo.mutex);
    return APR_SUCCESS;
}

/* Under memo.mutex. */
static void hold(entry_t *e, apr_pool_t *holder)
{
    e->refs++;
    apr_pool_cleanup_register(holder, e, release, apr_pool_cleanup_null);
}

/* Under memo.mutex. */
static void unlist(entry_t *e)
{
    apr_hash_set(memo.index, e->key, e->key_len, NULL);
    *(e->newer ? &e->newer->older : &memo.newest) = e->older;
    *(e->older ? &e->older->newer : &memo.oldest) = e->newer;
    memo.count--;
    drop(e);
}

/* Under memo.mutex. */
static void list_first(entry_t *e)
{
    e->newer = NULL;
    e->older = memo.newest;
    *(memo.newest ? &memo.newest->newer : &memo.oldest) = e;
    memo.newest = e;
}

/* When an entry stops counting; 0 for never. */
static apr_time_t ends(const authproxy_decoded_t *d)
{
    return d->until ? d->until : d->session->expires;
}

const authproxy_decoded_t *authproxy_decoded_find(request_rec *r,
                                                  const authproxy_server_conf *conf,
                                                  const authjs_cookie_t *cookie, apr_time_t now,
                                                  apr_pool_t *holder)
{
    apr_size_t len;
    const char *key;
    entry_t *e;

    if (!memo.mutex) {
        return NULL;
    }
    key = key_of(r->pool, r, conf, cookie, &len);
    apr_thread_mutex_lock(memo.mutex);
    e = apr_hash_get(memo.index, key, len);
    if (e && ends(&e->decoded) && now >= ends(&e->decoded)) {
        e = NULL;   /* decoded anew, within the clock-skew leeway or not at all */
    }
    if (e) {
        if (e != memo.newest) {
            *(e->older ? &e->older->newer : &memo.oldest) = e->newer;
            e->newer->older = e->older;
            list_first(e);
        }
        hold(e, holder);
    }
    apr_thread_mutex_unlock(memo.mutex);
    return e ? &e->decoded : NULL;
}

void authproxy_decoded_hold(const authproxy_decoded_t *d, apr_pool_t *holder)
{
    if (memo.mutex) {
        apr_thread_mutex_lock(memo.mutex);
        hold((entry_t *)d, holder);
        apr_thread_mutex_unlock(memo.mutex);
    }
}

authproxy_decoded_t *authproxy_decoded_new(request_rec *r, const authproxy_server_conf *conf,
                                           const authjs_cookie_t *cookie, apr_pool_t **pool)
{
    entry_t *e;

    if (!memo.mutex) {      /* no child (a unit test): the request's alone */
        *pool = r->pool;
        return apr_pcalloc(r->pool, sizeof(authproxy_decoded_t));
    }
    apr_thread_mutex_lock(memo.mutex);
    apr_pool_create(pool, memo.pool);
    e = apr_pcalloc(*pool, sizeof(*e));
    e->pool = *pool;
    hold(e, r->pool);
    apr_thread_mutex_unlock(memo.mutex);
    e->key = key_of(*pool, r, conf, cookie, &e->key_len);
    return &e->decoded;
}

void authproxy_decoded_share(authproxy_decoded_t *d)
{
    entry_t *e = (entry_t *)d, *old;

    if (!memo.mutex) {
        return;
    }
    apr_thread_mutex_lock(memo.mutex);
    if ((old = apr_hash_get(memo.index, e->key, e->key_len))) {
        unlist(old);
    }
    if (memo.count == memo.limit) {
        unlist(memo.oldest);
    }
    e->refs++;
    memo.count++;
    apr_hash_set(memo.index, e->key, e->key_len, e);
    list_first(e);
    apr_thread_mutex_unlock(memo.mutex);
}

void authproxy_decoded_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(authproxy_decoded_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
