/* The pool views' source (papi_view) against fake cores: every candidate in registry order, a
 * pool only for the good ones whose core answered pool.xml with a 200 that parses, and a 502 with
 * why for the others, each asked with the read-only credential. */
#include "papi_test.h"
#include "papi_fixture.h"
#include "papi_fakecore.h"
#include "papi_parsecache.h"
#include "papi_view.h"

static const uid_t root_only[] = { 0 };
static const papi_trust trust_root = { root_only, 1 };

/* A registry holding a stale instance (no lock) between two good ones. */
typedef struct registry {
    const char *dir, *good[2];
    apr_array_header_t *found;      /* const papi_instance *, in that order */
    int locks[2];
} registry;

static registry make_registry(apr_pool_t *p)
{
    static const char *const names[] = { "passenger.a000000", "passenger.s000000",
                                         "passenger.b000000" };
    registry reg = { papi_fx_tempdir(p), { NULL, NULL },
                     apr_array_make(p, 3, sizeof(const papi_instance *)), { -1, -1 } };
    int i, g = 0;

    for (i = 0; i < 3; i++) {
        const char *dir = papi_fx_instance(p, reg.dir, names[i]);
        if (i != 1) {
            reg.locks[g] = papi_fx_hold_lock(p, dir);
            reg.good[g++] = dir;
        }
        APR_ARRAY_PUSH(reg.found, const papi_instance *) =
            papi_instance_inspect(p, reg.dir, names[i], &trust_root);
    }
    return reg;
}

static void end_registry(apr_pool_t *p, registry *reg)
{
    close(reg->locks[0]);
    close(reg->locks[1]);
    papi_fx_remove(p, reg->dir);
}

/* The views of reg's instances, their pools parsed through parsed (NULL: each on its own). */
static apr_array_header_t *collect_through(apr_pool_t *p, const registry *reg,
                                           const char *core_path, apr_array_header_t *failures,
                                           papi_parsecache *parsed)
{
    papi_fanout_config f = { apr_time_from_sec(5), apr_time_now() + apr_time_from_sec(10), 32,
                             PAPI_CRED_RO, 0, NULL, NULL, NULL, NULL, NULL, parsed };

    return papi_view_collect(p, &f, reg->found, core_path, failures);
}

static apr_array_header_t *collect(apr_pool_t *p, const registry *reg, const char *core_path,
                                   apr_array_header_t *failures)
{
    return collect_through(p, reg, core_path, failures, NULL);
}

static const papi_view *view(const apr_array_header_t *views, int i)
{
    return &APR_ARRAY_IDX(views, i, papi_view);
}

static void good_instances_have_their_pools(void **state)
{
    apr_pool_t *p = *state;
    registry reg = make_registry(p);
    const char *xml = papi_test_sample_body(p, "core_GET_pool.xml.http");
    papi_fake_core a = papi_fake_core_start(p, reg.good[0],
                                            papi_fake_answer(p, 200, "text/xml", xml));
    papi_fake_core b = papi_fake_core_start(p, reg.good[1],
                                            papi_fake_answer(p, 200, "text/xml", xml));
    apr_array_header_t *failures = apr_array_make(p, 1, sizeof(const char *));
    apr_array_header_t *views = collect(p, &reg, "/pool.xml?secrets=true", failures);
    const char *got;

    assert_int_equal(views->nelts, 3);
    assert_int_equal(view(views, 0)->status, 200);
    assert_non_null(view(views, 0)->procpool);
    assert_true(view(views, 0)->procpool->groups->nelts > 0);
    /* The stale one is listed, in its place, and never asked. */
    assert_int_equal(view(views, 1)->inst->state, PAPI_INST_STALE);
    assert_int_equal(view(views, 1)->status, 0);
    assert_null(view(views, 1)->procpool);
    assert_int_equal(view(views, 2)->status, 200);
    assert_non_null(view(views, 2)->procpool);
    assert_int_equal(failures->nelts, 0);
    /* Two processes in each of the two pools read; none in the stale one's. */
    assert_int_equal(papi_view_process_count(views), 4);
    got = papi_fake_core_stop(p, &a);
    assert_non_null(strstr(got, "GET /pool.xml?secrets=true HTTP/1.1\r\n"));
    /* base64("ro_admin:RoPassword0123456789abcd") */
    assert_non_null(strstr(got, "Authorization: Basic "
                                "cm9fYWRtaW46Um9QYXNzd29yZDAxMjM0NTY3ODlhYmNk\r\n"));
    papi_fake_core_stop(p, &b);
    end_registry(p, &reg);
}

