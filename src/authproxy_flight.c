/* SPDX-License-Identifier: Apache-2.0 */
/* One upstream fetch per cache key at a time in a process: concurrent misses
 * for one cookie wait for the first request's fetch to land in the cache,
 * instead of asking the upstream again each; a refresh under way is not
 * waited for (authproxy_flight_take). */
#include <apr_hash.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#include "authproxy_flight.h"

/* A fetch under way in this process, keyed by its cache key. */
typedef struct {
    unsigned char key[AUTHPROXY_KEY_LEN];
    apr_thread_cond_t *cond;
    apr_pool_t *pool;
    apr_time_t started;
    int done;
    int waiters;
} flight_t;

static struct {
    apr_thread_mutex_t *mutex;
    apr_hash_t *flights;
    apr_pool_t *pool;
} inflight;

static void authproxy_flight_child_init(apr_pool_t *p, server_rec *s)
{
    apr_allocator_t *allocator;
    apr_status_t rv;

    /* flights come and go under inflight.mutex, on an allocator of their own;
     * their pools, under p, end the child when memory runs out, as httpd's
     * do. Without the allocator or the mutex each miss asks the upstream. */
    if ((rv = apr_allocator_create(&allocator)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(020)
                     "no allocator for the single flight: concurrent misses each ask the upstream");
        return;
    }
    apr_pool_create_ex(&inflight.pool, p, NULL, allocator);
    apr_allocator_owner_set(allocator, inflight.pool);
    if ((rv = apr_thread_mutex_create(&inflight.mutex, APR_THREAD_MUTEX_DEFAULT, inflight.pool))
        != APR_SUCCESS) {
        inflight.mutex = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, AUTHPROXY_LOGNO(021)
                     "no mutex for the single flight: concurrent misses each ask the upstream");
        return;
    }
    inflight.flights = apr_hash_make(inflight.pool);
}

/* The flight for `key`, under inflight.mutex; NULL after starting one (or
 * failing to: the caller goes alone, and lands nothing). */
static flight_t *flight_of(const unsigned char *key)
{
    flight_t *flight = apr_hash_get(inflight.flights, key, AUTHPROXY_KEY_LEN);
    apr_pool_t *pool;

    if (!flight) {
        apr_pool_create(&pool, inflight.pool);
        flight = apr_pcalloc(pool, sizeof(*flight));
        flight->pool = pool;
        flight->started = apr_time_now();
        memcpy(flight->key, key, AUTHPROXY_KEY_LEN);
        if (apr_thread_cond_create(&flight->cond, pool) != APR_SUCCESS) {
            apr_pool_destroy(pool);
            return NULL;
        }
        apr_hash_set(inflight.flights, flight->key, AUTHPROXY_KEY_LEN, flight);
        return NULL;
    }
    return flight;
}

int authproxy_flight_join(const unsigned char *key, apr_interval_time_t timeout)
{
    apr_interval_time_t left;
    apr_time_t until;
    flight_t *flight;

    if (!inflight.mutex) {
        return 1;
    }
    apr_thread_mutex_lock(inflight.mutex);
    if (!(flight = flight_of(key))) {
        apr_thread_mutex_unlock(inflight.mutex);
        return 1;
    }
    flight->waiters++;
    /* no longer than the fetch waited for can take: its timeout from its
     * start (libcurl's timeout is a total one), wakeups or not */
    until = flight->started + timeout;
    while (!flight->done && (left = until - apr_time_now()) > 0
           && apr_thread_cond_timedwait(flight->cond, inflight.mutex, left) == APR_SUCCESS) {
    }
    flight->waiters--;
    if (flight->done && flight->waiters == 0) {
        apr_pool_destroy(flight->pool);
    }
    apr_thread_mutex_unlock(inflight.mutex);
    return 0;
}

int authproxy_flight_take(const unsigned char *key)
{
    int taken;

    if (!inflight.mutex) {
        return 1;
    }
    apr_thread_mutex_lock(inflight.mutex);
    taken = flight_of(key) == NULL;
    apr_thread_mutex_unlock(inflight.mutex);
    return taken;
}

void authproxy_flight_land(const unsigned char *key)
{
    flight_t *flight;

    if (!inflight.mutex) {
        return;
    }
    apr_thread_mutex_lock(inflight.mutex);
    flight = apr_hash_get(inflight.flights, key, AUTHPROXY_KEY_LEN);
    if (flight) {
        apr_hash_set(inflight.flights, flight->key, AUTHPROXY_KEY_LEN, NULL);
        flight->done = 1;
        apr_thread_cond_broadcast(flight->cond);
        if (flight->waiters == 0) {
            apr_pool_destroy(flight->pool);
        }
    }
    apr_thread_mutex_unlock(inflight.mutex);
}

void authproxy_flight_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(authproxy_flight_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
