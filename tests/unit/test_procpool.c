/* The pool.xml model: real captures, Passenger's per-byte character references, hostile documents
 * (DTDs, entities, huge pools) and silence on stderr. */
#include "papi_test.h"
#include "papi_procpool.h"

#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DECL "<?xml version=\"1.0\" encoding=\"iso-8859-1\" ?>\n"

static papi_procpool *parse_ok(apr_pool_t *p, const char *xml)
{
    papi_procpool *procpool = NULL;
    const char *why = papi_procpool_parse(p, xml, strlen(xml), &procpool);

    if (why)
        fail_msg("refused: %s", why);
    assert_non_null(procpool);
    assert_non_null(procpool->groups);
    return procpool;
}

static const char *parse_error(apr_pool_t *p, const char *xml, apr_size_t len)
{
    papi_procpool *procpool = (papi_procpool *)&procpool;   /* must be reset */
    const char *why = papi_procpool_parse(p, xml, len, &procpool);

    assert_non_null(why);
    assert_null(procpool);
    return why;
}

static void assert_has(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* A pool of one group whose children are given. */
static const char *one_group(apr_pool_t *p, const char *children)
{
    return apr_pstrcat(p, DECL, "<info version=\"3\"><supergroups><supergroup><group>", children,
                       "</group></supergroup></supergroups></info>", NULL);
}

static papi_procpool_group *group_at(const papi_procpool *procpool, int i)
{
    assert_true(i < procpool->groups->nelts);
    return APR_ARRAY_IDX(procpool->groups, i, papi_procpool_group *);
}

static papi_procpool_process *process_at(const papi_procpool_group *group, int i)
{
    assert_true(i < group->processes->nelts);
    return APR_ARRAY_IDX(group->processes, i, papi_procpool_process *);
}

static papi_procpool_socket *socket_at(const papi_procpool_process *proc, int i)
{
    assert_true(i < proc->sockets->nelts);
    return APR_ARRAY_IDX(proc->sockets, i, papi_procpool_socket *);
}

/* The name of the one group of a document with that group name written as given. */
static const char *group_name(apr_pool_t *p, const char *name_xml)
{
    papi_procpool *procpool = parse_ok(p, one_group(p, apr_pstrcat(p, "<name>", name_xml,
                                                                   "</name>", NULL)));

    assert_int_equal(procpool->groups->nelts, 1);
    assert_non_null(group_at(procpool, 0)->name);
    return group_at(procpool, 0)->name;
}

/* ---- real captures ---------------------------------------------------------------------------- */

static void sample_pool_xml(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool *procpool = parse_ok(p, papi_test_sample_body(p, "core_GET_pool.xml.http"));
    papi_procpool_group *g;
    papi_procpool_process *a, *b;

    assert_string_equal(procpool->passenger_version, "6.0.17");
    assert_int_equal(procpool->group_count, 1);
    assert_int_equal(procpool->process_count, 2);
    assert_int_equal(procpool->max, 4);
    assert_int_equal(procpool->capacity_used, 2);
    assert_int_equal(procpool->get_wait_list_size, 0);
    assert_int_equal(procpool->groups->nelts, 1);

    g = group_at(procpool, 0);
    assert_string_equal(g->name, "/srv/demo-app (production)");
    assert_string_equal(g->component_name, "/srv/demo-app (production)");
    assert_string_equal(g->app_root, "/srv/demo-app");
    assert_string_equal(g->app_type, "ruby");
    assert_string_equal(g->environment, "production");
    assert_string_equal(g->uuid, "TRhGjyMyrl6mzsdan8yf");
    assert_string_equal(g->life_status, "ALIVE");
    assert_string_equal(g->user, "nobody");
    assert_string_equal(g->group, "nogroup");
    assert_int_equal(g->uid, 65534);
    assert_int_equal(g->gid, 65534);
    assert_int_equal(g->enabled_process_count, 2);
    assert_int_equal(g->disabling_process_count, 0);
    assert_int_equal(g->disabled_process_count, 0);
    assert_int_equal(g->capacity_used, 2);
    assert_int_equal(g->get_wait_list_size, 0);
    assert_int_equal(g->disable_wait_list_size, 0);
    assert_int_equal(g->processes_being_spawned, 0);
    assert_true(g->is_default);
    assert_false(g->spawning);
    assert_false(g->restarting);
    /* <options><api_key> is there, but never read. */
    assert_null(g->api_key);
    assert_int_equal(g->processes->nelts, 2);

    a = process_at(g, 0);
    assert_int_equal(a->pid, 3576);
    assert_string_equal(a->gupid, "1c88f05-xoUJ2XlzoQ");
    assert_int_equal(a->concurrency, 1);
    assert_int_equal(a->sessions, 0);
    assert_int_equal(a->busyness, 0);
    assert_int_equal(a->processed, 2);
    assert_int_equal(a->spawner_creation_time, 1795261753267418LL);
    assert_int_equal(a->spawn_start_time, 1795261753431132LL);
    assert_int_equal(a->spawn_end_time, 1795261753453248LL);
    assert_int_equal(a->last_used, 1795261753472372LL);
    assert_string_equal(a->life_status, "ALIVE");
    assert_string_equal(a->enabled, "ENABLED");
    assert_int_equal(a->has_metrics, 1);
    assert_int_equal(a->cpu, 0);
    assert_int_equal(a->rss, 15680);
    assert_int_equal(a->pss, 8249);
    assert_int_equal(a->private_dirty, 3044);
    assert_int_equal(a->swap, 0);
    assert_int_equal(a->real_memory, 3044);
    assert_int_equal(a->vmsize, 213380);
    assert_int_equal(a->process_group_id, 3399);
    assert_null(a->code_revision);
    assert_string_equal(a->command, "Passenger RubyApp: /srv/demo-app (production)");
    assert_non_null(a->sockets);
    assert_int_equal(a->sockets->nelts, 0);

    b = process_at(g, 1);
    assert_int_equal(b->pid, 3595);
    assert_string_equal(b->gupid, "1c88f05-2RC5o0UB8i");
    assert_int_equal(b->processed, 0);
    assert_int_equal(b->spawn_start_time, 1795261753462440LL);
    assert_int_equal(b->last_used, 1795261753487515LL);
    assert_int_equal(b->rss, 15272);
    assert_int_equal(b->pss, 8094);
    assert_int_equal(b->private_dirty, 3000);
    assert_int_equal(b->vmsize, 213480);
    assert_int_equal(b->sockets->nelts, 0);
}

static void sample_pool_xml_with_secrets(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool *procpool =
        parse_ok(p, papi_test_sample_body(p, "core_GET_pool.xml_secrets_true.http"));
    papi_procpool_group *g = group_at(procpool, 0);
    papi_procpool_process *a = process_at(g, 0), *b = process_at(g, 1);
    papi_procpool_socket *s;

    assert_int_equal(procpool->groups->nelts, 1);
    assert_string_equal(g->api_key, "REDACTED_GROUP_API_KEY");
    assert_int_equal(g->processes->nelts, 2);
    assert_int_equal(a->pid, 3576);
    assert_int_equal(b->pid, 3595);
    assert_int_equal(a->sockets->nelts, 2);
    assert_int_equal(b->sockets->nelts, 2);

    s = socket_at(a, 0);
    assert_string_equal(s->address, "unix:/var/run/passenger-instreg/passenger.wxidl3k/apps.s/"
                                    "ruby.J6EJkGczjIyZYHh9fMLAiVbGBo3NcUKlyhRKnovRy3vEESFrRGzE3");
    assert_string_equal(s->protocol, "session");
    assert_null(s->description);
    assert_int_equal(s->concurrency, 1);
    assert_int_equal(s->sessions, 0);
    assert_int_equal(s->accept_http_requests, 1);

    s = socket_at(a, 1);
    assert_string_equal(s->address, "tcp://127.0.0.1:39543");
    assert_string_equal(s->protocol, "http");
    assert_int_equal(s->accept_http_requests, 0);

    assert_string_equal(socket_at(b, 0)->protocol, "session");
    assert_string_equal(socket_at(b, 1)->address, "tcp://127.0.0.1:39865");
}

static void empty_pool(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool *procpool = parse_ok(p, "<info version=\"3\">"
        "<passenger_version>6.0.17</passenger_version>"
        "<group_count>0</group_count><process_count>0</process_count><max>6</max>"
        "<capacity_used>0</capacity_used><get_wait_list_size>0</get_wait_list_size><supergroups/>"
        "</info>");

    assert_string_equal(procpool->passenger_version, "6.0.17");
    assert_int_equal(procpool->group_count, 0);
    assert_int_equal(procpool->process_count, 0);
    assert_int_equal(procpool->max, 6);
    assert_int_equal(procpool->groups->nelts, 0);

    /* A bare <info/>: everything missing, arrays still there. */
    procpool = parse_ok(p, "<info/>");
    assert_null(procpool->passenger_version);
    assert_int_equal(procpool->max, PAPI_PROCPOOL_NONE);
    assert_int_equal(procpool->groups->nelts, 0);
}

/* ---- text ------------------------------------------------------------------------------------- */

static void utf8_bytes_as_references(void **state)
{
    apr_pool_t *p = *state;

    /* "/srv/café 日本" as Passenger writes it: one reference per UTF-8 byte. */
    assert_string_equal(group_name(p, "/srv/caf&#195;&#169; &#230;&#151;&#165;&#230;&#156;&#172;"),
                        "/srv/caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC");
    /* The same bytes raw in the document (Latin-1 forced) come out the same. */
    assert_string_equal(group_name(p, "/srv/caf\xC3\xA9"), "/srv/caf\xC3\xA9");
    /* A four-byte sequence: U+1F600. */
    assert_string_equal(group_name(p, "&#240;&#159;&#152;&#128;"), "\xF0\x9F\x98\x80");
    /* The edges: U+0080, U+0800, U+FFFD, U+10000, U+10FFFF. */
    assert_string_equal(group_name(p, "&#194;&#128;|&#224;&#160;&#128;|&#239;&#191;&#189;|"
                                      "&#240;&#144;&#128;&#128;|&#244;&#143;&#191;&#191;"),
                        "\xC2\x80|\xE0\xA0\x80|\xEF\xBF\xBD|\xF0\x90\x80\x80|\xF4\x8F\xBF\xBF");
}

static void latin1_fallback(void **state)
{
    apr_pool_t *p = *state;

    /* é as one Latin-1 byte, referenced or raw: re-encoded as UTF-8. */
    assert_string_equal(group_name(p, "/srv/caf&#233;"), "/srv/caf\xC3\xA9");
    assert_string_equal(group_name(p, "/srv/caf\xE9"), "/srv/caf\xC3\xA9");
    /* Bytes that only look like UTF-8 stay Latin-1: an overlong '/', a surrogate (ED A0 80), a
     * code point above U+10FFFF (F4 90 80 80), a cut sequence, a stray continuation byte. */
    assert_string_equal(group_name(p, "&#192;&#175;"), "\xC3\x80\xC2\xAF");
    assert_string_equal(group_name(p, "&#224;&#159;&#191;"), "\xC3\xA0\xC2\x9F\xC2\xBF");
    assert_string_equal(group_name(p, "&#240;&#143;&#191;&#191;"),
                        "\xC3\xB0\xC2\x8F\xC2\xBF\xC2\xBF");
    assert_string_equal(group_name(p, "&#237;&#160;&#128;"), "\xC3\xAD\xC2\xA0\xC2\x80");
    assert_string_equal(group_name(p, "&#244;&#144;&#128;&#128;"),
                        "\xC3\xB4\xC2\x90\xC2\x80\xC2\x80");
    assert_string_equal(group_name(p, "a&#230;&#151;"), "a\xC3\xA6\xC2\x97");
    assert_string_equal(group_name(p, "&#169;"), "\xC2\xA9");
}

static void code_point_above_255_kept(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(group_name(p, "&#26085;&#26412;"), "\xE6\x97\xA5\xE6\x9C\xAC");
    /* Not bytes then: the rest is not put together either. */
    assert_string_equal(group_name(p, "&#195;&#169;&#26085;"), "\xC3\x83\xC2\xA9\xE6\x97\xA5");
}

static void script_in_group_name(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(group_name(p, "&#60;script&#62;alert&#40;1&#41;&#60;/script&#62;"),
                        "<script>alert(1)</script>");
    assert_string_equal(group_name(p, "&lt;b&gt; &amp; &quot;"), "<b> & \"");
}

static void encoding_declaration_ignored(void **state)
{
    apr_pool_t *p = *state;
    static const char *const decls[] = {
        "<?xml version=\"1.0\" encoding=\"iso8859-1\" ?>\n",     /* before 6.0.5 */
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\" ?>\n",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n",
        "<?xml version=\"1.0\" encoding=\"KOI8-R\" ?>\n",
        "<?xml version=\"1.0\" encoding=\"no-such-encoding\" ?>\n",
        "<?xml version=\"1.0\"?>\n",
        "",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
        const char *xml = apr_pstrcat(p, decls[i], "<info><passenger_version>caf\xE9 caf&#195;&#169;"
                                      "</passenger_version></info>", NULL);
        assert_string_equal(parse_ok(p, xml)->passenger_version, "caf\xC3\xA9 caf\xC3\x83\xC2\xA9");
    }
}

static void text_pieces_joined(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool_group *g;

    /* Text and CDATA are joined; comments, processing instructions and child elements are not
     * text. */
    assert_string_equal(group_name(p, "a<!-- x -->b<![CDATA[<c>]]>d<?pi e?><f>g</f>h"), "ab<c>dh");
    assert_string_equal(group_name(p, ""), "");
    assert_string_equal(group_name(p, "&#13;&#10;x "), "\r\nx ");
    /* Across pieces the bytes are still put together. */
    assert_string_equal(group_name(p, "&#195;<!-- -->&#169;"), "\xC3\xA9");
    g = group_at(parse_ok(p, one_group(p, "<name/>")), 0);
    assert_string_equal(g->name, "");
    assert_null(g->app_root);
}

/* ---- structure -------------------------------------------------------------------------------- */

static void groups_of_every_supergroup_in_order(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool *procpool = parse_ok(p, "<info><supergroups>"
        "<supergroup><name>s1</name><group><name>a</name></group><group><name>b</name></group>"
        "</supergroup><supergroup><group default=\"true\"><name>c</name><processes>"
        "<process><pid>1</pid></process><process><pid>2</pid></process></processes>"
        "<processes><process><pid>3</pid></process></processes></group></supergroup>"
        "<supergroup/></supergroups><supergroups><supergroup><group><name>d</name></group>"
        "</supergroup></supergroups><group><name>not in a supergroup</name></group></info>");

    assert_int_equal(procpool->groups->nelts, 4);
    assert_string_equal(group_at(procpool, 0)->name, "a");
    assert_string_equal(group_at(procpool, 1)->name, "b");
    assert_string_equal(group_at(procpool, 2)->name, "c");
    assert_string_equal(group_at(procpool, 3)->name, "d");
    assert_false(group_at(procpool, 0)->is_default);
    assert_true(group_at(procpool, 2)->is_default);
    assert_int_equal(group_at(procpool, 0)->processes->nelts, 0);
    assert_int_equal(group_at(procpool, 2)->processes->nelts, 3);
    assert_int_equal(process_at(group_at(procpool, 2), 0)->pid, 1);
    assert_int_equal(process_at(group_at(procpool, 2), 2)->pid, 3);
}

static void unknown_elements_options_and_repeats(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool_group *g = group_at(parse_ok(p, one_group(p,
        "<future_field><name>no</name></future_field><name>first</name><name>second</name>"
        "<options><api_key>from options</api_key><app_root>/options</app_root></options>"
        "<spawning/><restarting></restarting><processes><process><pid>7</pid><pid>8</pid>"
        "<code_revision>abc</code_revision><has_metrics>false</has_metrics></process>"
        "</processes>")), 0);
    papi_procpool_process *proc = process_at(g, 0);

    /* The first of a name counts; <options> is never read. */
    assert_string_equal(g->name, "first");
    assert_null(g->api_key);
    assert_null(g->app_root);
    assert_true(g->spawning);
    assert_true(g->restarting);
    assert_int_equal(g->uid, PAPI_PROCPOOL_NONE);
    assert_int_equal(proc->pid, 7);
    assert_string_equal(proc->code_revision, "abc");
    assert_int_equal(proc->has_metrics, 0);
    assert_int_equal(proc->sockets->nelts, 0);
}

/* Lists are read where they belong only: not inside a field, an unknown element or <options>,
 * and a group's own <group> is its Unix group, not a group of the pool. */
static void lists_only_where_they_belong(void **state)
{
    apr_pool_t *p = *state;
    papi_procpool_group *g = group_at(parse_ok(p, one_group(p,
        "<name>n<processes><process><pid>1</pid></process></processes></name>"
        "<future><processes><process><pid>2</pid></process></processes></future>"
        "<options><processes><process><pid>3</pid></process></processes></options>"
        "<group>staff<group><name>inner</name></group></group>"
        "<processes><future><process><pid>4</pid></process></future>"
        "<process><pid>5</pid><future><sockets><socket><address>x</address></socket></sockets>"
        "</future></process></processes>")), 0);

    assert_string_equal(g->name, "n");
    assert_string_equal(g->group, "staff");
    assert_int_equal(g->processes->nelts, 1);
    assert_int_equal(process_at(g, 0)->pid, 5);
    assert_int_equal(process_at(g, 0)->sockets->nelts, 0);
}

static void flags(void **state)
{
    apr_pool_t *p = *state;
    static const struct {
        const char *xml;
        int want;
    } cases[] = {
        { "1", 1 }, { "0", 0 }, { "true", 1 }, { "false", 0 }, { " true\n", 1 }, { "", -1 },
        { "yes", -1 }, { "TRUE", -1 }, { "01", -1 }, { "2", -1 },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *xml = one_group(p, apr_pstrcat(p, "<processes><process><has_metrics>",
            cases[i].xml, "</has_metrics><sockets><socket><accept_http_requests>", cases[i].xml,
            "</accept_http_requests><description>d</description></socket></sockets></process>"
            "</processes>", NULL));
        papi_procpool_process *proc = process_at(group_at(parse_ok(p, xml), 0), 0);
        assert_int_equal(proc->has_metrics, cases[i].want);
        assert_int_equal(socket_at(proc, 0)->accept_http_requests, cases[i].want);
        assert_string_equal(socket_at(proc, 0)->description, "d");
    }
    /* Missing: -1; default only when "true". */
    assert_int_equal(process_at(group_at(parse_ok(p, one_group(p,
        "<processes><process/></processes>")), 0), 0)->has_metrics, -1);
    assert_false(group_at(parse_ok(p, apr_pstrcat(p, "<info><supergroups><supergroup>"
        "<group default=\"false\"/><group default=\"\"/><group other=\"true\"/>"
        "</supergroup></supergroups></info>", NULL)), 0)->is_default);
}

static void numbers_that_are_not_numbers(void **state)
{
    apr_pool_t *p = *state;
    static const struct {
        const char *xml;
        apr_int64_t want;
    } cases[] = {
        { "42", 42 }, { " 42\n", 42 }, { "-7", -7 }, { "0", 0 }, { "007", 7 },
        { "&#49;2", 12 }, { "<![CDATA[77]]>", 77 },
        { "9223372036854775807", APR_INT64_MAX },
        { "9223372036854775808", PAPI_PROCPOOL_NONE },
        { "-9223372036854775809", PAPI_PROCPOOL_NONE },
        { "-9223372036854775807", -APR_INT64_MAX }, { "-0", 0 },
        { "-9223372036854775808", PAPI_PROCPOOL_NONE },     /* the lowest is "not given" */
        { "18446744073709551616", PAPI_PROCPOOL_NONE }, { "92233720368547758070", PAPI_PROCPOOL_NONE },
        { "99999999999999999999999", PAPI_PROCPOOL_NONE },
        { "", PAPI_PROCPOOL_NONE }, { " ", PAPI_PROCPOOL_NONE }, { "12a", PAPI_PROCPOOL_NONE },
        { "+5", PAPI_PROCPOOL_NONE }, { "0x10", PAPI_PROCPOOL_NONE }, { "1.5", PAPI_PROCPOOL_NONE },
        { "1e3", PAPI_PROCPOOL_NONE }, { "-", PAPI_PROCPOOL_NONE }, { "--1", PAPI_PROCPOOL_NONE },
        { "- 1", PAPI_PROCPOOL_NONE }, { "4 2", PAPI_PROCPOOL_NONE },
        { "&#160;1", PAPI_PROCPOOL_NONE },
        { "&#65297;", PAPI_PROCPOOL_NONE },     /* FULLWIDTH DIGIT ONE */
        { "<x/>", PAPI_PROCPOOL_NONE },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *xml = one_group(p, apr_pstrcat(p, "<uid>", cases[i].xml, "</uid><processes>"
            "<process><pid>", cases[i].xml, "</pid></process></processes>", NULL));
        papi_procpool_group *g = group_at(parse_ok(p, xml), 0);
        if (g->uid != cases[i].want)
            fail_msg("<uid>%s</uid> gave %lld", cases[i].xml, (long long)g->uid);
        assert_int_equal(process_at(g, 0)->pid, cases[i].want);
    }
}

#define PROCESSES_MAX 5000

static void too_many_processes(void **state)
{
    apr_pool_t *p = *state;
    char *many = apr_palloc(p, PROCESSES_MAX * 10 + 1), *at = many;
    const char *xml;
    papi_procpool *procpool;
    int i;

    for (i = 0; i < PROCESSES_MAX; i++, at += 10)
        memcpy(at, "<process/>", 10);
    *at = '\0';
    /* The most in all is fine, even spread over groups... */
    xml = apr_pstrcat(p, "<info><supergroups><supergroup><group><processes>", many,
                      "</processes></group></supergroup></supergroups></info>", NULL);
    procpool = parse_ok(p, xml);
    assert_int_equal(group_at(procpool, 0)->processes->nelts, PROCESSES_MAX);
    /* ...one more is not. */
    xml = apr_pstrcat(p, "<info><supergroups><supergroup><group><processes>", many,
                      "</processes></group><group><processes><process/></processes></group>"
                      "</supergroup></supergroups></info>", NULL);
    assert_has(parse_error(p, xml, strlen(xml)), "more than 5000 processes");

    /* Groups are capped too. */
    for (i = 0, at = many; i < PROCESSES_MAX; i++, at += 10)
        memcpy(at, "<group/>  ", 10);
    xml = apr_pstrcat(p, "<info><supergroups><supergroup>", many, "<group/>"
                      "</supergroup></supergroups></info>", NULL);
    assert_has(parse_error(p, xml, strlen(xml)), "more than 5000 groups");
}

/* The model is bounded by elements too: a document of tiny elements stops early. */
static void too_many_elements(void **state)
{
    apr_pool_t *p = *state;
    apr_size_t n = 250001, i;
    char *xml = apr_palloc(p, n * 4 + 16), *at = xml;

    memcpy(at, "<info>", 6);
    at += 6;
    for (i = 0; i < n; i++, at += 4)
        memcpy(at, "<a/>", 4);
    memcpy(at, "</info>", 8);
    assert_has(parse_error(p, xml, strlen(xml)), "more than 250000 elements");
}

/* ---- refused documents ------------------------------------------------------------------------ */

static void dtd_with_entities_refused(void **state)
{
    apr_pool_t *p = *state;
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE info [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
        "]><info><passenger_version>&e;</passenger_version><supergroups><supergroup><group>"
        "<name>&e;</name></group></supergroup></supergroups></info>";
    const char *why = parse_error(p, laughs, strlen(laughs));

    assert_has(why, "document type declaration");
    assert_null(strstr(why, "aaa"));
    /* Even a broken internal subset is never read: the refusal comes first. */
    laughs = "<!DOCTYPE info [ <!ENTITY broken ]><info/>";
    assert_has(parse_error(p, laughs, strlen(laughs)), "document type declaration");
    laughs = "<!DOCTYPE info><info/>";
    assert_has(parse_error(p, laughs, strlen(laughs)), "document type declaration");
}

static void external_entity_refused(void **state)
{
    apr_pool_t *p = *state;
    const char *xxe = DECL "<!DOCTYPE info [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                      "<info><passenger_version>&x;</passenger_version></info>";
    const char *why = parse_error(p, xxe, strlen(xxe));

    assert_has(why, "document type declaration");
    assert_null(strstr(why, "root:"));
    xxe = "<!DOCTYPE info SYSTEM \"http://127.0.0.1:9/pool.dtd\"><info/>";
    assert_has(parse_error(p, xxe, strlen(xxe)), "document type declaration");
    xxe = "<!DOCTYPE info [<!ENTITY % pe SYSTEM \"file:///etc/passwd\"> %pe;]><info/>";
    assert_has(parse_error(p, xxe, strlen(xxe)), "document type declaration");
}

static void not_well_formed(void **state)
{
    apr_pool_t *p = *state;
    static const char nul_byte[] = "<info><passenger_version>a\0b</passenger_version></info>";
    const char *body = papi_test_sample_body(p, "core_GET_pool.xml.http");
    const char *why;

    why = parse_error(p, "<info><a></b></info>", 20);
    assert_has(why, "pool.xml is not well-formed XML: ");
    assert_has(why, "mismatch");
    assert_null(strchr(why, '\n'));
    /* Cut short: the real sample in half. */
    assert_has(parse_error(p, body, strlen(body) / 2), "not well-formed");
    /* Without a DTD no entity is defined. */
    assert_has(parse_error(p, "<info>&x;</info>", 16), "not well-formed");
    /* A NUL never truncates a string silently: as a reference or as a byte, it is refused. */
    why = "<info><passenger_version>a&#0;b</passenger_version></info>";
    assert_has(parse_error(p, why, strlen(why)), "not well-formed");
    assert_has(parse_error(p, nul_byte, sizeof(nul_byte) - 1), "NUL byte at offset 26");
    /* A NUL after the root element is no end of the input: the rest is not ignored. */
    assert_has(parse_error(p, "<info/>\0<junk", 14), "NUL byte at offset 7");
    assert_has(parse_error(p, "<info>&#1;</info>", 17), "not well-formed");
    assert_string_equal(parse_error(p, "", 0), "pool.xml is empty");
    assert_has(parse_error(p, " \n", 2), "not well-formed");
    assert_has(parse_error(p, "<info/><info/>", 14), "not well-formed");
    assert_has(parse_error(p, "{\"status\":\"ok\"}", 15), "not well-formed");
}

static void wrong_root(void **state)
{
    apr_pool_t *p = *state;
    const char *xml = DECL "<pool version=\"3\"/>";
    const char *why = parse_error(p, xml, strlen(xml));
    char long_name[1000];

    assert_string_equal(why, "pool.xml's root element is <pool>, not <info>");
    /* A long name is cut in the message. */
    long_name[0] = '<';
    memset(long_name + 1, 'x', sizeof(long_name) - 4);
    memcpy(long_name + sizeof(long_name) - 3, "/>", 3);
    why = parse_error(p, long_name, strlen(long_name));
    assert_has(why, "xxx...>, not <info>");
    assert_true(strlen(why) < 250);
}

/* ---- silence ---------------------------------------------------------------------------------- */

static const char *const refused[] = {
    "<info><a></b></info>",
    "<info>&x;</info>",
    "<info>&#0;</info>",
    "<?xml version=\"1.1\" encoding=\"no-such\"?><info>",
    "<!DOCTYPE info [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><info>&x;</info>",
    "<x:info xmlns:y=\"u\"/>",
    "<info a=\"1\" a=\"2\"/>",
    "\xEF\xBB\xBF<info/>",
    "<pool/>",
};

static void parse_refused(apr_pool_t *p)
{
    apr_size_t i;

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        papi_procpool *procpool;
        if (!papi_procpool_parse(p, refused[i], strlen(refused[i]), &procpool))
            fail_msg("accepted: %s", refused[i]);
    }
}

/* Refused documents print nothing to stderr: it is httpd's error log. */
static void errors_not_on_stderr(void **state)
{
    char path[] = "/tmp/test_pool_stderr.XXXXXX";
    int fd = mkstemp(path), saved;
    off_t written;

    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0 && dup2(fd, 2) == 2);
    parse_refused(*state);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    written = lseek(fd, 0, SEEK_END);
    close(fd);
    assert_int_equal(written, 0);
}

PAPI_TEST_MAIN(
    PAPI_TEST(sample_pool_xml),
    PAPI_TEST(sample_pool_xml_with_secrets),
    PAPI_TEST(empty_pool),
    PAPI_TEST(utf8_bytes_as_references),
    PAPI_TEST(latin1_fallback),
    PAPI_TEST(code_point_above_255_kept),
    PAPI_TEST(script_in_group_name),
    PAPI_TEST(encoding_declaration_ignored),
    PAPI_TEST(text_pieces_joined),
    PAPI_TEST(groups_of_every_supergroup_in_order),
    PAPI_TEST(unknown_elements_options_and_repeats),
    PAPI_TEST(lists_only_where_they_belong),
    PAPI_TEST(flags),
    PAPI_TEST(numbers_that_are_not_numbers),
    PAPI_TEST(too_many_processes),
    PAPI_TEST(too_many_elements),
    PAPI_TEST(dtd_with_entities_refused),
    PAPI_TEST(external_entity_refused),
    PAPI_TEST(not_well_formed),
    PAPI_TEST(wrong_root),
    PAPI_TEST(errors_not_on_stderr))
