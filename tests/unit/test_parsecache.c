/* pool.xml parsed once per answer: the same bytes under the same key share one model, one byte
 * more or less gives a model of its own, a model replaced while a request reads it lives until
 * that request's pool is cleared (ASan would see it freed), refused documents and large ones are
 * never kept, and threads reading two alternating answers each get the model of their bytes. */
#include "papi_test.h"
#include "papi_parsecache.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <string.h>

#define KEY "/tmp/reg/passenger.aaaaaaa\n/pool.xml"

/* The first process's pid in the model. */
static apr_int64_t first_pid(const papi_procpool *pp)
{
    const papi_procpool_group *g = APR_ARRAY_IDX(pp->groups, 0, const papi_procpool_group *);

    return APR_ARRAY_IDX(g->processes, 0, const papi_procpool_process *)->pid;
}

/* The sample pool.xml with its first pid replaced by pid (four digits: the same length). */
static const char *with_pid(apr_pool_t *p, const char *pid)
{
    char *xml = apr_pstrdup(p, papi_test_sample_body(p, "core_GET_pool.xml.http"));
    char *at = strstr(xml, "<pid>3576</pid>");

    assert_non_null(at);
    memcpy(at + 5, pid, 4);
    return xml;
}

static const papi_procpool *parse(papi_parsecache *c, apr_pool_t *p, const char *key,
                                  const char *xml)
{
    const papi_procpool *pp = NULL;
    const char *why = papi_parsecache_parse(c, p, key, xml, strlen(xml), &pp);

    if (why)
        fail_msg("refused: %s", why);
    assert_non_null(pp);
    return pp;
}

static apr_pool_t *request_pool(apr_pool_t *p)
{
    apr_pool_t *r;

    assert_int_equal(apr_pool_create(&r, p), APR_SUCCESS);
    return r;
}

static void same_bytes_share_one_model(void **state)
{
    apr_pool_t *p = *state, *r1 = request_pool(p), *r2 = request_pool(p);
    papi_parsecache *c = papi_parsecache_create(p);
    const char *xml = with_pid(p, "1234");
    const papi_procpool *a = parse(c, r1, KEY, xml);

    /* Another request's copy of the same answer. */
    assert_ptr_equal(parse(c, r2, KEY, apr_pstrdup(r2, xml)), a);
    assert_int_equal(first_pid(a), 1234);
    assert_int_equal(a->process_count, 2);
    apr_pool_destroy(r1);
    assert_int_equal(first_pid(a), 1234);      /* r2 still holds it */
    apr_pool_destroy(r2);
    /* Kept by its slot with no request: the next identical answer still shares it. */
    assert_ptr_equal(parse(c, p, KEY, xml), a);
}

static void other_bytes_other_model_and_the_old_one_lives_on(void **state)
{
    apr_pool_t *p = *state, *r1 = request_pool(p), *r2 = request_pool(p);
    papi_parsecache *c = papi_parsecache_create(p);
    const papi_procpool *a = parse(c, r1, KEY, with_pid(p, "1234"));
    const papi_procpool *b = parse(c, r2, KEY, with_pid(p, "5678"));

    assert_ptr_not_equal(a, b);
    assert_int_equal(first_pid(b), 5678);
    /* a left its slot for b, but r1 still reads it. */
    assert_int_equal(first_pid(a), 1234);
    apr_pool_destroy(r1);
    apr_pool_destroy(r2);
    assert_ptr_not_equal(parse(c, p, KEY, with_pid(p, "1234")), b);
}

static void keys_do_not_mix(void **state)
{
    apr_pool_t *p = *state;
    papi_parsecache *c = papi_parsecache_create(p);
    const char *xml = with_pid(p, "1234");
    const papi_procpool *a = parse(c, p, KEY, xml);
    int i;

    assert_ptr_not_equal(parse(c, p, "/tmp/reg/passenger.bbbbbbb\n/pool.xml", xml), a);
    /* More keys than slots: each still gets the model of its bytes. */
    for (i = 0; i < 3 * PAPI_PARSECACHE_SLOTS; i++) {
        const char *pid = apr_psprintf(p, "%04d", 1000 + i);
        const char *key = apr_psprintf(p, "/tmp/reg/passenger.%07d\n/pool.xml", i);
        assert_int_equal(first_pid(parse(c, p, key, with_pid(p, pid))), 1000 + i);
    }
    assert_int_equal(first_pid(a), 1234);
}

