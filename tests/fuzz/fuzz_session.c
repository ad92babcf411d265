/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: arbitrary bytes as an upstream /session answer, then flattened;
 * and, where they are a JSON object, as a token's claims, whose AUTHJS_SESSION
 * must be JSON that says the same name, email, image and id. */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>

#include "authjs_session.h"
#include "fuzz_pool.h"


static void same_string(json_t *claims, const char *claim, json_t *user, const char *member)
{
    json_t *v = json_object_get(claims, claim), *w = json_object_get(user, member);

    if (json_is_string(v) ? !json_is_string(w) || strcmp(json_string_value(v),
                                                         json_string_value(w)) : w != NULL) {
        abort();
    }
}

static void as_claims(apr_pool_t *p, const uint8_t *data, size_t size)
{
    json_t *claims = json_loadb((const char *)data, size, 0, NULL), *json;
    authjs_session_t *s;

    if (!json_is_object(claims)) {
        json_decref(claims);
        return;
    }
    s = authjs_session_from_claims(p, claims);
    authjs_session_vars(p, s, apr_table_make(p, 8));
    if (!(json = json_loads(s->json, 0, NULL))) {
        abort();
    }
    same_string(claims, "name", json_object_get(json, "user"), "name");
    same_string(claims, "email", json_object_get(json, "user"), "email");
    same_string(claims, "picture", json_object_get(json, "user"), "image");
    same_string(claims, "sub", json_object_get(json, "user"), "id");
    json_decref(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    authjs_session_t *s;
    const char *why;

    apr_pool_create(&p, fuzz_pool);
    /* now = 0: every parsable expires lies ahead, so valid answers go all the way */
    why = authjs_session_from_answer(p, (const char *)data, size, 0, &s);
    if ((why == NULL) != (s != NULL)) {
        abort();
    }
    if (s) {
        authjs_session_vars(p, s, apr_table_make(p, 8));
    }
    as_claims(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