/* A core that answers pool.xml with an error, or with something that is not a pool, gives a 502
 * view that says why; a core that cannot be reached gives the call's own failure. */
static void other_answers_are_502_with_why(void **state)
{
    static const struct {
        int status;
        const char *type, *body, *why;
    } answers[] = {
        { 500, "text/plain", "oops", "the core answered pool.xml with 500" },
        { 200, "text/xml", "<info><x>", "pool.xml is not well-formed XML" },
    };
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        registry reg = make_registry(p);
        papi_fake_core a = papi_fake_core_start(
            p, reg.good[0], papi_fake_answer(p, answers[i].status, answers[i].type, answers[i].body));
        apr_array_header_t *failures = apr_array_make(p, 1, sizeof(const char *));
        apr_array_header_t *views = collect(p, &reg, "/pool.xml", failures);

        assert_int_equal(view(views, 0)->status, 502);
        assert_non_null(view(views, 0)->error);
        if (!strstr(view(views, 0)->error, answers[i].why))
            fail_msg("\"%s\", not about \"%s\"", view(views, 0)->error, answers[i].why);
        assert_null(view(views, 0)->procpool);
        assert_int_equal(view(views, 2)->status, 502);
        assert_non_null(view(views, 2)->error);
        assert_int_equal(failures->nelts, 2);
        assert_true(strstr(APR_ARRAY_IDX(failures, 0, const char *), "passenger.a000000")
                    || strstr(APR_ARRAY_IDX(failures, 1, const char *), "passenger.a000000"));
        papi_fake_core_stop(p, &a);
        end_registry(p, &reg);
    }
}

/* Through a parse cache, a pool.xml unchanged since the last request gives the same model, each
 * instance (and core path) keeping its own, even when two answers differ by one byte only. */
static void unchanged_pools_share_their_model(void **state)
{
    apr_pool_t *p = *state;
    registry reg = make_registry(p);
    papi_parsecache *parsed = papi_parsecache_create(p);
    const char *xml = papi_test_sample_body(p, "core_GET_pool.xml.http");
    const char *other = apr_pstrcat(p, xml, " ", NULL);
    papi_fake_core a = papi_fake_core_start(p, reg.good[0],
                                            papi_fake_answer(p, 200, "text/xml", xml));
    papi_fake_core b = papi_fake_core_start(p, reg.good[1],
                                            papi_fake_answer(p, 200, "text/xml", other));
    apr_array_header_t *first = collect_through(p, &reg, "/pool.xml", NULL, parsed);
    apr_array_header_t *again = collect_through(p, &reg, "/pool.xml", NULL, parsed);
    apr_array_header_t *secrets = collect_through(p, &reg, "/pool.xml?secrets=true", NULL, parsed);

    assert_int_equal(view(first, 0)->status, 200);
    assert_int_equal(view(first, 2)->status, 200);
    assert_ptr_equal(view(again, 0)->procpool, view(first, 0)->procpool);
    assert_ptr_equal(view(again, 2)->procpool, view(first, 2)->procpool);
    assert_ptr_not_equal(view(first, 0)->procpool, view(first, 2)->procpool);
    assert_ptr_not_equal(view(secrets, 0)->procpool, view(first, 0)->procpool);
    assert_int_equal(papi_view_process_count(again), 4);
    papi_fake_core_stop(p, &a);
    papi_fake_core_stop(p, &b);
    end_registry(p, &reg);
}

PAPI_TEST_MAIN(
    PAPI_TEST(good_instances_have_their_pools),
    PAPI_TEST(other_answers_are_502_with_why),
    PAPI_TEST(unchanged_pools_share_their_model))
