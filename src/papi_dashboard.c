/* The HTML dashboard. The page is written in one pass over the views, after one pass that finds
 * the page-wide figures (totals, the biggest process for the memory bars). The CSP it is served
 * with allows nothing but the one nonce'd <style>: no scripts, no style attributes, no outside
 * URLs, so bars are inline SVG coloured through classes, and phones get cards from a media
 * query. */
#include "papi_dashboard.h"
#include "papi_form.h"
#include "papi_utf8.h"

#include <apr_strings.h>
#include <stdlib.h>
#include <string.h>

/* U+2013 EN DASH: a number or string that was not given. */
#define DASH "\xE2\x80\x93"
/* The requests in flight an instance's card lists, longest-running first. */
#define PAPI_DASHBOARD_INFLIGHT_TOP 10
/* U+00B7 MIDDLE DOT, between items on one line. */
#define DOT " \xC2\xB7 "

static const char papi_dashboard_css[] =
    ":root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#16181b;--mute:#5d6670;"
    "--line:#e1e4e8;--acc:#1d5fc9;--bar:#3a7be0;--track:#e4e8ed;--ok:#136c3e;--okbg:#e1f3e8;"
    "--warn:#805300;--warnbg:#fbefd5;--bad:#ad1f28;--badbg:#fde7e7}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1013;--card:#161a1f;--fg:#e9ebee;"
    "--mute:#9ba4ae;--line:#2a3037;--acc:#7eacff;--bar:#5c95ef;--track:#272d35;--ok:#63d492;"
    "--okbg:#14301f;--warn:#f1bb4c;--warnbg:#33290f;--bad:#ff8080;--badbg:#3b1619}}\n"
    "*{box-sizing:border-box}html{font-size:15px}\n"
    "@media (min-width:1800px){html{font-size:18px}}\n"
    "@media (min-width:2400px){html{font-size:21px}}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:1rem/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",sans-serif}\n"
    ".page{max-width:110rem;margin:0 auto;padding:1.25rem}\n"
    "h1,h2,h3{margin:0;font-weight:650;line-height:1.25;overflow-wrap:anywhere}"
    "h1{font-size:1.6rem}h2{font-size:1.25rem}h3{font-size:1.02rem}\n"
    "a{color:var(--acc)}dl,dd,p{margin:0}\n"
    ".top{display:flex;flex-wrap:wrap;align-items:baseline;gap:.3rem 1.25rem;margin-bottom:.3rem}\n"
    "nav{display:flex;flex-wrap:wrap;gap:.35rem 1rem;margin-left:auto}\n"
    ".gen,.note{color:var(--mute);font-size:.9rem}.gen{margin-bottom:1rem}\n"
    ".tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.75rem;"
    "margin-bottom:1.25rem}\n"
    ".tiles>div{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:.65rem .9rem}\n"
    ".card .tiles>div{background:var(--bg)}.card .tiles{margin-bottom:.25rem}\n"
    "dt,th,td::before{color:var(--mute);font-size:.76rem;font-weight:500;text-transform:uppercase;"
    "letter-spacing:.04em}\n"
    ".tiles dd{font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums}\n"
    ".tiles small{font-size:.85rem;font-weight:400;color:var(--mute)}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:12px;"
    "padding:1rem 1.1rem;margin-bottom:1.25rem}.failed{border-left:4px solid var(--bad)}\n"
    ".head{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .6rem;margin-bottom:.7rem}\n"
    ".facts{display:flex;flex-wrap:wrap;gap:.5rem 1.75rem;margin-bottom:1rem}\n"
    ".facts dd{overflow-wrap:anywhere;font-variant-numeric:tabular-nums}\n"
    ".group{border-top:1px solid var(--line);margin-top:1rem;padding-top:1rem}"
    ".group .facts{margin-bottom:.6rem}\n"
    "details.group{margin-top:.6rem;padding-top:.6rem}summary.head{cursor:pointer;margin:0}"
    "summary.head::before{content:\"\\25B8\";color:var(--mute)}"
    "details[open]>summary.head{margin-bottom:.7rem}"
    "details[open]>summary.head::before{content:\"\\25BE\"}"
    ".totals{color:var(--mute);font-size:.9rem}\n"
    ".tag{display:inline-block;font-size:.74rem;font-weight:650;padding:.08rem .55rem;"
    "border-radius:.7rem;background:var(--track);color:var(--mute);white-space:nowrap}\n"
    ".ok{color:var(--ok);background:var(--okbg)}.warn{color:var(--warn);background:var(--warnbg)}"
    ".bad{color:var(--bad);background:var(--badbg)}\n"
    ".error{border:1px solid;border-radius:8px;padding:.7rem .9rem;font-weight:600;"
    "overflow-wrap:anywhere}main>.error{margin-bottom:1.25rem}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th{text-align:left;white-space:nowrap}th,td{padding:.45rem .7rem;"
    "border-bottom:1px solid var(--line)}tbody tr:last-child td{border-bottom:0}\n"
    ".n{text-align:right;white-space:nowrap}.pid{font-weight:650}\n"
    /* Fixed columns, so the tables of an instance's groups line up under each other. */
    "table.procs{table-layout:fixed;min-width:56rem}\n"
    ".procs th:nth-child(-n+3),.procs th:nth-child(6),"
    ".procs th:nth-child(8){width:9%}.procs th:nth-child(4){width:7%}"
    ".procs th:nth-child(5){width:14%}.procs th:nth-child(7){width:10%}\n"
    "svg.bar{display:block;width:100%;height:6px;margin-top:4px;border-radius:3px;"
    "background:var(--track)}svg.bar rect{fill:var(--bar)}.mem svg.bar{max-width:10rem;"
    "margin-left:auto}\n"
    ".path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;"
    "overflow-wrap:anywhere}.none{color:var(--mute)}\n"
    "@media (max-width:700px){.page{padding:.75rem}.card{padding:.85rem .8rem}nav{margin-left:0}\n"
    ".card .tiles{grid-template-columns:repeat(3,1fr);gap:.5rem}"
    ".card .tiles>div{padding:.5rem .6rem}"
    ".card .tiles dd{font-size:1.3rem}\n"
    "table.cards thead{display:none}table.cards,table.cards tbody{display:block;min-width:0}\n"
    "table.cards tr{display:grid;grid-template-columns:1fr 1fr;gap:.45rem 1rem;"
    "border:1px solid var(--line);border-radius:10px;padding:.65rem .8rem;margin-bottom:.6rem}\n"
    "table.cards td{display:block;border:0;padding:0;text-align:left;min-width:0;width:auto}\n"
    "table.cards td::before{content:attr(data-label);display:block}"
    "table.cards td.wide{grid-column:1/-1}\n"
    /* A process card opens with its pid and its state on one line. */
    "table.cards td{order:2}table.cards td.pid{order:0;font-size:1.15rem}"
    "table.cards td.pid::before{display:inline;margin-right:.45rem}"
    "table.cards td.st{order:1;text-align:right}table.cards td.st::before{display:none}"
    "table.cards .tag{white-space:normal}}\n"
    /* The actions of a full-mode page: plain forms, one button each. */
    "form.act{display:inline;margin:0 0 0 .4rem}.head form.act{margin-left:auto}\n"
    ".act button{font:inherit;font-size:.8rem;padding:.1rem .65rem;border:1px solid var(--line);"
    "border-radius:6px;background:var(--card);color:var(--fg);cursor:pointer}"
    ".act button:hover,.act button:focus{border-color:var(--acc)}\n"
    ".done{border:1px solid;border-radius:8px;padding:.7rem .9rem;font-weight:600;"
    "margin-bottom:1.25rem;overflow-wrap:anywhere}\n";

