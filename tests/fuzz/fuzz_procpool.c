/* libFuzzer target for papi_procpool_parse, the reader of a core's pool.xml. Either a reason or a
 * model comes back, never both; a reason is non-empty valid UTF-8. In a model every string is valid
 * UTF-8 with no NUL before its end (the views write them as they are: an input with a NUL byte
 * is refused), every array is there, holds non-NULL elements and stays within the caps.
 * A model is then drawn by all three views: processes.json must be JSON, every /metrics line (in
 * both namings) a comment or a passenger_ sample, and the dashboard must never carry markup from
 * the input (its own has no "<script" and no "<img"). A process's HTTP socket, when the module
 * would connect to it, is on 127.0.0.0/8 with a port from 1 to 65535. */
#include "papi_fuzz.h"
#include "papi_dashboard.h"
#include "papi_direct.h"
#include "papi_metrics.h"
#include "papi_procpool.h"
#include "papi_processes.h"

#include <jansson.h>
#include <strings.h>

#define MAX_GROUPS 5000
#define MAX_PROCESSES 5000

/* Well-formed UTF-8 (Unicode table 3-7), written here without the module's own decoder. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i], lo = 0x80, hi = 0xBF;
        size_t need, k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3;
        else
            return 0;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* NULL (not given), or a NUL-terminated valid UTF-8 string: strlen finds its one NUL, and any NUL
 * byte in the text would have cut it (ASan sees a read past the allocation if it is not there). */
static void check_string(const char *s)
{
    if (s)
        CHECK(utf8_ok((const unsigned char *)s, strlen(s)));
}

static void check_array(const apr_array_header_t *a, int max)
{
    int i;

    CHECK(a != NULL);
    CHECK(a->nelts >= 0 && a->nelts <= max);
    CHECK(a->elt_size == (int)sizeof(void *));
    for (i = 0; i < a->nelts; i++)
        CHECK(APR_ARRAY_IDX(a, i, void *) != NULL);
}

static int flag_ok(int f)
{
    return f == -1 || f == 0 || f == 1;
}

/* Every field of obj by its kind, from papi_procpool.h's lists. */
#define CHECK_STRING(obj, name) check_string((obj)->name);
#define CHECK_SECRET(obj, name) check_string((obj)->name);
#define CHECK_NUMBER(obj, name)
#define CHECK_FLAG(obj, name) CHECK(flag_ok((obj)->name));
#define CHECK_PRESENT(obj, name) CHECK((obj)->name == 0 || (obj)->name == 1);
#define CHECK_DERIVED(obj, name)
#define CHECK_PROCESS_FIELD(name, kind) CHECK_##kind(proc, name)
#define CHECK_SOCKET_FIELD(name, kind) CHECK_##kind(s, name)
#define CHECK_GROUP_FIELD(name, kind) CHECK_##kind(g, name)
#define CHECK_INFO_FIELD(name, kind) CHECK_##kind(procpool, name)

static void check_process(const papi_procpool_process *proc)
{
    int i;

    PAPI_PROCPOOL_PROCESS_FIELDS(CHECK_PROCESS_FIELD)
    check_array(proc->sockets, 4 * MAX_PROCESSES);
    for (i = 0; i < proc->sockets->nelts; i++) {
        const papi_procpool_socket *s =
            APR_ARRAY_IDX(proc->sockets, i, const papi_procpool_socket *);
        PAPI_PROCPOOL_SOCKET_FIELDS(CHECK_SOCKET_FIELD)
    }
}

