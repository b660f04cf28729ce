/* Identical calls joined: a request waiting for a call never gets the answer of a call that
 * started before it arrived; it gets the next call's answer (or makes that call itself when the
 * one before it gave none, or gives up at its deadline); different calls never mix; and nothing
 * is left behind once every request is through. */
#include "papi_test.h"
#include "papi_coalesce.h"

#include <apr_thread_proc.h>
#include <stdlib.h>

#define KEY "/tmp/passenger.aaaaaaa\nGET /pool.xml"

/* A core's answer whose body is text. */
static papi_http_response *answer(apr_pool_t *p, const char *text)
{
    const char *raw = apr_psprintf(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                      "Content-Length: %d\r\n\r\n%s", (int)strlen(text), text);
    papi_http_parser *ps = papi_http_parser_make(p, NULL, 0);

    assert_int_equal(papi_http_parser_feed(ps, raw, strlen(raw), NULL), PAPI_HTTP_DONE);
    return papi_http_parser_response(ps);
}

static apr_time_t in_ms(int ms)
{
    return apr_time_now() + apr_time_from_msec(ms);
}

/* A call in flight (a leads it) and a request that arrived during it (b waits). */
static papi_coalesce *lead_and_wait(apr_pool_t *p, papi_coalesce_turn *a, papi_coalesce_turn *b)
{
    papi_coalesce *c = papi_coalesce_create(p);

    assert_int_equal(papi_coalesce_join(c, KEY, a), PAPI_TURN_LEAD);
    assert_int_equal(papi_coalesce_join(c, KEY, b), PAPI_TURN_WAIT);
    return c;
}

/* Without a coalescer every request makes its own call. */
static void no_coalescer_always_leads(void **state)
{
    apr_pool_t *p = *state;
    papi_coalesce_turn t;
    papi_http_response *resp;

    assert_int_equal(papi_coalesce_join(NULL, KEY, &t), PAPI_TURN_LEAD);
    assert_int_equal(papi_coalesce_wait(NULL, &t, p, in_ms(10), 1, &resp), PAPI_TURN_LEAD);
    assert_null(resp);
    papi_coalesce_done(NULL, &t, answer(p, "x"));
    assert_int_equal(papi_coalesce_active(NULL), 0);
}

/* A request alone leads, and leaves nothing behind. */
static void alone_it_leads(void **state)
{
    apr_pool_t *p = *state;
    papi_coalesce *c = papi_coalesce_create(p);
    papi_coalesce_turn t;

    assert_non_null(c);
    assert_int_equal(papi_coalesce_join(c, KEY, &t), PAPI_TURN_LEAD);
    assert_int_equal(papi_coalesce_active(c), 1);
    papi_coalesce_done(c, &t, answer(p, "one"));
    assert_int_equal(papi_coalesce_active(c), 0);
    assert_int_equal(papi_coalesce_join(c, KEY, &t), PAPI_TURN_LEAD);
    papi_coalesce_done(c, &t, NULL);
    assert_int_equal(papi_coalesce_active(c), 0);
}

/* The answer of the call in flight when a request arrived is never its answer: it makes the next
 * call itself. */
static void never_the_answer_of_an_earlier_call(void **state)
{
    apr_pool_t *p = *state;
    papi_coalesce_turn a, b;
    papi_coalesce *c = lead_and_wait(p, &a, &b);
    papi_http_response *resp;

    papi_coalesce_done(c, &a, answer(p, "before b arrived"));
    assert_int_equal(papi_coalesce_wait(c, &b, p, in_ms(1000), 1, &resp), PAPI_TURN_LEAD);
    assert_null(resp);
    papi_coalesce_done(c, &b, answer(p, "b's own"));
    assert_int_equal(papi_coalesce_active(c), 0);
}

/* Without blocking, a request only looks: the call it waits for is still in flight, or it is its
 * turn now. */
static void looking_without_blocking(void **state)
{
    apr_pool_t *p = *state;
    papi_coalesce_turn a, b;
    papi_coalesce *c = lead_and_wait(p, &a, &b);
    papi_http_response *resp;

    assert_int_equal(papi_coalesce_wait(c, &b, p, in_ms(1000), 0, &resp), PAPI_TURN_WAIT);
    assert_int_equal(papi_coalesce_wait(c, &b, p, in_ms(1000), 0, &resp), PAPI_TURN_WAIT);
    papi_coalesce_done(c, &a, answer(p, "before b arrived"));
    assert_int_equal(papi_coalesce_wait(c, &b, p, in_ms(1000), 0, &resp), PAPI_TURN_LEAD);
    papi_coalesce_done(c, &b, NULL);
    assert_int_equal(papi_coalesce_active(c), 0);
}