/* What is drawn from every view before anything is written. */
typedef struct papi_dash {
    papi_buf *b;
    apr_pool_t *p;
    const papi_dashboard_opts *opts;
    const char *base;           /* opts->base without a trailing slash */
    int candidates, good;
    apr_int64_t groups, processes;
    apr_int64_t memory;         /* KiB, real memory of every process that gave it; -1: none did */
    apr_int64_t biggest;        /* the largest real_memory on the page, 0: none */
    const apr_array_header_t *views;    /* every view, for what a process row looks up */
    apr_int64_t sessions;       /* of every process that gave them */
    apr_int64_t *rows_left;     /* process rows the page may still list (PAPI_DASHBOARD_ROWS) */
} papi_dash;

/* An app group of more processes than this is drawn folded, its totals in view. */
#define PAPI_DASHBOARD_FOLD 50
/* Process rows one page lists at the most (about 600 bytes each): the groups past them are
 * drawn folded with their totals only, so that a page of any host stays well under 1 MB. */
#define PAPI_DASHBOARD_ROWS 500

/* Writes s HTML-escaped, for text and for quoted attribute values alike. C0 controls other than
 * tab and newline are not allowed in HTML text, so they become U+FFFD. */
static void papi_put_escaped(papi_buf *b, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *rep;
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '&':  rep = "&amp;"; break;
        case '<':  rep = "&lt;"; break;
        case '>':  rep = "&gt;"; break;
        case '"':  rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F)
                rep = PAPI_UTF8_REPLACEMENT;
            else
                continue;
        }
        papi_buf_add(b, run, (apr_size_t)(s - run));
        papi_buf_puts(b, rep);
        run = s + 1;
    }
    papi_buf_puts(b, run);
}

/* A string from outside, or a dash when it was not given. */
static void papi_put_text(papi_buf *b, const char *s)
{
    if (s && *s)
        papi_put_escaped(b, s);
    else
        papi_buf_puts(b, "<span class=\"none\">" DASH "</span>");
}

/* An upper-case word from Passenger ("SHUTDOWN_TRIGGERED") as it reads in a sentence. */
static void papi_put_word(papi_buf *b, apr_pool_t *p, const char *s)
{
    char *w, *c;

    if (!s || !*s) {
        papi_put_text(b, s);
        return;
    }
    w = apr_pstrdup(p, s);
    for (c = w; *c; c++)
        *c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c == '_' ? ' ' : *c;
    papi_put_escaped(b, w);
}

static void papi_put_int(papi_buf *b, apr_int64_t v)
{
    if (v == PAPI_PROCPOOL_NONE)
        papi_put_text(b, NULL);
    else
        papi_buf_int64(b, v);
}

/* KiB in binary multiples, as top and passenger-status count them: "900 KB", "12.3 MB", "512 MB".
 * Integers only: the C library's %f would follow the locale. */
static void papi_put_memory(papi_buf *b, apr_int64_t kib)
{
    static const char *const units[] = { "KB", "MB", "GB", "TB", "PB", "EB" };
    apr_int64_t whole, scale = 1;
    int u = 0;

    if (kib == PAPI_PROCPOOL_NONE || kib < 0) {
        papi_put_text(b, NULL);
        return;
    }
    while (kib / scale >= 1024 && u < 5) {
        scale *= 1024;
        u++;
    }
    whole = kib / scale;
    if (u == 0) {
        papi_buf_printf(b, "%" APR_INT64_T_FMT " KB", kib);
        return;
    }
    if (whole >= 100) {
        papi_buf_printf(b, "%" APR_INT64_T_FMT " %s", whole + (kib % scale >= scale / 2), units[u]);
        return;
    }
    /* Tenths, rounded; (kib % scale) * 10 cannot overflow since scale <= 2^50. */
    whole = whole * 10 + ((kib % scale) * 10 + scale / 2) / scale;
    papi_buf_printf(b, "%" APR_INT64_T_FMT ".%d %s", whole / 10, (int)(whole % 10), units[u]);
}

/* A span of seconds in its two largest units: "45s", "5m 27s", "2h 3m", "4d 6h". */
static void papi_put_duration(papi_buf *b, apr_int64_t s)
{
    if (s < 60)
        papi_buf_printf(b, "%ds", (int)s);
    else if (s < 3600)
        papi_buf_printf(b, "%dm %ds", (int)(s / 60), (int)(s % 60));
    else if (s < 86400)
        papi_buf_printf(b, "%dh %dm", (int)(s / 3600), (int)(s % 3600 / 60));
    else
        papi_buf_printf(b, "%" APR_INT64_T_FMT "d %dh", s / 86400, (int)(s % 86400 / 3600));
}

/* Seconds from the moment t (µs since the epoch) to now; never negative, so a clock that
 * disagrees a little shows "0s" rather than nonsense. */
static apr_int64_t papi_seconds_since(const papi_dash *d, apr_int64_t t)
{
    apr_int64_t us = d->opts->now - t;

    return us > 0 ? us / APR_USEC_PER_SEC : 0;
}

static void papi_put_iso_time(papi_buf *b, apr_int64_t t, const char *sep, const char *zone)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    papi_buf_printf(b, "%04d-%02d-%02d%s%02d:%02d:%02d%s", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
}

