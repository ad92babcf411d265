/* SPDX-License-Identifier: Apache-2.0 */
/* The sessions a child resolved, shared by its threads and connections: a
 * token decoded, a shared-cache entry parsed, or the upstream's "no session"
 * for a cookie (which stays in the child, never in the shared cache, where
 * anonymous traffic would evict real sessions). A browser sends its cookie
 * with every request, over several connections, and a front proxy may open
 * one for every request: each is decoded or parsed once per child. An entry
 * lives in a pool of its own and is counted: the store holds it while it is
 * listed, and every request that uses it holds it until it is done, so an
 * entry evicted in between is freed by its last holder. At most `limit` are
 * listed, the least recently used going first. The store outlives every pool
 * of the child that may hold an entry: prefork destroys a child's pools from
 * its SIGTERM handler, in the middle of a request.
 *
 * A kept-alive connection brings the same cookie with each of its requests:
 * it holds the session entry it last used, and takes it again without the
 * store's lock while the store lists it (worth about 15% of a request in
 * bench/run.sh's 2/1 and 3/1); so each open connection may keep one entry
 * beyond the store's share until its next request or its end. A
 * connection serves one request at a time (an HTTP/2 stream has a connection
 * of its own), so that needs no lock; counts are atomic, the rest of an
 * entry does not change once it is listed, and the entry's last check the
 * connection keeps a copy of, which the store's is written over only under
 * its lock. */
#include <string.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <ap_mpm.h>

#include "authproxy_store.h"

/* About 32 recent users for each of a child's threads, within bounds. */
#define ENTRIES_PER_THREAD 32
#define ENTRIES_MIN 64
#define ENTRIES_MAX 4096

typedef struct entry entry_t;
struct entry {
    authproxy_stored_t stored;     /* first: what the callers see */
    apr_pool_t *pool;
    const char *key;               /* the identity's store key */
    apr_size_t key_len;
    authproxy_stored_check_t check;    /* under store.mutex, */
    entry_t *newer, *older;            /* as these */
    apr_uint32_t refs;                 /* atomic */
    apr_uint32_t listed;               /* atomic: taken off, a connection takes it no more */
    apr_uint64_t revocation;           /* atomic */
};

/* A connection's last entry, held by it, and the entry's check then. */
struct authproxy_stored_last {
    entry_t *entry;
    authproxy_stored_check_t check;
};

static struct {
    apr_thread_mutex_t *mutex;
    apr_pool_t *pool;      /* the entries' pools come from its own allocator */
    apr_hash_t *index;
    entry_t *newest, *oldest;
    int count, limit;
} store;

/* The index hashes a key's last bytes, the token's authentication tag,
 * which tells tokens apart, instead of all of its half kilobyte or more. */
static unsigned int hash_tail(const char *key, apr_ssize_t *len)
{
    apr_ssize_t tail = *len < 48 ? *len : 48;

    return apr_hashfunc_default(key + *len - tail, &tail) ^ (unsigned int)*len;
}

/* After the child's pools (and their holds): entries not yet released go
 * with the store's pool. */
static apr_status_t store_gone(void *unused)
{
    apr_pool_t *pool = store.pool;

    store.mutex = NULL;
    store.pool = NULL;
    apr_pool_destroy(pool);
    return APR_SUCCESS;
}

/* The store's pools have no parent to take httpd's answer to running out of
 * memory from: they end the child, as httpd's own pools do. */
static int abort_on_oom(int retcode)
{
    ap_abort_on_oom();
}

static void authproxy_store_child_init(apr_pool_t *p, server_rec *s)
{
    apr_allocator_t *allocator;
    apr_thread_mutex_t *allocator_mutex;
    apr_status_t rv;
    int threads = 1;

    /* entries are built outside store.mutex, on an allocator of their own;
     * without it, or the mutexes, the child shares no session (store.mutex
     * stays NULL) */
    if ((rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(047)
                     "no allocator for the session store: "
                     "this child resolves each request's session anew");
        return;
    }
    /* an evicted entry's memory goes back to the system beyond this */
    apr_allocator_max_free_set(allocator, 256 * 1024);
    apr_pool_create_unmanaged_ex(&store.pool, abort_on_oom, allocator);
    apr_allocator_owner_set(allocator, store.pool);
    apr_pool_cleanup_register(p, NULL, store_gone, apr_pool_cleanup_null);
    rv = apr_thread_mutex_create(&allocator_mutex, APR_THREAD_MUTEX_DEFAULT, store.pool);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&store.mutex, APR_THREAD_MUTEX_DEFAULT, store.pool);
    }
    if (rv != APR_SUCCESS) {
        store.mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(048)
                     "no mutex for the session store: "
                     "this child resolves each request's session anew");
        return;
    }
    apr_allocator_mutex_set(allocator, allocator_mutex);
    store.index = apr_hash_make_custom(store.pool, hash_tail);
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    store.limit = threads * ENTRIES_PER_THREAD;
    store.limit = store.limit < ENTRIES_MIN ? ENTRIES_MIN
               : store.limit > ENTRIES_MAX ? ENTRIES_MAX : store.limit;
}