/* Different calls (another instance, path or level) are never joined. */
static void different_calls_never_join(void **state)
{
    apr_pool_t *p = *state;
    papi_coalesce *c = papi_coalesce_create(p);
    papi_coalesce_turn a, b;

    assert_int_equal(papi_coalesce_join(c, KEY, &a), PAPI_TURN_LEAD);
    assert_int_equal(papi_coalesce_join(c, KEY "?secrets=true", &b), PAPI_TURN_LEAD);
    assert_int_equal(papi_coalesce_active(c), 2);
    papi_coalesce_done(c, &b, NULL);
    papi_coalesce_done(c, &a, NULL);
    assert_int_equal(papi_coalesce_active(c), 0);
}

/* A waiting request, on a thread of its own. */
typedef struct waiter {
    papi_coalesce *c;
    papi_coalesce_turn turn;
    apr_pool_t *p;
    int deadline_ms;
    papi_coalesce_role role;
    papi_http_response *resp;
    apr_interval_time_t waited;
} waiter;

static void *APR_THREAD_FUNC wait_thread(apr_thread_t *thread, void *data)
{
    waiter *w = data;
    apr_time_t start = apr_time_now();

    w->role = papi_coalesce_wait(w->c, &w->turn, w->p, in_ms(w->deadline_ms), 1, &w->resp);
    w->waited = apr_time_now() - start;
    return NULL;
}

static apr_thread_t *start_waiter(apr_pool_t *p, waiter *w)
{
    apr_thread_t *thread;

    assert_int_equal(apr_thread_create(&thread, NULL, wait_thread, w, p), APR_SUCCESS);
    return thread;
}

static void join_thread(apr_thread_t *thread)
{
    apr_status_t rv;

    assert_int_equal(apr_thread_join(&rv, thread), APR_SUCCESS);
}

/* Two calls in a row: three requests arrive for the first, which the first leads and ends with
 * an answer of first_text (NULL: none); the next two wait (w on a thread of its own). One of them,
 * next, leads the second call and ends it with an answer of next_text (NULL: none) from a pool
 * gone right after (the leader's request may be long gone); returns once w is through. */
static void two_calls(apr_pool_t *p, waiter *w, const char *first_text, const char *next_text)
{
    papi_coalesce_turn first, next;
    papi_http_response *resp;
    apr_pool_t *leader_pool;
    apr_thread_t *thread;

    w->c = lead_and_wait(p, &first, &next);
    assert_int_equal(papi_coalesce_join(w->c, KEY, &w->turn), PAPI_TURN_WAIT);
    papi_coalesce_done(w->c, &first, first_text ? answer(p, first_text) : NULL);
    /* One of the two makes the next call; the other waits for its answer. */
    assert_int_equal(papi_coalesce_wait(w->c, &next, p, in_ms(1000), 1, &resp), PAPI_TURN_LEAD);
    thread = start_waiter(p, w);
    apr_sleep(apr_time_from_msec(20));
    apr_pool_create(&leader_pool, p);
    papi_coalesce_done(w->c, &next, next_text ? answer(leader_pool, next_text) : NULL);
    apr_pool_destroy(leader_pool);
    join_thread(thread);
}

/* Requests that arrived during a call get the next call's answer, made by one of them, each in
 * its own pool. */
static void waiting_requests_share_the_next_answer(void **state)
{
    apr_pool_t *p = *state;
    waiter w = { NULL, { NULL, 0, 0 }, p, 5000, PAPI_TURN_LEAD, NULL, 0 };

    two_calls(p, &w, "too early for both", "fresh for both");
    assert_int_equal(w.role, PAPI_TURN_ANSWERED);
    assert_string_equal(w.resp->body, "fresh for both");
    assert_int_equal(w.resp->status, 200);
    assert_string_equal(papi_http_header_get(w.resp, "Content-Type"), "text/plain");
    assert_int_equal(papi_coalesce_active(w.c), 0);
}

/* A call that gave no answer is given up: the next waiting request makes its own. */
static void a_call_without_an_answer_is_made_again(void **state)
{
    apr_pool_t *p = *state;
    waiter w = { NULL, { NULL, 0, 0 }, p, 5000, PAPI_TURN_ANSWERED, NULL, 0 };

    two_calls(p, &w, NULL, NULL);
    assert_int_equal(w.role, PAPI_TURN_LEAD);
    assert_null(w.resp);
    papi_coalesce_done(w.c, &w.turn, answer(p, "made at last"));
    assert_int_equal(papi_coalesce_active(w.c), 0);
}