/* A moment as <time>: the reader sees how long ago, a hover shows when. */
static void papi_put_time_since(const papi_dash *d, apr_int64_t t, int ago)
{
    apr_int64_t s;

    if (t == PAPI_PROCPOOL_NONE || t <= 0) {
        papi_put_text(d->b, NULL);
        return;
    }
    s = papi_seconds_since(d, t);
    papi_buf_puts(d->b, "<time datetime=\"");
    papi_put_iso_time(d->b, t, "T", "Z");
    papi_buf_puts(d->b, "\" title=\"");
    papi_put_iso_time(d->b, t, " ", " UTC");
    papi_buf_puts(d->b, "\">");
    if (!ago)
        papi_put_duration(d->b, s);
    else if (s < 1)
        papi_buf_puts(d->b, "just now");
    else if (s < 60)
        papi_buf_printf(d->b, "%ds ago", (int)s);
    else if (s < 3600)
        papi_buf_printf(d->b, "%dm ago", (int)(s / 60));
    else if (s < 86400)
        papi_buf_printf(d->b, "%dh ago", (int)(s / 3600));
    else
        papi_buf_printf(d->b, "%" APR_INT64_T_FMT "d ago", s / 86400);
    papi_buf_puts(d->b, "</time>");
}

/* A bar of value against full, in tenths of a percent: "100", "50", "37.5". Nothing when either
 * is unknown. */
static void papi_put_bar(papi_buf *b, apr_int64_t value, apr_int64_t full, const char *of)
{
    apr_int64_t tenths;
    char width[16];

    if (value == PAPI_PROCPOOL_NONE || full == PAPI_PROCPOOL_NONE || full <= 0)
        return;
    if (value <= 0)
        tenths = 0;
    else if (value >= full)
        tenths = 1000;
    else    /* in floating point: value * 1000 could overflow */
        tenths = (apr_int64_t)((double)value * 1000.0 / (double)full + 0.5);
    if (tenths % 10)
        apr_snprintf(width, sizeof(width), "%d.%d", (int)(tenths / 10), (int)(tenths % 10));
    else
        apr_snprintf(width, sizeof(width), "%d", (int)(tenths / 10));
    papi_buf_printf(b, "<svg class=\"bar\" viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" "
                    "role=\"img\" aria-label=\"%s%% of %s\">"
                    "<rect width=\"%s\" height=\"6\"/></svg>",
                    width, of, width);
}

static void papi_put_link(const papi_dash *d, const char *path)
{
    papi_buf_puts(d->b, "<a href=\"");
    papi_put_escaped(d->b, d->base);
    papi_buf_printf(d->b, "/%s\">%s</a>", path, path);
}

/* One <div><dt>label</dt><dd>...: the caller writes the value and closes with papi_end_fact. */
static void papi_start_fact(papi_buf *b, const char *label, const char *dd_class)
{
    papi_buf_printf(b, "<div><dt>%s</dt><dd%s%s%s>", label, dd_class ? " class=\"" : "",
                    dd_class ? dd_class : "", dd_class ? "\"" : "");
}

static void papi_end_fact(papi_buf *b)
{
    papi_buf_puts(b, "</dd></div>\n");
}

static void papi_put_text_fact(papi_buf *b, const char *label, const char *value,
                               const char *dd_class)
{
    papi_start_fact(b, label, dd_class);
    papi_put_text(b, value);
    papi_end_fact(b);
}

/* A table cell; data-label names it when a phone shows the row as a card. */
static void papi_start_cell(papi_buf *b, const char *label, const char *cls)
{
    papi_buf_printf(b, "<td data-label=\"%s\"%s%s%s>", label, cls ? " class=\"" : "",
                    cls ? cls : "", cls ? "\"" : "");
}