/* The entry's pool is one of store.pool's, whose allocator's mutex guards
 * the pools' list: it goes with its last holder, under store.mutex or not. */
static void drop(entry_t *e)
{
    if (apr_atomic_dec32(&e->refs) == 0) {
        apr_pool_destroy(e->pool);
    }
}

static apr_status_t release(void *data)
{
    if (store.mutex) {      /* else the child is gone, and its store with it */
        drop(data);
    }
    return APR_SUCCESS;
}

/* By one that holds the entry, or under store.mutex while it is listed. */
static void hold(entry_t *e, apr_pool_t *holder)
{
    apr_atomic_inc32(&e->refs);
    apr_pool_cleanup_register(holder, e, release, apr_pool_cleanup_null);
}

/* Under store.mutex. */
static void unlist(entry_t *e)
{
    apr_atomic_set32(&e->listed, 0);
    apr_hash_set(store.index, e->key, e->key_len, NULL);
    *(e->newer ? &e->newer->older : &store.newest) = e->older;
    *(e->older ? &e->older->newer : &store.oldest) = e->newer;
    store.count--;
    drop(e);
}

/* Under store.mutex. */
static void list_first(entry_t *e)
{
    e->newer = NULL;
    e->older = store.newest;
    *(store.newest ? &store.newest->newer : &store.oldest) = e;
    store.newest = e;
}

/* When an entry stops counting; 0 for never. */
static apr_time_t ends(const authproxy_stored_t *stored)
{
    return stored->until ? stored->until
           : stored->session ? stored->session->expires : 0;
}

/* The identity's key for that kind of entry; NULL for none. */
static const char *key_of(const authproxy_identity_t *id, authproxy_stored_e kind,
                          apr_size_t *len)
{
    *len = kind == AUTHPROXY_STORED_NONE ? id->none_key_len : id->store_key_len;
    return kind == AUTHPROXY_STORED_NONE ? id->none_key : id->store_key;
}

/* The connection's last entry, when it is the key's, has not ended and is
 * still the store's (not replaced by a newer one of the key, nor evicted). */
static entry_t *last_used(struct authproxy_stored_last *last, const char *key, apr_size_t len,
                          apr_time_t now)
{
    entry_t *e = last ? last->entry : NULL;

    return e && apr_atomic_read32(&e->listed) && e->key_len == len && !memcmp(e->key, key, len)
           && !(ends(&e->stored) && now >= ends(&e->stored)) ? e : NULL;
}

/* Under store.mutex: the credential's connection holds `e` instead of its
 * last entry. */
static void remember(const authproxy_identity_t *id, entry_t *e)
{
    apr_pool_t *pool = id->connection->pool;
    struct authproxy_stored_last *last = *id->last;

    if (!last) {
        last = *id->last = apr_pcalloc(pool, sizeof(*last));
    }
    if (last->entry) {
        apr_pool_cleanup_kill(pool, last->entry, release);
        drop(last->entry);
    }
    hold(e, pool);
    last->entry = e;
    last->check = e->check;
}

const authproxy_stored_t *authproxy_store_find(authproxy_identity_t *id, authproxy_stored_e kind,
                                               apr_time_t now, authproxy_stored_check_t *check)
{
    struct authproxy_stored_last *last;
    apr_size_t len;
    const char *key = key_of(id, kind, &len);
    entry_t *e;

    if (!store.mutex || !key) {
        return NULL;
    }
    last = *id->last;
    if ((e = last_used(last, key, len, now))) {
        hold(e, id->pool);
        if (check) {
            *check = last->check;
        }
        return &e->stored;
    }
    apr_thread_mutex_lock(store.mutex);
    e = apr_hash_get(store.index, key, len);
    if (e && ends(&e->stored) && now >= ends(&e->stored)) {
        e = NULL;   /* resolved anew: a token within the clock-skew leeway or not at all */
    }
    if (e) {
        if (e != store.newest) {
            *(e->older ? &e->older->newer : &store.oldest) = e->newer;
            e->newer->older = e->older;
            list_first(e);
        }
        hold(e, id->pool);
        /* a session, which the connection's next request brings again; not
         * a made-up cookie's "no session" */
        if (kind == AUTHPROXY_STORED_SESSION) {
            remember(id, e);
        }
        if (check) {
            *check = e->check;
        }
    }
    apr_thread_mutex_unlock(store.mutex);
    return e ? &e->stored : NULL;
}

