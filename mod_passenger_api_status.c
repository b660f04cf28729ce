/* mod_passenger_api's section of mod_status's /server-status (as mod_ssl and mod_md add theirs):
 * the counters of src/papi_stats.h, summed over every child, as HTML or, for ?auto, as
 * "Key: Value" lines. The hook is optional: without mod_status loaded it is never called. */

#include "mod_passenger_api.h"

APLOG_USE_MODULE(passenger_api);

#include "http_protocol.h"
#include "mod_status.h"

static int papi_status_hook(request_rec *r, int flags)
{
    papi_stats_view v;
    papi_buf *b;

    /* No <Location> of this generation uses the module: nothing to say. */
    if (!papi_stats_table)
        return OK;
    papi_stats_read(papi_stats_table, &v);
    b = papi_buf_make(r->pool, 1024);
    papi_stats_write(b, &v, flags & AP_STATUS_SHORT, apr_time_now());
    ap_rwrite(b->data, (int)b->len, r);
    return OK;
}

void papi_status_register(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, papi_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