static const char *papi_prop_string(const papi_instance *inst, const char *key)
{
    json_t *v = json_object_get(inst->properties, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* instance_dir.created_at (seconds since the epoch) in µs, or PAPI_PROCPOOL_NONE. */
static apr_int64_t papi_instance_created_at(const papi_instance *inst)
{
    json_t *v = json_object_get(json_object_get(inst->properties, "instance_dir"), "created_at");
    json_int_t s;

    if (!json_is_integer(v))
        return PAPI_PROCPOOL_NONE;
    s = json_integer_value(v);
    if (s <= 0 || s > APR_INT64_MAX / APR_USEC_PER_SEC)
        return PAPI_PROCPOOL_NONE;
    return (apr_int64_t)s * APR_USEC_PER_SEC;
}

static const char *papi_instance_title(const papi_instance *inst)
{
    return inst->name ? inst->name : inst->dirname ? inst->dirname : inst->path;
}

static const papi_procpool_group *papi_group_at(const papi_procpool *procpool, int i)
{
    return APR_ARRAY_IDX(procpool->groups, i, const papi_procpool_group *);
}

static const papi_procpool_process *papi_process_at(const papi_procpool_group *g, int i)
{
    return APR_ARRAY_IDX(g->processes, i, const papi_procpool_process *);
}

static const papi_view *papi_view_at(const apr_array_header_t *views, int i)
{
    return &APR_ARRAY_IDX(views, i, papi_view);
}

static int papi_view_has_procpool(const papi_view *v)
{
    return v->status == 200 && v->procpool;
}

/* A count pool.xml gave, else 0. */
static apr_int64_t papi_known(apr_int64_t v)
{
    return v == PAPI_PROCPOOL_NONE || v < 0 ? 0 : v;
}

/* The page-wide figures: the summary, and the biggest process the memory bars are drawn against. */
static void papi_count_views(papi_dash *d, const apr_array_header_t *views)
{
    int i, j, k;

    d->memory = -1;
    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = papi_view_at(views, i);

        d->candidates += papi_instance_is_summary(v->inst)
                         ? v->inst->more_untrusted + v->inst->more_uninspected : 1;
        if (v->inst->state == PAPI_INST_GOOD)
            d->good++;
        if (!papi_view_has_procpool(v))
            continue;
        for (j = 0; v->procpool->groups && j < v->procpool->groups->nelts; j++) {
            const papi_procpool_group *g = papi_group_at(v->procpool, j);

            d->groups++;
            for (k = 0; g->processes && k < g->processes->nelts; k++) {
                apr_int64_t mem = papi_process_at(g, k)->real_memory;

                d->processes++;
                d->sessions += papi_known(papi_process_at(g, k)->sessions);
                if (mem == PAPI_PROCPOOL_NONE || mem < 0)
                    continue;
                d->memory = (d->memory < 0 ? 0 : d->memory) + mem;
                if (mem > d->biggest)
                    d->biggest = mem;
            }
        }
    }
}

/* ---- the actions (full mode) ------------------------------------------------------------------ */

/* A form that posts one action to PAPI_ACTION_PATH with the page's nonce. field=value names
 * its target (group or pid, in instance); label is the button's text, aria its longer name. */
static void papi_dashboard_actions_form(const papi_dash *d, const char *action,
                                        const char *instance, const char *field,
                                        const char *value, const char *label, const char *aria)
{
    papi_buf *b = d->b;

    papi_buf_puts(b, "<form class=\"act\" method=\"post\" action=\"");
    papi_put_escaped(b, d->base);
    papi_buf_printf(b, PAPI_ACTION_PATH "\"><input type=\"hidden\" name=\"action\" value=\"%s\">"
                       "<input type=\"hidden\" name=\"instance\" value=\"", action);
    papi_put_escaped(b, instance);
    papi_buf_printf(b, "\"><input type=\"hidden\" name=\"%s\" value=\"", field);
    papi_put_escaped(b, value);
    papi_buf_puts(b, "\"><input type=\"hidden\" name=\"nonce\" value=\"");
    papi_put_escaped(b, d->opts->action_nonce);
    papi_buf_puts(b, "\"><button type=\"submit\" aria-label=\"");
    papi_put_escaped(b, aria);
    papi_buf_printf(b, "\">%s</button></form>", label);
}

/* "Restart" for an app group, in full mode. */
static void papi_dashboard_actions_restart(const papi_dash *d, const char *instance,
                                           const papi_procpool_group *g)
{
    if (!d->opts->action_nonce || !instance || !g->name || !*g->name)
        return;
    papi_dashboard_actions_form(d, "restart", instance, "group", g->name, "Restart",
                                apr_pstrcat(d->p, "Restart ", g->name, NULL));
}

/* "Detach" for a process, in full mode: one alive and not detached already (Passenger lists a
 * detached process until it has shut down). */
static void papi_dashboard_actions_detach(const papi_dash *d, const char *instance,
                                          const papi_procpool_process *proc)
{
    const char *pid;

    if (!d->opts->action_nonce || !instance || proc->pid <= 0 || proc->pid == PAPI_PROCPOOL_NONE
        || !proc->life_status || strcmp(proc->life_status, "ALIVE")
        || (proc->enabled && !strcmp(proc->enabled, "DETACHED")))
        return;
    pid = apr_psprintf(d->p, "%" APR_INT64_T_FMT, proc->pid);
    papi_dashboard_actions_form(d, "detach", instance, "pid", pid, "Detach",
                                apr_pstrcat(d->p, "Detach process ", pid, NULL));
}

/* After an action the page reloads without its report, so the report is said once. */
static void papi_dashboard_actions_refresh_url(const papi_dash *d)
{
    if (!d->opts->done || d->opts->done->kind == PAPI_ACTION_NONE)
        return;
    papi_buf_puts(d->b, "; url=");
    papi_put_escaped(d->b, d->base);
    papi_buf_printf(d->b, "/?refresh=%d", d->opts->refresh);
}

/* Whether an app group of that name is on the page. */
static int papi_dashboard_actions_known_group(const apr_array_header_t *views, const char *name)
{
    int i, j;

    for (i = 0; i < views->nelts; i++) {
        const papi_view *v = papi_view_at(views, i);

        for (j = 0; papi_view_has_procpool(v) && v->procpool->groups
                    && j < v->procpool->groups->nelts; j++)
            if (papi_group_at(v->procpool, j)->name
                && !strcmp(papi_group_at(v->procpool, j)->name, name))
                return 1;
    }
    return 0;
}

/* What the last action did, from the query. The words are the module's own; the URL gives only
 * a code, a pid, and a group's name, shown only when that group is on the page (a link with any
 * text in it cannot make the page say it). */
static void papi_dashboard_actions_report(const papi_dash *d, const apr_array_header_t *views)
{
    const papi_action_done *done = d->opts->done;
    papi_buf *b = d->b;

    if (!done || done->kind == PAPI_ACTION_NONE)
        return;
    papi_buf_printf(b, "<p class=\"done %s\" role=\"%s\">", done->ok ? "ok" : "bad",
                    done->ok ? "status" : "alert");
    if (done->kind == PAPI_ACTION_DETACH) {
        papi_buf_printf(b, "%s process %" APR_INT64_T_FMT, done->ok ? "Detached"
                        : "Could not detach", done->pid);
    } else {
        papi_buf_puts(b, done->ok ? "Restarted" : "Could not restart");
        if (done->group && papi_dashboard_actions_known_group(views, done->group)) {
            papi_buf_puts(b, " app group <span class=\"path\">");
            papi_put_escaped(b, done->group);
            papi_buf_puts(b, "</span>");
        } else {
            papi_buf_puts(b, " an app group");
        }
    }
    papi_buf_puts(b, done->ok ? ".</p>\n" : ": the server's error log says why.</p>\n");
}

static void papi_put_head(const papi_dash *d)
{
    papi_buf *b = d->b;

    papi_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"color-scheme\" content=\"light dark\">\n");
    if (d->opts->refresh > 0) {
        papi_buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%d", d->opts->refresh);
        papi_dashboard_actions_refresh_url(d);
        papi_buf_puts(b, "\">\n");
    }
    papi_buf_puts(b, "<title>Passenger</title>\n<style nonce=\"");
    papi_put_escaped(b, d->opts->nonce ? d->opts->nonce : "");
    papi_buf_puts(b, "\">\n");
    papi_buf_puts(b, papi_dashboard_css);
    papi_buf_puts(b, "</style>\n</head>\n");
}

static void papi_put_header(const papi_dash *d)
{
    papi_buf *b = d->b;

    papi_buf_puts(b, "<header>\n<div class=\"top\"><h1>Passenger</h1>\n<nav>");
    papi_put_link(d, "processes.json");
    papi_put_link(d, "metrics");
    papi_put_link(d, "instances.json");
    papi_buf_puts(b, "</nav></div>\n<p class=\"gen\">Generated <time datetime=\"");
    papi_put_iso_time(b, d->opts->now, "T", "Z");
    papi_buf_puts(b, "\">");
    papi_put_iso_time(b, d->opts->now, " ", " UTC");
    papi_buf_puts(b, "</time>");
    if (d->opts->refresh > 0)
        papi_buf_printf(b, DOT "refreshes every %d s", d->opts->refresh);
    papi_buf_puts(b, "</p>\n<dl class=\"tiles\">\n");
    papi_start_fact(b, "Instances", NULL);
    papi_buf_printf(b, "%d <small>good of %d</small>", d->good, d->candidates);
    papi_end_fact(b);
    papi_start_fact(b, "App groups", NULL);
    papi_put_int(b, d->groups);
    papi_end_fact(b);
    papi_start_fact(b, "Processes", NULL);
    papi_put_int(b, d->processes);
    papi_end_fact(b);
    papi_start_fact(b, "Sessions", NULL);
    papi_put_int(b, d->sessions);
    papi_end_fact(b);
    papi_start_fact(b, "Memory", NULL);
    papi_put_memory(b, d->memory < 0 ? PAPI_PROCPOOL_NONE : d->memory);
    papi_end_fact(b);
    papi_buf_puts(b, "</dl>\n</header>\n");
}