static void refused_documents_are_not_kept(void **state)
{
    apr_pool_t *p = *state;
    papi_parsecache *c = papi_parsecache_create(p);
    const char *bad = "<info><supergroups>", *why;
    const papi_procpool *pp = (const papi_procpool *)&pp;

    assert_non_null(why = papi_parsecache_parse(c, p, KEY, bad, strlen(bad), &pp));
    assert_non_null(papi_parsecache_parse(c, p, KEY, bad, strlen(bad), &pp));
    assert_int_equal(first_pid(parse(c, p, KEY, with_pid(p, "1234"))), 1234);
    assert_non_null(papi_parsecache_parse(c, p, KEY, bad, strlen(bad), &pp));
}

/* Larger than PAPI_PARSECACHE_MAX_BODY (comments pad it): parsed per request, never shared. */
static void large_answers_are_parsed_per_request(void **state)
{
    apr_pool_t *p = *state;
    papi_parsecache *c = papi_parsecache_create(p);
    const char *xml = with_pid(p, "1234"), *body = strstr(xml, "<info");
    char *pad = apr_palloc(p, PAPI_PARSECACHE_MAX_BODY + 1);
    const char *big;

    memset(pad, ' ', PAPI_PARSECACHE_MAX_BODY);
    pad[PAPI_PARSECACHE_MAX_BODY] = '\0';
    assert_non_null(body);
    big = apr_pstrcat(p, apr_pstrndup(p, xml, body - xml), "<!--", pad, "-->", body, NULL);
    assert_ptr_not_equal(parse(c, p, KEY, big), parse(c, p, KEY, big));
    assert_int_equal(first_pid(parse(c, p, KEY, big)), 1234);
}

static void no_cache_parses_each_time(void **state)
{
    apr_pool_t *p = *state;
    const char *xml = with_pid(p, "1234");

    assert_ptr_not_equal(parse(NULL, p, KEY, xml), parse(NULL, p, KEY, xml));
}

typedef struct reader {
    papi_parsecache *c;
    const char *xml[2];
    int bad;
} reader;

static void *APR_THREAD_FUNC read_often(apr_thread_t *t, void *data)
{
    reader *rd = data;
    apr_pool_t *r;
    int i;

    for (i = 0; i < 2000; i++) {
        const papi_procpool *pp = NULL;
        apr_pool_create(&r, NULL);
        if (papi_parsecache_parse(rd->c, r, KEY, rd->xml[i % 2], strlen(rd->xml[i % 2]), &pp)
            || first_pid(pp) != (i % 2 ? 5678 : 1234))
            rd->bad++;
        apr_pool_destroy(r);
    }
    return NULL;
}

static void threads_get_the_model_of_their_bytes(void **state)
{
    apr_pool_t *p = *state;
    reader rd[4];
    apr_thread_t *t[4];
    apr_status_t rv;
    papi_parsecache *c = papi_parsecache_create(p);
    int i;

    for (i = 0; i < 4; i++) {
        rd[i] = (reader){ c, { with_pid(p, "1234"), with_pid(p, "5678") }, 0 };
        assert_int_equal(apr_thread_create(&t[i], NULL, read_often, &rd[i], p), APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, t[i]);
        assert_int_equal(rd[i].bad, 0);
    }
}

PAPI_TEST_MAIN(PAPI_TEST(same_bytes_share_one_model),
               PAPI_TEST(other_bytes_other_model_and_the_old_one_lives_on),
               PAPI_TEST(keys_do_not_mix),
               PAPI_TEST(refused_documents_are_not_kept),
               PAPI_TEST(large_answers_are_parsed_per_request),
               PAPI_TEST(no_cache_parses_each_time),
               PAPI_TEST(threads_get_the_model_of_their_bytes))