/* A request waits no longer than its deadline, and its leaving disturbs nobody. */
static void waiting_ends_at_the_deadline(void **state)
{
    apr_pool_t *p = *state;
    papi_coalesce_turn a, b;
    papi_coalesce *c = lead_and_wait(p, &a, &b);
    papi_http_response *resp;
    apr_time_t start = apr_time_now();

    assert_int_equal(papi_coalesce_wait(c, &b, p, in_ms(50), 1, &resp), PAPI_TURN_TIMEOUT);
    assert_true(apr_time_now() - start >= apr_time_from_msec(50));
    assert_true(apr_time_now() - start < apr_time_from_msec(1000));
    assert_null(resp);
    assert_int_equal(papi_coalesce_active(c), 1);
    papi_coalesce_done(c, &a, answer(p, "nobody waits"));
    assert_int_equal(papi_coalesce_active(c), 0);
}

/* Many threads, many requests: every answer comes from a call that started after its request
 * arrived, fewer calls are made than requests, and nothing is left behind. */
#define STRESS_THREADS 8
#define STRESS_REQUESTS 60

typedef struct stress {
    papi_coalesce *c;
    apr_thread_mutex_t *lock;
    int calls;                  /* calls started, under lock */
    int stale;                  /* answers from a call that started before their request */
    int wrong;                  /* unexpected roles or bodies */
} stress;

static int calls_now(stress *s, int start_one)
{
    int n;

    apr_thread_mutex_lock(s->lock);
    n = start_one ? ++s->calls : s->calls;
    apr_thread_mutex_unlock(s->lock);
    return n;
}

static void *APR_THREAD_FUNC stress_thread(apr_thread_t *thread, void *data)
{
    stress *s = data;
    apr_pool_t *p;
    int i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < STRESS_REQUESTS; i++) {
        papi_coalesce_turn t;
        papi_http_response *resp = NULL;
        int arrived = calls_now(s, 0), got;
        papi_coalesce_role role = papi_coalesce_join(s->c, KEY, &t);
        if (role == PAPI_TURN_WAIT)
            role = papi_coalesce_wait(s->c, &t, p, in_ms(10000), 1, &resp);
        if (role == PAPI_TURN_LEAD) {
            int mine = calls_now(s, 1);
            apr_sleep(apr_time_from_msec(2));       /* the core at work */
            resp = answer(p, apr_itoa(p, mine));
            papi_coalesce_done(s->c, &t, (mine % 7) ? resp : NULL);
        }
        else if (role != PAPI_TURN_ANSWERED) {
            s->wrong++;
            continue;
        }
        got = atoi(resp->body);
        if (got <= arrived)
            s->stale++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void many_threads_fresh_answers_fewer_calls(void **state)
{
    apr_pool_t *p = *state;
    stress s = { papi_coalesce_create(p), NULL, 0, 0, 0 };
    apr_thread_t *threads[STRESS_THREADS];
    int i;

    assert_int_equal(apr_thread_mutex_create(&s.lock, APR_THREAD_MUTEX_DEFAULT, p), APR_SUCCESS);
    for (i = 0; i < STRESS_THREADS; i++)
        assert_int_equal(apr_thread_create(&threads[i], NULL, stress_thread, &s, p), APR_SUCCESS);
    for (i = 0; i < STRESS_THREADS; i++)
        join_thread(threads[i]);
    assert_int_equal(s.wrong, 0);
    assert_int_equal(s.stale, 0);
    assert_true(s.calls < STRESS_THREADS * STRESS_REQUESTS);
    assert_int_equal(papi_coalesce_active(s.c), 0);
}

PAPI_TEST_MAIN(
    PAPI_TEST(no_coalescer_always_leads),
    PAPI_TEST(alone_it_leads),
    PAPI_TEST(never_the_answer_of_an_earlier_call),
    PAPI_TEST(looking_without_blocking),
    PAPI_TEST(different_calls_never_join),
    PAPI_TEST(waiting_requests_share_the_next_answer),
    PAPI_TEST(a_call_without_an_answer_is_made_again),
    PAPI_TEST(waiting_ends_at_the_deadline),
    PAPI_TEST(many_threads_fresh_answers_fewer_calls))