/* A process's state in one tag: green while it is alive and takes requests. */
static void papi_put_process_state(const papi_dash *d, const papi_procpool_process *proc)
{
    int fine = proc->life_status && !strcmp(proc->life_status, "ALIVE") && proc->enabled &&
               !strcmp(proc->enabled, "ENABLED");

    papi_buf_printf(d->b, "<span class=\"tag %s\">", fine ? "ok" : "warn");
    papi_put_word(d->b, d->p, proc->life_status);
    papi_buf_puts(d->b, DOT);
    papi_put_word(d->b, d->p, proc->enabled);
    papi_buf_puts(d->b, "</span>");
}

/* The process's last health probe, when a recent one is recorded: a second tag under its state. */
static void papi_put_process_probe(const papi_dash *d, const char *name,
                                   const papi_procpool_process *proc)
{
    papi_probe_result r;

    if (!papi_probes_get(d->opts->probes, name, proc->pid, d->opts->now, d->opts->probe_max_age,
                         &r))
        return;
    if (!r.reachable) {
        papi_buf_puts(d->b, " <span class=\"tag\" title=\"");
        papi_put_escaped(d->b, r.error);
        papi_buf_puts(d->b, "\">not probed</span>");
        return;
    }
    papi_buf_printf(d->b, " <span class=\"tag %s\" title=\"", r.healthy ? "ok" : "bad");
    if (r.error[0])
        papi_put_escaped(d->b, r.error);
    else
        papi_buf_printf(d->b, "answered %d in %d ms", r.status, (int)(r.latency / 1000));
    papi_buf_printf(d->b, "\">probe %s</span>", r.healthy ? "ok" : "failed");
}

/* ---- what is running now: requests in flight (server.json) ---- */

/* The read requests in flight of instance name, or NULL. */
static const apr_array_header_t *papi_inflight_of(const papi_dash *d, const char *name)
{
    int i;

    /* Only a read instance has requests, and a name: a candidate not good may have none. */
    for (i = 0; i < d->views->nelts; i++) {
        const papi_view *v = papi_view_at(d->views, i);
        if (v->inflight && !strcmp(v->inst->name, name))
            return v->inflight;
    }
    return NULL;
}

/* How many requests the process serves now; a dash when server.json was not read. */
static void papi_put_process_inflight(const papi_dash *d, const char *name,
                                      const papi_procpool_process *proc)
{
    const apr_array_header_t *reqs = papi_inflight_of(d, name);

    papi_start_cell(d->b, "In flight", "n");
    papi_put_int(d->b, reqs ? papi_inflight_count(reqs, proc->pid) : PAPI_PROCPOOL_NONE);
    papi_buf_puts(d->b, "</td>");
}

/* An age in tenths of a second ("3.2 s"); integers only, as papi_put_memory. */
static void papi_put_age(papi_buf *b, apr_interval_time_t age)
{
    apr_int64_t tenths = age / 100000;

    if (age < 0)
        papi_put_text(b, NULL);
    else
        papi_buf_printf(b, "%" APR_INT64_T_FMT ".%d s", tenths / 10, (int)(tenths % 10));
}

/* The instance's longest-running requests, PAPI_DASHBOARD_INFLIGHT_TOP of them (papi_inflight
 * sorts them longest first), with how many there are. */
static void papi_put_inflight(const papi_dash *d, const papi_view *v)
{
    const papi_procpool_process *proc;
    const papi_procpool_group *g;
    papi_buf *b = d->b;
    int i;

    if (!v->inflight)
        return;
    papi_buf_printf(b, "<section class=\"group\">\n<div class=\"head\"><h3>Longest-running "
                       "requests</h3><span class=\"tag\">%d in flight</span></div>\n",
                    v->inflight_total);
    if (v->inflight->nelts == 0) {
        papi_buf_puts(b, "<p class=\"note\">No requests in flight right now.</p>\n</section>\n");
        return;
    }
    papi_buf_puts(b, "<div class=\"scroll\"><table class=\"cards inflight\">\n<thead><tr>"
                     "<th class=\"n\">Age</th><th>Method</th><th>Path</th><th>App group</th>"
                     "<th>PID</th></tr></thead>\n<tbody>\n");
    for (i = 0; i < v->inflight->nelts && i < PAPI_DASHBOARD_INFLIGHT_TOP; i++) {
        const papi_inflight *r = &APR_ARRAY_IDX(v->inflight, i, papi_inflight);
        g = r->pid ? papi_view_find(v, r->pid, &proc) : NULL;
        papi_buf_puts(b, "<tr>");
        papi_start_cell(b, "Age", "n");
        papi_put_age(b, r->age);
        papi_buf_puts(b, "</td>");
        papi_start_cell(b, "Method", NULL);
        papi_put_text(b, r->method);
        papi_buf_puts(b, "</td>");
        papi_start_cell(b, "Path", "path");
        papi_put_text(b, r->path);
        papi_buf_puts(b, "</td>");
        papi_start_cell(b, "App group", NULL);
        papi_put_text(b, g ? g->name : NULL);
        papi_buf_puts(b, "</td>");
        papi_start_cell(b, "PID", "pid");
        papi_put_int(b, r->pid ? r->pid : PAPI_PROCPOOL_NONE);
        papi_buf_puts(b, "</td></tr>\n");
    }
    papi_buf_puts(b, "</tbody>\n</table></div>\n</section>\n");
}

/* ---- memory over time (papi_rsshist) ---- */

/* The smallest range of memory a sparkline spans, kB. */
#define PAPI_SPARK_LEAST_RANGE 1024

/* The process's resident memory of the last ten minutes as a sparkline: time across, from its
 * first sample kept to its last (so a young history still spans the cell), memory up from the
 * lowest sample to the highest. Inline SVG with presentation attributes only, which the page's
 * CSP allows (no style attribute); nothing until two samples are kept. */