/* A new entry of that kind for the credential, whose session and vars the
 * caller builds in *pool; held until the request's pool is cleared. */
static authproxy_stored_t *store_new(authproxy_identity_t *id, authproxy_stored_e kind,
                                     apr_pool_t **pool)
{
    apr_size_t len;
    const char *key = key_of(id, kind, &len);
    entry_t *e;

    /* no child (a unit test), or no key: the request's alone, never shared */
    if (!store.mutex || !key) {
        *pool = id->pool;
        return &((entry_t *)apr_pcalloc(id->pool, sizeof(*e)))->stored;
    }
    apr_pool_create(pool, store.pool);
    e = apr_pcalloc(*pool, sizeof(*e));
    e->pool = *pool;
    hold(e, id->pool);
    e->key = apr_pmemdup(*pool, key, len);
    e->key_len = len;
    return &e->stored;
}

/* Gives the built entry to the child's other requests: it replaces an older
 * one of the credential, and the least recently used one goes when the child
 * holds its share. */
static void share(authproxy_stored_t *stored, const authproxy_stored_check_t *check)
{
    entry_t *e = (entry_t *)stored, *old;

    if (!store.mutex || !e->key) {
        return;
    }
    apr_thread_mutex_lock(store.mutex);
    if (check) {
        e->check = *check;
    }
    if ((old = apr_hash_get(store.index, e->key, e->key_len))) {
        unlist(old);
    }
    if (store.count == store.limit) {
        unlist(store.oldest);
    }
    apr_atomic_inc32(&e->refs);
    apr_atomic_set32(&e->listed, 1);
    store.count++;
    apr_hash_set(store.index, e->key, e->key_len, e);
    list_first(e);
    apr_thread_mutex_unlock(store.mutex);
}

/* A session's AUTHJS_* variables but the source, built once with it. */
static const apr_table_t *vars_of(apr_pool_t *pool, const authjs_session_t *session)
{
    apr_table_t *vars = apr_table_make(pool, 16);

    authjs_session_vars(pool, session, vars);
    return vars;
}

const authproxy_stored_t *authproxy_store_decoded(authproxy_identity_t *id, json_t *claims)
{
    apr_pool_t *pool;
    authproxy_stored_t *stored = store_new(id, AUTHPROXY_STORED_SESSION, &pool);

    stored->session = authjs_session_from_claims(pool, claims);
    stored->vars = vars_of(pool, stored->session);
    share(stored, NULL);
    return stored;
}

const authproxy_stored_t *authproxy_store_answer(authproxy_identity_t *id, const char *answer,
                                                 apr_size_t len,
                                                 const authproxy_stored_check_t *check,
                                                 const char **why)
{
    apr_pool_t *pool;
    authproxy_stored_t *stored = store_new(id, AUTHPROXY_STORED_SESSION, &pool);
    authjs_session_t *session;

    *why = authjs_session_from_answer(pool, answer, len, check->checked, &session);
    if (*why || !session) {
        *why = *why ? *why : "no session";
        return NULL;
    }
    stored->answer = apr_pmemdup(pool, answer, len);
    stored->answer_len = len;
    stored->session = session;
    stored->vars = vars_of(pool, session);
    share(stored, check);
    return stored;
}

void authproxy_store_none(authproxy_identity_t *id)
{
    int ttl = authproxy_cache_negative_ttl(id->conf);
    apr_pool_t *pool;
    authproxy_stored_t *none;

    if (ttl > 0) {
        none = store_new(id, AUTHPROXY_STORED_NONE, &pool);
        none->until = apr_time_now() + apr_time_from_sec(ttl);
        share(none, NULL);
    }
}

void authproxy_store_checked(authproxy_identity_t *id, const authproxy_stored_t *stored,
                             const authproxy_stored_check_t *check)
{
    entry_t *e = (entry_t *)stored;
    struct authproxy_stored_last *last;

    if (store.mutex && e->key) {
        apr_thread_mutex_lock(store.mutex);
        e->check = *check;
        apr_thread_mutex_unlock(store.mutex);
        if ((last = *id->last) && last->entry == e) {
            last->check = *check;
        }
    }
}

apr_uint64_t authproxy_store_revocation(const authproxy_stored_t *stored)
{
    return apr_atomic_read64(&((entry_t *)stored)->revocation);
}

void authproxy_store_set_revocation(const authproxy_stored_t *stored, apr_uint64_t generation)
{
    entry_t *e = (entry_t *)stored;
    apr_uint64_t was;

    /* once revoked, for good */
    do {
        was = apr_atomic_read64(&e->revocation);
    } while (was != AUTHPROXY_STORED_REVOKED
             && apr_atomic_cas64(&e->revocation, generation, was) != was);
}

void authproxy_store_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(authproxy_store_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