static void check_procpool(const papi_procpool *procpool)
{
    int i, j, processes = 0;

    PAPI_PROCPOOL_INFO_FIELDS(CHECK_INFO_FIELD)
    check_array(procpool->groups, MAX_GROUPS);
    for (i = 0; i < procpool->groups->nelts; i++) {
        const papi_procpool_group *g =
            APR_ARRAY_IDX(procpool->groups, i, const papi_procpool_group *);
        PAPI_PROCPOOL_GROUP_FIELDS(CHECK_GROUP_FIELD)
        CHECK(g->is_default == 0 || g->is_default == 1);
        check_array(g->processes, MAX_PROCESSES);
        processes += g->processes->nelts;
        for (j = 0; j < g->processes->nelts; j++)
            check_process(APR_ARRAY_IDX(g->processes, j, const papi_procpool_process *));
    }
    CHECK(processes <= MAX_PROCESSES);
}

static int has_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);

    for (; *s; s++)
        if (!strncasecmp(s, needle, n))
            return 1;
    return 0;
}

static void check_sockets(apr_pool_t *p, const papi_procpool *procpool)
{
    int i, j;

    for (i = 0; i < procpool->groups->nelts; i++) {
        const papi_procpool_group *g =
            APR_ARRAY_IDX(procpool->groups, i, const papi_procpool_group *);
        for (j = 0; j < g->processes->nelts; j++) {
            papi_exchange x;
            if (papi_direct_socket(p, APR_ARRAY_IDX(g->processes, j, const papi_procpool_process *),
                                   &x))
                continue;
            CHECK(x.unix_path == NULL && x.ip && !strncmp(x.ip, "127.", 4) && x.port > 0);
        }
    }
}

static void check_views(apr_pool_t *p, const papi_procpool *procpool)
{
    papi_instance inst = { .registry = "/reg", .dirname = "passenger.AbCdEfG",
                           .path = "/reg/passenger.AbCdEfG", .state = PAPI_INST_GOOD,
                           .name = "AbCd1234", .core_pid = 42 };
    apr_array_header_t *views = apr_array_make(p, 1, sizeof(papi_view));
    papi_metrics_opts mopts = { .scrape_duration = 1234, .pid_label = 1, .hostname = "web1" };
    papi_dashboard_opts dopts = { .base = "/api", .now = 1795261853453248, .refresh = 5,
                                  .nonce = "bm9uY2U=" };
    papi_buf *b;
    json_error_t err;
    json_t *j;
    const char *line;

    *(papi_view *)apr_array_push(views) = (papi_view){ &inst, 200, NULL, procpool };
    b = papi_buf_make(p, 1024);
    papi_processes_write(b, views, 1795261853453248, NULL, 0, NULL);
    j = json_loadb(b->data, b->len, 0, &err);
    CHECK(j != NULL);
    json_decref(j);
    for (mopts.names = PAPI_METRICS_NATIVE; mopts.names <= PAPI_METRICS_EXPORTER; mopts.names++) {
        b = papi_buf_make(p, 1024);
        papi_metrics_write(b, p, views, &mopts);
        for (line = b->data; *line; line = strchr(line, '\n') + 1)
            CHECK(*line == '#' || !strncmp(line, "passenger_", 10));
    }
    b = papi_buf_make(p, 1024);
    papi_dashboard_write(b, p, views, &dopts);
    CHECK(!has_ci(b->data, "<script") && !has_ci(b->data, "<img"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    papi_procpool *procpool = NULL;
    const char *why;
    char *in;

    /* A copy of exactly the input's size, so ASan sees any read past it. */
    in = malloc(size ? size : 1);
    CHECK(in != NULL);
    memcpy(in, data, size);
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    why = papi_procpool_parse(p, in, size, &procpool);
    /* A NUL byte anywhere is refused, never a string cut short or a tail ignored. */
    if (memchr(in, 0, size))
        CHECK(why != NULL);
    if (why) {
        CHECK(procpool == NULL);
        CHECK(*why != '\0');
        CHECK(utf8_ok((const unsigned char *)why, strlen(why)));
    }
    else {
        CHECK(procpool != NULL);
        check_procpool(procpool);
        check_views(p, procpool);
        check_sockets(p, procpool);
    }
    /* Everything is in the pool (LeakSanitizer would tell). */
    apr_pool_destroy(p);
    free(in);
    return 0;
}