static void papi_put_sparkline(const papi_dash *d, const char *name,
                               const papi_procpool_process *proc)
{
    papi_rss_sample s[PAPI_RSSHIST_SAMPLES];
    apr_int64_t lo, hi;
    int i, n = papi_rsshist_get(d->opts->rss, name, proc->pid, d->opts->now, s);

    if (n < 2)
        return;
    lo = hi = s[0].kb;
    for (i = 1; i < n; i++) {
        lo = s[i].kb < lo ? s[i].kb : lo;
        hi = s[i].kb > hi ? s[i].kb : hi;
    }
    /* Under the figure, as wide as its column. */
    papi_buf_printf(d->b, "<div><svg class=\"spark\" width=\"100%%\" height=\"20\" viewBox=\"0 0 %"
                    APR_INT64_T_FMT " 100\" preserveAspectRatio=\"none\" role=\"img\" "
                    "aria-label=\"resident memory over the last 10 minutes\"><title>",
                    (apr_int64_t)(s[n - 1].at - s[0].at));
    papi_put_memory(d->b, s[0].kb);
    papi_buf_puts(d->b, " \xE2\x86\x92 ");       /* U+2192 RIGHTWARDS ARROW */
    papi_put_memory(d->b, s[n - 1].kb);
    papi_buf_puts(d->b, " in the last 10 minutes</title><polyline fill=\"none\" "
                        "stroke=\"currentColor\" stroke-width=\"2\" "
                        "vector-effect=\"non-scaling-stroke\" points=\"");
    /* Less than a megabyte of change is drawn as the little it is, not as a climb; y grows
     * downwards. */
    if (hi - lo < PAPI_SPARK_LEAST_RANGE)
        hi = lo + PAPI_SPARK_LEAST_RANGE;
    for (i = 0; i < n; i++)
        papi_buf_printf(d->b, "%s%" APR_INT64_T_FMT ",%d", i ? " " : "",
                        (apr_int64_t)(s[i].at - s[0].at),
                        95 - (int)((s[i].kb - lo) * 90 / (hi - lo)));
    papi_buf_puts(d->b, "\"/></svg></div>");
}

static void papi_put_process_row(const papi_dash *d, const char *name,
                                 const papi_procpool_process *proc)
{
    papi_buf *b = d->b;

    papi_buf_puts(b, "<tr>");
    papi_start_cell(b, "PID", "pid");
    papi_put_int(b, proc->pid);
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "Sessions", "n");
    papi_put_int(b, proc->sessions);
    /* Passenger's concurrency 0 means no limit (multithreaded and evented apps). */
    if (proc->concurrency == 0)
        papi_buf_puts(b, " / \xE2\x88\x9E");
    else if (proc->concurrency != PAPI_PROCPOOL_NONE)
        papi_buf_printf(b, " / %" APR_INT64_T_FMT, proc->concurrency);
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "Processed", "n");
    papi_put_int(b, proc->processed);
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "CPU", "n");
    papi_put_int(b, proc->cpu);
    if (proc->cpu != PAPI_PROCPOOL_NONE)
        papi_buf_putc(b, '%');
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "Memory", "n mem");
    papi_put_memory(b, proc->real_memory);
    papi_put_bar(b, proc->real_memory, d->biggest, "the largest process");
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "RSS", "n");
    papi_put_memory(b, proc->rss);
    papi_put_sparkline(d, name, proc);
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "Uptime", "n");
    papi_put_time_since(d, proc->spawn_end_time, 0);
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "Last used", "n");
    papi_put_time_since(d, proc->last_used, 1);
    papi_buf_puts(b, "</td>");
    papi_put_process_inflight(d, name, proc);
    papi_start_cell(b, "State", "st");
    papi_put_process_state(d, proc);
    papi_put_process_probe(d, name, proc);
    papi_dashboard_actions_detach(d, name, proc);
    papi_buf_puts(b, "</td></tr>\n");
    papi_buf_cut(b);
}

static void papi_put_processes(const papi_dash *d, const char *name, const papi_procpool_group *g)
{
    int i;

    if (!g->processes || g->processes->nelts == 0) {
        papi_buf_puts(d->b, "<p class=\"note\">No processes in this app group right now.</p>\n");
        return;
    }
    papi_buf_puts(d->b, "<div class=\"scroll\"><table class=\"cards procs\">\n<thead><tr>"
                        "<th>PID</th><th class=\"n\">Sessions</th><th class=\"n\">Processed</th>"
                        "<th class=\"n\">CPU</th><th class=\"n\">Memory</th>"
                        "<th class=\"n\">RSS</th>"
                        "<th class=\"n\">Uptime</th><th class=\"n\">Last used</th>"
                        "<th class=\"n\">In flight</th><th>State</th>"
                        "</tr></thead>\n<tbody>\n");
    for (i = 0; i < g->processes->nelts; i++)
        papi_put_process_row(d, name, papi_process_at(g, i));
    papi_buf_puts(d->b, "</tbody>\n</table></div>\n");
}

/* A group's name and its state's tags. */
static void papi_put_group_title(const papi_dash *d, const papi_procpool_group *g)
{
    papi_buf *b = d->b;

    papi_buf_puts(b, "<h3>");
    papi_put_text(b, g->name);
    papi_buf_puts(b, "</h3>");
    if (g->spawning)
        papi_buf_puts(b, "<span class=\"tag warn\">spawning</span>");
    if (g->restarting)
        papi_buf_puts(b, "<span class=\"tag warn\">restarting</span>");
    if (g->life_status && strcmp(g->life_status, "ALIVE")) {
        papi_buf_puts(b, "<span class=\"tag bad\">");
        papi_put_word(b, d->p, g->life_status);
        papi_buf_puts(b, "</span>");
    }
}

/* A folded group's totals, in its <summary> beside its title. */
static void papi_put_group_totals(const papi_dash *d, const papi_procpool_group *g)
{
    apr_int64_t sessions = 0, memory = 0;
    int i, n = g->processes ? g->processes->nelts : 0;

    for (i = 0; i < n; i++) {
        sessions += papi_known(papi_process_at(g, i)->sessions);
        memory += papi_known(papi_process_at(g, i)->real_memory);
    }
    papi_buf_printf(d->b, "<span class=\"totals\">%d %s" DOT "%" APR_INT64_T_FMT " %s" DOT, n,
                    n == 1 ? "process" : "processes", sessions,
                    sessions == 1 ? "session" : "sessions");
    papi_put_memory(d->b, memory);
    papi_buf_puts(d->b, "</span>");
}

static void papi_put_group(const papi_dash *d, const char *name, const papi_procpool_group *g)
{
    papi_buf *b = d->b;
    int n = g->processes ? g->processes->nelts : 0, listed = n <= *d->rows_left;
    /* Large groups, and every group past the page's rows, open only when asked. */
    int folded = n > PAPI_DASHBOARD_FOLD || !listed;

    if (folded) {
        papi_buf_puts(b, "<details class=\"group\">\n<summary class=\"head\">");
        papi_put_group_title(d, g);
        papi_put_group_totals(d, g);
        papi_buf_puts(b, "</summary>\n");
        papi_dashboard_actions_restart(d, name, g);
        papi_buf_puts(b, "<dl class=\"facts\">\n");
    }
    else {
        papi_buf_puts(b, "<section class=\"group\">\n<div class=\"head\">");
        papi_put_group_title(d, g);
        papi_dashboard_actions_restart(d, name, g);
        papi_buf_puts(b, "</div>\n<dl class=\"facts\">\n");
    }
    papi_put_text_fact(b, "App root", g->app_root, "path");
    papi_put_text_fact(b, "Environment", g->environment, NULL);
    papi_put_text_fact(b, "Type", g->app_type, NULL);
    papi_put_text_fact(b, "User", g->user, NULL);
    papi_start_fact(b, "Queue", NULL);
    papi_put_int(b, g->get_wait_list_size);
    papi_end_fact(b);
    papi_start_fact(b, "Being spawned", NULL);
    papi_put_int(b, g->processes_being_spawned);
    papi_end_fact(b);
    papi_buf_puts(b, "</dl>\n");
    if (listed) {
        *d->rows_left -= n;
        papi_put_processes(d, name, g);
    }
    else {
        papi_buf_printf(b, "<p class=\"note\">Not listed here: the page lists %d processes at "
                        "the most; ", PAPI_DASHBOARD_ROWS);
        papi_put_link(d, "processes.json");
        papi_buf_puts(b, " has every one.</p>\n");
    }
    papi_buf_puts(b, folded ? "</details>\n" : "</section>\n");
    papi_buf_cut(b);
}

static void papi_put_procpool(const papi_dash *d, const char *name, const papi_procpool *procpool)
{
    papi_buf *b = d->b;
    int i;

    papi_buf_puts(b, "<dl class=\"tiles\">\n");
    papi_start_fact(b, "Processes", NULL);
    papi_put_int(b, procpool->process_count);
    papi_buf_puts(b, " <small>of ");
    papi_put_int(b, procpool->max);
    papi_buf_puts(b, "</small>");
    papi_put_bar(b, procpool->process_count, procpool->max, "the pool");
    papi_end_fact(b);
    papi_start_fact(b, "Capacity used", NULL);
    papi_put_int(b, procpool->capacity_used);
    papi_put_bar(b, procpool->capacity_used, procpool->max, "the pool");
    papi_end_fact(b);
    papi_start_fact(b, "Queue", NULL);
    papi_put_int(b, procpool->get_wait_list_size);
    papi_end_fact(b);
    papi_buf_puts(b, "</dl>\n");
    if (!procpool->groups || procpool->groups->nelts == 0)
        papi_buf_puts(b, "<p class=\"note\">No app groups: no application has been started "
                         "yet.</p>\n");
    for (i = 0; procpool->groups && i < procpool->groups->nelts; i++)
        papi_put_group(d, name, papi_group_at(procpool, i));
}

static void papi_put_instance(const papi_dash *d, const papi_view *v)
{
    papi_buf *b = d->b;
    const papi_instance *inst = v->inst;
    apr_int64_t created = papi_instance_created_at(inst);
    const char *version = papi_prop_string(inst, "passenger_version");

    papi_buf_printf(b, "<section class=\"card%s\">\n<div class=\"head\"><h2>",
                    papi_view_has_procpool(v) ? "" : " failed");
    papi_put_text(b, papi_instance_title(inst));
    /* Good in the registry, but a tag as green as a working one's would contradict the error. */
    papi_buf_printf(b, "</h2><span class=\"tag%s\">", papi_view_has_procpool(v) ? " ok" : "");
    papi_put_word(b, d->p, papi_inst_state_name(inst->state));
    papi_buf_puts(b, "</span></div>\n<dl class=\"facts\">\n");
    if (!version && papi_view_has_procpool(v))
        version = v->procpool->passenger_version;
    papi_put_text_fact(b, "Passenger", version, NULL);
    papi_put_text_fact(b, "Integration", papi_prop_string(inst, "integration_mode"), NULL);
    papi_put_text_fact(b, "Server", papi_prop_string(inst, "server_software"), NULL);
    papi_start_fact(b, "Core pid", NULL);
    papi_put_int(b, inst->core_pid > 0 ? inst->core_pid : PAPI_PROCPOOL_NONE);
    papi_end_fact(b);
    papi_start_fact(b, "Age", NULL);
    papi_put_time_since(d, created, 0);
    papi_end_fact(b);
    papi_put_text_fact(b, "Directory", inst->path, "path");
    papi_buf_puts(b, "</dl>\n");
    if (papi_view_has_procpool(v)) {
        papi_put_procpool(d, inst->name, v->procpool);
        papi_put_inflight(d, v);
    } else {
        papi_buf_printf(b, "<p class=\"error bad\" role=\"alert\">%d: ", v->status);
        papi_put_escaped(b, v->error ? v->error : v->status ? "no pool" : "not asked");
        papi_buf_puts(b, "</p>\n");
    }
    papi_buf_puts(b, "</section>\n");
}

/* One row of the other candidates: its directory, its state as a tag, and why. */
static void papi_put_other_row(const papi_dash *d, const char *dir, const char *tag_class,
                               const char *state, const char *reason)
{
    papi_buf *b = d->b;

    papi_buf_puts(b, "<tr>");
    papi_start_cell(b, "Directory", "path wide");
    papi_put_text(b, dir);
    papi_buf_puts(b, "</td>");
    papi_start_cell(b, "State", NULL);
    papi_buf_printf(b, "<span class=\"tag %s\">", tag_class);
    papi_put_word(b, d->p, state);
    papi_buf_puts(b, "</span></td>");
    papi_start_cell(b, "Reason", "wide");
    papi_put_text(b, reason);
    papi_buf_puts(b, "</td></tr>\n");
}

/* A registry's untrusted entries and those beyond the bound, as counts: anyone can fill a shared
 * registry with them, and a page listing each would be as large as they are many. */
static void papi_put_registry_counts(const papi_dash *d, const char *registry, int untrusted,
                                     int uninspected)
{
    if (untrusted)
        papi_put_other_row(d, apr_psprintf(d->p, "%s: %d %s", registry ? registry : "", untrusted,
                                           untrusted == 1 ? "entry" : "entries"),
                           "bad", "untrusted",
                           "of an untrusted owner, a symbolic link or a mount point: never read; "
                           "instances.json gives each one's reason");
    if (uninspected)
        papi_put_other_row(d, apr_psprintf(d->p, "%s: %d %s", registry ? registry : "", uninspected,
                                           uninspected == 1 ? "entry" : "entries"),
                           "warn", "not inspected",
                           apr_psprintf(d->p, "of trusted owners, beyond the %d looked into per "
                                        "registry directory", PAPI_REGISTRY_BOUND));
}

static int papi_same_registry(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static void papi_put_others(const papi_dash *d, const apr_array_header_t *views)
{
    papi_buf *b = d->b;
    const char *registry = NULL;
    int i, untrusted = 0, uninspected = 0;

    papi_buf_puts(b, "<section class=\"card\">\n<div class=\"head\"><h2>Other instance directories"
                     "</h2></div>\n<p class=\"note\">Found in the registry directories but not "
                     "usable, so not asked.</p>\n<div class=\"scroll\"><table class=\"cards\">\n"
                     "<thead><tr><th>Directory</th><th>State</th><th>Reason</th></tr></thead>\n"
                     "<tbody>\n");
    for (i = 0; i < views->nelts; i++) {
        const papi_instance *inst = papi_view_at(views, i)->inst;

        if (inst->state == PAPI_INST_GOOD)
            continue;
        /* Views come registry by registry: each one's counts follow its own rows. */
        if (!papi_same_registry(registry, inst->registry)) {
            papi_put_registry_counts(d, registry, untrusted, uninspected);
            registry = inst->registry;
            untrusted = uninspected = 0;
        }
        if (papi_instance_is_summary(inst)) {
            untrusted += inst->more_untrusted;
            uninspected += inst->more_uninspected;
        }
        else if (inst->state == PAPI_INST_UNTRUSTED)
            untrusted++;
        else
            papi_put_other_row(d, inst->path, "warn", papi_inst_state_name(inst->state),
                               inst->reason);
    }
    papi_put_registry_counts(d, registry, untrusted, uninspected);
    papi_buf_puts(b, "</tbody>\n</table></div>\n</section>\n");
}

static void papi_put_nothing_found(const papi_dash *d)
{
    papi_buf_puts(d->b, "<section class=\"card\">\n<div class=\"head\"><h2>No Passenger instance "
                        "found</h2></div>\n<p>No Passenger instance was found in the configured "
                        "registry directories (PassengerApiRegistryDir, or Passenger's own: "
                        "$TMPDIR, /tmp, /var/run/passenger-instreg). Is Passenger running, and "
                        "does it use one of them? ");
    papi_put_link(d, "instances.json");
    papi_buf_puts(d->b, " lists every directory looked at.</p>\n</section>\n");
}

/* refresh=N's value into *refresh: NULL, or why it is refused. */
static const char *papi_dashboard_refresh(apr_pool_t *p, const char *value, int *refresh)
{
    apr_size_t digits = strspn(value, "0123456789");
    int n = 0;

    if (digits == 0 || value[digits] || digits > 4
        || (n = atoi(value)) > PAPI_DASHBOARD_REFRESH_MAX)
        return apr_psprintf(p, "refresh=N: N is whole seconds between reloads, 0 (no reload) "
                            "to %d", PAPI_DASHBOARD_REFRESH_MAX);
    *refresh = n;
    return NULL;
}

const char *papi_dashboard_query(apr_pool_t *p, const char *args, int *refresh,
                                 papi_action_done *done)
{
    static const char takes[] = "the dashboard takes refresh=N (seconds between reloads, 0 for "
                                "none), and after an action done= with group= or pid=";
    apr_array_header_t *fields;
    const char *why = NULL;
    int i, r = *refresh;

    if (!args || !*args)
        return NULL;
    if ((why = papi_form_parse(p, args, strlen(args), 4, &fields)) != NULL)
        return apr_pstrcat(p, takes, ": ", why, NULL);
    for (i = 0; i < fields->nelts; i++) {
        const papi_form_field *f = &APR_ARRAY_IDX(fields, i, papi_form_field);

        if (!strcmp(f->name, "refresh")) {
            if ((why = papi_dashboard_refresh(p, f->value, &r)) != NULL)
                return why;
        } else if (papi_action_done_field(p, f->name, f->value, done, &why) <= 0) {
            return why ? why : apr_pstrcat(p, takes, ": not ", f->name, NULL);
        }
    }
    if ((why = papi_action_done_check(done)) != NULL)
        return why;
    *refresh = r;
    return NULL;
}

void papi_dashboard_write(papi_buf *b, apr_pool_t *p, const apr_array_header_t *views,
                          const papi_dashboard_opts *opts)
{
    apr_int64_t rows_left = PAPI_DASHBOARD_ROWS;
    papi_dash d = { b, p, opts, opts->base ? opts->base : "", 0, 0, 0, 0, -1, 0, views, 0,
                    &rows_left };
    apr_size_t n = strlen(d.base);
    int i;

    /* base + "/metrics" must not become "//metrics", a URL of another host. */
    while (n > 0 && d.base[n - 1] == '/')
        n--;
    d.base = apr_pstrmemdup(p, d.base, n);
    papi_count_views(&d, views);
    papi_put_head(&d);
    papi_buf_puts(b, "<body>\n<div class=\"page\">\n");
    papi_put_header(&d);
    papi_buf_puts(b, "<main>\n");
    papi_dashboard_actions_report(&d, views);
    if (d.candidates == 0)
        papi_put_nothing_found(&d);
    else if (d.good == 0)
        papi_buf_printf(b, "<p class=\"error warn\">None of the %d instance directories found "
                           "is usable: see below why.</p>\n", d.candidates);
    for (i = 0; i < views->nelts; i++)
        if (papi_view_at(views, i)->inst->state == PAPI_INST_GOOD)
            papi_put_instance(&d, papi_view_at(views, i));
    if (d.good < d.candidates)
        papi_put_others(&d, views);
    papi_buf_puts(b, "</main>\n</div>\n</body>\n</html>\n");
}
